"""Spans and metrics the gateway records: names, parenting, attributes, failover, idempotency."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import threading
import time
import weakref
from typing import Any

import pytest
from opentelemetry import context, trace
from opentelemetry.metrics import _internal as metrics_api
from opentelemetry.trace import SpanKind, StatusCode

from llm_gateway_mw.telemetry import names as n
from llm_gateway_mw.telemetry.recorder import Telemetry
from llm_gateway_mw.telemetry.settings import TelemetrySettings
from llm_gateway_mw.usage import Usage

from .conftest import Otel, Record, fail, make_attempt, make_call, succeed

DEPRECATED = {
    "gen_ai.system",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.request.top_k_sampling",
    "gen_ai.response.finish_reason",
    "gen_ai.usage.total_tokens",
}


def _every_key(otel: Otel, telemetry: Telemetry) -> set[str]:
    keys: set[str] = set()
    for span in otel.spans(telemetry):
        keys |= set(span.attributes or {})
        for event in span.events:
            keys |= set(event.attributes or {})
    for metric in otel.metrics(telemetry).values():
        for point in metric.data.data_points:
            keys |= set(point.attributes or {})
    return keys


def test_spans_are_named_kinded_and_parented(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry()
    app_tracer = otel.tracer_provider.get_tracer("app")
    with app_tracer.start_as_current_span("GET /chat") as app_span:
        before = context.get_current()
        call = record_call(telemetry)
        assert context.get_current() is before  # nothing attached, nothing left behind
    gateway = otel.span(telemetry, "gateway smart")
    inference = otel.span(telemetry, "chat gpt-4o")
    assert gateway.kind is SpanKind.INTERNAL
    assert inference.kind is SpanKind.CLIENT
    assert gateway.parent is not None and gateway.parent.span_id == app_span.get_span_context().span_id
    assert inference.parent is not None and inference.parent.span_id == gateway.context.span_id
    assert gateway.context.trace_id == inference.context.trace_id == app_span.get_span_context().trace_id
    assert call.parent_context is not None
    # after the end, the record keeps the span context (for headers, logs) but nothing to end again
    assert call.span.get_span_context().span_id == gateway.context.span_id
    assert not call.span.is_recording()


def test_explicit_parent_context_wins_over_the_current_one(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry()
    tracer = otel.tracer_provider.get_tracer("app")
    request_span = tracer.start_span("request")
    parent = trace.set_span_in_context(request_span)
    with tracer.start_as_current_span("unrelated"):
        record_call(telemetry, parent_context=parent)
    request_span.end()
    gateway = otel.span(telemetry, "gateway smart")
    assert gateway.parent is not None and gateway.parent.span_id == request_span.get_span_context().span_id


@pytest.mark.parametrize("inline", [False, True], ids=["created-by-worker", "created-inline"])
def test_inference_span_attributes(otel: Otel, record_call: Record, inline: bool) -> None:
    # propagate_traceparent creates the spans inline (their context goes upstream): same result
    telemetry = otel.telemetry(propagate_traceparent=inline)
    record_call(telemetry)
    attrs = dict(otel.span(telemetry, "chat gpt-4o").attributes or {})
    assert attrs == {
        n.OPERATION_NAME: "chat",
        n.PROVIDER_NAME: "openai",
        n.REQUEST_MODEL: "gpt-4o",
        n.SERVER_ADDRESS: "api.openai.com",
        n.SERVER_PORT: 443,
        n.DEPLOYMENT: "openai-main",
        n.GATEWAY_PROVIDER: "openai-main",
        n.GATEWAY_ATTEMPT: 1,
        n.REQUEST_TEMPERATURE: 0.2,
        n.REQUEST_TOP_P: 0.9,
        n.REQUEST_MAX_TOKENS: 256,
        n.REQUEST_STOP_SEQUENCES: ("END",),
        n.REQUEST_SEED: 7,
        n.RESPONSE_ID: "chatcmpl-123",
        n.RESPONSE_MODEL: "gpt-4o-2024-08-06",
        n.RESPONSE_FINISH_REASONS: ("stop",),
        n.USAGE_INPUT_TOKENS: 100,
        n.USAGE_OUTPUT_TOKENS: 20,
    }  # no stream flag when not streaming, no resend count on a first attempt, no choice.count of 1


def test_gateway_span_attributes(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry()
    record_call(telemetry, http_route="/api/chat")
    attrs = dict(otel.span(telemetry, "gateway smart").attributes or {})
    assert attrs == {
        n.REQUEST_ID: "gw-test-1",
        n.REQUESTED_MODEL: "smart",
        n.HTTP_ROUTE: "/api/chat",
        n.ROUTE: "smart",
        n.STRATEGY: "priority",
        n.DECISION_REASON: "first healthy deployment",
        n.CACHE_HIT: False,
        n.COST_USD: 0.0021,
        n.RATE_LIMIT_REMAINING: 41,
        n.BUDGET_REMAINING_USD: 9.5,
        n.CALLER_USER: hashlib.sha256(b"alice").hexdigest()[:16],
        n.CALLER_TENANT: hashlib.sha256(b"acme").hexdigest()[:16],
        n.CALLER_KEY: hashlib.sha256(b"gk-secret-key").hexdigest()[:16],
    }
    # usage lives on the inference span only: GenAI backends must not count tokens twice
    assert not any(key.startswith("gen_ai.usage") for key in attrs)


def test_record_user_ids_keeps_user_and_tenant_but_never_the_key(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry(record_user_ids=True)
    record_call(telemetry)
    attrs = otel.span(telemetry, "gateway smart").attributes or {}
    assert attrs[n.CALLER_USER] == "alice"
    assert attrs[n.CALLER_TENANT] == "acme"
    assert attrs[n.CALLER_KEY] == hashlib.sha256(b"gk-secret-key").hexdigest()[:16]


def test_no_deprecated_or_foreign_names(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry(capture_content="span_and_event")
    call = make_call(stream=True, request_body={"messages": [{"role": "user", "content": "hi"}]})
    telemetry.start_call(call)
    first = make_attempt(call)
    telemetry.start_attempt(call, first)
    fail(first)
    telemetry.end_attempt(call, first)
    second = make_attempt(
        call, deployment="anthropic-main", provider_kind="anthropic", fallback_from="openai-main"
    )
    telemetry.start_attempt(call, second)
    second.first_chunk_at = second.started + 0.01
    succeed(second, usage=Usage(100, 20, cache_read_tokens=50, cache_write_tokens=10, reasoning_tokens=5))
    telemetry.end_attempt(call, second)
    telemetry.record_rejection(make_call(request_id="other"), "rate_limit_exceeded")
    call.cost_usd = 0.01
    telemetry.end_call(call)
    keys = _every_key(otel, telemetry)
    known = {value for name, value in vars(n).items() if name.isupper() and isinstance(value, str)}
    assert keys & DEPRECATED == set()
    assert not [k for k in keys if k.startswith("gen_ai.openai.")]
    assert keys <= known, keys - known  # every name comes from the one module
    for name in otel.metrics(telemetry):
        assert name in known


def test_failover_marks_the_failed_attempt_not_the_call(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call()
    telemetry.start_call(call)
    first = make_attempt(call)
    telemetry.start_attempt(call, first)
    fail(first)
    telemetry.end_attempt(call, first)
    second = make_attempt(
        call,
        deployment="claude-main",
        provider="anthropic",
        provider_kind="anthropic",
        upstream_model="claude-sonnet-4-5",
        server_address="api.anthropic.com",
        fallback_from="openai-main",
    )
    telemetry.start_attempt(call, second)
    succeed(second, model="claude-sonnet-4-5-20250929")
    telemetry.end_attempt(call, second)
    call.route = "smart"
    telemetry.end_call(call)

    failed = otel.span(telemetry, "chat gpt-4o")
    ok = otel.span(telemetry, "chat claude-sonnet-4-5")
    gateway = otel.span(telemetry, "gateway smart")
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})[n.ERROR_TYPE] == "RateLimitError"
    assert ok.status.status_code is StatusCode.UNSET
    ok_attrs = ok.attributes or {}
    assert n.ERROR_TYPE not in ok_attrs
    assert ok_attrs[n.HTTP_REQUEST_RESEND_COUNT] == 1
    assert ok_attrs[n.GATEWAY_ATTEMPT] == 2
    assert ok_attrs[n.FALLBACK_FROM] == "openai-main"
    assert ok_attrs[n.PROVIDER_NAME] == "anthropic"
    assert ok.parent is not None and failed.parent is not None
    assert ok.parent.span_id == failed.parent.span_id == gateway.context.span_id
    assert gateway.status.status_code is StatusCode.UNSET
    assert n.ERROR_TYPE not in (gateway.attributes or {})

    fallbacks = otel.points(telemetry, n.METRIC_FALLBACKS)
    assert [(p.value, dict(p.attributes)) for p in fallbacks] == [
        (
            1,
            {
                n.OPERATION_NAME: "chat",
                n.ROUTE: "smart",
                n.FALLBACK_FROM: "openai-main",
                n.DEPLOYMENT: "claude-main",
            },
        )
    ]
    durations = otel.points(telemetry, n.METRIC_OPERATION_DURATION)
    errors = [dict(p.attributes).get(n.ERROR_TYPE) for p in durations]
    assert set(errors) == {"RateLimitError", None}


def test_a_call_that_fails_is_an_error_without_leaking_keys(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call()
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    fail(attempt, status=401, error_type="401")
    attempt.error_message = "Incorrect API key provided: sk-proj-abcdefghijklmnop1234"
    telemetry.end_attempt(call, attempt)
    call.error_type = "AuthenticationError"
    call.error_message = "upstream said: Authorization: Bearer sk-live-0123456789abcdef"
    telemetry.end_call(call)
    gateway = otel.span(telemetry, "gateway smart")
    inference = otel.span(telemetry, "chat gpt-4o")
    assert gateway.status.status_code is StatusCode.ERROR
    assert (gateway.attributes or {})[n.ERROR_TYPE] == "AuthenticationError"
    for span in (gateway, inference):
        assert "sk-" not in (span.status.description or "")
        assert "REDACTED" in (span.status.description or "")


def test_stream_records_time_to_first_chunk_and_duration_to_the_end(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call(stream=True)
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    attempt.first_chunk_at = attempt.started + 0.25
    succeed(attempt)
    attempt.ended = attempt.started + 1.5
    telemetry.end_attempt(call, attempt)
    telemetry.end_call(call)
    span = otel.span(telemetry, "chat gpt-4o")
    attrs = span.attributes or {}
    assert attrs[n.REQUEST_STREAM] is True
    assert attrs[n.RESPONSE_TIME_TO_FIRST_CHUNK] == pytest.approx(0.25)
    assert span.end_time is not None and span.start_time is not None
    assert (span.end_time - span.start_time) / 1e9 == pytest.approx(1.5, abs=1e-3)
    [ttfc] = otel.points(telemetry, n.METRIC_TIME_TO_FIRST_CHUNK)
    assert ttfc.sum == pytest.approx(0.25)
    [duration] = otel.points(telemetry, n.METRIC_OPERATION_DURATION)
    assert duration.sum == pytest.approx(1.5)


def test_ending_twice_records_once(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call()
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    succeed(attempt)
    telemetry.end_attempt(call, attempt)
    telemetry.end_attempt(call, attempt)
    call.cost_usd = 0.5
    telemetry.end_call(call)
    telemetry.end_call(call)
    telemetry.end_attempt(call, attempt)
    assert sorted(s.name for s in otel.spans(telemetry)) == ["chat gpt-4o", "gateway smart"]
    [duration] = otel.points(telemetry, n.METRIC_OPERATION_DURATION)
    assert duration.count == 1
    [cost] = otel.points(telemetry, n.METRIC_COST)
    assert cost.value == pytest.approx(0.5)


def test_end_call_ends_attempts_left_open(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call(stream=True)
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    telemetry.end_call(call)  # e.g. an abandoned stream, finalised
    assert sorted(s.name for s in otel.spans(telemetry)) == ["chat gpt-4o", "gateway smart"]


def test_ends_from_another_thread_and_another_task(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call(stream=True)
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    succeed(attempt)

    async def finish_in_a_task() -> None:
        telemetry.end_attempt(call, attempt)

    asyncio.run(finish_in_a_task())
    thread = threading.Thread(target=telemetry.end_call, args=(call,))
    thread.start()
    thread.join()
    assert len(otel.spans(telemetry)) == 2


def test_an_abandoned_stream_is_ended_from_its_finalizer(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call(stream=True)
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)

    class Stream:
        pass

    stream = Stream()
    weakref.finalize(stream, telemetry.end_call, call)
    del stream
    gc.collect()
    assert sorted(s.name for s in otel.spans(telemetry)) == ["chat gpt-4o", "gateway smart"]


def test_suppressed_instrumentation_records_nothing(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry()
    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        call = record_call(telemetry)
        telemetry.record_rejection(make_call(), "budget_exceeded")
    finally:
        context.detach(token)
    assert call.span is None and call.attempts[0].span is None
    assert otel.spans(telemetry) == []
    assert otel.metrics(telemetry) == {}


def test_disabled_records_nothing(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry(enabled=False)
    assert not telemetry.enabled
    call = record_call(telemetry)
    assert call.span is None and call.parent_context is None
    assert otel.spans(telemetry) == [] and otel.metrics(telemetry) == {}


def test_without_an_installed_sdk_the_hooks_are_nearly_free(
    monkeypatch: pytest.MonkeyPatch, record_call: Record
) -> None:
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(metrics_api, "_METER_PROVIDER", None)
    telemetry = Telemetry(TelemetrySettings())
    assert not telemetry.enabled
    call = record_call(telemetry)
    assert call.span is None
    started = time.perf_counter()
    for _ in range(10_000):
        telemetry.start_call(call)
        telemetry.start_attempt(call, call.attempts[0])
        telemetry.end_attempt(call, call.attempts[0])
        telemetry.end_call(call)
    per_method = (time.perf_counter() - started) / 40_000
    assert per_method < 2e-6  # well under a microsecond each on a quiet machine; slack for CI


@pytest.mark.parametrize(
    ("kind", "expected"), [("azure", "azure.ai.openai"), ("anthropic", "anthropic"), ("x", "x")]
)
def test_provider_kinds_map_to_well_known_names(otel: Otel, kind: str, expected: str) -> None:
    telemetry = otel.telemetry()
    call = make_call()
    telemetry.start_call(call)
    attempt = make_attempt(call, provider_kind=kind)
    telemetry.start_attempt(call, attempt)
    succeed(attempt)
    telemetry.end_call(call)
    assert (otel.span(telemetry, "chat gpt-4o").attributes or {})[n.PROVIDER_NAME] == expected


def test_span_times_come_from_the_records(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call()
    telemetry.start_call(call)
    attempt = make_attempt(call, started=call.started + 0.010)
    telemetry.start_attempt(call, attempt)
    succeed(attempt)
    attempt.ended = attempt.started + 0.200
    telemetry.end_attempt(call, attempt)
    call.ended = attempt.ended + 0.005
    telemetry.end_call(call)
    gateway = otel.span(telemetry, "gateway smart")
    inference = otel.span(telemetry, "chat gpt-4o")
    assert inference.start_time is not None and gateway.start_time is not None
    assert inference.end_time is not None and gateway.end_time is not None
    assert (inference.start_time - gateway.start_time) / 1e9 == pytest.approx(0.010, abs=1e-4)
    assert (inference.end_time - inference.start_time) / 1e9 == pytest.approx(0.200, abs=1e-4)
    assert (gateway.end_time - inference.end_time) / 1e9 == pytest.approx(0.005, abs=1e-4)
    assert abs(gateway.start_time - time.time_ns()) < 5e9  # epoch nanoseconds


@pytest.mark.parametrize("enabled", [False, True])
def test_traceparent_propagation_is_opt_in(otel: Otel, enabled: bool) -> None:
    telemetry = otel.telemetry(propagate_traceparent=enabled)
    call = make_call()
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    headers: dict[str, Any] = {}
    telemetry.inject_traceparent(attempt, headers)
    if not enabled:
        assert headers == {}
    else:
        span_id = format(attempt.span.get_span_context().span_id, "016x")
        assert headers["traceparent"].split("-")[2] == span_id
        assert "baggage" not in headers
    telemetry.end_call(call)
