"""Several processes, one Redis: a rate limit and a budget enforced exactly across all of them.

Each process is a separate Python interpreter (``tests/redis/worker.py``) with its own
``Gateway`` and wrapped ``openai.AsyncOpenAI`` client; they all start firing at once and
call one loopback fake upstream, which counts what really reached it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from llm_gateway_mw.policy.budgets import to_nano
from llm_gateway_mw.policy.tokens import estimate_prompt_tokens
from tests.upstreams import FakeUpstream, Reply, Usage

ROOT = Path(__file__).resolve().parents[2]
KEY_ENV = "LLMGW_TEST_UPSTREAM_KEY"
MESSAGES: list[Any] = [{"role": "user", "content": "Count to three."}]
MAX_TOKENS = 40
PROCESSES = 4
CALLS_EACH = 25


def run_workers(spec: dict[str, Any], processes: int = PROCESSES) -> list[dict[str, Any]]:
    """Start ``processes`` workers, release them together, return each one's summary."""
    env = {**os.environ, KEY_ENV: "test-key", "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.redis.worker", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line.strip() == "ready", (
                f"worker did not start: {line!r} {worker.stderr and worker.stderr.read()}"
            )
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        summaries = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            summaries.append(json.loads(out.strip().splitlines()[-1]))
        return summaries
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


@pytest.fixture
def prefix(redis_server: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"llmgw-test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(f"{name}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def config(upstream: FakeUpstream, **sections: Any) -> dict[str, Any]:
    return {
        "providers": {
            "oai": {"type": "openai", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV}
        },
        "models": [
            {"name": "chat", "provider": "oai", "model": "gpt-4o-mini", "price": {"input": 3, "output": 15}}
        ],
        **sections,
    }


def test_four_processes_share_one_rate_limit_exactly(
    redis_server: str, prefix: str, upstream: FakeUpstream
) -> None:
    """The default strategy (moving window); every strategy's atomicity is also tested in-process."""
    rate_limits = {
        "storage": redis_server,
        "storage_timeout": 5.0,  # a loaded CI machine must not turn into a fail-open admission
        "key_prefix": prefix,
        "rules": [{"per": "tenant", "limit": "20/minute"}],
    }
    spec = {
        "config": config(upstream, rate_limits=rate_limits),
        "caller": {"tenant": "acme"},
        "model": "chat",
        "messages": MESSAGES,
        "max_tokens": MAX_TOKENS,
        "calls": CALLS_EACH,
    }
    summaries = run_workers(spec)
    assert [s["other_errors"] for s in summaries] == [[]] * PROCESSES
    assert [s["degraded"] for s in summaries] == [[]] * PROCESSES
    assert sum(s["admitted"] for s in summaries) == 20
    refusals = [code for s in summaries for code in s["refused"]]
    assert refusals == ["rate_limit_exceeded"] * (PROCESSES * CALLS_EACH - 20)
    assert len(upstream.requests) == 20  # refused calls never reached the upstream


def test_four_processes_share_one_budget_exactly(
    redis_server: str, prefix: str, upstream: FakeUpstream
) -> None:
    prompt = estimate_prompt_tokens({"messages": MESSAGES})
    upstream.default = Reply(usage=Usage(input_tokens=prompt, output_tokens=MAX_TOKENS))  # real == worst case
    worst_nano = to_nano((prompt * 3 + MAX_TOKENS * 15) / 1e6)
    budgets = {
        "storage": redis_server,
        "storage_timeout": 5.0,
        "key_prefix": prefix,
        "rules": [{"per": "tenant", "usd": 10 * worst_nano / 1e9, "period": "day"}],
    }
    spec = {
        "config": config(upstream, budgets=budgets),
        "caller": {"tenant": "acme"},
        "model": "chat",
        "messages": MESSAGES,
        "max_tokens": MAX_TOKENS,
        "calls": CALLS_EACH,
    }
    summaries = run_workers(spec)
    assert [s["other_errors"] for s in summaries] == [[]] * PROCESSES
    assert sum(s["admitted"] for s in summaries) == 10
    assert {code for s in summaries for code in s["refused"]} == {"budget_exceeded"}
    costs = [to_nano(float(c)) for s in summaries for c in s["costs"]]
    client = redis.Redis.from_url(redis_server)
    try:
        [key] = client.keys(f"{prefix}:budget:*")
        assert int(client.get(key) or 0) == sum(costs) == 10 * worst_nano  # recorded spend == real costs
        assert 0 < client.ttl(key) <= 86400
    finally:
        client.close()
    assert len(upstream.requests) == 10
