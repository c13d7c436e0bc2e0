"""What a record's ``span`` field holds, and the request-side attributes of an attempt span.

The request path does not call the OpenTelemetry SDK: it leaves a ``SpanHandle`` on the
call and attempt records (the parent context, the request body, whether the end is
queued) and the telemetry worker creates the real spans later with the records' own start
times. Only with ``propagate_traceparent`` are spans created inline, since the attempt's
trace context must then go upstream with the request. Either way the handle ends up
holding the SDK span, so ``get_span_context()`` works once the worker has run (or at once,
for inline spans).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN_CONTEXT, Span, SpanContext

from ..inbound import loads_json, params_of
from ..records import AttemptRecord, CallRecord, RequestParams
from . import names as n
from .attributes import put_present

__all__ = ["SpanHandle", "request_attributes", "sampling_attributes"]

_NO_PARAMS = RequestParams()


class SpanHandle:
    """A span that may not exist yet: created by the worker, or inline when its context is needed.

    ``ended`` is set on the request path when the end is queued, which makes ending
    idempotent without touching the SDK. ``parent`` and ``body`` are kept for the gateway
    span only: the context to parent it under, and the request body to read sampling
    parameters from on the worker (the pipeline drops the body from the record at the end).
    Once the worker has ended the span, only its context is kept (``release``): records
    outlive their calls (the status page keeps the recent ones), and a finished SDK span,
    a body and a parent context per record would cost memory and garbage-collection time.
    """

    __slots__ = ("body", "context", "ended", "parent", "span")

    def __init__(self, parent: Context | None = None, body: Any = None, span: Span | None = None) -> None:
        self.parent = parent
        self.body = body
        self.span = span
        self.context: SpanContext | None = None
        self.ended = False

    def get_span_context(self) -> SpanContext:
        """The span's context; invalid until the span has been created."""
        if self.context is not None:
            return self.context
        span = self.span
        return span.get_span_context() if span is not None else INVALID_SPAN_CONTEXT

    def is_recording(self) -> bool:
        """Whether the span may still take attributes: not once its end is queued."""
        span = self.span
        return not self.ended and (span is None or span.is_recording())

    def release(self, span: Span) -> None:
        """Keep only the context of a span the worker has ended; drop everything else."""
        self.context = span.get_span_context()
        self.span = self.parent = self.body = None


def sampling_attributes(attempt: AttemptRecord) -> dict[str, Any]:
    """The attempt attributes GenAI conventions want at span creation, for samplers."""
    attributes: dict[str, Any] = {
        n.OPERATION_NAME: attempt.operation,
        n.PROVIDER_NAME: n.PROVIDER_NAMES.get(attempt.provider_kind, attempt.provider_kind),
        n.REQUEST_MODEL: attempt.upstream_model,
    }
    if attempt.server_address:
        attributes[n.SERVER_ADDRESS] = attempt.server_address
        if attempt.server_port:
            attributes[n.SERVER_PORT] = attempt.server_port
    return attributes


def request_attributes(call: CallRecord, attempt: AttemptRecord, attributes: dict[str, Any]) -> None:
    """Add the rest of what was asked of this attempt: deployment, position, sampling parameters."""
    attributes[n.DEPLOYMENT] = attempt.deployment
    attributes[n.GATEWAY_PROVIDER] = attempt.provider
    attributes[n.GATEWAY_ATTEMPT] = attempt.number
    resends = _position(call, attempt)
    if resends:
        attributes[n.HTTP_REQUEST_RESEND_COUNT] = resends
    if attempt.fallback_from:
        attributes[n.FALLBACK_FROM] = attempt.fallback_from
    p = params(call)
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


def params(call: CallRecord) -> RequestParams:
    """The call's sampling parameters: the record's, else parsed here from the request body.

    Parsing on the worker keeps it off the request path; a record built with parameters
    (tests, or a pipeline that parses them itself) is used as is.
    """
    if call.params != _NO_PARAMS:
        return call.params
    handle = call.span
    body = handle.body if isinstance(handle, SpanHandle) else None
    if isinstance(body, bytes):  # a passthrough body the request path never decoded
        try:
            body = loads_json(body)
        except ValueError:
            return call.params
    return params_of(body) if isinstance(body, dict) else call.params


def _position(call: CallRecord, attempt: AttemptRecord) -> int:
    """How many attempts of the call came before this one (its resend count)."""
    for index, other in enumerate(call.attempts):
        if other is attempt:
            return index
    return len(call.attempts)
