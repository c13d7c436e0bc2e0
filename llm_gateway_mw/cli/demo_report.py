"""The demo's summary: routing decisions, failover, rate limits, cost, and one request's span tree."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .defaults import CHEAP_MODEL, DEFAULT_ROUTE, STRONG_MODEL
from .demo_app import BURSTY_USER, FAILING_PROVIDER, HEALTHY_PROVIDER, RATE_LIMIT
from .tables import money

if TYPE_CHECKING:
    from ..records import CallRecord
    from .demo import DemoResult
    from .demo_app import DemoRequest

__all__ = ["report", "span_tree"]

_RULE = "─" * 78


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _section(title: str) -> list[str]:
    return ["", title, _RULE[: len(title)]]


def _routing(requests: Sequence[DemoRequest], calls: dict[str, CallRecord]) -> list[str]:
    out = _section(
        f"Routing decisions: route '{DEFAULT_ROUTE}', decided per request by the complexity classifier"
    )
    groups: dict[str, list[tuple[DemoRequest, CallRecord]]] = {"simple": [], "complex": []}
    for request in requests:
        call = calls.get(request.request_id)
        if call is None or not call.decision_reason:
            continue
        groups["complex" if call.decision_reason.startswith("complex") else "simple"].append((request, call))
    for verdict, model in (("simple", CHEAP_MODEL), ("complex", STRONG_MODEL)):
        found = groups[verdict]
        out.append(f"  {len(found):>3} {verdict:<7} → {model}")
        shown: set[str] = set()
        for request, call in found:
            if request.prompt in shown or len(shown) == 2:
                continue
            shown.add(request.prompt)
            out.append(f'        "{_clip(request.prompt, 70)}"')
            out.append(f"          {_clip(call.decision_reason or '', 100)}")
    return out


def _failover(result: DemoResult, calls: Sequence[CallRecord]) -> list[str]:
    out = _section("Failover")
    moved = [c for c in calls if len(c.attempts) > 1 and c.attempts[-1].status == 200]
    if moved:
        call = moved[0]
        steps = []
        for attempt in call.attempts:
            outcome = f"HTTP {attempt.status}" if attempt.status else (attempt.error_type or "failed")
            steps.append(f"{attempt.deployment}@{attempt.provider} → {outcome}")
        took = ((call.ended or call.started) - call.started) * 1000
        out.append(
            f"  {call.request_id} ({call.caller.user}): " + ", then ".join(steps) + f"  ({took:.0f} ms)"
        )
    out.append(
        f"  {len(moved)} call(s) failed over from {CHEAP_MODEL}@{FAILING_PROVIDER} to "
        f"{CHEAP_MODEL}@{HEALTHY_PROVIDER} inside the gateway; the app saw only successes."
    )
    runtime = result.gateway.runtime
    for deployment in runtime.deployments.get(CHEAP_MODEL, []):
        if deployment.provider_name != FAILING_PROVIDER:
            continue
        health = runtime.health(deployment)
        now = time.monotonic()
        state = health.state(now)
        if state != "closed":
            skipped = sum(
                1
                for c in calls
                if c.attempts
                and c.attempts[0].deployment == CHEAP_MODEL
                and c.attempts[0].provider == HEALTHY_PROVIDER
            )
            threshold = result.gateway.config.circuit_breaker.failures
            out.append(
                f"  {FAILING_PROVIDER} failed {health.failures} times; after {threshold} consecutive "
                f"failures its circuit breaker opened ({state}),"
            )
            out.append(
                f"  so {skipped} later call(s) went straight to {HEALTHY_PROVIDER}; {FAILING_PROVIDER} gets "
                f"one probe call in {health.reopens_in(now):.0f} s."
            )
    return out


def _limits(result: DemoResult, calls: Sequence[CallRecord]) -> list[str]:
    out = _section(f"Rate limits: {RATE_LIMIT} requests/minute per user")
    from ..policy.admission import Policy

    refused = Counter(r.user for r in result.requests if r.status == 429)
    sent = Counter(r.user for r in result.requests)
    if type(result.gateway.runtime.policy) is Policy and not refused:
        out.append("  rate_limits are configured, but this build has no limits policy: nothing was refused.")
        return out
    for user in sorted(sent, key=lambda u: (-refused[u], u)):
        if refused[user]:
            out.append(
                f"  {user}: {refused[user]} of {sent[user]} requests refused with HTTP 429 "
                "(RateLimitExceeded, answered as JSON by the middleware, with Retry-After)"
            )
    calm = [u for u in sorted(sent) if not refused[u]]
    if calm:
        out.append(f"  {', '.join(calm)}: all {sum(sent[u] for u in calm)} requests within the limit")
    if not refused:
        out.append(f"  (no user went over the limit; {BURSTY_USER} needs more than {RATE_LIMIT} requests to)")
    return out


def _cost(result: DemoResult, calls: Sequence[CallRecord]) -> list[str]:
    from ..policy.pricing import cost_usd

    out = _section("Cost")
    runtime = result.gateway.runtime
    strong = runtime.price(runtime.deployments[STRONG_MODEL][0])
    answered = [c for c in calls if c.usage is not None and c.cost_usd is not None]
    actual = sum(c.cost_usd or 0.0 for c in answered)
    if strong is None:
        out.append(f"  with auto-routing  {money(actual)}")
        return out
    strongest = sum(cost_usd(c.usage, strong) for c in answered if c.usage is not None)
    saved = strongest - actual
    share = saved / strongest if strongest else 0.0
    out.append(f"  with auto-routing       {money(actual):>10}   ({len(answered)} answered calls)")
    out.append(
        f"  always {STRONG_MODEL:<16} {money(strongest):>10}   (the same tokens at {STRONG_MODEL}'s price)"
    )
    out.append(f"  saved                   {money(saved):>10}   ({share:.0%})")
    return out


def _attributes(span: Any) -> str:
    attrs = dict(span.attributes or {})
    kind = span.kind.name
    parts: list[str] = []
    if kind == "SERVER":
        parts.append(f"HTTP {attrs.get('http.response.status_code', '?')}")
    elif kind == "CLIENT":
        parts.append(f"provider {attrs.get('llm_gateway.provider', '?')}")
        if "error.type" in attrs:
            parts.append(f"error.type={attrs['error.type']}")
        if "gen_ai.usage.input_tokens" in attrs:
            tokens_in, tokens_out = (
                attrs["gen_ai.usage.input_tokens"],
                attrs.get("gen_ai.usage.output_tokens"),
            )
            parts.append(f"tokens {tokens_in} in / {tokens_out} out")
    else:
        if "llm_gateway.route" in attrs:
            parts.append(f"route={attrs['llm_gateway.route']}")
        if "llm_gateway.cost.usd" in attrs:
            parts.append(f"cost {money(float(attrs['llm_gateway.cost.usd']))}")
        reason = attrs.get("llm_gateway.decision.reason")
        if reason:
            parts.append(f"decision “{_clip(str(reason), 40)}”")
    return " · ".join(parts)


def span_tree(spans: Sequence[Any], request_id: str) -> list[str]:
    """The spans of the trace holding ``request_id``'s gateway span, drawn as a tree."""
    root = next((s for s in spans if (s.attributes or {}).get("llm_gateway.request_id") == request_id), None)
    if root is None:
        return []
    trace = [s for s in spans if s.context.trace_id == root.context.trace_id]
    ids = {s.context.span_id for s in trace}
    children: dict[int | None, list[Any]] = {}
    for span in sorted(trace, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def draw(span: Any, prefix: str, last: bool, top: bool) -> None:
        took = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        branch = "" if top else ("└─ " if last else "├─ ")
        label = f"{span.name} [{span.kind.name}] {took:.0f} ms"
        lines.append(f"  {prefix}{branch}{label}   {_attributes(span)}".rstrip())
        kids = children.get(span.context.span_id, [])
        for i, kid in enumerate(kids):
            draw(kid, prefix + ("" if top else ("   " if last else "│  ")), i == len(kids) - 1, False)

    for top_span in children.get(None, []):
        draw(top_span, "", True, True)
    return lines


def report(result: DemoResult) -> str:
    """The whole summary, as printed after the traffic."""
    records = list(result.gateway.runtime.recent)
    by_id = {c.request_id: c for c in records}
    calls = [by_id[r.request_id] for r in result.requests if r.request_id in by_id]
    out: list[str] = []
    ok = sum(r.status == 200 for r in result.requests)
    statuses = Counter(r.status for r in result.requests)
    summary = ", ".join(f"{n} x HTTP {s}" for s, n in sorted(statuses.items()))
    out.append(
        f"Sent {len(result.requests)} requests to the FastAPI app (examples/fastapi_app): {summary}; "
        f"{ok} answered."
    )
    out += _routing(result.requests, by_id)
    out += _failover(result, calls)
    out += _limits(result, calls)
    out += _cost(result, calls)
    chosen = next((c for c in calls if len(c.attempts) > 1), next((c for c in calls if c.attempts), None))
    if chosen is not None:
        tree = span_tree(result.spans, chosen.request_id)
        if tree:
            out += _section(f"Span tree of request {chosen.request_id} (OpenTelemetry, in-memory exporter)")
            out += tree
    page = result.status_page
    if page is not None:
        states = ", ".join(f"{d['id']} {d['state']}" for d in page.get("deployments", []))
        out += _section("Status page")
        out.append(
            f"  The app mounts gateway.status_app() at /llm-gateway/: {page['summary']['calls']} calls; "
            f"{states}."
        )
    out.append("")
    out.append(f"Done in {result.seconds:.1f} s, offline. Next:")
    out.append(
        "  llm-gateway-mw serve                      the endpoint + status page at http://127.0.0.1:8000/llm-gateway/"
    )
    out.append("  uvicorn llm_gateway_mw.examples.fastapi_app.support_api:app    serve the example yourself")
    out.append("  llm-gateway-mw savings examples/traffic.jsonl --chart savings.png")
    out.append("  llm-gateway-mw check gateway.toml         validate your own config")
    return "\n".join(out)
