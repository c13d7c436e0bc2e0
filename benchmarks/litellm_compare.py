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

from .common import Comparison, Section, interleave_sync
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


def gateway_same_work(upstream: str, base_url: str | None, budget: Budget) -> Comparison:
    """Raw ``openai`` against the wrapped client with the model declared and a fallback configured."""
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

    def call(client: Any) -> Any:
        create = client.chat.completions.create

        def run() -> None:
            create(model=MODEL, messages=MESSAGES)

        return run

    a, b = interleave_sync(
        call(raw), call(wrapped), rounds=budget.rounds, per_round=budget.per_round, warmup=budget.warmup
    )
    return Comparison(f"llm-gateway-mw wrap ({upstream})", a, b)


def run_litellm(quick: bool, base_url: str | None, python: str | None, note: str) -> Section:
    section = Section("LiteLLM side by side (same upstream, same work)")
    started = time.perf_counter()
    if python is None:
        section.skipped = note
        return section
    budget = (
        Budget(rounds=3, per_round=40, warmup=20) if quick else Budget(rounds=8, per_round=100, warmup=50)
    )
    cmd = [
        python,
        os.path.join(HERE, "litellm_bench.py"),
        "--rounds",
        str(budget.rounds),
        "--per-round",
        str(budget.per_round),
        "--warmup",
        str(budget.warmup),
        "--import-runs",
        "2" if quick else "5",
    ]
    if base_url:
        cmd += ["--base-url", base_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        section.skipped = f"litellm_bench.py failed: {done.stderr.strip()[-800:]}"
        return section
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    section.notes.append(
        "LiteLLM venv: "
        + ", ".join(f"{k} {v}" for k, v in theirs["versions"].items())
        + f" (Python {theirs['python']}); `import litellm` median {theirs['import_ms']['median']:.0f} ms."
    )
    section.notes.append(
        "Pinned to LiteLLM 1.80.10, a mid-December 2025 release: PyPI releases 1.82.7 and 1.82.8 "
        "(March 2026) were compromised, so only a 2025 release is used; openai 2.8.1 (its floor) on httpx."
    )
    for upstream in ("mock", "loopback"):
        if upstream not in theirs:
            continue
        ours = gateway_same_work(upstream, base_url, budget).as_dict()
        ours["upstream"] = upstream
        section.rows.append(ours)
        for name in ("completion", "router"):
            row = dict(theirs[upstream][name])
            row["upstream"] = upstream
            row["vs_gateway"] = (
                row["added_median_us"] / ours["added_median_us"]
                if ours["added_median_us"] > 0
                else float("inf")
            )
            section.rows.append(row)
    section.notes.append(
        "Work: one non-streaming chat completion to a deployment that has a fallback configured "
        "(LiteLLM Router: fallbacks=[{gpt-4o-mini: [bench-fallback]}], num_retries=0; gateway: "
        "fallbacks = {gpt-4o-mini = [bench-fallback]}, telemetry off). vs_gateway = LiteLLM's added "
        "median ÷ the gateway's added median."
    )
    section.seconds = time.perf_counter() - started
    return section
