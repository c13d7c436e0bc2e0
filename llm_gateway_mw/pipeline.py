"""The pipeline, readable in one place: every managed call goes through these stages.

identify caller → limits/budget → cache → route → attempt (retries/failover) →
translate → account. It is a generator of effects (see ``effects``); the sync and async
drivers run the very same code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .attempts import (
    AllAttemptsFailed,
    FirstSend,
    attempt_plan,
    first_result,
    first_send,
    first_target,
)
from .context import current_call_context
from .dialects.wire_usage import usage_of
from .effects import Send
from .errors import GatewayRefusal, UnknownModelError
from .inbound import Inbound
from .records import NO_PARAMS, CallRecord, PendingReply
from .relay import StreamRelay
from .reply_headers import RawHeader, as_text, gateway_header_pairs, gateway_headers
from .translate import (
    passthrough_markers,
    refusal_body,
    stream_translator,
    summarize_reply,
    translate_error,
    translate_reply,
)
from .verdicts import AttemptResult

if TYPE_CHECKING:
    from .binding import Binding
    from .dialects import Dialect
    from .drivers import CoreGen
    from .policy.admission import Admission
    from .runtime import Runtime

__all__ = ["Outcome", "abandon", "finish_whole", "handle_call", "identify", "new_call", "refused"]

ERROR_HEADER = "x-llm-gateway-error"


@dataclass(slots=True)
class Outcome:
    """What the transport hands back to the SDK: a response, a stream, or a transport error to raise."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    relay: StreamRelay | None = None
    raise_kind: str | None = None  # "timeout" | "connection": the SDK's APITimeoutError / APIConnectionError
    native: Any = None  # an upstream response to return as is, with ``headers`` and ``native_headers`` added
    native_headers: list[RawHeader] | tuple[()] = ()  # the gateway's, as httpx stores them
    message: str = ""

    def header_pairs(self) -> list[tuple[str, str]]:
        """Every header the gateway adds, as text pairs."""
        return as_text(self.headers, self.native_headers)


def finish_whole(rt: Runtime, call: CallRecord, inbound: Inbound, result: AttemptResult) -> Outcome:
    """Translate and account for a whole reply with no policy stage after it, and hand it back."""
    body, translated = _account(rt, call, inbound, result)
    return _reply(rt, call, result, body, translated)


def handle_call(
    rt: Runtime, binding: Binding, inbound: Inbound, started: FirstSend | None = None
) -> CoreGen[Outcome]:
    """Run one managed call through every stage (``started``: begun by ``begin``, its first try made)."""
    admission: Admission | None = None
    if started is not None:
        call = started.call
    else:
        call = identify(rt, inbound)
        if rt.telemetry_on:
            rt.telemetry.start_call(call)
    try:
        result: AttemptResult | None = None
        first = started
        if started is not None:  # admitted, its first try sent and judged already
            plan, deadline, admission = started.plan, started.deadline, started.admission
        else:
            plan = rt.plan(binding, inbound, call)  # route
            if rt.policy_active:  # the zero-config policy has nothing to check: skip its no-op stages
                admission = yield from rt.policy.admit(call, inbound, plan)  # limits and budget
            cached = (yield from rt.policy.cache_lookup(call, inbound)) if rt.policy_caches else None  # cache
            if cached is not None:
                return (yield from _serve_cached(rt, call, inbound, admission, cached))
            deadline = time.monotonic() + rt.retry_timeout
            # attempt: the common call's first request goes out directly; any other case, and any reply
            # that is not a usable answer, goes through the attempt loop (retries, failover).
            target = first_target(rt, binding, inbound, plan)
            if target is not None:
                if rt.lane and target[0].passthrough and rt.ready_plan(binding, inbound.model) is plan:
                    binding.remember(inbound.model, plan, target[0], target[1])  # for the express lane
                first = first_send(rt, call, inbound, plan, deadline, target)
                try:
                    reply = yield Send(first.upstream, first.request)
                finally:
                    first.health.in_flight -= 1
                result = first_result(first, reply)
        if result is None:
            result = yield from attempt_plan(rt, binding, call, inbound, plan, deadline, first)
    except GatewayRefusal as refusal:
        yield from rt.policy.release(admission)
        return refused(rt, call, inbound.dialect, refusal)
    except AllAttemptsFailed as failed:
        yield from rt.policy.release(admission)
        return _failed(rt, call, inbound, failed)
    except Exception as unexpected:  # a bug or an unforeseen input: release, close the span, then surface it
        yield from rt.policy.release(admission)
        abandon(rt, call, unexpected)
        raise
    if result.parser is not None:
        return _stream(rt, call, inbound, result, admission, deadline)  # translate (streams)
    body, translated = _account(rt, call, inbound, result)  # translate + account
    if rt.policy_active:
        yield from rt.policy.settle(admission, call)
    if rt.policy_caches:
        yield from rt.policy.cache_store(call, inbound, body)
    return _reply(rt, call, result, body, translated)


