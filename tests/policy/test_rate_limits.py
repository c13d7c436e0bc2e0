"""Rate limits through the wrapped SDKs (memory storage): refusals, headers, tokens, all-or-nothing.

A loopback fake upstream counts what really reached the provider: a refused call never does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.policy.engine import ConfiguredPolicy
from llm_gateway_mw.policy.ratelimit import parse_limit
from llm_gateway_mw.policy.tokens import estimate_prompt_tokens
from tests.upstreams import FakeUpstream, Reply, Usage

KEY_ENV = "LLMGW_TEST_UPSTREAM_KEY"
STRATEGIES = ["fixed-window", "moving-window", "sliding-window-counter"]
MESSAGES: list[Any] = [{"role": "user", "content": "Tell me a short joke about rate limits."}]


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def make_gateway(upstream: FakeUpstream, rate_limits: dict[str, Any], **extra: Any) -> Gateway:
    models = extra.pop(
        "models",
        [
            {"name": "chat", "provider": "oai", "model": "gpt-4o-mini", "price": {"input": 1, "output": 2}},
            {"name": "claude", "provider": "ant", "model": "claude-sonnet-4-5"},
        ],
    )
    return Gateway(
        {
            "providers": {
                "oai": {"type": "openai", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV},
                "ant": {"type": "anthropic", "base_url": upstream.url, "api_key_env": KEY_ENV},
            },
            "models": models,
            "rate_limits": rate_limits,
            **extra,
        }
    )


def sync_client(gateway: Gateway) -> openai.OpenAI:
    return gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))


def async_client(gateway: Gateway) -> openai.AsyncOpenAI:
    return gateway.wrap(openai.AsyncOpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))


def policy_of(gateway: Gateway) -> ConfiguredPolicy:
    policy = gateway.runtime.policy
    assert isinstance(policy, ConfiguredPolicy)
    return policy


def remaining(gateway: Gateway, rule: int, who: str, unit: str = "requests") -> int:
    """What a call-level rule has left for ``who`` (read through the policy's own store)."""
    limiting = policy_of(gateway).limiting
    assert limiting is not None
    rule_obj = next(r for r in limiting.rules if r.namespace == f"rules[{rule}]" and r.unit == unit)
    return int(limiting.store.sync.stats(rule_obj.item, (rule_obj.namespace, who, unit))[1])


def test_refusal_is_an_openai_rate_limit_error_with_headers(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, {"rules": [{"per": "user", "limit": "3/minute"}]})
    client = sync_client(gateway)
    with gateway.caller(user="alice"):
        for _ in range(3):
            client.chat.completions.create(model="chat", messages=MESSAGES)
        assert gateway.runtime.recent[-1].rate_limit_remaining == 0
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="chat", messages=MESSAGES)
    assert len(upstream.requests) == 3  # the refused call never reached the upstream
    headers = refused.value.response.headers
    assert headers["x-ratelimit-limit"] == "3"
    assert headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(headers["retry-after"]) <= 60
    assert headers["x-ratelimit-reset"] == headers["retry-after"]
    assert headers["x-llm-gateway-error"] == "rate_limit_exceeded"
    assert "rate_limits.rules[0]: 3/minute requests per user (user 'alice')" in refused.value.message
    assert refused.value.code == "rate_limit_exceeded"
    # another user has their own window
    with gateway.caller(user="bob"):
        client.chat.completions.create(model="chat", messages=MESSAGES)
    assert len(upstream.requests) == 4


async def test_refusal_is_an_anthropic_rate_limit_error_async(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, {"rules": [{"per": "tenant", "limit": "2/minute"}]})
    client = gateway.wrap(anthropic.AsyncAnthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    with gateway.caller(tenant="acme"):
        for _ in range(2):
            await client.messages.create(model="claude", max_tokens=20, messages=MESSAGES)
        with pytest.raises(anthropic.RateLimitError) as refused:
            await client.messages.create(model="claude", max_tokens=20, messages=MESSAGES)
    assert len(upstream.requests) == 2
    assert refused.value.response.headers["x-ratelimit-limit"] == "2"
    assert refused.value.response.headers["retry-after"]
    assert "per tenant (tenant 'acme')" in refused.value.message


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_refused_call_consumes_no_other_rule(upstream: FakeUpstream, strategy: str) -> None:
    """tenant 3/day is hit first, then user 2/day refuses: the tenant hit must be given back."""
    rules = [{"per": "tenant", "limit": "3/day"}, {"per": "user", "limit": "2/day"}]
    gateway = make_gateway(upstream, {"strategy": strategy, "rules": rules})
    client = sync_client(gateway)
    with gateway.caller(tenant="acme", user="a"):
        client.chat.completions.create(model="chat", messages=MESSAGES)
        client.chat.completions.create(model="chat", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError, match=r"rules\[1\]"):
            client.chat.completions.create(model="chat", messages=MESSAGES)
    assert remaining(gateway, 0, "acme") == 1  # not charged by the refused call
    assert remaining(gateway, 1, "a") == 0
    with gateway.caller(tenant="acme", user="b"):
        client.chat.completions.create(model="chat", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError, match=r"rules\[0\]"):
            client.chat.completions.create(model="chat", messages=MESSAGES)
    assert remaining(gateway, 1, "b") == 1  # refused by the tenant rule, so b's own rule is untouched
    assert len(upstream.requests) == 3


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_tokens_reserve_the_estimate_then_settle_to_real_usage(
    upstream: FakeUpstream, strategy: str
) -> None:
    upstream.default = Reply(usage=Usage(input_tokens=100, output_tokens=20))
    gateway = make_gateway(
        upstream, {"strategy": strategy, "rules": [{"per": "user", "limit": "1000/day", "unit": "tokens"}]}
    )
    client = async_client(gateway)
    body = {"model": "chat", "messages": MESSAGES, "max_tokens": 900}
    estimate = estimate_prompt_tokens(body) + 900
    assert estimate <= 1000 < estimate + 120  # fits alone, but not after a settled call
    with gateway.caller(user="u"):
        await client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=900)
        assert remaining(gateway, 0, "u", "tokens") == 1000 - 120  # settled down to the real 120
        with pytest.raises(openai.RateLimitError) as refused:  # reserves the estimate, not the likely use
            await client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=900)
        assert refused.value.response.headers["x-ratelimit-remaining"] == str(1000 - 120)
        assert remaining(gateway, 0, "u", "tokens") == 880  # the refusal took nothing
        upstream.default = Reply(usage=Usage(input_tokens=600, output_tokens=50))
        await client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=10)
        assert remaining(gateway, 0, "u", "tokens") == 880 - 650  # settled up past the estimate
    assert len(upstream.requests) == 2


