"""Profile of the hot path as a *difference*: where the wrapped client's extra time goes.

The same number of calls runs under cProfile through the raw client and through the wrapped
client (in-process mock upstream, sync). For every function that is the gateway's own or that
the wrapped path calls more often than the raw one, own time per call (wrapped - raw) is
listed with the extra calls per call, so the SDK's own work cancels and what is left is what
the gateway adds, including library code (httpx2, json, OpenTelemetry) it calls in addition.
cProfile inflates absolute times (≈2-3x); the ranking and the shares are what matter.
Full ``pstats`` listings go to ``benchmarks/results/profile-*.txt``.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from collections.abc import Callable
from typing import Any

from .common import Section
from .setups import MESSAGES, MODEL, Telemetry, Variant, flush_gateway, make_clients

__all__ = ["diff_profile", "run_profile"]

_Key = tuple[str, int, str]


def _short(key: _Key) -> str:
    filename, line, name = key
    for marker in ("site-packages/", "/lib/python3", "/work/main/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    if filename.startswith(".") and "/" in filename:
        filename = filename.split("/", 1)[1]
    return f"{filename}:{line}({name})"


def _profile(fn: Callable[[], Any], calls: int) -> tuple[pstats.Stats, float]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    stats = pstats.Stats(profiler)
    return stats, stats.total_tt  # type: ignore[attr-defined]


def diff_profile(
    raw: Callable[[], Any], wrapped: Callable[[], Any], calls: int, name: str, out_dir: str
) -> dict[str, Any]:
    """Top functions by added own time per call, plus the total, and the listing files."""
    for _ in range(max(50, calls // 10)):
        raw()
        wrapped()
    raw_stats, raw_total = _profile(raw, calls)
    wrapped_stats, wrapped_total = _profile(wrapped, calls)
    raw_by_key: dict[_Key, tuple[int, float]] = {
        k: (v[1], v[2])
        for k, v in raw_stats.stats.items()  # type: ignore[attr-defined]
    }
    added: list[tuple[float, int, _Key]] = []
    for key, value in wrapped_stats.stats.items():  # type: ignore[attr-defined]
        raw_calls, raw_time = raw_by_key.get(key, (0, 0.0))
        # Functions both sides call equally often differ only by noise (the machine is shared):
        # keep the gateway's own code and whatever the wrapped path calls more often.
        if "llm_gateway_mw" not in key[0] and value[1] <= raw_calls:
            continue
        added.append((value[2] - raw_time, value[1] - raw_calls, key))
    added.sort(reverse=True)
    gateway_own = sum(d for d, _, k in added if "llm_gateway_mw" in k[0])
    listing = io.StringIO()
    wrapped_stats.stream = listing  # type: ignore[attr-defined]
    wrapped_stats.sort_stats("cumulative").print_stats(60)
    wrapped_stats.sort_stats("tottime").print_stats(60)
    path = os.path.join(out_dir, f"profile-{name}.txt")
    with open(path, "w") as f:
        f.write(listing.getvalue())
    per_call = 1e6 / calls
    return {
        "name": name,
        "calls": calls,
        "raw_us_per_call": raw_total * per_call,
        "wrapped_us_per_call": wrapped_total * per_call,
        "added_us_per_call": (wrapped_total - raw_total) * per_call,
        "gateway_own_us_per_call": gateway_own * per_call,
        "top": [(_short(k), d * per_call, n / calls) for d, n, k in added[:20]],
        "listing": path,
    }


def _callers(client: Any, stream: bool) -> Callable[[], Any]:
    create = client.chat.completions.create
    if not stream:
        return lambda: create(model=MODEL, messages=MESSAGES)

    def run() -> None:
        for _chunk in create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        ):
            pass

    return run


def run_profile(quick: bool, out_dir: str) -> Section:
    section = Section("Profile of the hot path (cProfile, wrapped - raw)")
    started = time.perf_counter()
    calls, stream_calls = (200, 10) if quick else (3000, 200)
    cases = [
        ("sync-plain-telemetry-off", Variant("mock", "sync"), False, calls),
        ("sync-plain-telemetry-on", Variant("mock", "sync", telemetry=True), False, calls),
        ("sync-stream-200-chunks", Variant("mock", "sync"), True, stream_calls),
    ]
    if quick:
        del cases[1]
    for name, variant, stream, n in cases:
        telemetry = Telemetry() if variant.telemetry else None
        raw, wrapped, gateway = make_clients(variant, None, telemetry)
        result = diff_profile(_callers(raw, stream), _callers(wrapped, stream), n, name, out_dir)
        flush_gateway(gateway)
        if telemetry is not None:
            telemetry.shutdown()
        section.rows.append(result)
    section.notes.append(
        "Own time per call under cProfile (inflated by the profiler); telemetry's deferred work runs "
        "on the worker thread, which cProfile does not see: see the deferred CPU column of the latency "
        "tables for it."
    )
    section.seconds = time.perf_counter() - started
    return section
