"""Unreachable storage: fail open (default: warn, flag the call, serve it) or fail closed (503).

No Redis server is needed: the stores point at a refused port or at a port where TCP
connects hang, so every Redis call must give up by its timeout.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.policy.engine import ConfiguredPolicy
from tests.upstreams import Blackhole, FakeUpstream

KEY_ENV = "LLMGW_TEST_UPSTREAM_KEY"
MESSAGES: list[Any] = [{"role": "user", "content": "Are you there?"}]


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def make_gateway(upstream: FakeUpstream, **sections: Any) -> Gateway:
    return Gateway(
        {
            "providers": {
                "oai": {"type": "openai", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV}
            },
            "models": [
                {
                    "name": "chat",
                    "provider": "oai",
                    "model": "gpt-4o-mini",
                    "price": {"input": 1, "output": 2},
                }
            ],
            **sections,
        }
    )


def oai(gateway: Gateway) -> openai.OpenAI:
    return gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))


def test_fail_open_serves_the_call_flags_it_and_warns_once(
    upstream: FakeUpstream, refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{refused_port}/0"
    gateway = make_gateway(
        upstream,
        rate_limits={"storage": url, "rules": [{"per": "user", "limit": "1/minute"}]},
        budgets={"storage": url, "rules": [{"per": "user", "usd": 1.0}]},
        cache={"enabled": True, "storage": url},
    )
    client = oai(gateway)
    with caplog.at_level(logging.WARNING, logger="llm_gateway_mw.storage"):
        for _ in range(3):  # the 1/minute rule cannot be enforced while its storage is down
            raw = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
            assert raw.headers["x-llm-gateway-cache"] == "miss"
            assert gateway.runtime.recent[-1].storage_degraded
    assert len(upstream.requests) == 3
    warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 3  # one per store (rate limits, budgets, cache), not one per call
    assert all(f"127.0.0.1:{refused_port}" in w and "fail_open = true" in w for w in warnings)


def test_fail_closed_refuses_with_503_before_the_upstream(upstream: FakeUpstream, refused_port: int) -> None:
    url = f"redis://app:s3cret@127.0.0.1:{refused_port}/0"
    gateway = make_gateway(
        upstream,
        rate_limits={"storage": url, "fail_open": False, "rules": [{"per": "user", "limit": "5/minute"}]},
    )
    with pytest.raises(openai.InternalServerError) as refused:
        oai(gateway).chat.completions.create(model="chat", messages=MESSAGES)
    error = refused.value
    assert error.status_code == 503 and error.code == "storage_unavailable"
    assert error.response.headers["x-llm-gateway-error"] == "storage_unavailable"
    assert "rate limits storage" in error.message and "fail_open = true" in error.message
    assert "s3cret" not in error.message and "app:***@" in error.message
    assert upstream.requests == []


def test_a_closed_budget_store_gives_back_the_rate_limit_hits(
    upstream: FakeUpstream, refused_port: int
) -> None:
    gateway = make_gateway(
        upstream,
        rate_limits={"rules": [{"per": "user", "limit": "2/minute"}]},
        budgets={
            "storage": f"redis://127.0.0.1:{refused_port}/0",
            "fail_open": False,
            "rules": [{"per": "user", "usd": 1}],
        },
    )
    with pytest.raises(openai.InternalServerError, match="budgets storage"):
        oai(gateway).chat.completions.create(model="chat", messages=MESSAGES)
    policy = gateway.runtime.policy
    assert isinstance(policy, ConfiguredPolicy) and policy.limiting is not None
    [rule] = policy.limiting.rules
    assert policy.limiting.store.sync.stats(rule.item, (rule.namespace, "anonymous", "requests"))[1] == 2


async def test_a_hanging_redis_times_out_and_fails_open(upstream: FakeUpstream, blackhole: Blackhole) -> None:
    url = f"redis://127.0.0.1:{blackhole.port}/0"
    gateway = make_gateway(
        upstream,
        rate_limits={"storage": url, "storage_timeout": 0.2, "rules": [{"per": "user", "limit": "9/minute"}]},
        cache={"enabled": True, "storage": url, "storage_timeout": 0.2},
    )
    client = gateway.wrap(openai.AsyncOpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))
    completion = await client.chat.completions.create(model="chat", messages=MESSAGES)
    assert completion.choices[0].message.content
    assert gateway.runtime.recent[-1].storage_degraded


def test_unsupported_storage_urls_are_config_errors() -> None:
    from llm_gateway_mw.errors import ConfigError

    with pytest.raises(ConfigError, match=r"rate_limits\.storage: unsupported storage .*memory://"):
        Gateway(
            {"rate_limits": {"storage": "memcached://x:1", "rules": [{"per": "user", "limit": "1/second"}]}}
        )


class _FlakyStore:
    """A store whose every call fails as a dropped Redis connection would."""

    class _Face:
        def get(self, key: str) -> None:
            raise ConnectionError("connection reset by peer")

    sync = _Face()


def test_a_closed_guard_refuses_decisions_but_never_fails_bookkeeping() -> None:
    from llm_gateway_mw.drivers import run_sync
    from llm_gateway_mw.effects import StoreCall
    from llm_gateway_mw.errors import StorageUnavailableError
    from llm_gateway_mw.policy.stores import DEGRADED, Guard

    now = [0.0]
    guard = Guard(
        "budgets", "redis://127.0.0.1:6379/0", fail_open=False, errors=(OSError,), clock=lambda: now[0]
    )
    effect = StoreCall(_FlakyStore(), "get", ("k",))
    with pytest.raises(StorageUnavailableError, match="fail closed"):
        run_sync(guard.run(None, effect, decides=True))
    assert run_sync(guard.run(None, effect)) is DEGRADED  # settling after a reply must not break it
    now[0] += 0.5  # still down: refused at once, the store is not tried
    with pytest.raises(StorageUnavailableError, match="failed moments ago"):
        run_sync(guard.run(None, effect, decides=True))
