"""End to end over the wire: real OTLP/HTTP exporters to a local receiver, decoded as protobuf."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from llm_gateway_mw.records import Caller
from llm_gateway_mw.telemetry import names as n
from llm_gateway_mw.telemetry.recorder import Telemetry
from llm_gateway_mw.telemetry.settings import TelemetrySettings
from llm_gateway_mw.telemetry.setup import TelemetryHandle, configure_telemetry

from .conftest import fail, make_attempt, make_call, succeed
from .otlp_receiver import OtlpReceiver

API_KEY = "sk-proj-WIRETESTabcdef0123456789"
USER_SECRET = "my password is hunter2-SECRET"


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in any_value.array_value.values)
    return getattr(any_value, kind) if kind else None


def _attributes(item: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in item.attributes}


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[OtlpReceiver, TelemetryHandle]]:
    for name in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")  # only force_flush exports
    with OtlpReceiver() as receiver:
        handle = configure_telemetry(
            service_name="wire-test",
            exporter="otlp",
            endpoint=receiver.endpoint,
            protocol="http/protobuf",
            set_global=False,
        )
        yield receiver, handle
        handle.shutdown()


def _record_failover(telemetry: Telemetry) -> None:
    call = make_call(
        caller=Caller(user="alice", tenant="acme", key=API_KEY),
        request_body={
            "messages": [{"role": "user", "content": USER_SECRET}],
            "_headers_should_not_leak": {"Authorization": f"Bearer {API_KEY}", "x-api-key": API_KEY},
        },
        response_body={
            "choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]
        },
    )
    telemetry.start_call(call)
    first = make_attempt(call)
    telemetry.start_attempt(call, first)
    fail(first, status=503, error_type="InternalServerError")
    first.error_message = f"upstream rejected Authorization: Bearer {API_KEY}"
    telemetry.end_attempt(call, first)
    second = make_attempt(call, deployment="openai-backup", fallback_from="openai-main")
    telemetry.start_attempt(call, second)
    succeed(second)
    telemetry.end_attempt(call, second)
    call.route = "smart"
    call.cost_usd = 0.003
    telemetry.end_call(call)


def test_spans_and_metrics_arrive_as_protobuf(wire: tuple[OtlpReceiver, TelemetryHandle]) -> None:
    receiver, handle = wire
    telemetry = Telemetry(
        TelemetrySettings(), tracer_provider=handle.tracer_provider, meter_provider=handle.meter_provider
    )
    _record_failover(telemetry)
    assert handle.force_flush(10_000)

    spans = receiver.spans()
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    assert sorted(by_name) == ["chat gpt-4o", "gateway smart"]
    [gateway] = by_name["gateway smart"]
    attempts = sorted(by_name["chat gpt-4o"], key=lambda s: s.start_time_unix_nano)
    assert len(attempts) == 2
    assert gateway.kind == gateway.SPAN_KIND_INTERNAL
    for attempt in attempts:
        assert attempt.kind == attempt.SPAN_KIND_CLIENT
        assert attempt.parent_span_id == gateway.span_id
        assert attempt.trace_id == gateway.trace_id
    failed, ok = (_attributes(a) for a in attempts)
    assert failed[n.ERROR_TYPE] == "InternalServerError"
    assert attempts[0].status.code == attempts[0].status.STATUS_CODE_ERROR
    assert ok[n.HTTP_REQUEST_RESEND_COUNT] == 1
    assert ok[n.FALLBACK_FROM] == "openai-main"
    assert ok[n.USAGE_INPUT_TOKENS] == 100
    assert ok[n.RESPONSE_FINISH_REASONS] == ("stop",)
    gateway_attrs = _attributes(gateway)
    assert gateway.status.code == gateway.status.STATUS_CODE_UNSET
    assert gateway_attrs[n.ROUTE] == "smart"
    assert gateway_attrs[n.COST_USD] == pytest.approx(0.003)

    resources = [rs.resource for request in receiver.traces for rs in request.resource_spans]
    assert {_attributes(r)["service.name"] for r in resources} == {"wire-test"}

    metrics = {m.name: m for m in receiver.metric_list()}
    assert {
        n.METRIC_OPERATION_DURATION,
        n.METRIC_TOKEN_USAGE,
        n.METRIC_COST,
        n.METRIC_FALLBACKS,
    } <= set(metrics)
    duration = metrics[n.METRIC_OPERATION_DURATION]
    assert duration.unit == "s"
    assert list(duration.histogram.data_points[0].explicit_bounds) == list(n.DURATION_BUCKETS)
    assert metrics[n.METRIC_COST].unit == "{USD}"
    assert metrics[n.METRIC_COST].sum.data_points[0].as_double == pytest.approx(0.003)


def test_nothing_secret_goes_over_the_wire(wire: tuple[OtlpReceiver, TelemetryHandle]) -> None:
    receiver, handle = wire

    def redact(text: str) -> str:
        return re.sub(r"hunter2-\w+", "[REDACTED]", text)

    telemetry = Telemetry(
        TelemetrySettings(capture_content="span_and_event", redact=redact),
        tracer_provider=handle.tracer_provider,
        meter_provider=handle.meter_provider,
    )
    _record_failover(telemetry)
    assert handle.force_flush(10_000)
    payload = b"".join(r.SerializeToString() for r in receiver.traces) + b"".join(
        r.SerializeToString() for r in receiver.metrics
    )
    assert receiver.spans(), "nothing arrived"
    assert b"gen_ai.input.messages" in payload  # content was captured...
    assert b"[REDACTED]" in payload
    assert USER_SECRET.encode() not in payload  # ...through the redactor
    assert API_KEY.encode() not in payload  # neither the caller key nor the upstream error's bearer token
    assert b"hunter2" not in payload
    assert all("authorization" not in key for key in _every_attribute_key(receiver))


def _every_attribute_key(receiver: OtlpReceiver) -> set[str]:
    keys: set[str] = set()
    for span in receiver.spans():
        keys |= {kv.key.lower() for kv in span.attributes}
        for event in span.events:
            keys |= {kv.key.lower() for kv in event.attributes}
    return keys
