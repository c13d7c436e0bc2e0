"""Spend budgets in USD: reserve the worst case before a call, settle to the real cost after it.

Money is kept as integer nano-dollars (1e-9 USD), so sums are exact and Redis needs no
floats. Each applicable budget has one counter per calendar window holding "settled spend
+ outstanding reservations"; the three operations are atomic over *all* of a call's
budgets at once:

* ``reserve(amount)``: if every counter has room (``counter + amount <= budget``), add
  ``amount`` to all of them; otherwise change nothing and name the first full budget.
  Concurrent calls therefore can never overshoot a budget: a test fires 100 concurrent
  calls at a budget that covers 10 and gets exactly 10.
* ``adjust(delta)``: settle (``real - reserved``) or release (``-reserved``), unconditionally.

Windows are calendar periods in UTC: the hour, the day (from 00:00), the ISO week (from
Monday 00:00) and the month (from the 1st, 00:00). A counter's key names its window
(``<prefix>:budget:<rule>:<who>:2026-W19``), so a new window starts from zero, and a
reservation settles into the window it was made in. Redis keys get a TTL of the window's
length when created, so they outlive their window and then disappear.

Redis round trips per call: one script to reserve (all budgets), one to settle or release.
Memory: the same operations under one lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..errors import BudgetExceeded
from .stores import DEGRADED, AsyncOver, Guard, PerLoop, RedisConnector, is_memory_url

if TYPE_CHECKING:
    from ..config.schema import BudgetsConfig, GatewayConfig
    from ..drivers import CoreGen
    from ..records import Caller, CallRecord

__all__ = [
    "NANO_PER_USD",
    "BudgetLimit",
    "BudgetStatus",
    "Budgets",
    "Hold",
    "compile_budgets",
    "to_nano",
    "window_of",
]

NANO_PER_USD = 1_000_000_000

RESERVE_SCRIPT = """
local amount = tonumber(ARGV[1])
local n = #KEYS
local lowest = -1
for i = 1, n do
  local spent = tonumber(redis.call('get', KEYS[i]) or '0')
  local room = tonumber(ARGV[1 + i]) - spent
  if amount > room then return {i, spent} end
  if lowest < 0 or room - amount < lowest then lowest = room - amount end
end
for i = 1, n do
  redis.call('incrby', KEYS[i], amount)
  if redis.call('ttl', KEYS[i]) < 0 then redis.call('expire', KEYS[i], ARGV[1 + n + i]) end
end
return {0, lowest}
"""

ADJUST_SCRIPT = """
local delta = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('incrby', KEYS[i], delta)
  if redis.call('ttl', KEYS[i]) < 0 then redis.call('expire', KEYS[i], ARGV[1 + i]) end
end
return 0
"""


def to_nano(usd: float) -> int:
    """USD as integer nano-dollars (rounded to the nearest)."""
    return round(usd * NANO_PER_USD)


def window_of(period: str, now: datetime) -> tuple[str, datetime, datetime]:
    """(window id, start, end) of the calendar ``period`` containing ``now`` (UTC)."""
    now = now.astimezone(timezone.utc)
    if period == "hour":
        start = now.replace(minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%dT%H"), start, start + timedelta(hours=1)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight.strftime("%Y-%m-%d"), midnight, midnight + timedelta(days=1)
    if period == "week":
        start = midnight - timedelta(days=midnight.weekday())
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}", start, start + timedelta(days=7)
    if period == "month":
        start = midnight.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return start.strftime("%Y-%m"), start, end
    raise ValueError(f"unknown budget period {period!r}: use hour, day, week or month")


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """One budget to enforce, where it was configured, and whom it counts."""

    label: str
    per: str
    usd: float
    period: str
    namespace: str
    key_name: str | None = None

    def applies(self, caller: Caller) -> bool:
        return self.key_name is None or caller.key == self.key_name

    def identity(self, caller: Caller, model: str) -> str:
        return model if self.per == "model" else caller.scope_value(self.per)


def compile_budgets(config: GatewayConfig) -> list[BudgetLimit]:
    """``[[budgets.rules]]`` and each ``[[keys]]`` entry's ``budget_usd``/``budget_period``."""
    out = [
        BudgetLimit(
            label=f"budgets.rules[{i}]: ${rule.usd:g}/{rule.period} per {rule.per}",
            per=rule.per,
            usd=rule.usd,
            period=rule.period,
            namespace=f"rules[{i}]",
        )
        for i, rule in enumerate(config.budgets.rules)
    ]
    for i, key in enumerate(config.keys):
        if key.budget_usd is not None:
            out.append(
                BudgetLimit(
                    label=f"keys[{i}] ({key.name}): ${key.budget_usd:g}/{key.budget_period}",
                    per="key",
                    usd=key.budget_usd,
                    period=key.budget_period,
                    namespace="key",
                    key_name=key.name,
                )
            )
    return out


