"""The attempt stage: walks the plan's deployments with retries, backoff, circuit breaking and failover.

Sans-I/O: it yields ``Send``, ``ReadChunk`` and ``Sleep`` effects and never blocks, so
the sync and async clients share every decision made here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .effects import Send, Sleep, Upstream, UpstreamReply, UpstreamRequest
from .errors import GatewayRefusal, NoHealthyDeployment
from .records import AttemptRecord, CallRecord
from .routing.retry import backoff_delay, judge, server_wait_hint
from .translate import request_for
from .verdicts import AttemptResult, judge_reply, open_stream

if TYPE_CHECKING:
    from .binding import Binding
    from .dialects import Dialect
    from .drivers import CoreGen
    from .inbound import Inbound
    from .policy.admission import Admission
    from .providers.deployment import Deployment
    from .routing.health import DeploymentHealth
    from .routing.plan import Plan
    from .runtime import Runtime

__all__ = [
    "FirstSend",
    "FirstTarget",
    "attempt_plan",
    "attempt_timeout",
    "first_result",
    "first_send",
    "first_target",
]

_CONTEXT_ERRORS = (
    "context_length_exceeded",
    "prompt is too long",
    "maximum context length",
    "context window",
)


class AllAttemptsFailed(Exception):
    """Every candidate failed; carries the last upstream reply to show the caller."""

    def __init__(self, deployment: Deployment | None, reply: UpstreamReply | None, why: str) -> None:
        super().__init__(why)
        self.deployment = deployment
        self.reply = reply
        self.why = why


@dataclass(slots=True)
class FirstSend:
    """The plan's first request, built before the attempt loop for the common call (``first_send``)."""

    call: CallRecord
    plan: Plan
    deadline: float
    deployment: Deployment
    health: DeploymentHealth
    attempt: AttemptRecord
    request: UpstreamRequest
    upstream: Upstream
    unchanged: Dialect | None  # the reply's dialect when it goes back to the caller as it is
    reply: UpstreamReply | None = None  # set by ``first_result``, with its verdict
    verdict: AttemptResult | tuple[str, int, str | None] | None = None
    admission: Admission | None = None  # what the express lane reserved for the call before it sent it


FirstTarget = tuple["Deployment", "DeploymentHealth", "Upstream", "dict[str, Any] | None"]


def first_target(rt: Runtime, binding: Binding, inbound: Inbound, plan: Plan) -> FirstTarget | None:
    """Where the common call's first request goes: (deployment, its health, upstream, body), or None.

    Most calls are whole (not streamed), have no rate limit on the deployment itself and succeed
    at their first candidate: for those the pipeline sends ``first_send``'s request itself, and
    ``first_result`` commits the reply (the call's own limits, budget and cache stages run around
    it as usual). Any other case returns None, and any reply that is not a usable answer goes to
    ``attempt_plan`` as its first try, so retries and failover decide exactly as always.
    """
    if inbound.stream or not plan.groups or not plan.groups[0].deployments:
        return None
    deployment = plan.groups[0].deployments[0]
    if rt.policy_active and rt.policy.limits_deployment(deployment):
        return None  # its own rate limits are checked (and charged) by the loop
    health = rt.health(deployment)
    if health.opened_at is not None:  # circuit not closed: the loop decides about probes and waits
        return None
    if deployment.passthrough:  # the client's own upstream serves whatever its SDK asks, as it asks
        assert binding.passthrough is not None
        return deployment, health, binding.passthrough, inbound.parsed  # the body goes as the SDK wrote it
    if rt.precheck(deployment, inbound, None):
        return None
    try:
        body = _upstream_body(rt, inbound, deployment)
    except GatewayRefusal:
        return None  # the loop reports it, or tries the fallbacks
    return deployment, health, rt.upstream_for(deployment, binding), body


def first_send(
    rt: Runtime, call: CallRecord, inbound: Inbound, plan: Plan, deadline: float, target: FirstTarget
) -> FirstSend:
    """The first request to ``target`` and its attempt record; the sender takes ``in_flight`` off again."""
    deployment, health, upstream, body = target
    # A fresh body (the caller's own, unchanged, on a passthrough): no copy needed here.
    request, attempt = _start_attempt(
        rt, call, inbound, deployment, body, deadline, plan.groups[0].fallback_from
    )
    health.in_flight += 1
    unchanged = _unchanged(inbound, deployment)
    return FirstSend(call, plan, deadline, deployment, health, attempt, request, upstream, unchanged)


