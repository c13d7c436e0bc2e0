"""The ``memory://`` limits store: ``limits``' own keys and answers, with cheaper bookkeeping.

Pins what the hot path relies on: a window key is ``limits``' own key however its identifiers
are split; the moving window (``MovingWindows``) answers exactly as ``limits``' moving window
over its MemoryStorage, side by side on a clock the test moves, while holding one run per hit
rather than one entry per unit; expired windows are dropped without a thread; and the other
strategies' ``limits`` storage is swept by one timer a ``SWEEP_SECONDS`` instead of a new
``threading.Timer`` every 10 ms.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from limits import parse
from limits.storage import MemoryStorage
from limits.storage.memory import Entry
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from llm_gateway_mw.config.schema import RateLimitsConfig
from llm_gateway_mw.policy import limits_store
from llm_gateway_mw.policy.limits_store import LimitsStore, keyed_item
from llm_gateway_mw.policy.moving_window import MovingWindows
from llm_gateway_mw.policy.ratelimit import parse_limit

STRATEGIES = ["fixed-window", "moving-window", "sliding-window-counter"]


def test_keyed_items_build_the_keys_limits_builds() -> None:
    [(_, item)] = parse_limit("7/hour")
    plain = parse("7/hour")
    assert item == plain and type(item).__mro__[1] is type(plain)
    assert item.key_for("rules[0]", "alice", "requests") == plain.key_for("rules[0]", "alice", "requests")
    assert item.key_for("rules[0]/alice/requests") == plain.key_for("rules[0]", "alice", "requests")
    assert item.key_for("a") is item.key_for("a")  # built once


def test_keyed_items_forget_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits_store, "_KEYS_CAP", 3)
    item = keyed_item(parse("1/second"))
    keys = [item.key_for(str(n)) for n in range(10)]
    assert keys == [parse("1/second").key_for(str(n)) for n in range(10)]
    assert len(item._keys) <= 3


@pytest.mark.parametrize("strategy", ["fixed-window", "sliding-window-counter"])
def test_memory_stats_agree_with_the_limits_strategy(strategy: Any) -> None:
    store = LimitsStore(RateLimitsConfig(strategy=strategy))
    face: Any = store.sync
    [(_, item)] = parse_limit("5/minute")
    ids = ("rules[0]/u/requests",)
    for expected_left in (4, 3, 2):
        assert face.hit(item, ids, 1)
        reset, left = face.stats(item, ids)
        official = face.limiter.get_window_stats(item, *ids)
        assert left == official.remaining == expected_left
        assert reset == pytest.approx(official.reset_time, abs=0.01)  # both read the clock


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_counted_hit_answers_as_a_hit_then_stats(strategy: Any) -> None:
    """``hit_counted`` (the in-process request path) against ``hit`` then ``stats`` on a twin store."""
    counted: Any = LimitsStore(RateLimitsConfig(strategy=strategy)).sync
    twin: Any = LimitsStore(RateLimitsConfig(strategy=strategy)).sync
    [(_, item)] = parse_limit("5/minute")
    ids = ("rules[0]/u/requests",)
    for cost in (1, 2, 1, 3, 1, 6):
        took = twin.hit(item, ids, cost)
        assert counted.hit_counted(item, ids, cost) == (twin.stats(item, ids)[1] if took else None)
    assert counted.stats(item, ids)[1] == twin.stats(item, ids)[1] == 0  # refusals took nothing


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _reference_adjust(storage: Any, key: str, limit: int, expiry: int, delta: int) -> None:
    """``adjust`` on ``limits``' own entry list (newest first), as the gateway did before
    ``MovingWindows``: take back the newest entries, or add entries now and keep at most ``limit``."""
    with storage.locks[key]:
        events = storage.events.setdefault(key, [])
        if delta < 0:
            del events[:-delta]
        else:
            events[:0] = [Entry(expiry)] * min(delta, limit)
            del events[limit:]


@pytest.mark.parametrize("seed", range(6))
def test_moving_windows_answer_as_limits_moving_window(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    clock = _Clock()
    monkeypatch.setattr(time, "time", clock)
    rng = random.Random(seed)
    limit, expiry = rng.choice([(5, 60), (40, 10), (1000, 60)])
    item = parse(f"{limit}/{'minute' if expiry == 60 else '10 seconds'}")
    assert item.get_expiry() == expiry
    reference = MovingWindowRateLimiter(MemoryStorage())
    ours = MovingWindows()
    key = item.key_for("k")
    for step in range(400):
        clock.now += rng.choice([0.0, 0.25, 0.7, 3.3, expiry / 3 + 0.01, expiry + 0.5])
        action = rng.random()
        if action < 0.6:
            units = rng.choice([0, 1, 1, 2, limit // 3, limit, limit + 1])
            assert ours.hit(key, limit, expiry, units) == reference.hit(item, "k", cost=units), step
        elif action < 0.8:
            delta = rng.choice([-limit, -3, -1, 1, 4, limit // 2, limit * 2])
            ours.adjust(key, limit, expiry, delta)
            _reference_adjust(reference.storage, key, limit, expiry, delta)
        reset, left = ours.stats(key, limit, expiry)
        official = reference.get_window_stats(item, "k")
        assert left == official.remaining, step
        if left < limit:  # limits' reset time of an empty window is an expired entry's: not compared
            assert reset == pytest.approx(official.reset_time), step


def test_moving_windows_hold_a_run_per_hit_not_an_entry_per_unit() -> None:
    windows = MovingWindows()
    for _ in range(500):
        assert windows.hit("tokens", 5_000_000, 60, 1_000)
    window = windows._windows["tokens"]
    assert window.total == 500_000
    assert len(window.runs) <= 500  # limits' MemoryStorage would hold 500,000 list entries
    assert windows.stats("tokens", 5_000_000, 60)[1] == 4_500_000
    windows.adjust("tokens", 5_000_000, 60, -1_500)  # the newest hit and half of the one before
    assert window.total == 498_500
    assert not windows.hit("tokens", 5_000_000, 60, 4_501_501)
    assert windows.hit("tokens", 5_000_000, 60, 4_501_500)


def test_moving_windows_drop_expired_windows_without_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(time, "time", clock)
    threads = threading.active_count()
    windows = MovingWindows()
    for n in range(50):
        assert windows.hit(f"caller-{n}", 3, 1, 2)
    assert len(windows) == 50
    clock.now += 2  # every window has expired
    windows._next_sweep = 0.0  # the sweep is due
    assert windows.hit("caller-new", 3, 1, 1)
    assert len(windows) == 1
    assert windows.stats("caller-0", 3, 1)[1] == 3
    assert threading.active_count() == threads


def test_memory_storage_schedules_one_sweep_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[float] = []

    class FakeTimer:
        daemon = False

        def __init__(self, interval: float, function: Any) -> None:
            started.append(interval)
            self.function = function

        def start(self) -> None:
            pass

    now = [100.0]
    monkeypatch.setattr(threading, "Timer", FakeTimer)
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    store = LimitsStore(RateLimitsConfig(strategy="fixed-window"))
    face: Any = store.sync
    [(_, item)] = parse_limit("1000/minute")
    started.clear()  # limits' own first Timer, started by MemoryStorage()
    for _ in range(50):
        face.hit(item, ("k",), 1)
    assert started == [limits_store.SWEEP_SECONDS]  # limits would start a Timer each 10 ms
    now[0] += limits_store.SWEEP_SECONDS
    face.hit(item, ("k",), 1)
    assert len(started) == 2
    assert isinstance(face.storage, MemoryStorage)
    assert isinstance(face.limiter, FixedWindowRateLimiter)


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_a_memory_store_has_one_async_face_sharing_the_sync_windows(strategy: Any) -> None:
    store = LimitsStore(RateLimitsConfig(strategy=strategy))
    face: Any = store.aio
    assert store.aio is face  # made once, not per call
    assert face.hit is face.hit  # one coroutine function per method
    [(_, item)] = parse_limit("2/minute")
    ids = ("rules[0]/u/requests",)
    assert await face.hit(item, ids, 1)
    assert store.sync.hit(item, ids, 1)  # the same window, counted from the sync face
    assert not await face.hit(item, ids, 1)
    assert (await face.stats(item, ids))[1] == 0