def abandon(rt: Runtime, call: CallRecord, unexpected: BaseException) -> None:
    """End a call a bug or an unforeseen input cut short, so its span closes; the caller re-raises."""
    call.error_type = type(unexpected).__name__
    call.error_message = str(unexpected)
    rt.end_call(call)


def identify(rt: Runtime, inbound: Inbound) -> CallRecord:
    """The call's record: who is calling (the call context), what they asked for, and when."""
    # The body as read so far: telemetry decodes raw bytes on its worker.
    body = inbound.parsed if inbound.parsed is not None else inbound.raw_body
    return new_call(rt, inbound.operation, inbound.model, inbound.dialect, inbound.stream, body)


def new_call(
    rt: Runtime, operation: str, model: str, dialect: Dialect, stream: bool, body: Any
) -> CallRecord:
    """A call's record from its parts (``identify`` reads them off an ``Inbound``)."""
    context = current_call_context()
    call = CallRecord(
        context.request_id or rt.new_request_id(),
        "embeddings" if operation == "embeddings" else "chat",  # GenAI operation names
        model,
        dialect,
        stream,
        NO_PARAMS,  # sampling parameters are parsed by telemetry on its worker, from the request body
        context.caller,
        time.perf_counter(),
    )
    call.http_route = context.http_route
    call.request_body = body
    return call


def _account(rt: Runtime, call: CallRecord, inbound: Inbound, result: AttemptResult) -> tuple[bytes, bool]:
    """Record the successful attempt (usage, cost): (the body in the caller's dialect, translated?)."""
    deployment, attempt, parsed = result.deployment, result.attempt, result.parsed
    source = deployment.dialect or inbound.dialect
    body = result.reply.body
    if source == inbound.dialect or parsed is None:
        # The body goes back unchanged: only its usage is read now; id, model and finish reasons
        # when someone asks (telemetry, on its worker).
        attempt.usage = result.usage if parsed is None else usage_of(parsed, source)
        attempt.pending = PendingReply(body if parsed is None else parsed, source)
        rt.succeed_attempt(call, attempt, deployment, None)
        call.response_body = body if parsed is None else parsed
        return body, False
    body = translate_reply(parsed, source=source, target=inbound.dialect, model=inbound.model)
    rt.succeed_attempt(call, attempt, deployment, summarize_reply(parsed, source))
    call.response_body = parsed
    return body, True


def _reply(rt: Runtime, call: CallRecord, result: AttemptResult, body: bytes, translated: bool) -> Outcome:
    """End the call and hand the reply back."""
    rt.end_call(call)
    reply = result.reply
    if reply.native is not None and not translated:
        # Unchanged body: hand the upstream's own response back with the gateway's headers added.
        return Outcome(reply.status, body=body, native=reply.native, native_headers=gateway_headers(call))
    return Outcome(reply.status, gateway_header_pairs(call, reply.header_items()), body)


