"""Shared harness: interleaved A/B timing, statistics, a noise estimate, and result records.

Every comparison alternates the raw SDK client (A) and the wrapped client (B) call by call
(A B, B A, A B, ...) in rounds, after a warm-up of both, so drift and bursts of load from
other processes hit both sides alike. Each call is timed with ``time.perf_counter_ns``
(wall) and ``time.thread_time_ns`` (CPU of the calling thread, which load from other
processes barely touches); each round's process CPU beyond the calls' own is charged to B
as deferred work (the telemetry worker thread).

Noise is the A-vs-A spread: the difference between the medians of A's even and odd
rounds (and likewise for B), the larger of the two. An added latency smaller than the
noise is not distinguishable from zero.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Comparison",
    "Samples",
    "Section",
    "interleave_async",
    "interleave_sync",
    "median",
    "percentile",
]

SyncCall = Callable[[], "int | None"]  # returns the perf_counter_ns of the first chunk, if streaming
AsyncCall = Callable[[], Awaitable["int | None"]]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class Samples:
    """Per-call durations (µs) of one side, by batch, plus first-chunk times and CPU."""

    total: list[list[float]] = field(default_factory=list)  # per batch, per call
    first: list[list[float]] = field(default_factory=list)  # time to first chunk, streaming only
    cpu: list[list[float]] = field(default_factory=list)  # CPU time of the calling thread, per call
    deferred_cpu_us: float = 0.0  # CPU spent by other threads of the process during the rounds
    calls: int = 0

    def rest(self) -> list[list[float]]:
        """Per call: total - time to first chunk (the streaming part)."""
        return [
            [t - f for t, f in zip(ts, fs, strict=True)]
            for ts, fs in zip(self.total, self.first, strict=True)
        ]

    def flat(self, which: str = "total") -> list[float]:
        return [v for batch in self.values(which) for v in batch]

    def parity(self, which: str, odd: bool) -> list[float]:
        return [v for i, batch in enumerate(self.values(which)) if i % 2 == odd for v in batch]

    def noise(self, which: str = "total") -> float:
        return abs(median(self.parity(which, False)) - median(self.parity(which, True)))

    def values(self, which: str) -> list[list[float]]:
        return self.rest() if which == "rest" else list(getattr(self, which))


@dataclass
class Comparison:
    """Raw (A) against wrapped (B) on the same upstream and the same work."""

    label: str
    raw: Samples
    wrapped: Samples
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def stat(self, side: str, which: str = "total", q: float = 50) -> float:
        samples: Samples = getattr(self, side)
        return percentile(samples.flat(which), q) if q != 50 else median(samples.flat(which))

    def added(self, which: str = "total", q: float = 50) -> float:
        return self.stat("wrapped", which, q) - self.stat("raw", which, q)

    def ratio(self, which: str = "total") -> float:
        return self.stat("wrapped", which) / self.stat("raw", which)

    def noise(self, which: str = "total") -> float:
        return max(self.raw.noise(which), self.wrapped.noise(which))

    def added_cpu(self) -> float:
        """Median caller-thread CPU per call, wrapped - raw."""
        return self.added("cpu")

    def deferred_cpu(self) -> float:
        """CPU per wrapped call spent on other threads (the telemetry worker), net of the raw side's."""
        if not self.wrapped.calls:
            return math.nan
        return (self.wrapped.deferred_cpu_us - self.raw.deferred_cpu_us) / self.wrapped.calls

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "raw_median_us": self.stat("raw"),
            "wrapped_median_us": self.stat("wrapped"),
            "raw_p99_us": self.stat("raw", q=99),
            "wrapped_p99_us": self.stat("wrapped", q=99),
            "added_median_us": self.added(),
            "added_p99_us": self.added(q=99),
            "ratio": self.ratio(),
            "noise_us": self.noise(),
            "added_cpu_us": self.added_cpu(),
            "deferred_cpu_us": self.deferred_cpu(),
            "calls_per_side": self.raw.calls,
            "note": self.note,
        }
        out.update(self.extra)
        return out


@dataclass
class Section:
    """One part of the report: rows of numbers, notes, and whether it ran."""

    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str = ""
    seconds: float = 0.0


