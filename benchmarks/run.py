"""``python -m benchmarks [--quick]``: run every benchmark and write the Markdown report.

Full mode takes roughly 15-25 minutes on the project's 2-core machines (the first run also
creates the LiteLLM venv); ``--quick`` is a smoke run for CI (< 60 s, no LiteLLM install).
The report goes to ``benchmarks/results/REPORT.md`` (git-ignored) with the raw numbers in
``results.json`` beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from importlib.metadata import version

from .common import Section

__all__ = ["SECTIONS", "main", "run"]

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
SECTIONS = ("import_time", "latency", "streaming", "profile", "memory", "litellm", "throughput")


def _load() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:  # pragma: no cover
        return "n/a"


def _revision() -> str:
    """The commit measured, noting uncommitted changes to the library (read-only git commands)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "llm_gateway_mw"], cwd=HERE, capture_output=True, text=True
        )
    except OSError:  # pragma: no cover
        return "unknown"
    revision = done.stdout.strip() or "unknown"
    return revision + (" with uncommitted changes to llm_gateway_mw" if dirty.stdout.strip() else "")


@contextlib.contextmanager
def _loopback(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    from .upstream import LoopbackServer

    with LoopbackServer() as server:
        yield server.base_url


def run(
    quick: bool, only: tuple[str, ...], litellm: bool, loopback: bool, out_dir: str = RESULTS
) -> dict[str, Section]:
    """Run the chosen sections in order; a section that raises is reported as skipped with the error."""
    from .latency import Probes

    os.makedirs(RESULTS, exist_ok=True)  # server logs and the LiteLLM proxy config live here
    os.makedirs(out_dir, exist_ok=True)
    probes = Probes.run() if {"latency", "streaming", "memory"} & set(only) else Probes(None, None, None)
    sections: dict[str, Section] = {}
    python, note = (None, "disabled with --no-litellm")
    if litellm and {"litellm", "throughput"} & set(only):
        from .litellm_compare import ensure_venv

        python, note = ensure_venv(install=not quick)
    with _loopback(
        loopback and any(s in only for s in ("latency", "streaming", "litellm", "throughput"))
    ) as url:
        for name in SECTIONS:
            if name not in only:
                continue
            print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                sections[name] = _section(name, quick, url, probes, python, note, out_dir)
            except Exception as exc:
                sections[name] = Section(name, skipped=f"the section raised {type(exc).__name__}: {exc}")
            print(
                f"[benchmarks] {name} done in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return sections


def _section(
    name: str, quick: bool, url: str | None, probes: object, python: str | None, note: str, out_dir: str
) -> Section:
    from .latency import Probes, run_latency

    assert isinstance(probes, Probes)
    if name == "import_time":
        from .import_time import run_import_time

        return run_import_time(quick)
    if name == "latency":
        return run_latency(url, probes, quick)
    if name == "streaming":
        from .streaming import run_streaming

        return run_streaming(url, probes, quick)
    if name == "profile":
        from .profile import run_profile

        return run_profile(quick, out_dir)
    if name == "memory":
        from .memory import run_memory

        return run_memory(quick, limits=probes.memory is None, limits_note=probes.memory or "")
    if name == "litellm":
        from .litellm_compare import run_litellm

        return run_litellm(quick, url, python, note)
    from .throughput import run_throughput

    return run_throughput(quick, url, python, note)


def header(quick: bool, load_before: str, seconds: float) -> list[str]:
    versions = ", ".join(
        f"{p} {version(p)}" for p in ("openai", "httpx2", "anthropic", "opentelemetry-sdk", "limits")
    )
    return [
        f"- Generated {datetime.datetime.now().isoformat(timespec='seconds')} by `python -m benchmarks"
        f"{' --quick' if quick else ''}` in {seconds:.0f} s; llm-gateway-mw at {_revision()}.",
        f"- Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}; "
        f"load average before {load_before}, after {_load()} (other processes share the cores: wall-clock "
        "figures carry that noise; the CPU columns much less).",
        f"- Libraries: {versions}.",
        "- Every latency figure is wrapped - raw on the same upstream, the two alternating call by call.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (< 60 s), for CI")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}"
    )
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM (no venv is created)")
    parser.add_argument("--no-loopback", action="store_true", help="in-process mock upstream only")
    parser.add_argument("--out", default=os.path.join(RESULTS, "REPORT.md"))
    args = parser.parse_args(argv)
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    warnings.simplefilter("ignore")  # config warnings about the benchmark's dummy setup
    load_before = _load()
    started = time.perf_counter()
    out_dir = os.path.dirname(os.path.abspath(args.out))
    sections = run(args.quick, only, not args.no_litellm, not args.no_loopback, out_dir)
    from .report import render

    text = render(sections, header(args.quick, load_before, time.perf_counter() - started))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.join(os.path.dirname(os.path.abspath(args.out)), "results.json"), "w") as f:
        json.dump({k: dataclasses.asdict(v) for k, v in sections.items()}, f, indent=1, default=str)
    print(f"report written to {os.path.abspath(args.out)}")
    return 0
