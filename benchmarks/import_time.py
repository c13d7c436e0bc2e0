"""Import time: ``import llm_gateway_mw`` against ``import openai`` alone, in fresh interpreters.

Each statement runs in a new ``python -c`` process (no warm module cache in the process;
the OS file cache is warm after the first run, as in a deployed app), timed inside the
process with ``perf_counter_ns`` around the import only. The median of N runs is
reported, and ``-X importtime`` names the slowest modules ``llm_gateway_mw`` pulls in.
"""

from __future__ import annotations

import subprocess
import sys
import time

from .common import Section, median

__all__ = ["STATEMENTS", "run_import_time", "time_import"]

STATEMENTS: dict[str, str] = {
    "import openai": "import openai",
    "import llm_gateway_mw": "import llm_gateway_mw",
    "from llm_gateway_mw import Gateway": "from llm_gateway_mw import Gateway",
    "import openai + Gateway() + wrap": (
        "import openai\nfrom llm_gateway_mw import Gateway\n"
        "Gateway().wrap(openai.OpenAI(api_key='k', base_url='http://127.0.0.1:9/v1'))"
    ),
}

_PROBE = (
    "import time\nt0 = time.perf_counter_ns()\n{code}\nt1 = time.perf_counter_ns()\nprint((t1 - t0) / 1e6)\n"
)


def time_import(code: str, runs: int) -> list[float]:
    """Milliseconds for ``code`` in ``runs`` fresh interpreters."""
    out = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _PROBE.format(code=code)], capture_output=True, text=True, check=True
        )
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def _importtime(code: str) -> list[tuple[str, float]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    rows: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  "):  # only modules imported directly by the statement or package
            rows.append((name.strip(), int(cumulative) / 1000))
    return rows


def slowest_modules(code: str, top: int = 8) -> list[tuple[str, float]]:
    """The modules with the largest cumulative import time under ``-X importtime`` (ms), minus startup."""
    startup = {name for name, _ in _importtime("pass")}
    rows = [row for row in _importtime(code) if row[0] not in startup]
    return sorted(rows, key=lambda row: -row[1])[:top]


def run_import_time(quick: bool) -> Section:
    section = Section("Import time")
    runs = 2 if quick else 11
    started = time.perf_counter()
    baseline = median(time_import("pass", runs))
    for label, code in STATEMENTS.items():
        if quick and label not in ("import openai", "import llm_gateway_mw"):
            continue
        values = time_import(code, runs)
        section.rows.append(
            {
                "label": label,
                "median_ms": median(values),
                "min_ms": min(values),
                "max_ms": max(values),
                "runs": runs,
            }
        )
    section.rows.append({"label": "(empty statement)", "median_ms": baseline, "runs": runs})
    for code in (
        ("import llm_gateway_mw",)
        if quick
        else ("import llm_gateway_mw", "from llm_gateway_mw import Gateway")
    ):
        heavy = slowest_modules(code)
        section.notes.append(
            f"Slowest imports under `{code}` (-X importtime, cumulative ms, interpreter start-up excluded): "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in heavy)
        )
    section.notes.append(f"Median of {runs} fresh interpreters each; the import is timed inside the process.")
    section.seconds = time.perf_counter() - started
    return section
