"""The telemetry worker's side: creating and ending spans, and recording metrics.

Runs on the telemetry worker thread (see ``worker``), off the request path. Records are
complete by the time their end is queued. Spans the request path did not create (all of
them unless ``propagate_traceparent`` is on) are created here with the records' start
times and ended with their end times. An attempt span is created when its attempt ends,
with every attribute at once (one SDK call fewer than starting it and adding the rest).
The gateway span is created when the first of its attempts (or its own end, or a
rejection) is processed, so it exists before its children; its outcome is added at its
end. Metric attribute dicts are cached per attempt shape: most calls look alike.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span, SpanKind, Status, StatusCode

from ..records import AttemptRecord, CallRecord
from . import names as n
from .attributes import put_present
from .content import content_attributes
from .instruments import Instruments
from .settings import TelemetrySettings, resolve_capture
from .spans import SpanHandle, request_attributes, sampling_attributes

__all__ = ["Finisher", "hash_id"]

_KEY_LIKE = re.compile(r"(?i)\b(sk-[a-z0-9_\-]{6,}|bearer\s+\S+|(?:api[-_]?key|x-api-key)\s*[:=]\s*\S+)")
_MAX_DESCRIPTION = 512
_MAX_CACHED = 1024
_INTERNAL = SpanKind.INTERNAL
_CLIENT = SpanKind.CLIENT

# (duration attributes, time-to-first-chunk attributes, input tokens, output tokens)
_AttemptMetrics = tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]


@lru_cache(maxsize=4096)
def hash_id(value: str) -> str:
    """A stable pseudonym for a user, tenant or key id (sha256, 16 hex digits)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


