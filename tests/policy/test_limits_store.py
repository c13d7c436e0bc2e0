"""The ``memory://`` limits store: ``limits``' own storage and keys, with cheaper housekeeping.

Pins what the hot path relies on: a window key is ``limits``' own key however its identifiers
are split, the moving window's stats read straight from the storage agree with ``limits``'
strategy, and expired windows are swept by one timer a ``SWEEP_SECONDS`` instead of a new
``threading.Timer`` every 10 ms.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from llm_gateway_mw.config.schema import RateLimitsConfig
from llm_gateway_mw.policy import limits_store
from llm_gateway_mw.policy.limits_store import LimitsStore, keyed_item
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


@pytest.mark.parametrize("strategy", STRATEGIES)
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
    store = LimitsStore(RateLimitsConfig(strategy="moving-window"))
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
    assert isinstance(face.limiter, MovingWindowRateLimiter)


def test_the_sweep_drops_expired_windows() -> None:
    store = LimitsStore(RateLimitsConfig(strategy="moving-window"))
    face: Any = store.sync
    [(_, item)] = parse_limit("3/second")
    key = item.key_for("k")
    assert face.hit(item, ("k",), 2)
    for entry in face.storage.events[key]:  # as if they were made two seconds ago
        entry.atime -= 2
        entry.expiry -= 2
    face.storage.timer.cancel()
    face.storage._MemoryStorage__expire_events()  # what the scheduled sweep runs
    assert face.storage.events.get(key, []) == []
    assert face.stats(item, ("k",))[1] == 3
