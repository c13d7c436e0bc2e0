"""Spans created off the request path: handles, parents, sampler input, parameters, the worker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from llm_gateway_mw.records import CallRecord, RequestParams
from llm_gateway_mw.telemetry import names as n
from llm_gateway_mw.telemetry import worker
from llm_gateway_mw.telemetry.recorder import Telemetry
from llm_gateway_mw.telemetry.settings import TelemetrySettings
from llm_gateway_mw.telemetry.spans import SpanHandle
from llm_gateway_mw.telemetry.worker import Deferred

from .conftest import Otel, Record, fail, make_attempt, make_call, succeed


class _Recording(Sampler):
    """Samples everything, remembering which attributes each span was created with."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, Any]] = {}

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        self.seen[name] = dict(attributes or {})
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "recording"


@pytest.mark.parametrize("inline", [False, True])
def test_samplers_see_the_conventions_creation_attributes(record_call: Record, inline: bool) -> None:
    sampler = _Recording()
    tracer_provider = TracerProvider(sampler=sampler)
    telemetry = Telemetry(
        TelemetrySettings(propagate_traceparent=inline),
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
    )
    record_call(telemetry)
    assert telemetry.flush()
    creation = sampler.seen["chat gpt-4o"]
    for name in (n.OPERATION_NAME, n.PROVIDER_NAME, n.REQUEST_MODEL, n.SERVER_ADDRESS, n.SERVER_PORT):
        assert name in creation
    assert sampler.seen["gateway smart"][n.REQUESTED_MODEL] == "smart"
    tracer_provider.shutdown()


def test_handles_on_the_records_get_their_spans_from_the_worker(otel: Otel) -> None:
    telemetry = otel.telemetry()
    call = make_call()
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    assert isinstance(call.span, SpanHandle) and isinstance(attempt.span, SpanHandle)
    assert call.span.is_recording() and attempt.span.is_recording()
    succeed(attempt)
    telemetry.end_attempt(call, attempt)
    telemetry.end_call(call)
    assert not call.span.is_recording() and not attempt.span.is_recording()  # ends are queued
    gateway = otel.span(telemetry, "gateway smart")
    inference = otel.span(telemetry, "chat gpt-4o")
    assert call.span.get_span_context().span_id == gateway.context.span_id
    assert attempt.span.get_span_context().span_id == inference.context.span_id


def _succeed_once(telemetry: Telemetry, call: CallRecord) -> None:
    """One call with one successful attempt, through every hook."""
    telemetry.start_call(call)
    attempt = make_attempt(call)
    telemetry.start_attempt(call, attempt)
    succeed(attempt)
    telemetry.end_attempt(call, attempt)
    telemetry.end_call(call)


def test_sampling_parameters_are_read_from_the_body_on_the_worker(otel: Otel) -> None:
    telemetry = otel.telemetry()
    body = {"model": "smart", "temperature": 0.5, "max_completion_tokens": 64, "stop": "END", "n": 2}
    call = make_call(params=RequestParams(), request_body=body)
    _succeed_once(telemetry, call)
    call.request_body = None  # what the pipeline does right after end_call
    attrs = otel.span(telemetry, "chat gpt-4o").attributes or {}
    assert attrs[n.REQUEST_TEMPERATURE] == 0.5
    assert attrs[n.REQUEST_MAX_TOKENS] == 64
    assert attrs[n.REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[n.REQUEST_CHOICE_COUNT] == 2


def test_a_rejection_before_any_attempt_still_parents_the_gateway_span(otel: Otel) -> None:
    telemetry = otel.telemetry()
    app = otel.tracer_provider.get_tracer("app")
    with app.start_as_current_span("request") as request_span:
        call = make_call()
        telemetry.start_call(call)
    telemetry.record_rejection(call, "budget_exceeded")
    telemetry.end_call(call)
    gateway = otel.span(telemetry, "gateway smart")
    assert gateway.parent is not None and gateway.parent.span_id == request_span.get_span_context().span_id
    assert gateway.start_time is not None and gateway.end_time is not None
    assert gateway.start_time <= gateway.end_time


def test_metric_attribute_sets_are_not_shared_between_outcomes(otel: Otel) -> None:
    telemetry = otel.telemetry()
    for failing in (False, True, False):
        call = make_call()
        telemetry.start_call(call)
        attempt = make_attempt(call)
        telemetry.start_attempt(call, attempt)
        if failing:
            fail(attempt)
            attempt.response_model = "gpt-4o-2024-08-06"  # same shape as the successes
        else:
            succeed(attempt)
        telemetry.end_attempt(call, attempt)
        telemetry.end_call(call)
    points = otel.points(telemetry, n.METRIC_OPERATION_DURATION)
    counts = {dict(p.attributes).get(n.ERROR_TYPE): p.count for p in points}
    assert counts == {None: 2, "RateLimitError": 1}
    tokens = otel.points(telemetry, n.METRIC_TOKEN_USAGE)
    assert all(n.ERROR_TYPE not in dict(p.attributes) for p in tokens)


def test_worker_runs_queued_work_without_a_flush_polling_or_woken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "_IDLE_POLLS", 2)  # block after two empty polls
    deferred = Deferred()
    done = threading.Event()
    deferred.put(done.set)  # found by the polling worker
    assert done.wait(10)
    for _ in range(1000):  # wait for the worker to block
        if deferred._idle:
            break
        time.sleep(0.01)
    assert deferred._idle
    again = threading.Event()
    deferred.put(again.set)  # wakes it
    assert again.wait(10)