def test_a_request_bigger_than_the_token_limit_says_so(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, {"rules": [{"per": "global", "limit": "500 tokens/minute"}]})
    with pytest.raises(openai.RateLimitError, match="more than the whole limit of 500: lower max_tokens"):
        sync_client(gateway).chat.completions.create(model="chat", messages=MESSAGES, max_tokens=2000)
    assert upstream.requests == []


async def test_concurrent_calls_admit_exactly_the_limit(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, {"rules": [{"per": "global", "limit": "10/minute"}]})
    client = async_client(gateway)
    results = await asyncio.gather(
        *(client.chat.completions.create(model="chat", messages=MESSAGES) for _ in range(40)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(refused) == 30 and len(results) - len(refused) == 10
    assert len(upstream.requests) == 10


def test_model_scope_and_rule_model_filter(upstream: FakeUpstream) -> None:
    rules = [{"per": "model", "limit": "1/minute", "models": ["chat"]}]
    gateway = make_gateway(upstream, {"rules": rules})
    client = sync_client(gateway)
    client.chat.completions.create(model="chat", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError, match="per model for chat"):
        client.chat.completions.create(model="chat", messages=MESSAGES)
    claude = gateway.wrap(anthropic.Anthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    for _ in range(2):  # another model: the rule does not apply
        claude.messages.create(model="claude", max_tokens=10, messages=MESSAGES)


def test_key_rate_limits_apply_to_that_key_only(upstream: FakeUpstream) -> None:
    keys = [{"name": "ci", "hash": "sha256:" + "0" * 64, "rate_limits": ["1/minute"]}]
    gateway = make_gateway(upstream, {}, keys=keys)
    client = sync_client(gateway)
    with gateway.caller(key="ci"):
        client.chat.completions.create(model="chat", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError, match=r"keys\[0\] \(ci\)\.rate_limits\[0\]: 1/minute"):
            client.chat.completions.create(model="chat", messages=MESSAGES)
    with gateway.caller(key="other"):
        client.chat.completions.create(model="chat", messages=MESSAGES)
    assert len(upstream.requests) == 2


def test_a_deployment_at_its_limit_is_skipped_like_an_unhealthy_one(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.default = Reply(usage=Usage(input_tokens=10, output_tokens=5))
    models = [
        {
            "name": "chat",
            "provider": "oai",
            "model": "gpt-4o-mini",
            "limits": ["1/minute", "5000 tokens/minute"],
        },
        {"name": "chat", "provider": "oai", "model": "gpt-4o"},
    ]
    gateway = make_gateway(upstream, {}, models=models, routing={"strategy": "ordered"})
    client = sync_client(gateway)
    client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=100)
    client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=100)
    assert [r.model for r in upstream.requests] == ["gpt-4o-mini", "gpt-4o"]
    limiting = policy_of(gateway).limiting
    assert limiting is not None
    tokens_rule = next(r for r in limiting.deployment_rules["chat@oai/gpt-4o-mini"] if r.unit == "tokens")
    ids = (tokens_rule.namespace, "global", "tokens")
    assert limiting.store.sync.stats(tokens_rule.item, ids)[1] == 5000 - 15  # settled to the real usage


def test_parse_limit_units() -> None:
    [(unit, item)] = parse_limit("200000 tokens/minute")
    assert unit == "tokens" and item.amount == 200000 and item.get_expiry() == 60
    assert [u for u, _ in parse_limit("10/second;500/hour")] == ["requests", "requests"]
    assert parse_limit("5/day", "tokens")[0][0] == "tokens"
