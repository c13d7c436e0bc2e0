"""The express lane's edges: replies it cannot finish, timeouts, trace context, interrupted sends,
and calls under request rate limits, each compared with the pipeline's own road (``express_roads``).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import openai
import pytest

from llm_gateway_mw import Gateway, express
from tests.core.express_roads import MESSAGES, record, serve
from tests.sdk_compat import sdk_http_module
from tests.telemetry.conftest import Otel
from tests.upstreams import behaviours as b
from tests.upstreams.server import FakeUpstream

NO_USAGE_REPLY = (
    '{"id": "chatcmpl-nousage", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",'
    ' "choices": [{"index": 0, "message": {"role": "assistant", "content": "no usage here"},'
    ' "finish_reason": "stop"}]}'
)


def _edge_story(upstream: FakeUpstream, *, express: bool) -> list[Any]:
    """A plain call (the model's plan is built), then replies the lane cannot finish by itself."""
    gateway = Gateway({"retry": {"attempts": 2, "backoff_initial": 0.001, "backoff_max": 0.001}})
    gateway.runtime.express = gateway.runtime.lane = express  # False: every call takes handle_call
    client = gateway.wrap(openai.OpenAI(api_key="test-key", base_url=upstream.openai_base_url))
    seen: list[Any] = []
    for behaviour in (None, b.malformed_json(NO_USAGE_REPLY), b.malformed_json(), b.server_error(503)):
        if behaviour is not None:
            upstream.enqueue(behaviour)
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
        seen.append((raw.parse().choices[0].message.content, raw.headers["x-llm-gateway-attempts"]))
    seen.append([record(call) for call in gateway.runtime.recent])
    assert bool(client._client._transport.binding.express) == express  # calls 2-4 took the lane
    [health] = gateway.runtime._health.values()
    seen.append((health.successes, health.failures, health.in_flight))
    return seen


def test_replies_the_lane_cannot_finish_end_as_the_pipeline_ends_them(upstream: FakeUpstream) -> None:
    """No usage on the tail (parsed whole), an unparsable body and a 503 (both retried)."""
    with_lane = _edge_story(upstream, express=True)
    without = _edge_story(upstream, express=False)
    assert with_lane == without
    assert with_lane[1] == ("no usage here", "1")
    assert [attempts for _, attempts in with_lane[2:4]] == ["2", "2"]
    assert with_lane[5] == (4, 2, 0)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_the_lane_keeps_the_callers_timeout(upstream: FakeUpstream, is_async: bool) -> None:
    gateway = Gateway({"retry": {"attempts": 1}})
    sdk = openai.AsyncOpenAI if is_async else openai.OpenAI
    client = gateway.wrap(sdk(api_key="test-key", base_url=upstream.openai_base_url, timeout=0.3))

    async def twice_async() -> None:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        upstream.enqueue(b.slow_headers(5.0))
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    started = 0.0
    with pytest.raises(openai.APITimeoutError):
        if is_async:
            asyncio.run(twice_async())
        else:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            upstream.enqueue(b.slow_headers(5.0))
            started = time.monotonic()
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    if started:
        assert time.monotonic() - started < 4  # the 0.3 s timeout, not the upstream's 5 s
    assert sorted(client._client._transport.binding.express) == ["gpt-4o-mini"]
    timed_out = list(gateway.runtime.recent)[-1]
    assert timed_out.error_type == "timeout" and timed_out.attempts[0].error_type == "timeout"
    assert all(h.in_flight == 0 for h in gateway.runtime._health.values())


def test_the_lane_sends_the_attempt_spans_trace_context(upstream: FakeUpstream, otel: Otel) -> None:
    gateway = Gateway(
        {"telemetry": {"propagate_traceparent": True}},
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
    )
    client = gateway.wrap(openai.OpenAI(api_key="test-key", base_url=upstream.openai_base_url))
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert sorted(client._client._transport.binding.express) == ["gpt-4o-mini"]  # the second took the lane
    assert gateway.flush_telemetry()
    attempt_spans = [s for s in otel.spans_exporter.get_finished_spans() if s.name.startswith("chat ")]
    sent = [r.headers["traceparent"].split("-")[2] for r in upstream.requests]
    assert sent == [
        format(s.context.span_id, "016x") for s in sorted(attempt_spans, key=lambda s: s.start_time)
    ]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_exception_inside_the_lanes_send_ends_the_call(upstream: FakeUpstream, is_async: bool) -> None:
    """An application's event hook that raises: the call is recorded as cut short, nothing stays in flight."""
    calls = 0

    def hook(request: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the application's hook refused")

    async def async_hook(request: Any) -> None:
        hook(request)

    gateway = Gateway({})
    if is_async:
        http: Any = sdk_http_module().AsyncClient(event_hooks={"request": [async_hook]})
        client: Any = openai.AsyncOpenAI(
            api_key="test-key", base_url=upstream.openai_base_url, http_client=http
        )
    else:
        http = sdk_http_module().Client(event_hooks={"request": [hook]})
        client = openai.OpenAI(api_key="test-key", base_url=upstream.openai_base_url, http_client=http)
    wrapped = gateway.wrap(client)

    async def twice_async() -> None:
        for _ in range(2):
            await wrapped.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    # The gateway lets it through, as the pipeline does; older SDKs wrap it in APIConnectionError.
    with pytest.raises((RuntimeError, openai.APIConnectionError)) as raised:
        if is_async:
            asyncio.run(twice_async())
        else:
            for _ in range(2):
                wrapped.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert _root(raised.value) == "RuntimeError: the application's hook refused"
    assert sorted(wrapped._client._transport.binding.express) == ["gpt-4o-mini"]
    cut = list(gateway.runtime.recent)[-1]
    assert (cut.error_type, cut.error_message) == ("RuntimeError", "the application's hook refused")
    assert cut.ended is not None
    assert all(h.in_flight == 0 for h in gateway.runtime._health.values())


# --------------------------------------------------------------------------- the lane under rate limits

LIMITS = {"rate_limits": {"storage": "memory://", "rules": [{"per": "user", "limit": "100/minute"}]}}


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("telemetry", [False, True], ids=["telemetry-off", "telemetry-on"])
def test_under_request_limits_the_lane_admits_and_records_what_the_pipeline_does(
    upstream: FakeUpstream, otel: Otel, is_async: bool, telemetry: bool
) -> None:
    roads = [
        serve(upstream, express=lane, is_async=is_async, otel=otel if telemetry else None, config=LIMITS)
        for lane in (True, False)
    ]
    with_lane, without = roads
    assert with_lane.pop("express_models") == ["gpt-4o-mini", "text-embedding-3-small"]
    assert without.pop("express_models") == []
    assert with_lane == without
    # one window per user, counted down call by call on both roads
    assert [r["rate_limit_remaining"] for r in with_lane["records"]] == [99, 98, 97, 96, 95]


def _refusal_story(upstream: FakeUpstream, *, lane: bool, is_async: bool) -> list[Any]:
    """Two calls a minute allowed: two answers, then a refusal; a failed call gives nothing back."""
    config = {
        "rate_limits": {"storage": "memory://", "rules": [{"per": "user", "limit": "3/minute"}]},
        "retry": {"attempts": 1},
    }
    gateway = Gateway(config)
    gateway.runtime.express = gateway.runtime.lane = lane
    sdk = openai.AsyncOpenAI if is_async else openai.OpenAI
    client = gateway.wrap(sdk(api_key="test-key", base_url=upstream.openai_base_url))
    seen: list[Any] = []

    async def story() -> None:
        for behaviour in (None, b.server_error(500), None, None):
            if behaviour is not None:
                upstream.enqueue(behaviour)
            create = client.chat.completions.with_raw_response.create
            try:
                raw = create(model="gpt-4o-mini", messages=MESSAGES)
                raw = await raw if is_async else raw
                seen.append((raw.status_code, raw.headers["x-llm-gateway-attempts"]))
            except openai.APIStatusError as error:
                headers = error.response.headers
                seen.append(
                    (error.status_code, headers.get("x-llm-gateway-error"), headers.get("retry-after"))
                )

    with gateway.caller(user="u1"):
        asyncio.run(story())
    seen.append([record(call) for call in gateway.runtime.recent])
    [health] = gateway.runtime._health.values()
    seen.append((health.successes, health.failures, health.in_flight))
    assert bool(client._client._transport.binding.express) == lane
    return seen


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_refusal_and_a_failure_on_the_lane_end_as_in_the_pipeline(
    upstream: FakeUpstream, is_async: bool
) -> None:
    with_lane = _refusal_story(upstream, lane=True, is_async=is_async)
    without = _refusal_story(upstream, lane=False, is_async=is_async)
    assert with_lane == without
    assert with_lane[0] == (200, "1")
    assert with_lane[1][:2] == (500, None)  # an upstream error: the request counted, nothing refunded
    assert with_lane[2] == (200, "1")
    assert with_lane[3][:2] == (429, "rate_limit_exceeded") and with_lane[3][2] is not None
    refusal = with_lane[4][3]
    assert refusal["error_type"] == "RateLimitExceeded" and refusal["attempts"] == []


def test_only_request_rules_on_in_process_stores_are_admitted_in_place() -> None:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")  # never dialled here

    def lane(config: dict[str, Any]) -> bool:
        return bool(Gateway(config).runtime.lane)

    memory = {"storage": "memory://"}
    assert lane({})
    assert lane({"rate_limits": {**memory, "rules": [{"per": "user", "limit": "5/second"}]}})
    assert not lane(
        {"rate_limits": {**memory, "rules": [{"per": "user", "limit": "5/second", "unit": "tokens"}]}}
    )
    assert not lane({"rate_limits": {"storage": redis_url, "rules": [{"per": "user", "limit": "5/second"}]}})
    assert not lane(
        {
            "rate_limits": {**memory, "rules": [{"per": "user", "limit": "5/second"}]},
            "budgets": {**memory, "rules": [{"per": "user", "usd": 1.0, "period": "day"}]},
        }
    )
    assert not lane({"cache": {"enabled": True}})


def test_a_bug_while_entering_the_lane_ends_the_call(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admitted, then cut short before its request: recorded as ended with the error, nothing in flight."""
    gateway = Gateway(LIMITS)
    client = gateway.wrap(openai.OpenAI(api_key="test-key", base_url=upstream.openai_base_url))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # builds the plan
    runtime = gateway.runtime

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug in the bookkeeping")

    with monkeypatch.context() as patched:  # the lane reads the SDK's timeout after admitting the call
        patched.setattr(express, "sdk_timeout", broken)
        with pytest.raises((RuntimeError, openai.APIConnectionError)) as raised:  # older SDKs wrap it
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert _root(raised.value) == "RuntimeError: a bug in the bookkeeping"
    cut = list(runtime.recent)[-1]
    assert (cut.error_type, cut.ended is not None, cut.rate_limit_remaining) == ("RuntimeError", True, 98)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    # the cut call keeps its request counted, as in the pipeline
    assert list(runtime.recent)[-1].rate_limit_remaining == 97
    assert all(h.in_flight == 0 for h in runtime._health.values()) and len(upstream.requests) == 2


def _root(error: BaseException) -> str:
    """The exception the gateway raised, under the SDK's wrapping of it (older SDKs wrap)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return f"{type(error).__name__}: {error}"
