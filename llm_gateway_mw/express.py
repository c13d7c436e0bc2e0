"""The express lane: a whole call with nothing to check before it, begun and completed in place.

With no limits, budget or cache configured, the common call (not streamed, a model whose plan
is the same every call, a closed circuit) needs no stage but routing, one request and its
accounting. ``begin`` and ``complete`` do what ``pipeline.handle_call`` does for such a call,
with the same bookkeeping functions (``identify``, ``first_send``, ``Runtime.succeed_attempt``,
``Runtime.end_call``) but none of its generator, effect round trip or reply objects: between two
SDK calls the gateway's code and data are cold, so each extra layer a call touches costs far
more than it does in a loop (benchmarks/README.md, "Fifth round"). Anything else, and any reply
that is not a usable answer, goes on in ``handle_call``, which takes the record and the first
try as they are. A test runs the same calls down both roads and compares records, headers and health.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .attempts import FirstSend, first_result, first_send, first_target
from .dialects.wire_usage import UNREADABLE, tail_usage
from .pipeline import Outcome, abandon, finish_whole, identify
from .records import PendingReply
from .reply_headers import gateway_headers
from .runtime import record_plan

if TYPE_CHECKING:
    from .effects import UpstreamReply
    from .inbound import Inbound
    from .runtime import Binding, Runtime

__all__ = ["begin", "complete"]


def begin(rt: Runtime, binding: Binding, inbound: Inbound) -> FirstSend | None:
    """Identify the caller, route and build the first request; None: ``handle_call`` runs the call."""
    if inbound.stream or not rt.express:
        return None
    model = inbound.model
    known = binding.express.get(model)
    if known is not None:  # a passthrough model seen before: its plan and deployment never change
        plan, deployment, health, upstream = known
        if health.opened_at is not None:  # circuit not closed: the attempt loop decides
            return None
        body = inbound.parsed
    else:
        ready = rt.ready_plan(binding, model)
        if ready is None:
            return None
        plan = ready
        target = first_target(rt, binding, inbound, plan)
        if target is None:
            return None
        deployment, health, upstream, body = target
        if deployment.passthrough and len(binding.express) < 1000:
            binding.express[model] = (plan, deployment, health, upstream)
    call = identify(rt, inbound)
    record_plan(call, plan, model)
    if rt.telemetry_on:
        rt.telemetry.start_call(call)
    return first_send(
        rt, call, inbound, plan, time.monotonic() + rt.retry_timeout, (deployment, health, upstream, body)
    )


def complete(rt: Runtime, inbound: Inbound, first: FirstSend, reply: UpstreamReply) -> Outcome | None:
    """The call's outcome when its first reply is a usable answer; None: ``handle_call`` goes on."""
    call = first.call
    try:
        dialect = first.unchanged
        usage = (
            tail_usage(reply.body, dialect)
            if dialect is not None
            and reply.failure is None
            and reply.status < 400
            and reply.native is not None
            else UNREADABLE
        )
        if usage is UNREADABLE:  # an error to retry or fail over, a reply to translate or to parse whole
            result = first_result(first, reply)
            return None if result is None else finish_whole(rt, call, inbound, result)
        assert dialect is not None
        attempt, body = first.attempt, reply.body
        first.reply = reply
        attempt.usage = usage
        attempt.pending = PendingReply(body, dialect)  # id, model, finish reasons: read when asked
        rt.succeed_attempt(call, attempt, first.deployment, None)
        call.response_body = body  # for telemetry; end_call drops it
        rt.end_call(call)
        return Outcome(reply.status, body=body, native=reply.native, native_headers=gateway_headers(call))
    except Exception as unexpected:
        abandon(rt, call, unexpected)
        raise
