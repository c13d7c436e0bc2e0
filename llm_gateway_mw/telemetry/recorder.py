"""``Telemetry``: the pipeline's entry points, cheap enough for the hot path.

One INTERNAL gateway span per logical call, one CLIENT inference span per physical
attempt under it. Spans are parented explicitly with ``context=``; no context is ever
attached, so streams may end from another task or from garbage collection.

The request path does not call the SDK: it captures the parent context, leaves a
``SpanHandle`` on the records and queues their ends; the telemetry worker creates the
spans with the records' start times, ends them with their end times and records the
metrics. Only with ``propagate_traceparent`` are the spans created inline, because the
attempt's trace context goes upstream with its request. When the gateway is disabled, or
the application installed no SDK, every method returns at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import MutableMapping

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..records import AttemptRecord, CallRecord
from .finish import Finisher
from .instruments import Instruments
from .settings import TelemetrySettings
from .spans import SpanHandle, sampling_attributes
from .worker import DEFERRED

__all__ = ["Telemetry"]

_SUPPRESS = context._SUPPRESS_INSTRUMENTATION_KEY
_W3C = TraceContextTextMapPropagator()
_HAS_API_GLOBALS = hasattr(trace, "_TRACER_PROVIDER") and hasattr(_metrics_api, "_METER_PROVIDER")


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
        "_inline",
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
        self._inline = config.propagate_traceparent  # attempt spans' contexts are needed at once
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

    # --- the logical call ----------------------------------------------------------------

    def start_call(self, call: CallRecord) -> None:
        """Note the call's parent (``call.parent_context``, else the current context) for its gateway span.

        The span itself is created by the worker, with the call's start time, unless
        attempt spans must exist at once to send their trace context upstream.
        """
        tracer = self._tracer or self._resolve()
        if tracer is None or call.span is not None:
            return
        parent = call.parent_context
        if parent is None:
            parent = call.parent_context = context.get_current()
        if context.get_value(_SUPPRESS, parent):
            return
        handle = SpanHandle(parent, call.request_body)
        if self._inline and self._finish is not None:
            self._finish.open_call(call, handle)
        call.span = handle

    def end_call(self, call: CallRecord) -> None:
        """End the gateway span (and any attempt left open) with the call's outcome; idempotent."""
        handle = call.span
        finish = self._finish
        if handle is None or finish is None or handle.ended:
            return
        for attempt in call.attempts:
            if attempt.span is not None and not attempt.span.ended:
                self.end_attempt(call, attempt)
        handle.ended = True
        # The bodies are passed along: the pipeline drops them from the record right after.
        ended = call.ended or time.perf_counter()
        DEFERRED.put(finish.call, call, handle, ended, call.request_body, call.response_body)

    def record_rejection(self, call: CallRecord, reason: str) -> None:
        """Count a refusal (rate limit, budget, policy...) and note it on the gateway span."""
        if (self._tracer or self._resolve()) is None or self._finish is None:
            return
        handle = call.span
        if handle is None and context.get_value(_SUPPRESS, call.parent_context):
            return
        open_handle = handle if handle is not None and not handle.ended else None
        DEFERRED.put(self._finish.rejection, call, open_handle, reason)

    # --- one physical attempt ------------------------------------------------------------

    def start_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None:
        """Mark an attempt for a CLIENT inference span under the gateway span.

        The worker creates the span when the attempt ends, with the attempt's start time;
        with ``propagate_traceparent`` it is created now, its context needed upstream.
        """
        if call.span is None or attempt.span is not None:
            return
        handle = SpanHandle()
        if self._inline and self._finish is not None:
            handle.span = self._finish.open_attempt(call, attempt, sampling_attributes(attempt))
        attempt.span = handle

    def end_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None:
        """End an attempt's span with its response, usage and outcome, and record metrics; idempotent."""
        handle = attempt.span
        finish = self._finish
        if handle is None or finish is None or handle.ended:
            return
        handle.ended = True
        DEFERRED.put(finish.attempt, call, attempt, handle, attempt.ended or time.perf_counter())

    # --- helpers for the pipeline --------------------------------------------------------

    def inject_traceparent(self, attempt: AttemptRecord, headers: MutableMapping[str, str]) -> None:
        """Add a W3C ``traceparent`` for the attempt span to upstream headers, if enabled.

        Only trace context is sent, never baggage (it may carry user data).
        """
        handle = attempt.span
        if self.settings.propagate_traceparent and handle is not None and handle.span is not None:
            _W3C.inject(headers, context=trace.set_span_in_context(handle.span))