def _stream(
    rt: Runtime,
    call: CallRecord,
    inbound: Inbound,
    result: AttemptResult,
    admission: Admission | None,
    deadline: float,
) -> Outcome:
    deployment, attempt = result.deployment, result.attempt
    assert result.reply.stream is not None and result.parser is not None and result.first_events is not None
    options = inbound.body.get("stream_options")
    wants_usage = isinstance(options, dict) and options.get("include_usage") is True
    translator = stream_translator(
        source=deployment.target_dialect(inbound.dialect),
        target=inbound.dialect,
        model=inbound.model,
        app_wants_usage=wants_usage,
        operation=inbound.operation,
    )

    def settle(relay: StreamRelay) -> CoreGen[None]:
        summary = _StreamSummary(relay)
        if relay.error is None:
            rt.succeed_attempt(call, attempt, deployment, summary)
        else:
            rt.cut_attempt(call, attempt, deployment, summary, relay.error)
        yield from rt.policy.settle(admission, call)
        if relay.error is None and relay.capture is not None:
            yield from rt.policy.cache_store_stream(call, inbound, b"".join(relay.capture))
        rt.end_call(call)

    relay = StreamRelay(
        handle=result.reply.stream,
        parser=result.parser,
        translator=translator,
        first_events=result.first_events,
        caller_dialect=inbound.dialect,
        deadline=deadline,
        label=f"deployment {deployment.id}",
        settle=settle,
        capture=rt.policy.wants_capture(call, inbound),
        markers=passthrough_markers(
            source=deployment.target_dialect(inbound.dialect),
            target=inbound.dialect,
            operation=inbound.operation,
        ),
    )
    headers = gateway_header_pairs(call, result.reply.header_items())
    return Outcome(200, headers, relay=relay)


class _StreamSummary:
    """Adapts a finished stream translator to the reply summary accounting reads."""

    __slots__ = ("finish_reasons", "response_id", "response_model", "usage")

    def __init__(self, relay: StreamRelay) -> None:
        translator = relay.translator
        self.usage = translator.usage
        self.response_id = translator.response_id
        self.response_model = translator.response_model
        self.finish_reasons = ["error"] if relay.error else list(translator.finish_reasons)


def _serve_cached(
    rt: Runtime, call: CallRecord, inbound: Inbound, admission: Admission | None, cached: bytes
) -> CoreGen[Outcome]:
    call.cache_hit = True
    call.cost_usd = 0.0
    yield from rt.policy.release(admission)
    rt.end_call(call)
    if inbound.stream:  # replayed as a stream in the caller's dialect
        body = rt.policy.replay_stream(inbound, cached)
        return Outcome(200, gateway_header_pairs(call, [("content-type", "text/event-stream")]), body)
    return Outcome(200, gateway_header_pairs(call, [("content-type", "application/json")]), cached)


def refused(rt: Runtime, call: CallRecord, dialect: Dialect, refusal: GatewayRefusal) -> Outcome:
    """End a call the policy refused: the refusal as the caller's dialect's error reply."""
    call.error_type = type(refusal).__name__
    call.error_message = refusal.message
    rt.telemetry.record_rejection(call, refusal.code)
    rt.end_call(call)
    headers = [
        ("content-type", "application/json"),
        (ERROR_HEADER, refusal.code),
        *refusal.headers.items(),
        ("x-llm-gateway-request-id", call.request_id),
    ]
    return Outcome(refusal.status, headers, refusal_body(refusal, dialect))


def _failed(rt: Runtime, call: CallRecord, inbound: Inbound, failed: AllAttemptsFailed) -> Outcome:
    call.error_type = call.attempts[-1].error_type if call.attempts else "_OTHER"
    call.error_message = failed.why
    rt.end_call(call)
    reply, deployment = failed.reply, failed.deployment
    if reply is None or reply.failure is not None or reply.status < 400 or deployment is None:
        kind = reply.failure.kind if reply is not None and reply.failure is not None else "connection"
        return Outcome(
            0, raise_kind=kind, message=f"llm-gateway-mw: every attempt failed; last: {failed.why}"
        )
    source = deployment.target_dialect(inbound.dialect)
    body = translate_error(reply.body, source=source, target=inbound.dialect, status=reply.status)
    headers = [(k, v) for k, v in reply.header_items() if k.lower() != "content-type"]
    headers += [
        ("content-type", "application/json"),
        ("x-llm-gateway-request-id", call.request_id),
        ("x-llm-gateway-attempts", str(len(call.attempts))),
    ]
    return Outcome(reply.status, headers, body)


def unknown_model(rt: Runtime, model: str) -> UnknownModelError:
    return UnknownModelError(model, rt.config.model_names())
