"""Routing decisions: strategies, capability pre-checks, circuit breaking and context-length fallback."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.routing.health import DeploymentHealth
from tests.gateway_configs import KEY_ENV
from tests.upstreams import behaviours as b
from tests.upstreams.server import FakeUpstream

MESSAGES = [{"role": "user", "content": "hello"}]


def mock_config(deployments: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    providers = {d["provider"]: {"type": "mock", **d.pop("mock", {})} for d in deployments}
    return {"providers": providers, "models": deployments, **extra}


def served_by(gateway: Gateway) -> str:
    return gateway.runtime.recent[-1].attempts[-1].provider


def client(gateway: Gateway) -> openai.OpenAI:
    return gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))


def test_weighted_shares_follow_weights() -> None:
    gateway = Gateway(
        mock_config(
            [{"name": "m", "provider": "heavy", "weight": 3}, {"name": "m", "provider": "light", "weight": 1}]
        ),
        seed=1,
    )
    c = client(gateway)
    counts = Counter()
    for _ in range(400):
        c.chat.completions.create(model="m", messages=MESSAGES)
        counts[served_by(gateway)] += 1
    assert 0.68 < counts["heavy"] / 400 < 0.82


def test_ordered_always_takes_the_first() -> None:
    gateway = Gateway(
        mock_config(
            [{"name": "m", "provider": "first"}, {"name": "m", "provider": "second"}],
            routing={"strategy": "ordered"},
        )
    )
    c = client(gateway)
    for _ in range(20):
        c.chat.completions.create(model="m", messages=MESSAGES)
        assert served_by(gateway) == "first"


def test_lowest_cost_uses_prices() -> None:
    gateway = Gateway(
        mock_config(
            [
                {"name": "m", "provider": "dear", "price": {"input": 5.0, "output": 15.0}},
                {"name": "m", "provider": "cheap", "price": {"input": 0.1, "output": 0.4}},
            ],
            routing={"strategy": "lowest-cost"},
        )
    )
    c = client(gateway)
    for _ in range(10):
        c.chat.completions.create(model="m", messages=MESSAGES)
        assert served_by(gateway) == "cheap"


def test_lowest_latency_learns_from_observed_latency() -> None:
    gateway = Gateway(
        mock_config(
            [
                {"name": "m", "provider": "slow", "mock": {"latency_ms": 30}},
                {"name": "m", "provider": "fast", "mock": {"latency_ms": 1}},
            ],
            routing={"strategy": "lowest-latency"},
        )
    )
    client(Gateway(mock_config([{"name": "m", "provider": "warm"}]))).chat.completions.create(
        model="m", messages=MESSAGES
    )  # warm this process's imports so they are not timed as latency
    c = client(gateway)
    for _ in range(2):  # each unmeasured deployment is tried once
        c.chat.completions.create(model="m", messages=MESSAGES)
    picks = []
    for _ in range(10):
        c.chat.completions.create(model="m", messages=MESSAGES)
        picks.append(served_by(gateway))
    assert picks == ["fast"] * 10


def test_least_busy_spreads_concurrent_calls() -> None:
    gateway = Gateway(
        mock_config(
            [
                {"name": "m", "provider": "a", "mock": {"latency_ms": 50}},
                {"name": "m", "provider": "b", "mock": {"latency_ms": 50}},
            ],
            routing={"strategy": "least-busy"},
        )
    )

    async def burst() -> Counter[str]:
        c = gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
        await asyncio.gather(*(c.chat.completions.create(model="m", messages=MESSAGES) for _ in range(10)))
        return Counter(call.attempts[-1].provider for call in gateway.runtime.recent)

    counts = asyncio.run(burst())
    assert counts == Counter({"a": 5, "b": 5})


def small_then_big(*, small_window: int) -> Gateway:
    """A model with a small context window, falling back to one with a large window."""
    return Gateway(
        mock_config(
            [
                {"name": "small", "provider": "p1", "context_window": small_window},
                {"name": "big", "provider": "p2", "context_window": 100000},
            ],
            fallbacks={"small": ["big"]},
        )
    )


def test_context_window_precheck_skips_small_deployments() -> None:
    gateway = small_then_big(small_window=50)
    c = client(gateway)
    long_prompt = [{"role": "user", "content": "word " * 400}]
    c.chat.completions.create(model="small", messages=long_prompt)
    call = gateway.runtime.recent[-1]
    assert [a.deployment for a in call.attempts] == ["big"]  # small never received it
    only_small = Gateway(mock_config([{"name": "small", "provider": "p1", "context_window": 50}]))
    with pytest.raises(openai.BadRequestError, match="exceeds its context window of 50"):
        client(only_small).chat.completions.create(model="small", messages=long_prompt)


def test_tools_and_images_prechecks() -> None:
    gateway = Gateway(
        mock_config(
            [
                {"name": "plain", "provider": "p1", "supports_tools": False, "supports_images": False},
                {"name": "capable", "provider": "p2"},
            ],
            fallbacks={"plain": ["capable"]},
        )
    )
    c = client(gateway)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    c.chat.completions.create(model="plain", messages=MESSAGES, tools=tools)
    assert [a.deployment for a in gateway.runtime.recent[-1].attempts] == ["capable"]
    image = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        }
    ]
    c.chat.completions.create(model="plain", messages=image)
    assert [a.deployment for a in gateway.runtime.recent[-1].attempts] == ["capable"]
    c.chat.completions.create(model="plain", messages=MESSAGES)
    assert [a.deployment for a in gateway.runtime.recent[-1].attempts] == ["plain"]


def breaker_config(**breaker: Any) -> dict[str, Any]:
    return mock_config(
        [
            {"name": "primary", "provider": "bad", "mock": {"failure_rate": 1.0, "failure_status": 503}},
            {"name": "backup", "provider": "good"},
        ],
        fallbacks={"primary": ["backup"]},
        retry={"attempts": 1},
        circuit_breaker=breaker,
    )


def test_circuit_opens_after_consecutive_failures_then_probes() -> None:
    gateway = Gateway(breaker_config(failures=2, cooldown=0.2))
    c = client(gateway)
    tried = []
    for _ in range(3):
        c.chat.completions.create(model="primary", messages=MESSAGES)
        tried.append([a.deployment for a in gateway.runtime.recent[-1].attempts])
    assert tried == [["primary", "backup"], ["primary", "backup"], ["backup"]]  # open after 2
    time.sleep(0.25)
    c.chat.completions.create(model="primary", messages=MESSAGES)  # one half-open probe
    assert [a.deployment for a in gateway.runtime.recent[-1].attempts] == ["primary", "backup"]
    c.chat.completions.create(model="primary", messages=MESSAGES)  # the failed probe re-opened it
    assert [a.deployment for a in gateway.runtime.recent[-1].attempts] == ["backup"]


def test_breaker_state_machine_with_a_clock() -> None:
    health = DeploymentHealth(failures_to_open=3, cooldown=10)
    for t in range(3):
        assert health.available(float(t))
        health.record_failure(float(t), "503")
    assert health.state(3.0) == "open" and not health.available(5.0)
    assert health.reopens_in(5.0) == pytest.approx(7.0)  # opened at t=2, cooldown 10
    assert health.state(12.5) == "half-open"
    assert health.available(12.5) and not health.available(12.6)  # exactly one probe
    health.record_success(0.1)
    assert health.state(12.7) == "closed" and health.available(12.7)


def test_all_open_waits_for_the_probe_when_it_fits(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    upstream.enqueue(b.server_error(500))
    config = {
        "providers": {
            "p": {"type": "openai-compatible", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV}
        },
        "models": [{"name": "m", "provider": "p"}],
        "retry": {"attempts": 1, "timeout": 5},
        "circuit_breaker": {"failures": 1, "cooldown": 0.3},
    }
    gateway = Gateway(config)
    c = client(gateway)
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model="m", messages=MESSAGES)
    started = time.monotonic()
    completion = c.chat.completions.create(model="m", messages=MESSAGES)  # waits for the probe, then succeeds
    assert completion.choices[0].message.content == "Hello from upstream"
    assert time.monotonic() - started >= 0.25
    assert len(upstream.requests) == 2


def test_all_open_beyond_the_deadline_is_a_typed_503() -> None:
    gateway = Gateway(
        mock_config(
            [{"name": "m", "provider": "bad", "mock": {"failure_rate": 1.0}}],
            retry={"attempts": 1, "timeout": 1},
            circuit_breaker={"failures": 1, "cooldown": 30},
        )
    )
    c = client(gateway)
    with pytest.raises(openai.InternalServerError):
        c.chat.completions.create(model="m", messages=MESSAGES)
    with pytest.raises(openai.InternalServerError) as info:
        c.chat.completions.create(model="m", messages=MESSAGES)
    response = info.value.response
    assert info.value.status_code == 503
    assert response.headers["x-llm-gateway-error"] == "no_healthy_deployment"
    assert 28 <= int(response.headers["retry-after"]) <= 30
    assert "circuit open" in str(info.value) and "Retry in" in str(info.value)


def test_context_length_error_falls_back_to_a_larger_context_model(
    upstream_factory: Callable[..., FakeUpstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    small, tiny, big = upstream_factory("small"), upstream_factory("tiny"), upstream_factory("big")
    small.enqueue(
        b.http_error(
            400, code="context_length_exceeded", message="This model's maximum context length is 8192 tokens."
        )
    )

    def provider(u: FakeUpstream) -> dict[str, Any]:
        return {"type": "openai-compatible", "base_url": u.openai_base_url, "api_key_env": KEY_ENV}

    gateway = Gateway(
        {
            "providers": {"s": provider(small), "t": provider(tiny), "b": provider(big)},
            "models": [
                {"name": "small", "provider": "s", "context_window": 8192},
                {"name": "tiny", "provider": "t", "context_window": 4096},
                {"name": "big", "provider": "b", "context_window": 200000},
            ],
            "fallbacks": {"small": ["tiny", "big"]},
            "retry": {"attempts": 2},
        }
    )
    completion = client(gateway).chat.completions.create(model="small", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hello from big"
    assert (len(small.requests), len(tiny.requests), len(big.requests)) == (1, 0, 1)


def test_untranslatable_fallback_is_skipped_not_fatal(
    upstream_factory: Callable[..., FakeUpstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    first, claude, last = upstream_factory("first"), upstream_factory("claude"), upstream_factory("last")
    first.enqueue(b.server_error(503))

    def oai(u: FakeUpstream) -> dict[str, Any]:
        return {"type": "openai-compatible", "base_url": u.openai_base_url, "api_key_env": KEY_ENV}

    gateway = Gateway(
        {
            "providers": {
                "f": oai(first),
                "l": oai(last),
                "a": {"type": "anthropic", "base_url": claude.anthropic_base_url, "api_key_env": KEY_ENV},
            },
            "models": [
                {"name": "gpt", "provider": "f"},
                {"name": "claude", "provider": "a"},
                {"name": "gpt-b", "provider": "l"},
            ],
            "fallbacks": {"gpt": ["claude", "gpt-b"]},
            "retry": {"attempts": 1},
        }
    )
    # logit_bias has no Anthropic equivalent: the claude fallback is skipped, the next one serves.
    completion = client(gateway).chat.completions.create(model="gpt", messages=MESSAGES, logit_bias={"1": 1})
    assert completion.choices[0].message.content == "Hello from last"
    assert (len(first.requests), len(claude.requests), len(last.requests)) == (1, 0, 1)


def test_prechecks_read_an_undecoded_body_only_when_it_could_fail_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Within a known window and free of typed blocks, a body is not decoded for the checks."""
    import llm_gateway_mw.inbound as inbound_module

    decoded: list[bytes] = []
    parse = inbound_module.parse_body

    def counting(raw: bytes) -> Any:
        decoded.append(raw)
        return parse(raw)

    gateway = small_then_big(small_window=400)
    c = client(gateway)
    c.chat.completions.create(model="small", messages=MESSAGES)  # the first call builds the plan
    monkeypatch.setattr(inbound_module, "parse_body", counting)
    c.chat.completions.create(model="small", messages=MESSAGES)
    assert served_by(gateway) == "p1" and decoded == []  # 60-odd bytes cannot exceed 400 tokens
    c.chat.completions.create(model="small", messages=[{"role": "user", "content": "word " * 400}])
    assert served_by(gateway) == "p2" and len(decoded) == 1  # 2 KB might: estimated, too long


def test_the_estimate_never_exceeds_the_bytes_of_a_body_without_typed_blocks() -> None:
    """What lets the pre-checks leave a short body undecoded (``capabilities._fits_undecoded``)."""
    import json
    import random

    from llm_gateway_mw.policy.tokens import estimate_prompt_tokens

    rng = random.Random(7)
    alphabet = 'ab \n"\\é中😀1' + "".join(chr(c) for c in range(0x20, 0x7F))
    for _ in range(2000):
        messages = [
            {
                "role": rng.choice(["user", "assistant", "system"]),
                "content": "".join(rng.choices(alphabet, k=rng.randint(0, 12))),
            }
            for _ in range(rng.randint(0, 4))
        ]
        body: dict[str, Any] = {"messages": messages, "model": "m"}
        if rng.random() < 0.3:
            body["input"] = rng.choice(["", "x", [1, 2, 3], ["a", "bb"]])
        if rng.random() < 0.3:
            body["system"] = "".join(rng.choices(alphabet, k=rng.randint(0, 5)))
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=rng.random() < 0.5).encode()
        assert b'"type":' not in raw
        assert estimate_prompt_tokens(body) <= len(raw), raw
