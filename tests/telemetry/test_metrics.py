"""Metrics the gateway records: units, bucket boundaries, attributes, counters."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import StatusCode

from llm_gateway_mw.telemetry import names as n
from llm_gateway_mw.telemetry.recorder import Telemetry
from llm_gateway_mw.telemetry.settings import TelemetrySettings

from .conftest import Otel, Record, make_attempt, make_call, succeed

# The conventions' lists, written out again so a typo in names.py cannot hide.
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


def test_sampled_out_calls_still_count(record_call: Record) -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    telemetry = Telemetry(
        TelemetrySettings(),
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    record_call(telemetry)
    assert telemetry.flush()
    assert exporter.get_finished_spans() == ()
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {n.METRIC_OPERATION_DURATION, n.METRIC_TOKEN_USAGE, n.METRIC_COST} <= names


def test_metric_attributes_units_and_buckets(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry()
    record_call(telemetry)
    metrics = otel.metrics(telemetry)
    common = {
        n.OPERATION_NAME: "chat",
        n.PROVIDER_NAME: "openai",
        n.REQUEST_MODEL: "gpt-4o",
        n.SERVER_ADDRESS: "api.openai.com",
        n.SERVER_PORT: 443,
        n.RESPONSE_MODEL: "gpt-4o-2024-08-06",
    }
    tokens = metrics[n.METRIC_TOKEN_USAGE]
    assert tokens.unit == "{token}"
    by_type = {p.attributes[n.TOKEN_TYPE]: p for p in tokens.data.data_points}
    assert by_type["input"].sum == 100 and by_type["output"].sum == 20
    assert dict(by_type["input"].attributes) == {**common, n.TOKEN_TYPE: "input"}
    assert list(by_type["input"].explicit_bounds) == TOKEN_BUCKETS
    duration = metrics[n.METRIC_OPERATION_DURATION]
    assert duration.unit == "s"
    [point] = duration.data.data_points
    assert dict(point.attributes) == common
    assert list(point.explicit_bounds) == DURATION_BUCKETS
    assert list(n.TOKEN_BUCKETS) == TOKEN_BUCKETS and list(n.DURATION_BUCKETS) == DURATION_BUCKETS
    cost = metrics[n.METRIC_COST]
    assert cost.unit == "{USD}"
    [cost_point] = cost.data.data_points
    assert cost_point.value == pytest.approx(0.0021)
    assert dict(cost_point.attributes) == {
        n.OPERATION_NAME: "chat",
        n.ROUTE: "smart",
        n.PROVIDER_NAME: "openai",
        n.REQUEST_MODEL: "gpt-4o",
    }


def test_time_to_first_chunk_histogram_uses_duration_buckets(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call(stream=True)
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    attempt.first_chunk_at = attempt.started + 0.1
    succeed(attempt)
    telemetry.end_attempt(call, attempt)
    telemetry.end_call(call)
    [point] = otel.points(telemetry, n.METRIC_TIME_TO_FIRST_CHUNK)
    assert list(point.explicit_bounds) == DURATION_BUCKETS
    assert otel.metrics(telemetry)[n.METRIC_TIME_TO_FIRST_CHUNK].unit == "s"


def test_rejection_counts_and_marks_the_span(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call()
    telemetry.start_call(call)
    call.route = "smart"
    call.error_type = "RateLimitExceeded"
    call.error_message = "rate limit exceeded for rule 'per-user': retry after 3s"
    telemetry.record_rejection(call, "rate_limit_exceeded")
    telemetry.end_call(call)
    gateway = otel.span(telemetry, "gateway smart")
    attrs = gateway.attributes or {}
    assert attrs[n.REJECTION_REASON] == "rate_limit_exceeded"
    assert attrs[n.ERROR_TYPE] == "RateLimitExceeded"
    assert gateway.status.status_code is StatusCode.ERROR
    assert [e.name for e in gateway.events] == [n.REJECTION_EVENT_NAME]
    [point] = otel.points(telemetry, n.METRIC_REJECTIONS)
    assert point.value == 1
    assert dict(point.attributes) == {
        n.REJECTION_REASON: "rate_limit_exceeded",
        n.OPERATION_NAME: "chat",
        n.ROUTE: "smart",
    }


def test_cache_hit_counts(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call(route="smart", cache_hit=True, cost_usd=0.0)
    telemetry.start_call(call)
    telemetry.end_call(call)
    assert (otel.span(telemetry, "gateway smart").attributes or {})[n.CACHE_HIT] is True
    [point] = otel.points(telemetry, n.METRIC_CACHE_HITS)
    assert point.value == 1
    assert otel.points(telemetry, n.METRIC_COST) == []
