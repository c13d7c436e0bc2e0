"""In-memory OpenTelemetry providers and hand-built call records for the telemetry tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_gateway_mw.records import AttemptRecord, Caller, CallRecord, RequestParams
from llm_gateway_mw.telemetry.recorder import Telemetry
from llm_gateway_mw.telemetry.settings import TelemetrySettings
from llm_gateway_mw.usage import Usage


@dataclass
class Otel:
    """Providers with in-memory exporters, and a factory of Telemetry bound to them."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def telemetry(self, **settings: Any) -> Telemetry:
        return Telemetry(
            TelemetrySettings(**settings),
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
        )

    def spans(self, telemetry: Telemetry) -> list[ReadableSpan]:
        assert telemetry.flush()
        return list(self.spans_exporter.get_finished_spans())

    def span(self, telemetry: Telemetry, name: str) -> ReadableSpan:
        matching = [s for s in self.spans(telemetry) if s.name == name]
        assert len(matching) == 1, [s.name for s in self.spans(telemetry)]
        return matching[0]

    def points(self, telemetry: Telemetry, metric: str) -> list[Any]:
        """Every data point of one metric."""
        assert telemetry.flush()
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope in resource_metrics.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found.extend(m.data.data_points)
        return found

    def metrics(self, telemetry: Telemetry) -> dict[str, Any]:
        """Metric name -> metric, for everything recorded."""
        assert telemetry.flush()
        data = self.reader.get_metrics_data()
        return {
            m.name: m
            for rm in (data.resource_metrics if data else ())
            for scope in rm.scope_metrics
            for m in scope.metrics
        }


def make_call(**fields: Any) -> CallRecord:
    values: dict[str, Any] = {
        "request_id": "gw-test-1",
        "operation": "chat",
        "requested_model": "smart",
        "inbound_dialect": "openai",
        "stream": False,
        "params": RequestParams(temperature=0.2, top_p=0.9, max_tokens=256, stop=("END",), seed=7),
        "caller": Caller(user="alice", tenant="acme", key="gk-secret-key"),
        "started": time.perf_counter(),
    }
    values.update(fields)
    return CallRecord(**values)


def make_attempt(call: CallRecord, **fields: Any) -> AttemptRecord:
    values: dict[str, Any] = {
        "number": len(call.attempts) + 1,
        "deployment": "openai-main",
        "provider": "openai-main",
        "provider_kind": "openai",
        "upstream_model": "gpt-4o",
        "operation": call.operation,
        "server_address": "api.openai.com",
        "server_port": 443,
        "started": time.perf_counter(),
    }
    values.update(fields)
    attempt = AttemptRecord(**values)
    call.attempts.append(attempt)
    return attempt


def succeed(attempt: AttemptRecord, *, usage: Usage | None = None, model: str = "gpt-4o-2024-08-06") -> None:
    attempt.ended = time.perf_counter()
    attempt.status = 200
    attempt.response_id = "chatcmpl-123"
    attempt.response_model = model
    attempt.finish_reasons = ["stop"]
    attempt.usage = usage or Usage(input_tokens=100, output_tokens=20)


def fail(attempt: AttemptRecord, status: int = 429, error_type: str = "RateLimitError") -> None:
    attempt.ended = time.perf_counter()
    attempt.status = status
    attempt.error_type = error_type
    attempt.error_message = "rate limited"


Record = Callable[..., CallRecord]


@pytest.fixture
def record_call() -> Record:
    """Run one call through a Telemetry: one successful attempt unless told otherwise."""

    def run(telemetry: Telemetry, call: CallRecord | None = None, **call_fields: Any) -> CallRecord:
        call = call or make_call(**call_fields)
        telemetry.start_call(call)
        attempt = make_attempt(call)
        telemetry.start_attempt(call, attempt)
        succeed(attempt)
        telemetry.end_attempt(call, attempt)
        call.ended = time.perf_counter()
        call.route = call.route or "smart"
        call.strategy = "priority"
        call.decision_reason = "first healthy deployment"
        call.cost_usd = 0.0021
        call.rate_limit_remaining = 41
        call.budget_remaining_usd = 9.5
        telemetry.end_call(call)
        return call

    return run
