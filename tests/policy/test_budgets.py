"""Budgets through the wrapped SDKs (memory storage): atomic reservations, exact settlement, errors.

The loopback upstream reports usage equal to the reservation's estimate where a test needs
admission to be independent of timing (real cost == worst case, so a settlement frees nothing).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import anthropic
import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.policy.budgets import NANO_PER_USD, to_nano, window_of
from llm_gateway_mw.policy.engine import ConfiguredPolicy
from llm_gateway_mw.policy.tokens import estimate_prompt_tokens
from llm_gateway_mw.records import Caller
from tests.upstreams import FakeUpstream, Reply, Usage, http_error

KEY_ENV = "LLMGW_TEST_UPSTREAM_KEY"
MESSAGES: list[Any] = [{"role": "user", "content": "Summarise the budget rules in one line."}]
MAX_TOKENS = 50
PRICE = {"input": 3.0, "output": 15.0}  # USD per 1M tokens
PROMPT = estimate_prompt_tokens({"messages": MESSAGES})
WORST_NANO = to_nano((PROMPT * 3.0 + MAX_TOKENS * 15.0) / 1e6)


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def make_gateway(upstream: FakeUpstream, budgets: dict[str, Any], **extra: Any) -> Gateway:
    return Gateway(
        {
            "providers": {
                "oai": {"type": "openai", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV},
                "ant": {"type": "anthropic", "base_url": upstream.url, "api_key_env": KEY_ENV},
            },
            "models": [
                {"name": "chat", "provider": "oai", "model": "gpt-4o-mini", "price": PRICE},
                {"name": "claude", "provider": "ant", "model": "claude-sonnet-4-5", "price": PRICE},
            ],
            "retry": {"attempts": 1},
            "budgets": budgets,
            **extra,
        }
    )


def spent_usd(gateway: Gateway, caller: Caller, model: str = "chat") -> float:
    policy = gateway.runtime.policy
    assert isinstance(policy, ConfiguredPolicy)
    [status] = policy.budget_status(caller, model)
    return status.spent_usd


def worst_case_usage() -> Reply:
    """The upstream reports exactly the estimate the reservation used: real cost == worst case."""
    return Reply(usage=Usage(input_tokens=PROMPT, output_tokens=MAX_TOKENS))


def budget_for(calls: float) -> float:
    return calls * WORST_NANO / NANO_PER_USD


async def test_100_concurrent_calls_against_a_budget_for_10_admit_10(upstream: FakeUpstream) -> None:
    upstream.default = worst_case_usage()
    gateway = make_gateway(upstream, {"rules": [{"per": "tenant", "usd": budget_for(10), "period": "day"}]})
    client = gateway.wrap(openai.AsyncOpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))

    async def one() -> Any:
        with gateway.caller(tenant="acme"):
            return await client.chat.completions.with_raw_response.create(
                model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS
            )

    results = await asyncio.gather(*(one() for _ in range(100)), return_exceptions=True)
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(admitted) <= 10 and len(admitted) + len(refused) == 100
    assert len(admitted) == 10  # the budget covers exactly 10 worst cases, and real == worst
    assert len(upstream.requests) == len(admitted)
    real_costs = [float(r.headers["x-llm-gateway-cost-usd"]) for r in admitted]
    assert sum(to_nano(c) for c in real_costs) == 10 * WORST_NANO
    assert to_nano(spent_usd(gateway, Caller(tenant="acme"))) == 10 * WORST_NANO  # to the nano-dollar
    assert {r.code for r in refused} == {"budget_exceeded"}


def test_concurrent_sync_threads_never_overshoot(upstream: FakeUpstream) -> None:
    upstream.default = worst_case_usage()
    gateway = make_gateway(upstream, {"rules": [{"per": "global", "usd": budget_for(7.5)}]})
    client = gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))

    def one(_: int) -> bool:
        try:
            client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS)
        except openai.RateLimitError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(one, range(40)))
    assert outcomes.count(True) == 7
    assert to_nano(spent_usd(gateway, Caller())) == 7 * WORST_NANO


def test_settlement_to_the_real_cost_frees_the_rest_of_the_reservation(upstream: FakeUpstream) -> None:
    upstream.default = Reply(usage=Usage(input_tokens=10, output_tokens=5))
    real_nano = to_nano((10 * 3.0 + 5 * 15.0) / 1e6)
    budget_nano = int(2.5 * WORST_NANO)
    gateway = make_gateway(upstream, {"rules": [{"per": "user", "usd": budget_nano / NANO_PER_USD}]})
    client = gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))
    expected, spent = 0, 0
    while spent + WORST_NANO <= budget_nano:  # what exact reserve-then-settle admits
        spent += real_nano
        expected += 1
    admitted = 0
    with gateway.caller(user="u1"):
        for _ in range(expected + 3):
            try:
                client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS)
                admitted += 1
                assert gateway.runtime.recent[-1].budget_remaining_usd == pytest.approx(
                    (budget_nano - admitted * real_nano) / NANO_PER_USD, abs=1e-9
                )
            except openai.RateLimitError as refused:
                assert refused.code == "budget_exceeded"
    assert admitted == expected > 2
    assert to_nano(spent_usd(gateway, Caller(user="u1"))) == expected * real_nano


def test_budget_exceeded_is_a_distinct_429(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, {"rules": [{"per": "user", "usd": budget_for(0.5), "period": "hour"}]})
    client = gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))
    with gateway.caller(user="u1"), pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS)
    error = refused.value
    assert error.status_code == 429 and error.code == "budget_exceeded"
    assert error.response.headers["x-llm-gateway-error"] == "budget_exceeded"
    assert 1 <= int(error.response.headers["retry-after"]) <= 3600
    assert "budgets.rules[0]" in error.message and "per user (user 'u1')" in error.message
    assert "Lower max_tokens or raise the budget" in error.message
    assert upstream.requests == []

    claude = gateway.wrap(anthropic.Anthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    with gateway.caller(user="u1"), pytest.raises(anthropic.RateLimitError) as refused_too:
        claude.messages.create(model="claude", max_tokens=MAX_TOKENS, messages=MESSAGES)
    assert refused_too.value.response.headers["x-llm-gateway-error"] == "budget_exceeded"


async def test_a_failed_call_releases_its_reservation(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, {"rules": [{"per": "user", "usd": budget_for(1)}]})
    client = gateway.wrap(anthropic.AsyncAnthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    upstream.enqueue(http_error(500))
    with gateway.caller(user="u1"):
        with pytest.raises(anthropic.InternalServerError):
            await client.messages.create(model="claude", max_tokens=MAX_TOKENS, messages=MESSAGES)
        assert spent_usd(gateway, Caller(user="u1"), "claude") == 0.0
        upstream.default = worst_case_usage()
        await client.messages.create(model="claude", max_tokens=MAX_TOKENS, messages=MESSAGES)
    assert to_nano(spent_usd(gateway, Caller(user="u1"), "claude")) == WORST_NANO


def test_a_cache_hit_costs_the_budget_nothing(upstream: FakeUpstream) -> None:
    upstream.default = worst_case_usage()
    gateway = make_gateway(
        upstream,
        {"rules": [{"per": "user", "usd": budget_for(2.5)}]},
        cache={"enabled": True, "scope": "user"},
    )
    client = gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))
    with gateway.caller(user="u1"):
        for _ in range(3):
            raw = client.chat.completions.with_raw_response.create(
                model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS, temperature=0
            )
    assert raw.headers["x-llm-gateway-cache"] == "hit"
    assert raw.headers["x-llm-gateway-cost-usd"] == "0.00000000"
    assert len(upstream.requests) == 1
    assert to_nano(spent_usd(gateway, Caller(user="u1"))) == WORST_NANO


def test_key_budget_and_model_scope(upstream: FakeUpstream) -> None:
    upstream.default = worst_case_usage()
    keys = [
        {"name": "ci", "hash": "sha256:" + "0" * 64, "budget_usd": budget_for(1), "budget_period": "month"}
    ]
    gateway = make_gateway(
        upstream, {"rules": [{"per": "model", "usd": budget_for(2), "period": "week"}]}, keys=keys
    )
    client = gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))
    with gateway.caller(key="ci"):
        client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS)
        with pytest.raises(openai.RateLimitError, match=r"keys\[0\] \(ci\)"):
            client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS)
    client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS)  # no key
    with pytest.raises(openai.RateLimitError, match=r"per model \(model 'chat'\)"):
        client.chat.completions.create(model="chat", messages=MESSAGES, max_tokens=MAX_TOKENS)


def test_calendar_windows_in_utc() -> None:
    at = datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)  # a Thursday
    assert window_of("hour", at)[0] == "2026-12-31T23"
    assert window_of("day", at)[1:] == (
        datetime(2026, 12, 31, tzinfo=timezone.utc),
        datetime(2027, 1, 1, tzinfo=timezone.utc),
    )
    week_id, monday, next_monday = window_of("week", at)
    assert (week_id, monday.weekday(), (next_monday - monday).days) == ("2026-W53", 0, 7)
    assert monday == datetime(2026, 12, 28, tzinfo=timezone.utc)
    assert window_of("month", at) == (
        "2026-12",
        datetime(2026, 12, 1, tzinfo=timezone.utc),
        datetime(2027, 1, 1, tzinfo=timezone.utc),
    )
    with pytest.raises(ValueError, match="hour, day, week or month"):
        window_of("year", at)
