"""The status page's data: a JSON-ready snapshot of a runtime, metadata only.

Nothing here reads a prompt or a reply: call records have their bodies dropped when the
call ends, and only ids, names, counts, timings, statuses and costs are copied out.
Usage against limits and budgets comes from the policy's inspection methods when it has
them (``budget_status(caller, model)``, ``rate_limit_status(caller, model)``), else from the recent calls.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..records import Caller, CallRecord
    from ..runtime import Runtime

__all__ = ["call_summary", "status_snapshot"]

RECENT_SHOWN = 50
_MAX_CALLERS = 20
_ERROR_CHARS = 200
_REFUSALS = {"RateLimitExceeded": "rate limit", "BudgetExceeded": "budget"}
_PER = re.compile(r"per (user|tenant|key|model|global)\b")


def _number(value: float | None, digits: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _caller(caller: Caller) -> dict[str, str | None]:
    return {"user": caller.user, "tenant": caller.tenant, "key": caller.key}


def call_summary(call: CallRecord, wall_offset: float) -> dict[str, Any]:
    """One recent call as the page shows it: who, what was asked, where it went, how it ended."""
    final = call.final_attempt
    usage = call.usage
    if call.error_type in _REFUSALS:
        outcome = "refused"
    elif call.error_type or final is None or (final.status is not None and final.status >= 400):
        outcome = "error"
    else:
        outcome = "ok"
    ended = call.ended if call.ended is not None else time.perf_counter()
    return {
        "request_id": call.request_id,
        "at": _number(call.started + wall_offset),
        "caller": _caller(call.caller),
        "operation": call.operation,
        "stream": call.stream,
        "requested_model": call.requested_model,
        "route": call.route,
        "reason": call.decision_reason,
        "deployment": final.deployment if final else None,
        "provider": final.provider if final else None,
        "upstream_model": final.upstream_model if final else None,
        "attempts": [
            {
                "deployment": a.deployment,
                "provider": a.provider,
                "status": a.status,
                "error_type": a.error_type,
                "fallback_from": a.fallback_from,
                "ms": _number(((a.ended or ended) - a.started) * 1000, 1),
            }
            for a in call.attempts
        ],
        "outcome": outcome,
        "refusal": _REFUSALS.get(call.error_type or ""),
        "error_type": call.error_type,
        "cache_hit": call.cache_hit,
        "latency_ms": _number((ended - call.started) * 1000, 1),
        "input_tokens": usage.input_tokens if usage else None,
        "output_tokens": usage.output_tokens if usage else None,
        "cost_usd": _number(call.cost_usd, 8),
    }


def _deployments(runtime: Runtime, now: float) -> list[dict[str, Any]]:
    out = []
    for name, deployments in runtime.deployments.items():
        for deployment in deployments:
            health = runtime.health(deployment)
            out.append(
                {
                    "name": name,
                    "id": deployment.id,
                    "provider": deployment.provider_name,
                    "provider_type": deployment.provider_type,
                    "upstream_model": deployment.upstream_model,
                    "state": health.state(now),
                    "reopens_in_s": _number(health.reopens_in(now), 1)
                    if health.opened_at is not None
                    else None,
                    "latency_ms": _number(health.latency * 1000, 1) if health.latency is not None else None,
                    "in_flight": health.in_flight,
                    "successes": health.successes,
                    "failures": health.failures,
                    "consecutive_failures": health.consecutive_failures,
                    "last_error": (health.last_error or "")[:_ERROR_CHARS] or None,
                }
            )
    return out


def _latest_by_caller(calls: Iterable[CallRecord]) -> list[CallRecord]:
    """The newest call of each distinct caller (newest callers first, at most ``_MAX_CALLERS``)."""
    seen: dict[tuple[str | None, str | None, str | None], CallRecord] = {}
    for call in calls:  # newest first
        key = (call.caller.user, call.caller.tenant, call.caller.key)
        if key not in seen:
            seen[key] = call
            if len(seen) >= _MAX_CALLERS:
                break
    return list(seen.values())


def _who(label: str, caller: Caller) -> str:
    """Whom a labelled rule counts for this caller (``per user`` rules: the user, and so on)."""
    found = _PER.search(label)
    per = found.group(1) if found else "key"
    if per == "global":
        return "everyone"
    if per == "model":
        return "this model"
    return f"{per} {caller.scope_value(per)}"


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return _number(value.timestamp())
    if isinstance(value, (int, float)):
        return _number(float(value))
    return None


def _inspect(
    method: Callable[[Caller, str], Any] | None, callers: list[CallRecord], row: Callable[[Any, Caller], Any]
) -> list[dict[str, Any]] | None:
    """Rows from a policy inspection method (``method(caller, model)``) over each caller, deduplicated.

    None when the policy has no such method or its store cannot be read.
    """
    if method is None:
        return None
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for call in callers:
            for status in method(call.caller, call.requested_model):
                item = row(status, call.caller)
                rows.setdefault((item["rule"], item["who"]), item)
    except Exception:  # a store that is down must not take the page with it
        return None
    return list(rows.values())


def _budget_row(status: Any, caller: Caller) -> dict[str, Any]:
    label = str(status.label)
    return {
        "rule": label,
        "who": _who(label, caller),
        "budget_usd": _number(float(status.budget_usd), 6),
        "spent_usd": _number(float(status.spent_usd), 8),
        "resets_at": _epoch(getattr(status, "resets_at", None)),
    }


def _limit_row(status: Any, caller: Caller) -> dict[str, Any]:
    label = str(status.label)
    limit, remaining = int(status.limit), int(status.remaining)
    return {
        "rule": label,
        "who": _who(label, caller),
        "unit": str(getattr(status, "unit", "requests")),
        "limit": limit,
        "used": max(0, limit - remaining),
        "remaining": remaining,
        "resets_at": _epoch(getattr(status, "resets_at", None)),
    }


def _callers(calls: list[CallRecord]) -> list[dict[str, Any]]:
    """Per caller, from the recent calls: calls, refusals and the last known requests remaining."""
    rows: dict[tuple[str | None, str | None, str | None], dict[str, Any]] = {}
    for call in calls:  # newest first
        key = (call.caller.user, call.caller.tenant, call.caller.key)
        row = rows.get(key)
        if row is None:
            if len(rows) >= _MAX_CALLERS:
                continue
            row = rows[key] = {
                "caller": _caller(call.caller),
                "calls": 0,
                "rate_limited": 0,
                "over_budget": 0,
                "spent_usd": 0.0,
                "remaining": None,
                "budget_remaining_usd": _number(call.budget_remaining_usd, 6),
            }
        if row["remaining"] is None:  # the newest call that knows; a rate-limited one had none left
            limited = call.error_type == "RateLimitExceeded"
            row["remaining"] = 0 if limited else call.rate_limit_remaining
        row["calls"] += 1
        row["rate_limited"] += call.error_type == "RateLimitExceeded"
        row["over_budget"] += call.error_type == "BudgetExceeded"
        row["spent_usd"] += call.cost_usd or 0.0
    for row in rows.values():
        row["spent_usd"] = _number(row["spent_usd"], 8)
    return list(rows.values())


def _recent(runtime: Runtime) -> list[CallRecord]:
    for _ in range(3):  # another thread may append meanwhile; copying again is cheap
        try:
            return list(reversed(list(runtime.recent)))
        except RuntimeError:
            continue
    return []


def status_snapshot(runtime: Runtime, *, recent_shown: int = RECENT_SHOWN) -> dict[str, Any]:
    """Everything the status page shows, as plain JSON values."""
    wall, mono, perf = time.time(), time.monotonic(), time.perf_counter()
    calls = [c for c in _recent(runtime) if c.ended is not None]
    config = runtime.config
    policy = runtime.policy
    latest = _latest_by_caller(calls)
    summaries = [call_summary(c, wall - perf) for c in calls]
    return {
        "generated_at": _number(wall),
        "summary": {
            "calls": len(calls),
            "ok": sum(s["outcome"] == "ok" for s in summaries),
            "errors": sum(s["outcome"] == "error" for s in summaries),
            "refused": sum(s["outcome"] == "refused" for s in summaries),
            "failovers": sum(len(c.attempts) > 1 for c in calls),
            "cache_hits": sum(c.cache_hit for c in calls),
            "spend_usd": _number(sum(c.cost_usd or 0.0 for c in calls), 8),
            "window": runtime.recent.maxlen,
        },
        "routes": [
            {"name": name, "strategy": route.strategy, "targets": list(route.targets)}
            for name, route in config.routes.items()
        ],
        "deployments": _deployments(runtime, mono),
        "rate_limits": {
            "rules": [
                {"per": r.per, "limit": r.limit, "unit": r.unit, "models": list(r.models)}
                for r in config.rate_limits.rules
            ],
            "usage": _inspect(getattr(policy, "rate_limit_status", None), latest, _limit_row),
        },
        "budgets": {
            "rules": [{"per": b.per, "usd": b.usd, "period": b.period} for b in config.budgets.rules],
            "usage": _inspect(getattr(policy, "budget_status", None), latest, _budget_row),
        },
        "callers": _callers(calls),
        "recent": summaries[:recent_shown],
    }
