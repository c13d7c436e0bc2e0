"""Rate limits on the ``limits`` library: requests and tokens, all-or-nothing across rules.

Decisions are ``limits`` strategies (``fixed-window``, ``moving-window``,
``sliding-window-counter``): the sync API for sync clients and ``limits.aio`` for async
ones (see ``limits_store``), both driven by the one copy of the logic below through
``StoreCall`` effects.

* Every applicable rule is hit in turn; if one refuses, the hits already made are given
  back, so a refused call consumes no rule's quota (nor its own: a fixed window counts
  refused hits too, so that hit is taken back as well).
* Token rules reserve ``estimated prompt tokens + max output tokens`` with
  ``hit(cost=n)`` before the call, then settle by adjusting the *same* window by
  ``real - reserved``: a refund when the call used less, an unconditional extra charge
  when it used more (``LimitsStore.adjust``). A refund that lands after its window rolled
  over goes to the current window, clamped at zero.
* Requests stay counted once made, also when the call later fails or is served from the
  cache; tokens reserved for a call that consumed none are refunded.

Redis round trips per call: one ``hit`` per applicable rule, one ``stats`` per request
rule (for ``call.rate_limit_remaining``), and after the reply one ``adjust`` per token
rule whose estimate differed from the real usage. A refusal adds one ``stats`` (for the
headers) and one ``adjust`` per rule given back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import RateLimitExceeded, StorageUnavailableError
from .limits_store import LimitsStore, keyed_item
from .stores import DEGRADED, Guard

if TYPE_CHECKING:
    from ..config.schema import GatewayConfig
    from ..drivers import CoreGen
    from ..records import Caller, CallRecord

__all__ = [
    "Charge",
    "LimitRule",
    "RateLimiting",
    "compile_call_rules",
    "compile_deployment_rules",
    "parse_limit",
]

Unit = Literal["requests", "tokens"]
Ids = tuple[str, ...]


def parse_limit(text: str, unit: Unit = "requests") -> list[tuple[Unit, Any]]:
    """``"200000 tokens/minute"`` → ``[("tokens", RateLimitItem)]``; an inline unit wins over ``unit``."""
    from limits import parse_many

    if " tokens" in text:
        unit = "tokens"
    elif " requests" in text:
        unit = "requests"
    clean = text.replace(" tokens", "").replace(" requests", "")
    return [(unit, keyed_item(item)) for item in parse_many(clean)]


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace("/", "%2F")


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One ``limits`` item to enforce, where it was configured, and whom it counts."""

    label: str  # e.g. "rate_limits.rules[0]: 60/minute per user": names the rule in refusals
    per: str  # user | tenant | key | model | global | deployment
    unit: Unit
    item: Any  # limits.RateLimitItem
    namespace: str
    models: tuple[str, ...] = ()
    key_name: str | None = None  # [[keys]] rules apply to that key only

    def applies(self, call: CallRecord) -> bool:
        if self.models and call.requested_model not in self.models:
            return False
        return self.key_name is None or call.caller.key == self.key_name

    def identity(self, call: CallRecord) -> str:
        if self.per == "model":
            return call.requested_model
        if self.per == "deployment":  # one window per deployment, shared by every caller
            return "global"
        return call.caller.scope_value(self.per)


@dataclass(frozen=True, slots=True)
class Charge:
    """What one call took from one rule (request charges are shared by the calls of one caller)."""

    rule: LimitRule
    ids: Ids  # limits' identifiers of the window: ("<namespace>/<who>/<unit>",)
    cost: int
    who: str


_KNOWN_CHARGES_CAP = 4096  # (rules, caller, model) charge lists kept; past it the memo starts over


def compile_call_rules(config: GatewayConfig) -> list[LimitRule]:
    """``[[rate_limits.rules]]`` and each ``[[keys]]`` entry's ``rate_limits``."""
    rules: list[LimitRule] = []
    for i, rule in enumerate(config.rate_limits.rules):
        for unit, item in parse_limit(rule.limit, rule.unit):
            scope = f" for {', '.join(rule.models)}" if rule.models else ""
            rules.append(
                LimitRule(
                    label=f"rate_limits.rules[{i}]: {rule.limit} {unit} per {rule.per}{scope}",
                    per=rule.per,
                    unit=unit,
                    item=item,
                    namespace=f"rules[{i}]",
                    models=rule.models,
                )
            )
    for i, key in enumerate(config.keys):
        for j, text in enumerate(key.rate_limits):
            for unit, item in parse_limit(text):
                rules.append(
                    LimitRule(
                        label=f"keys[{i}] ({key.name}).rate_limits[{j}]: {text}",
                        per="key",
                        unit=unit,
                        item=item,
                        namespace=f"key[{_escape(key.name)}]",
                        key_name=key.name,
                    )
                )
    return rules


def compile_deployment_rules(config: GatewayConfig) -> dict[str, list[LimitRule]]:
    """Each ``[[models]]`` entry's ``limits``, by deployment id."""
    rules: dict[str, list[LimitRule]] = {}
    for i, model in enumerate(config.models):
        for j, text in enumerate(model.limits):
            for unit, item in parse_limit(text):
                rules.setdefault(model.deployment_id, []).append(
                    LimitRule(
                        label=f"models[{i}] ({model.deployment_id}).limits[{j}]: {text}",
                        per="deployment",
                        unit=unit,
                        item=item,
                        namespace=f"deployment[{_escape(model.deployment_id)}]",
                    )
                )
    return rules


