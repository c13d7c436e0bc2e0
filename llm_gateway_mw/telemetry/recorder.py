"""``Telemetry``: the pipeline's entry points, cheap enough for the hot path.

One INTERNAL gateway span per logical call, one CLIENT inference span per physical
attempt under it. Spans are parented explicitly with ``context=``; no context is ever
attached, so streams may end from another task or from garbage collection. Starting a
span happens inline (its context is needed at once); ending it and recording metrics is
queued to the telemetry worker. When the gateway is disabled, or the application
installed no SDK, every method returns at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import MutableMapping
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.trace import NonRecordingSpan, SpanKind, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..records import AttemptRecord, CallRecord
from . import names as n
from .attributes import put_present
from .finish import Finisher
from .instruments import Instruments
from .settings import TelemetrySettings
from .worker import DEFERRED

__all__ = ["Telemetry"]

_SUPPRESS = context._SUPPRESS_INSTRUMENTATION_KEY
_INTERNAL = SpanKind.INTERNAL
_CLIENT = SpanKind.CLIENT
_W3C = TraceContextTextMapPropagator()
_HAS_API_GLOBALS = hasattr(trace, "_TRACER_PROVIDER") and hasattr(_metrics_api, "_METER_PROVIDER")


class _EndedSpan(NonRecordingSpan):
    """Left on a record once its end is queued: keeps the span context, makes ending idempotent."""


def _providers_installed() -> bool:
    """Whether the application installed a global tracer or meter provider.

    Reads the API's globals directly: ``get_tracer_provider()`` consults ``os.environ``
    on every call while none is set, which costs about 1 µs. Should the API's internals
    change, assume a provider is installed (correct, only slower).
    """
    if not _HAS_API_GLOBALS:  # pragma: no cover
        return True
    return trace._TRACER_PROVIDER is not None or _metrics_api._METER_PROVIDER is not None


class Telemetry:
    """Records gateway calls as OpenTelemetry spans and metrics.

    Uses the given providers, else the application's global ones; installs nothing.
    Ends are recorded by a background worker: call ``flush()`` before reading exporters.
    """

    __slots__ = (
        "_enabled",
        "_finish",
        "_lock",
        "_meter_provider",
        "_offset_ns",
        "_tracer",
        "_tracer_provider",
        "settings",
    )

    def __init__(
        self,
        config: TelemetrySettings,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.settings = config
        self._enabled = config.enabled
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._tracer: trace.Tracer | None = None
        self._finish: Finisher | None = None
        self._lock = threading.Lock()
        # Records hold perf_counter() seconds; the SDK wants epoch nanoseconds.
        self._offset_ns = time.time_ns() - time.perf_counter_ns()

    @property
    def enabled(self) -> bool:
        """Whether calls are recorded now (settings on, and a provider to record to)."""
        return self._tracer is not None or self._resolve() is not None

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until every queued span end and metric has been handed to the SDK."""
        return DEFERRED.flush(timeout)

    def _resolve(self) -> trace.Tracer | None:
        if not self._enabled:
            return None
        if self._tracer_provider is None and self._meter_provider is None and not _providers_installed():
            return None
        with self._lock:
            if self._tracer is None:
                tracer_provider = self._tracer_provider or trace.get_tracer_provider()
                meter_provider = self._meter_provider or metrics.get_meter_provider()
                if isinstance(tracer_provider, trace.NoOpTracerProvider) and isinstance(
                    meter_provider, metrics.NoOpMeterProvider
                ):
                    self._enabled = False
                    return None
                inst = Instruments(tracer_provider, meter_provider)
                self._finish = Finisher(inst, self.settings, self._offset_ns)
                self._tracer = inst.tracer
                DEFERRED.start()
            return self._tracer

    def _ns(self, perf_seconds: float) -> int | None:
        return int(perf_seconds * 1e9) + self._offset_ns if perf_seconds else None

    # --- the logical call ----------------------------------------------------------------

    def start_call(self, call: CallRecord) -> None:
        """Start the INTERNAL gateway span, a child of ``call.parent_context`` (or the current one)."""
        tracer = self._tracer or self._resolve()
        if tracer is None or call.span is not None:
            return
        parent = call.parent_context
        if parent is None:
            parent = call.parent_context = context.get_current()
        if context.get_value(_SUPPRESS, parent):
            return
        attributes: dict[str, Any] = {n.REQUEST_ID: call.request_id, n.REQUESTED_MODEL: call.requested_model}
        if call.http_route:
            attributes[n.HTTP_ROUTE] = call.http_route
        call.span = tracer.start_span(
            n.GATEWAY_SPAN_NAME.format(model=call.requested_model),
            context=parent,
            kind=_INTERNAL,
            attributes=attributes,
            start_time=self._ns(call.started),
        )

    def end_call(self, call: CallRecord) -> None:
        """End the gateway span (and any attempt left open) with the call's outcome; idempotent."""
        span = call.span
        finish = self._finish
        if span is None or finish is None or type(span) is _EndedSpan:
            return
        for attempt in call.attempts:
            if attempt.span is not None and type(attempt.span) is not _EndedSpan:
                self.end_attempt(call, attempt)
        call.span = _EndedSpan(span.get_span_context())
        # The bodies are passed along: the pipeline drops them from the record right after.
        ended = call.ended or time.perf_counter()
        DEFERRED.put(finish.call, call, span, ended, call.request_body, call.response_body)

    def record_rejection(self, call: CallRecord, reason: str) -> None:
        """Count a refusal (rate limit, budget, policy...) and note it on the gateway span."""
        if (self._tracer or self._resolve()) is None or self._finish is None:
            return
        span = call.span
        if span is None and context.get_value(_SUPPRESS, call.parent_context):
            return
        open_span = span if span is not None and type(span) is not _EndedSpan else None
        DEFERRED.put(self._finish.rejection, call, open_span, reason)

    # --- one physical attempt ------------------------------------------------------------

    def start_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None:
        """Start the CLIENT inference span of one attempt, under the gateway span."""
        parent = call.span
        tracer = self._tracer
        if parent is None or tracer is None or attempt.span is not None:
            return
        attributes: dict[str, Any] = {
            n.OPERATION_NAME: attempt.operation,
            n.PROVIDER_NAME: n.PROVIDER_NAMES.get(attempt.provider_kind, attempt.provider_kind),
            n.REQUEST_MODEL: attempt.upstream_model,
            n.DEPLOYMENT: attempt.deployment,
            n.GATEWAY_PROVIDER: attempt.provider,
            n.GATEWAY_ATTEMPT: attempt.number,
        }
        if attempt.server_address:
            attributes[n.SERVER_ADDRESS] = attempt.server_address
            if attempt.server_port:
                attributes[n.SERVER_PORT] = attempt.server_port
        resends = _position(call, attempt)
        if resends:
            attributes[n.HTTP_REQUEST_RESEND_COUNT] = resends
        if attempt.fallback_from:
            attributes[n.FALLBACK_FROM] = attempt.fallback_from
        p = call.params
        put_present(
            attributes,
            (n.REQUEST_TEMPERATURE, p.temperature),
            (n.REQUEST_TOP_P, p.top_p),
            (n.REQUEST_TOP_K, p.top_k),
            (n.REQUEST_MAX_TOKENS, p.max_tokens),
            (n.REQUEST_STOP_SEQUENCES, p.stop),
            (n.REQUEST_SEED, p.seed),
            (n.REQUEST_CHOICE_COUNT, p.choice_count if p.choice_count != 1 else None),
            (n.REQUEST_FREQUENCY_PENALTY, p.frequency_penalty),
            (n.REQUEST_PRESENCE_PENALTY, p.presence_penalty),
        )
        if call.stream:
            attributes[n.REQUEST_STREAM] = True
        attempt.span = tracer.start_span(
            n.INFERENCE_SPAN_NAME.format(operation=attempt.operation, model=attempt.upstream_model),
            context=trace.set_span_in_context(parent, call.parent_context),
            kind=_CLIENT,
            attributes=attributes,
            start_time=self._ns(attempt.started),
        )

    def end_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None:
        """End an attempt's span with its response, usage and outcome, and record metrics; idempotent."""
        span = attempt.span
        finish = self._finish
        if span is None or finish is None or type(span) is _EndedSpan:
            return
        attempt.span = _EndedSpan(span.get_span_context())
        DEFERRED.put(finish.attempt, call, attempt, span, attempt.ended or time.perf_counter())

    # --- helpers for the pipeline --------------------------------------------------------

    def inject_traceparent(self, attempt: AttemptRecord, headers: MutableMapping[str, str]) -> None:
        """Add a W3C ``traceparent`` for the attempt span to upstream headers, if enabled.

        Only trace context is sent, never baggage (it may carry user data).
        """
        if self.settings.propagate_traceparent and attempt.span is not None:
            _W3C.inject(headers, context=trace.set_span_in_context(attempt.span))


def _position(call: CallRecord, attempt: AttemptRecord) -> int:
    """How many attempts of the call came before this one (its resend count)."""
    for index, other in enumerate(call.attempts):
        if other is attempt:
            return index
    return len(call.attempts)