def first_result(first: FirstSend, reply: UpstreamReply) -> AttemptResult | None:
    """The first reply as the committed result when it is a usable whole answer, else None.

    The reply and its verdict stay on ``first``: the attempt loop takes them as its first try.
    """
    verdict = judge_reply(first.deployment, first.attempt, reply, False, first.unchanged)
    first.reply, first.verdict = reply, verdict
    return verdict if type(verdict) is AttemptResult else None


def _upstream_body(rt: Runtime, inbound: Inbound, deployment: Deployment) -> dict[str, Any] | None:
    """The request body in the deployment's dialect, or None: the SDK's own bytes go (``build_request``).

    None on a passthrough, and for a same-dialect deployment while the body is still undecoded
    (a whole request the SDK wrote compactly: ``scan_request``): only its model changes then.
    """
    if deployment.passthrough:
        return inbound.parsed
    if inbound.parsed is None and deployment.target_dialect(inbound.dialect) == inbound.dialect:
        return None
    return request_for(
        inbound.body,
        source=inbound.dialect,
        target=deployment.target_dialect(inbound.dialect),
        model=deployment.upstream_model,
        operation=inbound.operation,
        default_max_tokens=rt.default_max_tokens(deployment),
        drop_unsupported=rt.drop_unsupported(deployment),
    )


def _unchanged(inbound: Inbound, deployment: Deployment) -> Dialect | None:
    """A same-dialect reply goes back to the SDK as it came: only its usage is read then."""
    dialect = inbound.dialect
    return dialect if (deployment.dialect or dialect) == dialect else None


def _start_attempt(
    rt: Runtime,
    call: CallRecord,
    inbound: Inbound,
    deployment: Deployment,
    body: dict[str, Any] | None,
    deadline: float,
    fallback_from: str | None,
) -> tuple[UpstreamRequest, AttemptRecord]:
    """One attempt's request, bounded by the call's deadline, and its record (and trace context)."""
    request = deployment.build_request(inbound, body, attempt_timeout(deadline, inbound.timeout))
    attempt = rt.new_attempt(call, deployment, fallback_from)
    if rt.propagate_traceparent:
        rt.inject_traceparent(attempt, request.headers)
    return request, attempt


def attempt_timeout(deadline: float, requested: float | None) -> float:
    """An attempt's timeout: the caller's own (``requested``), cut to what is left before ``deadline``."""
    remaining = max(deadline - time.monotonic(), 0.001)  # a deadline just passed still times out cleanly
    return remaining if requested is None else min(requested, remaining)


def attempt_plan(
    rt: Runtime,
    binding: Binding,
    call: CallRecord,
    inbound: Inbound,
    plan: Plan,
    deadline: float,
    sent: FirstSend | None = None,
) -> CoreGen[AttemptResult]:
    """Try the plan's deployments in order until one answers; raise when none can.

    ``sent``: the first try, already made by the pipeline (``first_send``): it counts as the
    first attempt on its deployment, which the loop reaches first.
    """
    skipped: list[str] = []
    last: tuple[Deployment | None, UpstreamReply | None, str] = (None, None, "no deployment was tried")
    first_name = plan.groups[0].name if plan.groups else call.requested_model
    waited = False
    context_floor: int | None = None
    first_refusal: GatewayRefusal | None = None
    while True:
        soonest: float | None = None
        for group in plan.groups:
            for deployment in group.deployments:
                # The first try was sent already: it is this deployment's first attempt, whatever its
                # circuit or the policy says now (other calls may have opened the circuit meanwhile).
                first = sent if sent is not None and sent.deployment is deployment else None
                sent = None
                if first is not None:
                    health = first.health
                else:
                    ready, why_not, wait = yield from _ready(rt, call, inbound, deployment, context_floor)
                    if ready is None:
                        skipped.append(f"{deployment.id}: {why_not}")
                        if wait is not None:
                            soonest = wait if soonest is None else min(soonest, wait)
                        continue
                    health = ready
                try:
                    outcome = yield from _try_deployment(
                        rt, binding, call, inbound, deployment, health, deadline, group.fallback_from, first
                    )
                except GatewayRefusal as refusal:
                    # This deployment cannot take the request as asked (e.g. an untranslatable parameter):
                    # a fallback may; if none is tried at all, the caller gets this refusal.
                    health.release_probe()
                    first_refusal = first_refusal or refusal
                    skipped.append(f"{deployment.id}: {refusal.message}")
                    continue
                if isinstance(outcome, AttemptResult):
                    return outcome
                reply, why, fail_over, context_error = outcome
                last = (deployment, reply, why)
                if context_error:
                    context_floor = rt.context_window(deployment) or context_floor
                if not fail_over or time.monotonic() >= deadline:
                    raise AllAttemptsFailed(deployment, reply, why)
        if call.attempts or waited:
            raise AllAttemptsFailed(*last)
        if first_refusal is not None:
            raise first_refusal
        # Nothing was tried: every candidate was open or unfit. Wait for the soonest probe if it fits.
        remaining = deadline - time.monotonic()
        if soonest is not None and soonest < remaining:
            waited = True
            yield Sleep(soonest + 0.001)
            skipped.clear()
            continue
        detail = "; ".join(skipped) or "no deployment is configured for it"
        if soonest is None:
            raise _unfit(first_name, detail)
        raise NoHealthyDeployment(first_name, detail, retry_after=soonest)