def test_worker_runs_everything_in_order_and_survives_a_failing_item() -> None:
    deferred = Deferred()
    seen: list[int] = []

    def boom() -> None:
        raise RuntimeError("a bad record")

    for i in range(50):
        deferred.put(seen.append, i)
        if i == 10:
            deferred.put(boom)
    assert deferred.flush(10)
    assert seen == list(range(50))
    assert deferred.flush(10)  # nothing queued: returns at once


def test_a_flush_from_the_worker_itself_does_not_deadlock() -> None:
    deferred = Deferred()
    results: list[bool] = []
    deferred.put(lambda: results.append(deferred.flush(1)))
    assert deferred.flush(10)
    assert results == [False]


def test_spans_finished_from_many_threads_are_all_exported(otel: Otel) -> None:
    telemetry = otel.telemetry()

    def calls() -> None:
        for i in range(20):
            _succeed_once(telemetry, make_call(request_id=f"gw-{threading.get_ident()}-{i}"))

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans = otel.spans(telemetry)
    assert len(spans) == 160
    by_id = {s.context.span_id: s for s in spans}
    for span in spans:
        if span.name == "chat gpt-4o":
            assert span.parent is not None and by_id[span.parent.span_id].name == "gateway smart"


class _BusyWorker:
    """Keeps a ``Deferred``'s worker busy on one record until released, so the queue fills."""

    def __init__(self, deferred: Deferred) -> None:
        self.deferred = deferred
        self.started = threading.Event()
        self.release = threading.Event()

    def _busy(self) -> None:
        self.started.set()
        self.release.wait(10)

    def hold(self) -> None:
        self.started.clear()
        self.release.clear()
        self.deferred.put(self._busy)
        assert self.started.wait(10)


def test_a_full_queue_drops_new_records_and_the_worker_reports_them(caplog: pytest.LogCaptureFixture) -> None:
    deferred = Deferred(max_queued=10)
    held = _BusyWorker(deferred)
    held.hold()
    seen: list[int] = []
    for i in range(100):  # calls keep coming while the worker is busy
        deferred.put(seen.append, i)
    assert len(deferred._items) == 10
    assert deferred.dropped == 90
    held.release.set()
    with caplog.at_level(logging.WARNING, logger="llm_gateway_mw.telemetry.worker"):
        assert deferred.flush(10)  # a flush is never dropped, even with the queue full
    assert seen == list(range(10))  # the first ten, in order; nothing held beyond the bound
    [record] = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert "90 call records were dropped" in record.getMessage()
    deferred.put(seen.append, 100)  # room again
    assert deferred.flush(10)
    assert seen[-1] == 100 and deferred.dropped == 90


def test_a_sustained_overload_is_reported_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    deferred = Deferred(max_queued=2)
    held = _BusyWorker(deferred)
    with caplog.at_level(logging.WARNING, logger="llm_gateway_mw.telemetry.worker"):
        for _round in range(3):  # three bursts, each overflowing the queue while the worker is busy
            held.hold()
            for i in range(5):
                deferred.put(int, i)
            held.release.set()
            assert deferred.flush(10)
    assert deferred.dropped == 9  # 3 of each burst's 5
    reports = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(reports) == 1 and "3 call records were dropped" in reports[0].getMessage()