class Finisher:
    """Creates, completes and ends spans and records metrics for one Telemetry."""

    __slots__ = (
        "_as_event",
        "_attempt_metrics",
        "_call_metrics",
        "_inst",
        "_offset_ns",
        "_on_span",
        "_settings",
    )

    def __init__(self, inst: Instruments, settings: TelemetrySettings, offset_ns: int) -> None:
        self._inst = inst
        self._settings = settings
        self._offset_ns = offset_ns
        self._on_span, self._as_event = resolve_capture(settings)
        self._attempt_metrics: dict[tuple[Any, ...], _AttemptMetrics] = {}
        self._call_metrics: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any] | None]] = {}

    def _ns(self, perf_seconds: float) -> int | None:
        """Epoch nanoseconds of a ``perf_counter()`` reading (None, meaning now, if unset)."""
        return int(perf_seconds * 1e9) + self._offset_ns if perf_seconds else None

    # --- creating spans (on the worker; inline only to propagate trace context) -------------

    def open_call(self, call: CallRecord, handle: SpanHandle) -> Span:
        """The gateway span of a call, created now if it does not exist yet."""
        span = handle.span
        if span is None and handle.context is not None:  # already ended: a late child still gets its parent
            return NonRecordingSpan(handle.context)
        if span is None:
            attributes: dict[str, Any] = {
                n.REQUEST_ID: call.request_id,
                n.REQUESTED_MODEL: call.requested_model,
            }
            if call.http_route:
                attributes[n.HTTP_ROUTE] = call.http_route
            span = handle.span = self._inst.tracer.start_span(
                n.GATEWAY_SPAN_NAME.format(model=call.requested_model),
                context=handle.parent,
                kind=_INTERNAL,
                attributes=attributes,
                start_time=self._ns(call.started),
            )
        return span

    def open_attempt(self, call: CallRecord, attempt: AttemptRecord, attributes: dict[str, Any]) -> Span:
        """Start an attempt's CLIENT span under the gateway span, at the attempt's start time."""
        handle = call.span
        assert isinstance(handle, SpanHandle)
        parent = self.open_call(call, handle)
        return self._inst.tracer.start_span(
            n.INFERENCE_SPAN_NAME.format(operation=attempt.operation, model=attempt.upstream_model),
            context=trace.set_span_in_context(parent, handle.parent),
            kind=_CLIENT,
            attributes=attributes,
            start_time=self._ns(attempt.started),
        )

    # --- ending them ----------------------------------------------------------------------

    def attempt(self, call: CallRecord, attempt: AttemptRecord, handle: SpanHandle, ended: float) -> None:
        """Finish one attempt's CLIENT span and record the GenAI client metrics."""
        status = attempt.status or 0
        error_type = attempt.error_type or (str(status) if status >= 400 else None)
        usage = attempt.usage
        started = attempt.started
        ttfc = None
        if call.stream and attempt.first_chunk_at is not None and started:
            ttfc = attempt.first_chunk_at - started
        span = handle.span
        if span is None:  # not started inline: start it now, with everything known about it
            attributes = sampling_attributes(attempt)
            request_attributes(call, attempt, attributes)
            _response_attributes(attempt, ttfc, error_type, attributes)
            span = handle.span = self.open_attempt(call, attempt, attributes)
        elif span.is_recording():
            attributes = {}
            request_attributes(call, attempt, attributes)
            _response_attributes(attempt, ttfc, error_type, attributes)
            span.set_attributes(attributes)
        if error_type is not None and span.is_recording():
            span.set_status(Status(StatusCode.ERROR, self._describe(attempt.error_message, error_type)))
        span.end(end_time=int(ended * 1e9) + self._offset_ns)

        inst = self._inst
        duration, plain, input_tokens, output_tokens = self._metric_attributes(attempt, error_type)
        if usage is not None:
            inst.tokens.record(usage.input_tokens, input_tokens)
            inst.tokens.record(usage.output_tokens, output_tokens)
        if ttfc is not None:
            inst.ttfc.record(ttfc, plain)
        if started:
            # the span as context: a sampled attempt becomes the exemplar of its bucket
            inst.duration.record(ended - started, duration, context=trace.set_span_in_context(span))
        handle.release(span)

    def call(self, call: CallRecord, handle: SpanHandle, ended: float, request: Any, response: Any) -> None:
        """Finish the gateway span with the gateway's decisions; count cost, fallbacks, cache hits."""
        span = self.open_call(call, handle)
        if span.is_recording():
            self._call_span(call, span, request, response)
        span.end(end_time=int(ended * 1e9) + self._offset_ns)
        handle.release(span)

        inst = self._inst
        final = call.final_attempt
        priced = call.cost_usd and final is not None
        base, cost = self._call_attributes(call, final if priced else None)
        if cost is not None and call.cost_usd:
            inst.cost.add(call.cost_usd, cost)
        if len(call.attempts) > 1:
            first = call.attempts[0].deployment
            for attempt in call.attempts[1:]:
                if attempt.deployment != first:
                    fallback = {
                        n.FALLBACK_FROM: attempt.fallback_from or first,
                        n.DEPLOYMENT: attempt.deployment,
                    }
                    inst.fallbacks.add(1, {**base, **fallback})
        if call.cache_hit:
            inst.cache_hits.add(1, base)

    def rejection(self, call: CallRecord, handle: SpanHandle | None, reason: str) -> None:
        """Count a refusal and note it on the gateway span, if that was still open."""
        if handle is not None:
            span = self.open_call(call, handle)
            if span.is_recording():
                span.set_attribute(n.REJECTION_REASON, reason)
                span.add_event(n.REJECTION_EVENT_NAME, {n.REJECTION_REASON: reason})
        attributes: dict[str, Any] = {n.REJECTION_REASON: reason, n.OPERATION_NAME: call.operation}
        if call.route:
            attributes[n.ROUTE] = call.route
        self._inst.rejections.add(1, attributes)

    # --- attributes -----------------------------------------------------------------------

    def _metric_attributes(self, attempt: AttemptRecord, error_type: str | None) -> _AttemptMetrics:
        """The attempt's metric attribute dicts, built once per shape (never mutated after)."""
        key = (
            attempt.operation,
            attempt.provider_kind,
            attempt.upstream_model,
            attempt.server_address,
            attempt.server_port,
            attempt.response_model,
            error_type,
        )
        cached = self._attempt_metrics.get(key)
        if cached is not None:
            return cached
        plain = sampling_attributes(attempt)  # the same operation, provider, model and server
        if attempt.response_model:
            plain[n.RESPONSE_MODEL] = attempt.response_model
        duration = plain if error_type is None else {**plain, n.ERROR_TYPE: error_type}
        built = (
            duration,
            plain,
            {**plain, n.TOKEN_TYPE: n.TOKEN_TYPE_INPUT},
            {**plain, n.TOKEN_TYPE: n.TOKEN_TYPE_OUTPUT},
        )
        if len(self._attempt_metrics) >= _MAX_CACHED:
            self._attempt_metrics.clear()
        self._attempt_metrics[key] = built
        return built

    def _call_attributes(
        self, call: CallRecord, priced: AttemptRecord | None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The call's metric attribute dicts: the base ones, and the cost counter's (if priced)."""
        key = (
            call.operation,
            call.route,
            priced.provider_kind if priced is not None else None,
            priced.upstream_model if priced is not None else None,
        )
        cached = self._call_metrics.get(key)
        if cached is not None:
            return cached
        base: dict[str, Any] = {n.OPERATION_NAME: call.operation}
        if call.route:
            base[n.ROUTE] = call.route
        cost = None
        if priced is not None:
            provider = n.PROVIDER_NAMES.get(priced.provider_kind, priced.provider_kind)
            cost = {**base, n.PROVIDER_NAME: provider, n.REQUEST_MODEL: priced.upstream_model}
        if len(self._call_metrics) >= _MAX_CACHED:
            self._call_metrics.clear()
        self._call_metrics[key] = built = (base, cost)
        return built

    def _call_span(self, call: CallRecord, span: Span, request: Any, response: Any) -> None:
        attributes: dict[str, Any] = {n.CACHE_HIT: call.cache_hit}
        put_present(
            attributes,
            (n.ROUTE, call.route),
            (n.STRATEGY, call.strategy),
            (n.DECISION_REASON, call.decision_reason),
            (n.COST_USD, call.cost_usd),
            (n.RATE_LIMIT_REMAINING, call.rate_limit_remaining),
            (n.BUDGET_REMAINING_USD, call.budget_remaining_usd),
        )
        if call.storage_degraded:
            attributes[n.STORAGE_DEGRADED] = True
        caller = call.caller
        raw = self._settings.record_user_ids
        if caller.user:
            attributes[n.CALLER_USER] = caller.user if raw else hash_id(caller.user)
        if caller.tenant:
            attributes[n.CALLER_TENANT] = caller.tenant if raw else hash_id(caller.tenant)
        if caller.key:  # may be a credential: always pseudonymised
            attributes[n.CALLER_KEY] = hash_id(caller.key)
        if call.error_type is not None:
            attributes[n.ERROR_TYPE] = call.error_type
        if self._on_span or self._as_event:
            content = content_attributes(call.inbound_dialect, request, response, self._settings.redact)
            if content and self._on_span:
                attributes.update(content)
            if content and self._as_event:
                span.add_event(n.CONTENT_EVENT_NAME, {n.OPERATION_NAME: call.operation, **content})
        span.set_attributes(attributes)
        if call.error_type is not None:
            span.set_status(Status(StatusCode.ERROR, self._describe(call.error_message, call.error_type)))

    def _describe(self, message: str | None, error_type: str) -> str:
        """A span status description: the error message, redacted and without key-like strings."""
        if not message:
            return error_type
        redact = self._settings.redact
        text = redact(message) if redact is not None else message
        return _KEY_LIKE.sub("[REDACTED]", text)[:_MAX_DESCRIPTION]


def _response_attributes(
    attempt: AttemptRecord, ttfc: float | None, error_type: str | None, attributes: dict[str, Any]
) -> None:
    """Add what came back: response id and model, finish reasons, usage, first-chunk time, error."""
    if attempt.response_id:
        attributes[n.RESPONSE_ID] = attempt.response_id
    if attempt.response_model:
        attributes[n.RESPONSE_MODEL] = attempt.response_model
    if attempt.finish_reasons:
        attributes[n.RESPONSE_FINISH_REASONS] = attempt.finish_reasons
    usage = attempt.usage
    if usage is not None:
        attributes[n.USAGE_INPUT_TOKENS] = usage.input_tokens
        attributes[n.USAGE_OUTPUT_TOKENS] = usage.output_tokens
        if usage.cache_read_tokens:
            attributes[n.USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
        if usage.cache_write_tokens:
            attributes[n.USAGE_CACHE_CREATION_INPUT_TOKENS] = usage.cache_write_tokens
        if usage.reasoning_tokens:
            attributes[n.USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    if ttfc is not None:
        attributes[n.RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
    if error_type is not None:
        attributes[n.ERROR_TYPE] = error_type
