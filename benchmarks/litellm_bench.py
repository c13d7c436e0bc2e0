"""The LiteLLM side of the comparison; runs INSIDE benchmarks/.venv-litellm, not the project venv.

Usage (done by ``litellm_compare``): ``.venv-litellm/bin/python benchmarks/litellm_bench.py
--base-url http://127.0.0.1:PORT/v1``. Prints one JSON line (versions, LiteLLM's import time),
then serves blocks of measurement on request (``serve``): ``litellm.completion`` or
``litellm.Router`` (with a fallback), interleaved call by call against the raw ``openai`` SDK of
this venv, on the in-process mock or the loopback upstream.

Only the standard library, litellm, openai and httpx are imported, plus ``upstream.py``
and ``common.py`` from this folder (both standard-library only). Nothing leaves 127.0.0.1:
the cost map is the bundled one and LiteLLM's telemetry is off.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")
os.environ.setdefault("LITELLM_LOG", "ERROR")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import interleave_sync
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


class Side:
    """One upstream's raw ``openai`` client and LiteLLM's two ways of making the same call."""

    def __init__(self, upstream: str, base_url: str) -> None:
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

        self.raw = call_raw
        self.calls = {"completion": call_completion, "router": call_router}
        for call in self.calls.values():
            call()  # fails here, before any timing, when the setup is wrong


def serve(base_url: str) -> None:
    """Answer block requests from stdin, one JSON line each, until end of input.

    A request ``{"upstream": "mock", "name": "router", "rounds": 1, "per_round": 100, "warmup": 10}``
    runs that many interleaved calls (raw ``openai`` against LiteLLM) and answers with both sides'
    samples. ``litellm_compare`` alternates these blocks with the gateway's own, so that all three
    are measured through the same stretches of the shared machine's load. One upstream at a time:
    LiteLLM's client session is global.
    """
    side: Side | None = None
    current = ""
    for line in sys.stdin:
        request = json.loads(line)
        if request["upstream"] != current:
            current = request["upstream"]
            side = Side(current, base_url)
        assert side is not None
        a, b = interleave_sync(
            side.raw,
            side.calls[request["name"]],  # type: ignore[arg-type]
            rounds=request["rounds"],
            per_round=request["per_round"],
            warmup=request["warmup"],
        )
        print(json.dumps({"raw": dataclasses.asdict(a), "wrapped": dataclasses.asdict(b)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", default="")
    parser.add_argument("--import-runs", type=int, default=3)
    args = parser.parse_args()
    from importlib.metadata import version

    times = import_ms(args.import_runs)
    hello: dict[str, Any] = {
        "versions": {name: version(name) for name in ("litellm", "openai", "httpx")},
        "python": sys.version.split()[0],
        "import_ms": {"median": statistics.median(times), "runs": times},
    }
    print(json.dumps(hello), flush=True)
    serve(args.base_url)


if __name__ == "__main__":
    main()
