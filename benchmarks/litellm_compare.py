"""Side by side with LiteLLM: the same upstream, the same work, each against its own raw SDK.

LiteLLM pins older SDKs, so it lives in its own virtual environment,
``benchmarks/.venv-litellm`` (git-ignored), created on first use from
``litellm-requirements.txt`` (re-created when that file changes). ``litellm_bench.py``
runs there and measures ``litellm.completion`` and ``litellm.Router`` (with a fallback
configured) against that venv's raw ``openai`` client; this module measures the wrapped
client (model declared, a fallback configured, telemetry off) against this venv's raw
``openai`` client, on the same in-process mock replies and the same loopback server.
Each side's *added* latency is over its own raw SDK, so the SDK versions cancel out.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx2
import openai

from .common import Comparison, Samples, Section, SyncCall, interleave_sync
from .latency import Budget
from .setups import MESSAGES, MODEL, build_gateway, gateway_config, inject_mock_upstreams
from .upstream import mock_transport

__all__ = ["ensure_venv", "gateway_same_work", "run_litellm"]

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv-litellm")
REQUIREMENTS = os.path.join(HERE, "litellm-requirements.txt")
STAMP = os.path.join(VENV, ".requirements-sha256")


def _venv_python() -> str:
    return os.path.join(VENV, "bin", "python")


def _wanted_stamp() -> str:
    with open(REQUIREMENTS, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ensure_venv(install: bool) -> tuple[str | None, str]:
    """(python of the LiteLLM venv, "") when ready; (None, why not) otherwise."""
    python = _venv_python()
    wanted = _wanted_stamp()
    if os.path.exists(STAMP) and os.path.exists(python):
        with open(STAMP) as f:
            if f.read().strip() == wanted:
                return python, ""
    if not install:
        return (
            None,
            "the LiteLLM venv is not installed and --quick does not install it (run the full mode once)",
        )
    base = getattr(sys, "_base_executable", sys.executable)
    try:
        subprocess.run([base, "-m", "venv", "--clear", VENV], check=True, capture_output=True, timeout=300)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "-r", REQUIREMENTS],
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except subprocess.CalledProcessError as exc:
        return None, f"installing LiteLLM failed: {(exc.stderr or '')[-600:]}"
    except subprocess.TimeoutExpired:
        return None, "installing LiteLLM timed out"
    with open(STAMP, "w") as f:
        f.write(wanted)
    return python, ""


def gateway_same_work(upstream: str, base_url: str | None) -> tuple[SyncCall, SyncCall]:
    """(raw ``openai``, the wrapped client with the model declared and a fallback configured) calls."""
    url = base_url if upstream == "loopback" and base_url else "http://127.0.0.1:9/v1"
    gateway = build_gateway(gateway_config(base_url=url, telemetry=False, limits=None, fallback=True), None)
    if upstream == "mock":
        inject_mock_upstreams(gateway)

        def http() -> httpx2.Client:
            return httpx2.Client(transport=mock_transport(httpx2))
    else:

        def http() -> httpx2.Client:
            return httpx2.Client()

    raw = openai.OpenAI(api_key="sk-bench", base_url=url, http_client=http(), max_retries=0)
    wrapped = gateway.wrap(openai.OpenAI(api_key="sk-bench", base_url=url, http_client=http(), max_retries=0))

    def call(client: Any) -> SyncCall:
        create = client.chat.completions.create

        def run() -> None:
            create(model=MODEL, messages=MESSAGES)

        return run

    return call(raw), call(wrapped)


class LiteLLMProcess:
    """``litellm_bench.py`` in the LiteLLM venv, answering one block of measurement per request."""

    def __init__(self, python: str, base_url: str | None, import_runs: int) -> None:
        cmd = [python, os.path.join(HERE, "litellm_bench.py"), "--import-runs", str(import_runs)]
        if base_url:
            cmd += ["--base-url", base_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.hello = self._answer()

    def block(self, upstream: str, name: str, per_round: int, warmup: int) -> tuple[Samples, Samples]:
        request = {"upstream": upstream, "name": name, "rounds": 1, "per_round": per_round, "warmup": warmup}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self._answer()
        return Samples(**answer["raw"]), Samples(**answer["wrapped"])

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:  # it ended: say why
            self.process.wait(timeout=60)
            stderr = self.process.stderr.read() if self.process.stderr is not None else ""
            raise RuntimeError(f"litellm_bench.py ended: {stderr.strip()[-800:]}")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _merge(into: tuple[Samples, Samples], block: tuple[Samples, Samples]) -> None:
    """Append one block's batch to each side's samples (a block is one round)."""
    for merged, part in zip(into, block, strict=True):
        merged.total.extend(part.total)
        merged.cpu.extend(part.cpu)
        merged.deferred_cpu_us += part.deferred_cpu_us
        merged.calls += part.calls


def _side_by_side(
    litellm: LiteLLMProcess, upstream: str, base_url: str | None, budget: Budget
) -> dict[str, tuple[Samples, Samples]]:
    """The gateway, ``litellm.completion`` and ``litellm.Router`` in alternating blocks.

    Each block is one round of ``per_round`` interleaved pairs (raw SDK, then the contender) for
    one of the three, in an order that rotates block by block, so a stretch of heavier load on
    the shared machine falls on all three alike; their ratio is no longer at the mercy of when
    each ran.
    """
    raw, wrapped = gateway_same_work(upstream, base_url)
    names = ["gateway", "completion", "router"]
    merged = {name: (Samples(), Samples()) for name in names}
    for index in range(budget.rounds):
        warmup = budget.warmup if index == 0 else 10  # the other two ran in between: warm up again
        for name in names[index % 3 :] + names[: index % 3]:
            if name == "gateway":
                block = interleave_sync(raw, wrapped, rounds=1, per_round=budget.per_round, warmup=warmup)
            else:
                block = litellm.block(upstream, name, budget.per_round, warmup)
            _merge(merged[name], block)
    return merged


def run_litellm(quick: bool, base_url: str | None, python: str | None, note: str) -> Section:
    section = Section("LiteLLM side by side (same upstream, same work)")
    started = time.perf_counter()
    if python is None:
        section.skipped = note
        return section
    budget = (
        Budget(rounds=3, per_round=40, warmup=20) if quick else Budget(rounds=9, per_round=100, warmup=50)
    )
    try:
        litellm = LiteLLMProcess(python, base_url, 2 if quick else 5)
    except (OSError, RuntimeError) as exc:
        section.skipped = f"litellm_bench.py failed: {exc}"
        return section
    try:
        theirs = litellm.hello
        section.notes.append(
            "LiteLLM venv: "
            + ", ".join(f"{k} {v}" for k, v in theirs["versions"].items())
            + f" (Python {theirs['python']}); `import litellm` median {theirs['import_ms']['median']:.0f} ms."
        )
        section.notes.append(
            "Pinned to LiteLLM 1.80.10, a mid-December 2025 release: PyPI releases 1.82.7 and 1.82.8 "
            "(March 2026) were compromised, so only a 2025 release is used; openai 2.8.1 (its floor) on httpx."
        )
        for upstream in ("mock", "loopback") if base_url else ("mock",):
            merged = _side_by_side(litellm, upstream, base_url, budget)
            ours = Comparison(f"llm-gateway-mw wrap ({upstream})", *merged["gateway"]).as_dict()
            ours["upstream"] = upstream
            section.rows.append(ours)
            for name in ("completion", "router"):
                row = Comparison(f"litellm.{name} ({upstream})", *merged[name]).as_dict()
                row["upstream"] = upstream
                row["vs_gateway"] = (
                    row["added_median_us"] / ours["added_median_us"]
                    if ours["added_median_us"] > 0
                    else float("inf")
                )
                section.rows.append(row)
    except RuntimeError as exc:
        section.skipped = str(exc)
        return section
    finally:
        litellm.close()
    section.notes.append(
        "Work: one non-streaming chat completion to a deployment that has a fallback configured "
        "(LiteLLM Router: fallbacks=[{gpt-4o-mini: [bench-fallback]}], num_retries=0; gateway: "
        "fallbacks = {gpt-4o-mini = [bench-fallback]}, telemetry off). vs_gateway = LiteLLM's added "
        "median ÷ the gateway's added median."
    )
    section.notes.append(
        f"The three were measured in alternating blocks ({budget.rounds} blocks of {budget.per_round} "
        "interleaved pairs each, in rotating order, the LiteLLM side in its own process), so the "
        "machine's load falls on all three alike."
    )
    section.seconds = time.perf_counter() - started
    return section