@dataclass(slots=True)
class Hold:
    """A reservation: the counters it was added to, and how much (nano-dollars)."""

    keys: list[str]
    ttls: list[int]
    amount: int


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Where one budget stands for one caller (for dashboards, tests and support)."""

    label: str
    budget_usd: float
    spent_usd: float  # settled spend plus reservations of calls in flight
    resets_at: datetime


class _MemoryLedger:
    """Both faces of a ``memory://`` budget store: counters under one lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, list[float]] = {}  # key -> [nano-dollars, expires_at]
        self._clock = clock

    def _get(self, key: str, now: float) -> int:
        entry = self._values.get(key)
        if entry is None or entry[1] <= now:
            self._values.pop(key, None)
            return 0
        return int(entry[0])

    def _add(self, key: str, delta: int, ttl: int, now: float) -> None:
        value = self._get(key, now) + delta
        entry = self._values.get(key)
        self._values[key] = [value, entry[1] if entry is not None else now + ttl]

    def reserve(self, keys: list[str], limits: list[int], amount: int, ttls: list[int]) -> tuple[int, int]:
        with self._lock:
            now = self._clock()
            if len(self._values) > 10_000:  # forget closed windows now and then
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
            lowest = -1
            for i, (key, limit) in enumerate(zip(keys, limits, strict=True), start=1):
                spent = self._get(key, now)
                if amount > limit - spent:
                    return i, spent
                room = limit - spent - amount
                lowest = room if lowest < 0 else min(lowest, room)
            for key, ttl in zip(keys, ttls, strict=True):
                self._add(key, amount, ttl, now)
            return 0, lowest

    def adjust(self, keys: list[str], delta: int, ttls: list[int]) -> None:
        with self._lock:
            now = self._clock()
            for key, ttl in zip(keys, ttls, strict=True):
                self._add(key, delta, ttl, now)

    def spent(self, key: str) -> int:
        with self._lock:
            return self._get(key, self._clock())


class _RedisLedgerSync:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._adjust = client.register_script(ADJUST_SCRIPT)

    def reserve(self, keys: list[str], limits: list[int], amount: int, ttls: list[int]) -> tuple[int, int]:
        index, value = self._reserve(keys=keys, args=[amount, *limits, *ttls])
        return int(index), int(value)

    def adjust(self, keys: list[str], delta: int, ttls: list[int]) -> None:
        self._adjust(keys=keys, args=[delta, *ttls])

    def spent(self, key: str) -> int:
        return int(self.client.get(key) or 0)


class _RedisLedgerAsync:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._adjust = client.register_script(ADJUST_SCRIPT)

    async def reserve(
        self, keys: list[str], limits: list[int], amount: int, ttls: list[int]
    ) -> tuple[int, int]:
        index, value = await self._reserve(keys=keys, args=[amount, *limits, *ttls])
        return int(index), int(value)

    async def adjust(self, keys: list[str], delta: int, ttls: list[int]) -> None:
        await self._adjust(keys=keys, args=[delta, *ttls])