def _round_sync(
    a: SyncCall, b: SyncCall, n: int, sa: Samples, sb: Samples, settle: Callable[[], None] | None
) -> None:
    ta: list[float] = []
    tb: list[float] = []
    fa: list[float] = []
    fb: list[float] = []
    ca: list[float] = []
    cb: list[float] = []
    gc.collect()
    cpu0 = time.process_time_ns()
    for i in range(n):
        for call, totals, firsts, cpus in (
            ((a, ta, fa, ca), (b, tb, fb, cb))
            if i % 2 == 0
            else (
                (b, tb, fb, cb),
                (a, ta, fa, ca),
            )
        ):
            c0 = time.thread_time_ns()
            start = time.perf_counter_ns()
            first = call()
            end = time.perf_counter_ns()
            cpus.append((time.thread_time_ns() - c0) / 1000)
            totals.append((end - start) / 1000)
            if first is not None:
                firsts.append((first - start) / 1000)
    if settle is not None:
        settle()
    _account(cpu0, n, sa, sb, ta, tb, fa, fb, ca, cb)


def _account(
    cpu0: int,
    n: int,
    sa: Samples,
    sb: Samples,
    ta: list[float],
    tb: list[float],
    fa: list[float],
    fb: list[float],
    ca: list[float],
    cb: list[float],
) -> None:
    process_us = (time.process_time_ns() - cpu0) / 1000
    sb.deferred_cpu_us += max(0.0, process_us - sum(ca) - sum(cb))  # other threads: the telemetry worker
    for samples, totals, firsts, cpus in ((sa, ta, fa, ca), (sb, tb, fb, cb)):
        samples.calls += n
        samples.total.append(totals)
        samples.cpu.append(cpus)
        if firsts:
            samples.first.append(firsts)


def interleave_sync(
    raw: SyncCall,
    wrapped: SyncCall,
    *,
    rounds: int,
    per_round: int,
    warmup: int,
    settle: Callable[[], None] | None = None,
) -> tuple[Samples, Samples]:
    """``rounds`` rounds of ``per_round`` call pairs (AB, BA, AB, ...), after ``warmup`` calls of both."""
    for _ in range(warmup):
        raw()
        wrapped()
    if settle is not None:
        settle()
    a, b = Samples(), Samples()
    for _ in range(rounds):
        _round_sync(raw, wrapped, per_round, a, b, settle)
    return a, b


async def _round_async(
    a: AsyncCall, b: AsyncCall, n: int, sa: Samples, sb: Samples, settle: Callable[[], None] | None
) -> None:
    ta: list[float] = []
    tb: list[float] = []
    fa: list[float] = []
    fb: list[float] = []
    ca: list[float] = []
    cb: list[float] = []
    gc.collect()
    cpu0 = time.process_time_ns()
    for i in range(n):
        for call, totals, firsts, cpus in (
            ((a, ta, fa, ca), (b, tb, fb, cb))
            if i % 2 == 0
            else (
                (b, tb, fb, cb),
                (a, ta, fa, ca),
            )
        ):
            c0 = time.thread_time_ns()
            start = time.perf_counter_ns()
            first = await call()
            end = time.perf_counter_ns()
            cpus.append((time.thread_time_ns() - c0) / 1000)
            totals.append((end - start) / 1000)
            if first is not None:
                firsts.append((first - start) / 1000)
    if settle is not None:
        settle()
    _account(cpu0, n, sa, sb, ta, tb, fa, fb, ca, cb)


async def interleave_async(
    raw: AsyncCall,
    wrapped: AsyncCall,
    *,
    rounds: int,
    per_round: int,
    warmup: int,
    settle: Callable[[], None] | None = None,
) -> tuple[Samples, Samples]:
    """The async twin of ``interleave_sync``: sequential awaits on the running loop."""
    for _ in range(warmup):
        await raw()
        await wrapped()
    if settle is not None:
        settle()
    a, b = Samples(), Samples()
    for _ in range(rounds):
        await _round_async(raw, wrapped, per_round, a, b, settle)
    return a, b