@dataclass(slots=True)
class RateLimiting:
    """Applies rate-limit rules to calls: reserve before sending, settle or refund after."""

    store: LimitsStore
    guard: Guard
    rules: list[LimitRule]
    deployment_rules: dict[str, list[LimitRule]] = field(default_factory=dict)
    token_rules: bool = field(init=False)  # does any call-level rule count tokens (then settle has work)?
    _requests_only: set[int] = field(init=False)  # ids of the rule lists that count no tokens
    _known: dict[tuple[int, Caller, str], tuple[Charge, ...]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.token_rules = any(rule.unit == "tokens" for rule in self.rules)
        lists = [self.rules, *self.deployment_rules.values()]
        self._requests_only = {id(rules) for rules in lists if all(r.unit == "requests" for r in rules)}

    def charges(
        self, call: CallRecord, rules: list[LimitRule], tokens: Callable[[], int]
    ) -> tuple[Charge, ...]:
        """The charges ``rules`` make for this call (tokens estimated only when a token rule applies).

        Request charges depend only on the caller and the model, so the charges of a list of
        request rules are made once per (caller, model) and reused.
        """
        if id(rules) not in self._requests_only:
            return self._make_charges(call, rules, tokens)
        key = (id(rules), call.caller, call.requested_model)
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= _KNOWN_CHARGES_CAP:
                self._known.clear()
            known = self._known[key] = self._make_charges(call, rules, tokens)
        return known

    def _make_charges(
        self, call: CallRecord, rules: list[LimitRule], tokens: Callable[[], int]
    ) -> tuple[Charge, ...]:
        out: list[Charge] = []
        for rule in rules:
            if not rule.applies(call):
                continue
            who = rule.identity(call)
            cost = tokens() if rule.unit == "tokens" else 1
            if cost > 0:
                out.append(Charge(rule, _window_ids(rule, who), cost, who))
        return tuple(out)

    def acquire(
        self, call: CallRecord, charges: Sequence[Charge], *, count: bool = False
    ) -> CoreGen[tuple[list[Charge], int | None]]:
        """Hit every charge, or none: raises ``RateLimitExceeded`` after giving earlier hits back.

        Returns the charges made and, with ``count``, the requests left under the tightest
        request rule (read right after its hit: one ``stats`` per request rule; ``None`` when
        no request rule applies or its store did not answer).
        """
        made: list[Charge] = []
        refused: Charge | None = None
        lowest: int | None = None
        guard, store = self.guard, self.store
        try:
            for charge in charges:
                item = charge.rule.item
                if count and guard.local and charge.rule.unit == "requests":
                    # In process, nothing to guard: one step takes the hit and reads what is left.
                    left = store.sync.hit_counted(item, charge.ids, charge.cost)
                    if left is None:
                        refused = charge
                        break
                    made.append(charge)
                    lowest = left if lowest is None or left < lowest else lowest
                    continue
                ok = yield from guard.call(call, store, "hit", item, charge.ids, charge.cost, decides=True)
                if ok is DEGRADED:
                    continue
                if not ok:
                    refused = charge
                    break
                made.append(charge)
                if count and charge.rule.unit == "requests":
                    stats = yield from guard.call(call, store, "stats", item, charge.ids)
                    if stats is not DEGRADED and (lowest is None or stats[1] < lowest):
                        lowest = stats[1]
        except StorageUnavailableError:  # fail closed, part-way through
            yield from self.refund(call, made, requests_too=True)
            raise
        if refused is None:
            return made, lowest
        if store.strategy == "fixed-window":  # a fixed window counts refused hits too
            yield from guard.call(call, store, "adjust", refused.rule.item, refused.ids, -refused.cost)
        yield from self.refund(call, made, requests_too=True)
        raise (yield from self._refusal(call, refused))

    def settle(self, call: CallRecord, charges: list[Charge], real_tokens: int | None) -> CoreGen[None]:
        """Move each token reservation to the real usage (kept as reserved when usage is unknown)."""
        if real_tokens is None:
            return
        for charge in charges:
            delta = real_tokens - charge.cost
            if charge.rule.unit == "tokens" and delta:
                yield from self.guard.call(call, self.store, "adjust", charge.rule.item, charge.ids, delta)

    def refund(
        self, call: CallRecord | None, charges: list[Charge], *, requests_too: bool = False
    ) -> CoreGen[None]:
        """Give reserved tokens back (and requests, when a call is refused before it is sent)."""
        for charge in charges:
            if charge.rule.unit == "tokens" or requests_too:
                yield from self.guard.call(
                    call, self.store, "adjust", charge.rule.item, charge.ids, -charge.cost
                )

    def _refusal(self, call: CallRecord, charge: Charge) -> CoreGen[RateLimitExceeded]:
        item = charge.rule.item
        stats = yield from self.guard.call(call, self.store, "stats", item, charge.ids)
        now = time.time()
        reset_at, remaining = (now + item.get_expiry(), 0) if stats is DEGRADED else stats
        label = f"{charge.rule.label} ({charge.rule.per} {charge.who!r})"
        if charge.cost > item.amount:
            label += (
                f"; this request alone needs about {charge.cost} tokens, more than the whole limit "
                f"of {item.amount}: lower max_tokens or raise the limit"
            )
        return RateLimitExceeded(label, limit=item.amount, remaining=remaining, reset_after=reset_at - now)


def _window_ids(rule: LimitRule, who: str) -> Ids:
    """The identifiers ``limits`` keys ``who``'s window of ``rule`` by, joined in advance.

    ``item.key_for(*ids)`` joins its identifiers with ``/``, so one pre-joined identifier
    names the same window (in memory and in Redis) as ``(namespace, who, unit)`` would,
    with less work on every hit.
    """
    return (f"{rule.namespace}/{_escape(who)}/{rule.unit}",)
