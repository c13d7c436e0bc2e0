"""The LiteLLM side of the comparison; runs INSIDE benchmarks/.venv-litellm, not the project venv.

Usage (done by ``litellm_compare``): ``.venv-litellm/bin/python benchmarks/litellm_bench.py
--base-url http://127.0.0.1:PORT/v1 --rounds R --per-round N --warmup W``. Prints one JSON
object: versions, LiteLLM's import time, and for the in-process mock and the loopback
upstream, ``litellm.completion`` and ``litellm.Router`` (with a fallback) each interleaved
call by call against the raw ``openai`` SDK of this venv on the same upstream.

Only the standard library, litellm, openai and httpx are imported, plus ``upstream.py``
and ``common.py`` from this folder (both standard-library only). Nothing leaves 127.0.0.1:
the cost map is the bundled one and LiteLLM's telemetry is off.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOG", "ERROR")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Comparison, interleave_sync
from upstream import mock_transport

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello to the benchmark, briefly."}]
KEY = "sk-bench"


def import_ms(runs: int) -> list[float]:
    probe = "import time\nt=time.perf_counter_ns()\nimport litellm\nprint((time.perf_counter_ns()-t)/1e6)"
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def _router(litellm: Any, base_url: str) -> Any:
    params = {"model": "openai/bench-model", "api_base": base_url, "api_key": KEY}
    return litellm.Router(
        model_list=[
            {"model_name": MODEL, "litellm_params": dict(params)},
            {"model_name": "bench-fallback", "litellm_params": dict(params)},
        ],
        fallbacks=[{MODEL: ["bench-fallback"]}],
        num_retries=0,
    )


def measure(upstream: str, base_url: str, rounds: int, per_round: int, warmup: int) -> dict[str, Any]:
    import httpx
    import litellm
    import openai

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    if upstream == "mock":
        url = "http://127.0.0.1:9/v1"  # never dialled: the mock transport answers
        http: Any = httpx.Client(transport=mock_transport(httpx))
        # LiteLLM builds its OpenAI clients with this session (completion and Router alike).
        litellm.client_session = httpx.Client(transport=mock_transport(httpx))
    else:
        url = base_url
        http = httpx.Client()
        litellm.client_session = None
    raw = openai.OpenAI(api_key=KEY, base_url=url, http_client=http, max_retries=0)
    router = _router(litellm, url)

    def call_raw() -> None:
        raw.chat.completions.create(model=MODEL, messages=MESSAGES)

    def call_completion() -> None:
        litellm.completion(
            model="openai/bench-model", api_base=url, api_key=KEY, messages=MESSAGES, num_retries=0
        )

    def call_router() -> None:
        router.completion(model=MODEL, messages=MESSAGES)

    results: dict[str, Any] = {}
    for name, fn in (("completion", call_completion), ("router", call_router)):
        check = fn()
        del check
        a, b = interleave_sync(call_raw, fn, rounds=rounds, per_round=per_round, warmup=warmup)  # type: ignore[arg-type]
        results[name] = Comparison(f"litellm.{name} ({upstream})", a, b).as_dict()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", default="")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--import-runs", type=int, default=3)
    args = parser.parse_args()
    from importlib.metadata import version

    out: dict[str, Any] = {
        "versions": {name: version(name) for name in ("litellm", "openai", "httpx")},
        "python": sys.version.split()[0],
    }
    times = import_ms(args.import_runs)
    out["import_ms"] = {"median": statistics.median(times), "runs": times}
    started = time.perf_counter()
    out["mock"] = measure("mock", "", args.rounds, args.per_round, args.warmup)
    if args.base_url:
        out["loopback"] = measure("loopback", args.base_url, args.rounds, args.per_round, args.warmup)
    out["seconds"] = time.perf_counter() - started
    print(json.dumps(out))


if __name__ == "__main__":
    main()
