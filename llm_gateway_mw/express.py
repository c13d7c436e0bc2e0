"""The express lane: a whole call with nothing to check before it, begun and completed in place.

With no limits, budget or cache configured, the common call (not streamed, a model whose plan
is the same every call, a closed circuit) needs no stage but routing, one request and its
accounting. ``begin`` and ``complete`` do exactly what ``pipeline.handle_call`` does for such a
call, in two flat functions: between two SDK calls the gateway's code and data are cold,
so each extra function or object a call touches costs far more than it does in a loop
(benchmarks/README.md, "Fifth round"). Anything else, and any reply that is not a usable
answer, goes on in ``handle_call``, which takes the record and the first try as they are.
A test runs the same calls down both roads and compares records, headers and health.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .attempts import FirstSend, first_result, first_target
from .context import current_call_context
from .dialects.wire_usage import UNREADABLE, tail_usage
from .pipeline import Outcome, abandon, finish_whole, identify
from .policy.pricing import cost_usd
from .records import PendingReply
from .reply_headers import gateway_headers

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
    call.route = plan.route or model
    call.strategy, call.decision_reason = plan.strategy, plan.reason
    telemetry = rt.telemetry if rt.telemetry_on else None
    if telemetry is not None:
        telemetry.start_call(call)
    deadline = time.monotonic() + rt.retry_timeout
    timeout = rt.retry_timeout if inbound.timeout is None else min(inbound.timeout, rt.retry_timeout)
    request = deployment.build_request(inbound, body, timeout)
    attempt = rt.new_attempt(call, deployment, plan.groups[0].fallback_from)  # and its span, if traced
    if telemetry is not None and rt.propagate_traceparent:
        rt.inject_traceparent(attempt, request)
    health.in_flight += 1  # the driver takes it off when the send returns
    dialect = inbound.dialect
    unchanged = dialect if (deployment.dialect or dialect) == dialect else None
    return FirstSend(call, plan, deadline, deployment, health, attempt, request, upstream, unchanged)


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
        ended = time.perf_counter()
        # What ``Runtime.succeed_attempt`` records, inline.
        attempt.ended, attempt.status, attempt.usage = ended, 200, usage
        attempt.pending = PendingReply(body, dialect)  # id, model, finish reasons: read when asked
        first.health.record_success(ended - attempt.started)
        if usage is not None:
            price = rt.price(first.deployment)
            if price is not None:
                call.cost_usd = cost_usd(usage, price)
        telemetry = rt.telemetry if rt.telemetry_on else None
        if telemetry is not None:
            telemetry.end_attempt(call, attempt)
        # What ``Runtime.end_call`` records, inline.
        call.ended = ended
        tally = current_call_context().tally  # the web request's usage, when a middleware counts it
        if tally is not None:
            tally.add(call)
        if telemetry is not None:
            call.response_body = body
            telemetry.end_call(call)
            call.response_body = None
        call.request_body = None  # content never outlives the call (status page, memory)
        rt.recent.append(call)
        return Outcome(reply.status, body=body, native=reply.native, native_headers=gateway_headers(call))
    except Exception as unexpected:
        abandon(rt, call, unexpected)
        raise
