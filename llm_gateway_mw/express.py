"""The express lane: a whole call with nothing to check but request limits, begun and completed in place.

With no budget or cache configured (and at most request rate limits on in-process stores), the
common call (not streamed, a model whose plan is the same every call, a closed circuit) needs
no stage but routing, one request and its accounting. Between two SDK calls the gateway's code
and data are cold, so each extra layer a call touches costs far more than it does in a loop
(benchmarks/README.md, "Fifth round" and "Sixth round"); the lane touches as few as it can, with
the pipeline's own bookkeeping (``new_call``, ``Runtime.new_attempt``, ``Runtime.succeed_attempt``,
``Runtime.end_call``, the policy's ``admit_in_place`` / ``settle`` / ``release``):

* ``enter`` / ``finish``: a passthrough model seen before, straight off the SDK's own request:
  no ``Inbound``, no request object of the gateway's, the upstream's own response handed back;
  request limits are admitted in place, and a refusal ends the call there.
* ``begin`` / ``complete``: any other fixed plan, from an ``Inbound``, with no policy at all;
  remembers passthrough models for ``enter`` (``handle_call`` does when a policy is set).

Anything else, and any reply that is not a usable answer, goes on in ``handle_call``, which
takes the record, the admission and the first try as they are (``resume``). Tests run the same
calls down every road and compare replies, records, headers, health and spans.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .attempts import FirstSend, FirstTarget, first_result, first_send, first_target
from .dialects.wire_usage import UNREADABLE, tail_usage
from .effects import UpstreamRequest
from .errors import GatewayRefusal
from .inbound import sdk_timeout
from .pipeline import Outcome, abandon, finish_whole, identify, new_call, refused
from .policy.admission import run_local
from .records import PendingReply
from .reply_headers import add_headers, gateway_headers, lane_headers
from .runtime import record_plan

if TYPE_CHECKING:
    from .binding import Binding, LaneTarget
    from .dialects import Dialect
    from .effects import UpstreamReply
    from .inbound import Inbound
    from .policy.admission import Admission
    from .providers.deployment import Deployment
    from .records import AttemptRecord, CallRecord
    from .runtime import Runtime

__all__ = ["Lane", "begin", "complete", "enter", "finish", "leave", "resume"]


@dataclass(slots=True)
class Lane:
    """A passthrough call ``enter`` began: its records, where it went, and the bound of its one send."""

    call: CallRecord
    attempt: AttemptRecord
    target: LaneTarget
    deadline: float
    timeout: float
    dialect: Dialect
    admission: Admission | None  # what the policy reserved for the call, to settle or release


def enter(
    rt: Runtime, binding: Binding, operation: str, request: Any, raw: bytes, scanned: tuple[str, bool] | None
) -> Lane | Outcome | None:
    """Begin the SDK's ``request`` as a passthrough call; None: the usual way serves it.

    ``raw``: its body; ``scanned``: the model (and that it is not a stream) read off it by
    ``scan_request``, None when it could not be read plainly.

    Under a policy that admits in place (request rules on in-process stores) the call is admitted
    here; a refused call ends here, as its ``Outcome``. The request goes upstream as it is, its
    timeout cut to the call's deadline; the sender takes ``in_flight`` off again, then hands the
    reply to ``finish``.
    """
    if not rt.lane or scanned is None:
        return None
    model = scanned[0]
    target = binding.express.get(model)
    if target is None:  # not a passthrough model ``begin`` or ``handle_call`` has seen
        return None
    health = target.health
    if health.opened_at is not None:  # circuit not closed: the attempt loop decides
        return None
    plan = target.plan
    call = new_call(rt, operation, model, binding.dialect, False, raw)  # telemetry decodes raw on its worker
    record_plan(call, plan, model)
    if rt.telemetry_on:
        rt.telemetry.start_call(call)
    admission: Admission | None = None
    limit = rt.retry_timeout  # the whole of it is left for the first attempt
    try:
        if rt.policy_active:
            admission = rt.policy.admit_in_place(call)  # limits
        attempt = rt.new_attempt(call, target.deployment, plan.groups[0].fallback_from)
        if rt.propagate_traceparent:
            rt.inject_traceparent(attempt, request.headers)
        requested = sdk_timeout(request)
        timeout = limit if requested is None or requested > limit else requested
        request.extensions["timeout"] = {
            "connect": timeout,
            "read": timeout,
            "write": timeout,
            "pool": timeout,
        }
    except GatewayRefusal as refusal:  # only the admission refuses
        return refused(rt, call, binding.dialect, refusal)
    except Exception as unexpected:  # a bug or an unforeseen input: give back, end the call, surface it
        if admission is not None:
            run_local(rt.policy.release(admission))
        abandon(rt, call, unexpected)
        raise
    health.in_flight += 1
    return Lane(call, attempt, target, time.monotonic() + limit, timeout, binding.dialect, admission)


def finish(rt: Runtime, lane: Lane, reply: UpstreamReply) -> Any:
    """The upstream's own response, the gateway's headers added, when the reply is a usable answer.

    None: ``resume`` hands the call to the pipeline (an error to retry or fail over, a body to
    parse whole). The headers fixed for the model were built once (``LaneTarget.headers``).
    """
    call = lane.call
    try:
        target = lane.target
        if not _accept(rt, call, lane.attempt, target.deployment, reply, lane.dialect, lane.admission):
            return None
        response = reply.native
        add_headers(response.headers, lane_headers(call.request_id, call.cost_usd, target.headers))
        return response
    except Exception as unexpected:
        leave(rt, lane, unexpected)
        raise


def leave(rt: Runtime, lane: Lane, unexpected: BaseException) -> None:
    """End a lane's call a bug or an interrupt cut short (its admission given back); the caller re-raises."""
    if lane.admission is not None:
        run_local(rt.policy.release(lane.admission))
    abandon(rt, lane.call, unexpected)