def _ready(
    rt: Runtime, call: CallRecord, inbound: Inbound, deployment: Deployment, context_floor: int | None
) -> CoreGen[tuple[DeploymentHealth | None, str, float | None]]:
    """(its health, "", None) when the deployment can be tried now, else (None, why not, seconds
    before it is worth looking again, if known): capabilities, circuit, the policy's own limits."""
    why_not = rt.precheck(deployment, inbound, context_floor)
    if why_not:
        return None, why_not, None
    health = rt.health(deployment)  # a closed circuit (opened_at None) is always available
    if health.opened_at is not None and not health.available(now := time.monotonic()):
        return None, "circuit open", health.reopens_in(now)
    if rt.policy_active and not (yield from rt.policy.deployment_admit(call, inbound, deployment)):
        health.release_probe()  # an open circuit's probe slot was not used
        return None, "at its rate limit", 1.0
    return health, "", None


def _unfit(model: str, detail: str) -> GatewayRefusal:
    refusal = GatewayRefusal(f"no deployment of '{model}' can serve this request: {detail}")
    refusal.code = "no_capable_deployment"
    return refusal


def _try_deployment(
    rt: Runtime,
    binding: Binding,
    call: CallRecord,
    inbound: Inbound,
    deployment: Deployment,
    health: DeploymentHealth,
    deadline: float,
    fallback_from: str | None,
    sent: FirstSend | None = None,
) -> CoreGen[AttemptResult | tuple[Any, ...]]:
    """Up to ``retry.attempts`` tries on one deployment: the result, or (reply, why, fail_over, ctx)."""
    config = rt.config.retry
    passthrough = deployment.passthrough
    body = _upstream_body(rt, inbound, deployment)
    unchanged = _unchanged(inbound, deployment)
    reply: UpstreamReply | None = None
    why = ""
    for retry_number in range(config.attempts):
        if sent is not None:  # the first try, made and judged before the loop (``first_result``)
            attempt, reply, result = sent.attempt, sent.reply, sent.verdict
            sent = None
            assert reply is not None and result is not None  # first tries are whole replies
        else:
            if deadline <= time.monotonic():
                return reply, "the call's deadline passed", False, False
            request, attempt = _start_attempt(
                rt,
                call,
                inbound,
                deployment,
                body if passthrough or body is None else dict(body),
                deadline,
                fallback_from,
            )
            health.in_flight += 1
            try:
                reply = yield Send(rt.upstream_for(deployment, binding), request)
                result = judge_reply(deployment, attempt, reply, inbound.stream, unchanged)
                if result is None:  # a 2xx stream: committed once its first event has arrived
                    result = yield from open_stream(deployment, attempt, reply)
            finally:
                health.in_flight -= 1
        if isinstance(result, AttemptResult):
            return result
        why, status, failure = result
        context_error = status == 400 and any(m in why.lower() for m in _CONTEXT_ERRORS)
        rt.fail_attempt(
            call,
            attempt,
            deployment,
            status,
            failure,
            why,
            counts_against_health=failure is not None or (status >= 408 and status not in (413, 422)),
        )
        verdict = judge(config, status, failure)
        if context_error:
            return reply, why, True, True
        if not verdict.retry_same or retry_number + 1 >= config.attempts:
            return reply, why, verdict.fail_over, False
        hint = server_wait_hint(reply.header) if reply is not None else None
        delay = backoff_delay(config, retry_number + 1, rt.rng) if hint is None else hint
        if time.monotonic() + delay >= deadline:
            return reply, why + " (no time left to retry within the deadline)", verdict.fail_over, False
        if hint is not None and hint > config.backoff_max:
            return reply, why, verdict.fail_over, False  # the upstream asks for longer than we wait: move on
        yield Sleep(delay)
    return reply, why, True, False
