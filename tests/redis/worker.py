"""One process of a multi-process test: a wrapped SDK client firing concurrent calls through a Gateway.

Run as ``python -m tests.redis.worker '<json spec>'``. It builds its own ``Gateway`` from
``spec["config"]``, prints ``ready``, waits for a line on stdin (so that every process
starts at once), fires ``spec["calls"]`` concurrent calls with ``openai.AsyncOpenAI`` and
prints one JSON line: how many were admitted, the refusal codes and the admitted costs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import openai

from llm_gateway_mw import Gateway


class _Remember(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def fire(spec: dict[str, Any]) -> dict[str, Any]:
    warnings = _Remember()
    logging.getLogger("llm_gateway_mw").addHandler(warnings)
    gateway = Gateway(spec["config"])
    client = gateway.wrap(openai.AsyncOpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))

    async def one() -> Any:
        with gateway.caller(**spec.get("caller", {})):
            return await client.chat.completions.with_raw_response.create(
                model=spec["model"], messages=spec["messages"], max_tokens=spec["max_tokens"]
            )

    await warm_up(gateway)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    results = await asyncio.gather(*(one() for _ in range(spec["calls"])), return_exceptions=True)
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, openai.APIStatusError)]
    other = [
        repr(r) for r in results if isinstance(r, BaseException) and not isinstance(r, openai.APIStatusError)
    ]
    return {
        "admitted": len(admitted),
        "refused": sorted(str(r.code) for r in refused),
        "costs": [r.headers["x-llm-gateway-cost-usd"] for r in admitted],
        "degraded": [m for m in warnings.messages if "unreachable" in m],
        "other_errors": other,
    }


async def warm_up(gateway: Gateway) -> None:
    """Import what the first call would (limits, redis clients) before the start line."""
    policy: Any = gateway.runtime.policy
    limiting = getattr(policy, "limiting", None)
    if limiting is not None:
        limiting.store.aio  # noqa: B018 - builds this loop's limits.aio storage


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(fire(spec))), flush=True)


if __name__ == "__main__":
    main()