class LedgerStore:
    """The ``StoreCall`` target for budgets: ``.sync`` and ``.aio`` faces over one ledger."""

    def __init__(self, settings: BudgetsConfig, connector: RedisConnector | None = None) -> None:
        self.prefix = f"{settings.key_prefix}:budget"
        if is_memory_url(settings.storage):
            memory = _MemoryLedger()
            self.sync: Any = memory
            over = AsyncOver(memory)  # one async face, made once
            self._aio: Callable[[], Any] = lambda: over
            return
        redis = connector or RedisConnector(settings.storage, settings.storage_timeout)
        self.sync = _RedisLedgerSync(redis.sync_client())
        self._aio = PerLoop(lambda: _RedisLedgerAsync(redis.async_client())).get

    @property
    def aio(self) -> Any:
        return self._aio()


@dataclass(slots=True)
class Budgets:
    """Applies budgets to calls: reserve the worst case, settle to the real cost, release on failure."""

    store: LedgerStore
    guard: Guard
    limits: list[BudgetLimit]
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def _plan(
        self, caller: Caller, model: str
    ) -> tuple[list[BudgetLimit], list[str], list[int], list[datetime]]:
        now = self.clock()
        applied, keys, ttls, ends = [], [], [], []
        for limit in self.limits:
            if not limit.applies(caller):
                continue
            window, start, end = window_of(limit.period, now)
            who = limit.identity(caller, model).replace(":", "%3A")
            applied.append(limit)
            keys.append(f"{self.store.prefix}:{limit.namespace}:{limit.per}:{who}:{window}")
            ttls.append(int((end - start).total_seconds()))
            ends.append(end)
        return applied, keys, ttls, ends

    def reserve(self, call: CallRecord, worst_case_usd: float) -> CoreGen[Hold | None]:
        """Reserve ``worst_case_usd`` on every applicable budget at once, or raise ``BudgetExceeded``."""
        applied, keys, ttls, ends = self._plan(call.caller, call.requested_model)
        if not applied:
            return None
        amount = max(0, to_nano(worst_case_usd))
        limits = [to_nano(limit.usd) for limit in applied]
        answer = yield from self.guard.call(
            call, self.store, "reserve", keys, limits, amount, ttls, decides=True
        )
        if answer is DEGRADED:
            return None
        index, value = answer
        if index:
            limit = applied[index - 1]
            raise BudgetExceeded(
                f"{limit.label} ({limit.per} {limit.identity(call.caller, call.requested_model)!r})",
                budget_usd=limit.usd,
                spent_usd=value / NANO_PER_USD,
                needed_usd=amount / NANO_PER_USD,
                reset_after=(ends[index - 1] - self.clock()).total_seconds(),
            )
        call.budget_remaining_usd = value / NANO_PER_USD
        return Hold(keys, ttls, amount)

    def settle(self, call: CallRecord, hold: Hold | None, cost_usd: float | None) -> CoreGen[None]:
        """Replace the reservation with the real cost (kept whole when the cost is unknown)."""
        if hold is None or cost_usd is None:
            return
        delta = to_nano(cost_usd) - hold.amount
        if delta:
            yield from self.guard.call(call, self.store, "adjust", hold.keys, delta, hold.ttls)
        if call.budget_remaining_usd is not None:
            call.budget_remaining_usd -= delta / NANO_PER_USD

    def release(self, call: CallRecord | None, hold: Hold | None) -> CoreGen[None]:
        """Give the whole reservation back: the call failed or was served from the cache."""
        if hold is not None and hold.amount:
            yield from self.guard.call(call, self.store, "adjust", hold.keys, -hold.amount, hold.ttls)

    def status(self, caller: Caller, model: str) -> list[BudgetStatus]:
        """Every budget that applies to ``caller`` calling ``model``, read now (sync)."""
        applied, keys, _, ends = self._plan(caller, model)
        return [
            BudgetStatus(limit.label, limit.usd, self.store.sync.spent(key) / NANO_PER_USD, end)
            for limit, key, end in zip(applied, keys, ends, strict=True)
        ]
