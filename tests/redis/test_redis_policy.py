"""Limits, budgets and the cache on a real Redis, from sync and async clients in one process.

Two ``Gateway`` objects on one Redis stand for two processes (the multi-process tests
spawn real ones). Every test uses its own key prefix, so tests can run in parallel.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
import redis

from llm_gateway_mw import Gateway
from llm_gateway_mw.policy.budgets import to_nano
from llm_gateway_mw.policy.engine import ConfiguredPolicy
from llm_gateway_mw.policy.limits_store import redis_limit_key
from llm_gateway_mw.policy.tokens import estimate_prompt_tokens
from llm_gateway_mw.records import Caller
from tests.upstreams import FakeUpstream, Reply, Usage

KEY_ENV = "LLMGW_TEST_UPSTREAM_KEY"
STRATEGIES = ["fixed-window", "moving-window", "sliding-window-counter"]
MESSAGES: list[Any] = [{"role": "user", "content": "Reply with one word."}]


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


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


def make_gateway(upstream: FakeUpstream, url: str, prefix: str, **sections: Any) -> Gateway:
    for section in sections.values():
        section.setdefault("storage", url)
        section.setdefault("key_prefix", prefix)
        section.setdefault("storage_timeout", 5.0)
    return Gateway(
        {
            "providers": {
                "oai": {"type": "openai", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV},
                "ant": {"type": "anthropic", "base_url": upstream.url, "api_key_env": KEY_ENV},
            },
            "models": [
                {
                    "name": "chat",
                    "provider": "oai",
                    "model": "gpt-4o-mini",
                    "price": {"input": 3, "output": 15},
                },
                {
                    "name": "claude",
                    "provider": "ant",
                    "model": "claude-sonnet-4-5",
                    "price": {"input": 3, "output": 15},
                },
            ],
            "retry": {"attempts": 1},
            **sections,
        }
    )


def policy_of(gateway: Gateway) -> ConfiguredPolicy:
    policy = gateway.runtime.policy
    assert isinstance(policy, ConfiguredPolicy)
    return policy


def oai(gateway: Gateway) -> openai.OpenAI:
    return gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))


def aoai(gateway: Gateway) -> openai.AsyncOpenAI:
    return gateway.wrap(openai.AsyncOpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_adjust_acts_on_the_keys_limits_uses(redis_server: str, prefix: str, strategy: str) -> None:
    """Pins the ``limits`` key layout the settle script relies on (a ``limits`` upgrade that changes it fails here)."""
    gateway = Gateway({"rate_limits": {"storage": redis_server, "key_prefix": prefix, "strategy": strategy,
                                       "rules": [{"per": "user", "limit": "100 tokens/day"}]}})  # fmt: skip
    limiting = policy_of(gateway).limiting
    assert limiting is not None
    [rule] = limiting.rules
    ids = (rule.namespace, "u1", "tokens")
    assert limiting.store.sync.hit(rule.item, ids, 30)
    key = redis_limit_key(f"{prefix}:limits", strategy, rule.item, ids)
    client = redis.Redis.from_url(redis_server)
    try:
        assert client.exists(key), sorted(client.scan_iter(f"{prefix}:*"))
        limiting.store.sync.adjust(rule.item, ids, -20)
        assert limiting.store.sync.stats(rule.item, ids)[1] == 90
        limiting.store.sync.adjust(rule.item, ids, 45)
        assert limiting.store.sync.stats(rule.item, ids)[1] == 45
        assert client.pttl(key) > 0
    finally:
        client.close()


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_concurrent_calls_admit_exactly_the_limit(
    redis_server: str, prefix: str, upstream: FakeUpstream, strategy: str
) -> None:
    rules = [{"per": "tenant", "limit": "12/minute"}, {"per": "user", "limit": "1000/minute"}]
    gateways = [
        make_gateway(upstream, redis_server, prefix, rate_limits={"strategy": strategy, "rules": rules})
        for _ in range(2)
    ]
    clients = [aoai(g) for g in gateways]

    async def one(i: int) -> bool:
        with gateways[i % 2].caller(tenant="acme", user=f"u{i % 3}"):
            try:
                await clients[i % 2].chat.completions.create(model="chat", messages=MESSAGES)
            except openai.RateLimitError:
                return False
        return True

    outcomes = await asyncio.gather(*(one(i) for i in range(40)))
    assert outcomes.count(True) == 12
    assert len(upstream.requests) == 12
    assert not any(call.storage_degraded for g in gateways for call in g.runtime.recent)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("style", ["sync", "async"])
async def test_refusals_give_back_and_tokens_settle_on_redis(
    redis_server: str, prefix: str, upstream: FakeUpstream, strategy: str, style: str
) -> None:
    upstream.default = Reply(usage=Usage(input_tokens=100, output_tokens=20))
    rules = [{"per": "tenant", "limit": "2/day"}, {"per": "user", "limit": "1000 tokens/day"}]
    gateway = make_gateway(upstream, redis_server, prefix, rate_limits={"strategy": strategy, "rules": rules})
    limiting = policy_of(gateway).limiting
    assert limiting is not None
    requests_rule, tokens_rule = limiting.rules
    sync_client, async_client = oai(gateway), aoai(gateway)

    async def call(max_tokens: int) -> None:
        if style == "sync":
            await asyncio.to_thread(
                sync_client.chat.completions.create, model="chat", messages=MESSAGES, max_tokens=max_tokens
            )
        else:
            await async_client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=max_tokens)

    def left(rule: Any, who: str) -> int:
        return int(limiting.store.sync.stats(rule.item, (rule.namespace, who, rule.unit))[1])

    estimate = estimate_prompt_tokens({"messages": MESSAGES}) + 900
    assert 880 < estimate <= 1000
    with gateway.caller(tenant="acme", user="u1"):
        await call(900)
        assert left(tokens_rule, "u1") == 880  # reserved ~estimate, settled to the real 120
        with pytest.raises(openai.RateLimitError, match=r"rules\[1\]"):
            await call(900)  # the tenant rule was hit first: it must be given back
        assert left(requests_rule, "acme") == 1
        upstream.default = Reply(usage=Usage(input_tokens=600, output_tokens=50))
        await call(10)
        assert left(tokens_rule, "u1") == 880 - 650  # settled up past the estimate
        assert left(requests_rule, "acme") == 0
    assert len(upstream.requests) == 2


async def test_budget_reservations_are_atomic_on_redis(
    redis_server: str, prefix: str, upstream: FakeUpstream
) -> None:
    prompt = estimate_prompt_tokens({"messages": MESSAGES})
    upstream.default = Reply(usage=Usage(input_tokens=prompt, output_tokens=30))
    worst = to_nano((prompt * 3 + 30 * 15) / 1e6)
    budgets = {"rules": [{"per": "user", "usd": 10 * worst / 1e9, "period": "week"}]}
    gateways = [make_gateway(upstream, redis_server, prefix, budgets=budgets) for _ in range(2)]
    clients = [aoai(g) for g in gateways]

    async def one(i: int) -> Any:
        with gateways[i % 2].caller(user="u1"):
            return await clients[i % 2].chat.completions.with_raw_response.create(
                model="chat", messages=MESSAGES, max_tokens=30
            )

    results = await asyncio.gather(*(one(i) for i in range(100)), return_exceptions=True)
    admitted = [r for r in results if not isinstance(r, BaseException)]
    assert len(admitted) == 10
    assert all(isinstance(r, openai.RateLimitError) and r.code == "budget_exceeded"
               for r in results if isinstance(r, BaseException))  # fmt: skip
    [status] = policy_of(gateways[0]).budget_status(Caller(user="u1"), "chat")
    assert to_nano(status.spent_usd) == sum(
        to_nano(float(r.headers["x-llm-gateway-cost-usd"])) for r in admitted
    )
    client = redis.Redis.from_url(redis_server)
    try:
        [key] = client.keys(f"{prefix}:budget:*")
        assert re.fullmatch(rf"{prefix}:budget:rules\[0\]:user:u1:\d{{4}}-W\d{{2}}", key.decode())
        assert 0 < client.ttl(key) <= 7 * 86400  # a week's TTL, set when the window's key was created
    finally:
        client.close()


async def test_the_cache_is_shared_through_redis_and_replays_streams(
    redis_server: str, prefix: str, upstream: FakeUpstream
) -> None:
    upstream.default = Reply(text="Sure.", usage=Usage(input_tokens=9, output_tokens=2))
    first, second = (
        make_gateway(upstream, redis_server, prefix, cache={"enabled": True, "ttl": 30}) for _ in range(2)
    )
    with first.caller(tenant="acme"):
        oai(first).chat.completions.create(model="chat", messages=MESSAGES)
    with second.caller(tenant="acme"):
        stream = await aoai(second).chat.completions.create(model="chat", messages=MESSAGES, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Sure." and second.runtime.recent[-1].cache_hit
    with second.caller(tenant="globex"):
        await aoai(second).chat.completions.create(model="chat", messages=MESSAGES)
    assert not second.runtime.recent[-1].cache_hit  # another tenant
    claude = second.wrap(anthropic.AsyncAnthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    async with claude.messages.stream(model="claude", max_tokens=20, messages=MESSAGES) as events:
        await events.get_final_message()  # captured from the stream...
    message = await claude.messages.create(model="claude", max_tokens=20, messages=MESSAGES)
    assert message.content[0].type == "text" and message.content[0].text == "Sure."  # ...served whole
    assert second.runtime.recent[-1].cache_hit
    assert len(upstream.requests) == 3
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(f"{prefix}:cache:*"))
        assert len(keys) == 3 and all(0 < client.pttl(k) <= 30_000 for k in keys)
        assert sorted(k.decode().split(":")[3] for k in keys) == ["acme", "anonymous", "globex"]
    finally:
        client.close()


async def test_sync_clients_use_limits_and_async_clients_limits_aio(redis_server: str, prefix: str) -> None:
    import limits.aio.strategies
    import limits.strategies

    gateway = Gateway({"rate_limits": {"storage": redis_server, "key_prefix": prefix,
                                       "rules": [{"per": "user", "limit": "5/minute"}]}})  # fmt: skip
    limiting = policy_of(gateway).limiting
    assert limiting is not None
    assert isinstance(limiting.store.sync.limiter, limits.strategies.MovingWindowRateLimiter)
    aio_face = limiting.store.aio  # this event loop's face: limits.aio over redis.asyncio, nothing blocks
    assert isinstance(aio_face.limiter, limits.aio.strategies.MovingWindowRateLimiter)
    assert aio_face is limiting.store.aio
    [rule] = limiting.rules
    assert await aio_face.hit(rule.item, (rule.namespace, "u", "requests"), 1)
    assert (
        limiting.store.sync.stats(rule.item, (rule.namespace, "u", "requests"))[1] == 4
    )  # one Redis, one window