def resume(rt: Runtime, inbound: Inbound, lane: Lane, reply: UpstreamReply) -> FirstSend:
    """The lane's call as the pipeline's first try, judged: ``handle_call`` goes on from there.

    A usable answer whose usage does not read off its tail is committed by the pipeline as it
    is; anything else is retried, failed over or reported there.
    """
    request = UpstreamRequest(
        inbound.method, "", inbound.headers, inbound.raw_body, False, lane.timeout, raw=inbound.raw_request
    )
    target = lane.target
    first = FirstSend(
        lane.call,
        target.plan,
        lane.deadline,
        target.deployment,
        target.health,
        lane.attempt,
        request,
        target.upstream,
        lane.dialect,
        admission=lane.admission,
    )
    try:
        first_result(first, reply)
    except Exception as unexpected:
        leave(rt, lane, unexpected)
        raise
    return first


def begin(rt: Runtime, binding: Binding, inbound: Inbound) -> FirstSend | None:
    """Identify the caller, route and build the first request; None: ``handle_call`` runs the call."""
    if inbound.stream or not rt.express:
        return None
    model = inbound.model
    known = binding.express.get(model)
    if known is not None:  # a passthrough model seen before: its plan and deployment never change
        plan = known.plan
        if known.health.opened_at is not None:  # circuit not closed: the attempt loop decides
            return None
        target: FirstTarget = (known.deployment, known.health, known.upstream, inbound.parsed)
    else:
        ready = rt.ready_plan(binding, model)
        if ready is None:
            return None
        plan = ready
        found = first_target(rt, binding, inbound, plan)
        if found is None:
            return None
        target = found
        binding.remember(model, plan, target[0], target[1])
    call = identify(rt, inbound)
    record_plan(call, plan, model)
    if rt.telemetry_on:
        rt.telemetry.start_call(call)
    return first_send(rt, call, inbound, plan, time.monotonic() + rt.retry_timeout, target)


def complete(rt: Runtime, inbound: Inbound, first: FirstSend, reply: UpstreamReply) -> Outcome | None:
    """The call's outcome when its first reply is a usable answer; None: ``handle_call`` goes on."""
    call = first.call
    try:
        dialect = first.unchanged
        if dialect is None or not _accept(rt, call, first.attempt, first.deployment, reply, dialect):
            # an error to retry or fail over, a reply to translate or to parse whole
            result = first_result(first, reply)
            return None if result is None else finish_whole(rt, call, inbound, result)
        first.reply = reply
        return Outcome(
            reply.status, body=reply.body, native=reply.native, native_headers=gateway_headers(call)
        )
    except Exception as unexpected:
        abandon(rt, call, unexpected)
        raise


def _accept(
    rt: Runtime,
    call: CallRecord,
    attempt: AttemptRecord,
    deployment: Deployment,
    reply: UpstreamReply,
    dialect: Dialect,
    admission: Admission | None = None,
) -> bool:
    """End the call on a usable same-dialect answer whose usage reads off its tail; False: it is not one."""
    if reply.failure is not None or reply.status >= 400 or reply.native is None:
        return False
    body = reply.body
    usage = tail_usage(body, dialect)
    if usage is UNREADABLE:
        return False
    attempt.usage = usage
    attempt.pending = PendingReply(body, dialect)  # id, model, finish reasons: read when asked
    rt.succeed_attempt(call, attempt, deployment, None)
    if admission is not None:
        run_local(rt.policy.settle(admission, call))
    call.response_body = body  # for telemetry; end_call drops it
    rt.end_call(call)
    return True
