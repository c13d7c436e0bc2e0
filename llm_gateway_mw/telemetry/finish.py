"""End-of-attempt and end-of-call work: response attributes, outcome, span end, metrics.

Runs on the telemetry worker thread (see ``worker``), off the request path. Records are
complete by the time their end is queued; only the ended spans' objects travel with them.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from ..records import AttemptRecord, CallRecord
from . import names as n
from .attributes import put_present
from .content import content_attributes
from .instruments import Instruments
from .settings import TelemetrySettings, resolve_capture

__all__ = ["Finisher", "hash_id"]

_KEY_LIKE = re.compile(r"(?i)\b(sk-[a-z0-9_\-]{6,}|bearer\s+\S+|(?:api[-_]?key|x-api-key)\s*[:=]\s*\S+)")
_MAX_DESCRIPTION = 512


@lru_cache(maxsize=4096)
def hash_id(value: str) -> str:
    """A stable pseudonym for a user, tenant or key id (sha256, 16 hex digits)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


class Finisher:
    """Completes spans and records metrics for one Telemetry."""

    __slots__ = ("_as_event", "_inst", "_offset_ns", "_on_span", "_settings")

    def __init__(self, inst: Instruments, settings: TelemetrySettings, offset_ns: int) -> None:
        self._inst = inst
        self._settings = settings
        self._offset_ns = offset_ns
        self._on_span, self._as_event = resolve_capture(settings)

    def attempt(self, call: CallRecord, attempt: AttemptRecord, span: Span, ended: float) -> None:
        """Finish one attempt's CLIENT span and record the GenAI client metrics."""
        status = attempt.status or 0
        error_type = attempt.error_type or (str(status) if status >= 400 else None)
        usage = attempt.usage
        started = attempt.started
        ttfc = None
        if call.stream and attempt.first_chunk_at is not None and started:
            ttfc = attempt.first_chunk_at - started
        if span.is_recording():
            attributes: dict[str, Any] = {}
            if attempt.response_id:
                attributes[n.RESPONSE_ID] = attempt.response_id
            if attempt.response_model:
                attributes[n.RESPONSE_MODEL] = attempt.response_model
            if attempt.finish_reasons:
                attributes[n.RESPONSE_FINISH_REASONS] = attempt.finish_reasons
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
            span.set_attributes(attributes)
            if error_type is not None:
                span.set_status(Status(StatusCode.ERROR, self._describe(attempt.error_message, error_type)))
        span.end(end_time=int(ended * 1e9) + self._offset_ns)

        inst = self._inst
        metric: dict[str, Any] = {
            n.OPERATION_NAME: attempt.operation,
            n.PROVIDER_NAME: n.PROVIDER_NAMES.get(attempt.provider_kind, attempt.provider_kind),
            n.REQUEST_MODEL: attempt.upstream_model,
        }
        if attempt.server_address:
            metric[n.SERVER_ADDRESS] = attempt.server_address
            if attempt.server_port:
                metric[n.SERVER_PORT] = attempt.server_port
        if attempt.response_model:
            metric[n.RESPONSE_MODEL] = attempt.response_model
        if usage is not None:
            inst.tokens.record(usage.input_tokens, {**metric, n.TOKEN_TYPE: n.TOKEN_TYPE_INPUT})
            inst.tokens.record(usage.output_tokens, {**metric, n.TOKEN_TYPE: n.TOKEN_TYPE_OUTPUT})
        if ttfc is not None:
            inst.ttfc.record(ttfc, metric)
        if started:
            if error_type is not None:
                metric[n.ERROR_TYPE] = error_type
            # the span as context: a sampled attempt becomes the exemplar of its bucket
            inst.duration.record(ended - started, metric, context=trace.set_span_in_context(span))

    def call(self, call: CallRecord, span: Span, ended: float, request: Any, response: Any) -> None:
        """Finish the gateway span with the gateway's decisions; count cost, fallbacks, cache hits."""
        if span.is_recording():
            self._call_span(call, span, request, response)
        span.end(end_time=int(ended * 1e9) + self._offset_ns)

        inst = self._inst
        base: dict[str, Any] = {n.OPERATION_NAME: call.operation}
        if call.route:
            base[n.ROUTE] = call.route
        final = call.final_attempt
        if call.cost_usd and final is not None:
            provider = n.PROVIDER_NAMES.get(final.provider_kind, final.provider_kind)
            inst.cost.add(
                call.cost_usd, {**base, n.PROVIDER_NAME: provider, n.REQUEST_MODEL: final.upstream_model}
            )
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

    def rejection(self, call: CallRecord, span: Span | None, reason: str) -> None:
        """Count a refusal and note it on the gateway span, if that is still open."""
        if span is not None and span.is_recording():
            span.set_attribute(n.REJECTION_REASON, reason)
            span.add_event(n.REJECTION_EVENT_NAME, {n.REJECTION_REASON: reason})
        attributes: dict[str, Any] = {n.REJECTION_REASON: reason, n.OPERATION_NAME: call.operation}
        if call.route:
            attributes[n.ROUTE] = call.route
        self._inst.rejections.add(1, attributes)

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
