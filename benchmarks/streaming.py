"""Streaming: added time to first chunk, and added cost per streamed chunk.

The upstream streams ``DEFAULT_CHUNKS`` (200) content events plus a usage event. For each
call the harness records the time to the first chunk the application sees (TTFC) and the
total; the streaming part is total - TTFC. Added per chunk =
(median wrapped streaming part - median raw streaming part) / chunks, the same for the
calling thread's CPU (which other processes' load disturbs far less than wall time).
"""

from __future__ import annotations

import time
from typing import Any

from .common import Comparison, Section
from .latency import Budget, Probes, measure
from .setups import Variant
from .upstream import DEFAULT_CHUNKS

__all__ = ["run_streaming", "stream_row"]


def stream_row(comparison: Comparison, chunks: int) -> dict[str, Any]:
    """One report row: TTFC and per-chunk figures of a streaming comparison."""
    row = comparison.as_dict()
    rest = comparison.added("rest")
    row.update(
        {
            "chunks": chunks,
            "raw_ttfc_us": comparison.stat("raw", "first"),
            "wrapped_ttfc_us": comparison.stat("wrapped", "first"),
            "added_ttfc_us": comparison.added("first"),
            "added_ttfc_p99_us": comparison.added("first", q=99),
            "ttfc_noise_us": comparison.noise("first"),
            "added_per_chunk_us": rest / chunks,
            "per_chunk_noise_us": comparison.noise("rest") / chunks,
            "added_cpu_per_chunk_us": comparison.added_cpu() / chunks,
        }
    )
    return row


def run_streaming(base_url: str | None, probes: Probes, quick: bool) -> Section:
    section = Section("Streaming: time to first chunk and cost per chunk")
    budget = Budget(rounds=2, per_round=6, warmup=3) if quick else Budget(rounds=8, per_round=40, warmup=20)
    started = time.perf_counter()
    upstreams = ("mock",) if quick else ("mock", "loopback")
    for upstream in upstreams:
        if upstream == "loopback" and base_url is None:
            continue
        for mode in ("sync", "async"):
            for telemetry in (False,) if quick else (False, True):
                variant = Variant(upstream, mode, telemetry=telemetry)
                why = probes.problem(variant)
                if why:
                    section.rows.append({"label": variant.label, "skipped": why})
                    continue
                comparison = measure(variant, base_url, budget, stream_chunks=DEFAULT_CHUNKS)
                section.rows.append(stream_row(comparison, DEFAULT_CHUNKS + 1))
    section.seconds = time.perf_counter() - started
    section.notes.append(
        f"Each stream: {DEFAULT_CHUNKS} chat.completion.chunk events + 1 usage event "
        "(stream_options.include_usage on both sides, so both parse the same chunks). "
        f"{budget.rounds} rounds x {budget.per_round} interleaved stream pairs after {budget.warmup} "
        "warm-up streams each. The in-process mock delivers one SSE event per read; the loopback "
        "server sends one chunked-encoding chunk per event, which the socket may coalesce."
    )
    return section
