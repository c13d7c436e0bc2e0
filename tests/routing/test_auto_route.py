"""The `auto` route end to end: the classifier picks the tier, the reason is recorded, a custom one can replace it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai

from llm_gateway_mw import Gateway
from llm_gateway_mw.routing.complexity import ComplexityDecision

CONFIG: dict[str, Any] = {
    "providers": {"mock": {"type": "mock"}},
    "models": [
        {"name": "cheap", "provider": "mock", "model": "mock-small"},
        {"name": "strong", "provider": "mock", "model": "mock-large"},
    ],
    "routes": {"auto": {"strategy": "complexity", "targets": ["cheap", "strong"]}},
}
HARD = (
    "Design a multi-region, strongly consistent rate limiter for an API gateway. Compare token bucket and "
    "sliding window approaches, analyze the trade-offs under network partitions, and prove that your "
    "design never admits more than N requests per window. Then write the Redis Lua script."
)


def test_simple_goes_cheap_and_complex_goes_strong_with_reasons() -> None:
    gateway = Gateway(CONFIG)
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    assert raw.headers["x-llm-gateway-deployment"] == "cheap" and raw.headers["x-llm-gateway-route"] == "auto"
    simple = gateway.runtime.recent[-1]
    assert simple.route == "auto" and simple.strategy == "complexity"
    assert simple.decision_reason and simple.decision_reason.startswith("simple")
    client.chat.completions.create(model="auto", messages=[{"role": "user", "content": HARD}])
    hard = gateway.runtime.recent[-1]
    assert hard.attempts[-1].deployment == "strong"
    assert hard.decision_reason and hard.decision_reason.startswith("complex")


def test_failing_cheap_tier_escalates_to_the_strong_tier() -> None:
    config = {
        **CONFIG,
        "providers": {"mock": {"type": "mock"}, "down": {"type": "mock", "failure_rate": 1.0}},
        "models": [{"name": "cheap", "provider": "down"}, {"name": "strong", "provider": "mock"}],
        "retry": {"attempts": 1},
    }
    gateway = Gateway(config)
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    assert [a.deployment for a in gateway.runtime.recent[-1].attempts] == ["cheap", "strong"]


def test_a_user_classifier_replaces_the_default() -> None:
    seen: list[int] = []

    def always_strong(body: Mapping[str, Any], tiers: int) -> ComplexityDecision:
        seen.append(tiers)
        return ComplexityDecision(tier=tiers - 1, score=1.0, reason="policy: VIP tenant", signals=("vip",))

    gateway = Gateway(CONFIG, classifier=always_strong)
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    call = gateway.runtime.recent[-1]
    assert (
        seen == [2]
        and call.attempts[-1].deployment == "strong"
        and call.decision_reason == "policy: VIP tenant"
    )


def test_a_failing_classifier_surfaces_and_the_call_is_still_closed() -> None:
    def broken(body: Mapping[str, Any], tiers: int) -> ComplexityDecision:
        raise RuntimeError("classifier exploded")

    gateway = Gateway(CONFIG, classifier=broken)
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    try:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": "hi"}])
    except RuntimeError as err:  # current SDKs let it through as it is
        assert "classifier exploded" in str(err)
    except openai.APIConnectionError as err:  # older SDKs wrap what their transport raised
        assert isinstance(err.__cause__, RuntimeError)
    else:
        raise AssertionError("the classifier's error must reach the application")
    call = gateway.runtime.recent[-1]
    assert call.error_type == "RuntimeError" and call.ended is not None
