"""The in-memory moving window: ``limits``' moving-window answers, at a cost that does not grow.

``limits``' ``MemoryStorage`` keeps one entry per unit in a list, newest first: a hit of ``n``
inserts ``n`` entries at the front of that list. A token rule of 5,000,000 tokens a minute holds
millions of entries per caller, and each 1,000-token call then moves the whole list: measured
at 0.3 ms per call with 1M tokens in the window and 1.3 ms with 3M, plus 8 bytes per token of
memory. Here a window is a queue of (time, amount) runs and a running total, so a hit, a stats
read and an adjustment cost the same whatever the limit and the traffic.

The answers are ``limits``' own (pinned side by side with a clock under the test's control):

* a hit of ``n`` is admitted when the units made in the last ``expiry`` seconds (a unit made
  exactly ``expiry`` ago still counts) plus ``n`` do not exceed the limit; a refused hit takes
  nothing;
* stats are (oldest unit in the window + ``expiry``, limit - units in the window), and
  (now + ``expiry``, limit) for an empty window;
* ``adjust(-n)`` takes back the ``n`` newest units; ``adjust(+n)`` adds ``n`` units now (at most
  the limit) and drops the oldest ones beyond the limit.

Windows that have run empty are dropped by the traffic itself, at most once every
``SWEEP_SECONDS``; no thread is started.
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["SWEEP_SECONDS", "MovingWindows"]

SWEEP_SECONDS = 1.0
"""How often expired windows are dropped (checked on the hits that come by)."""


class _Window:
    """One key's window: runs of units, oldest first, as [time made, units]."""

    __slots__ = ("expiry", "runs", "total")

    def __init__(self, expiry: float) -> None:
        self.expiry = expiry
        self.runs: deque[list[float]] = deque()
        self.total = 0

    def trim(self, now: float) -> None:
        """Forget the runs older than the window (a run exactly ``expiry`` old still counts)."""
        runs, floor = self.runs, now - self.expiry
        while runs and runs[0][0] < floor:
            self.total -= int(runs.popleft()[1])

    def add(self, now: float, units: int) -> None:
        runs = self.runs
        if runs and runs[-1][0] == now:
            runs[-1][1] += units
        else:
            runs.append([now, units])
        self.total += units

    def take_newest(self, units: int) -> None:
        runs = self.runs
        while units > 0 and runs:
            newest = runs[-1]
            taken = min(units, int(newest[1]))
            newest[1] -= taken
            self.total -= taken
            units -= taken
            if not newest[1]:
                runs.pop()

    def drop_oldest_beyond(self, limit: int) -> None:
        runs = self.runs
        while self.total > limit and runs:
            oldest = runs[0]
            dropped = min(self.total - limit, int(oldest[1]))
            oldest[1] -= dropped
            self.total -= dropped
            if not oldest[1]:
                runs.popleft()


class MovingWindows:
    """Every moving window of one ``memory://`` store, keyed by ``limits``' window key; thread-safe."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + SWEEP_SECONDS

    def hit(self, key: str, limit: int, expiry: float, units: int) -> bool:
        """Take ``units`` if the window has room for all of them; False (taking nothing) if not."""
        return self.take(key, limit, expiry, units) is not None

    def take(self, key: str, limit: int, expiry: float, units: int) -> int | None:
        """``hit``, answering with the units left in the window after it; None: refused, nothing taken."""
        if units > limit:
            return None
        now = time.time()
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(expiry)
            else:
                window.trim(now)
            if window.total + units > limit:
                return None
            if units:
                window.add(now, units)
            left = limit - window.total
        if time.monotonic() >= self._next_sweep:
            self._sweep()
        return left

    def stats(self, key: str, limit: int, expiry: float) -> tuple[float, int]:
        """(when the oldest unit in the window leaves it, units left), as ``limits`` reports them."""
        now = time.time()
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                return now + expiry, limit
            window.trim(now)
            start = window.runs[0][0] if window.runs else now
            return start + expiry, limit - window.total

    def adjust(self, key: str, limit: int, expiry: float, delta: int) -> None:
        """Give back the ``-delta`` newest units, or add ``delta`` units now (never above ``limit``)."""
        now = time.time()
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                if delta <= 0:
                    return
                window = self._windows[key] = _Window(expiry)
            window.trim(now)
            if delta < 0:
                window.take_newest(-delta)
            elif delta > 0:
                window.add(now, min(delta, limit))
                window.drop_oldest_beyond(limit)

    def __len__(self) -> int:
        """Windows held (expired ones included until the next sweep)."""
        return len(self._windows)

    def _sweep(self) -> None:
        now = time.time()
        with self._lock:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            expired = [
                key
                for key, window in self._windows.items()
                if not window.runs or window.runs[-1][0] < now - window.expiry
            ]
            for key in expired:
                del self._windows[key]
