"""Per-call added latency of the wrapped client over the raw SDK client (non-streaming).

Variants: sync/async x in-process mock/loopback HTTP x telemetry off/on x limits
none/memory/Redis. Each variant runs raw and wrapped calls interleaved on the same
upstream (see ``common``) and reports median, p99, ratio, noise and added CPU per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .common import Comparison, Samples, Section, interleave_async, interleave_sync
from .setups import (
    MESSAGES,
    MODEL,
    Telemetry,
    Variant,
    caller,
    flush_gateway,
    limits_problem,
    make_clients,
    telemetry_problem,
)

__all__ = ["Budget", "Probes", "run_latency", "variants"]


@dataclass(frozen=True)
class Budget:
    """How many calls each side makes: ``rounds`` batches of ``per_round`` after ``warmup``."""

    rounds: int
    per_round: int
    warmup: int


@dataclass
class Probes:
    """Which optional features work now (None) or why a variant needing them is skipped."""

    telemetry: str | None
    memory: str | None
    redis: str | None

    @classmethod
    def run(cls) -> Probes:
        return cls(telemetry_problem(), limits_problem("memory"), limits_problem("redis"))

    def problem(self, variant: Variant) -> str | None:
        if variant.telemetry and self.telemetry:
            return self.telemetry
        if variant.limits == "memory":
            return self.memory
        if variant.limits == "redis":
            return self.redis
        return None


def variants(quick: bool) -> list[Variant]:
    """The matrix: every upstream x mode with telemetry off/on; limits variants on top."""
    if quick:  # the two targets' variants, and Redis once
        return [
            Variant("mock", m, telemetry=t, limits="memory" if t else None)
            for m in ("sync", "async")
            for t in (False, True)
        ] + [Variant("mock", "sync", limits="redis")]
    out: list[Variant] = []
    for upstream in ("mock", "loopback"):
        for mode in ("sync", "async"):
            out.append(Variant(upstream, mode))
            out.append(Variant(upstream, mode, telemetry=True))
            out.append(Variant(upstream, mode, limits="memory"))
            out.append(Variant(upstream, mode, telemetry=True, limits="memory"))
            out.append(Variant(upstream, mode, limits="redis"))
            out.append(Variant(upstream, mode, telemetry=True, limits="redis"))
    # Prompt-size scaling: the same call with a ~64 KB conversation.
    out.append(Variant("mock", "sync", prompt_kb=64))
    out.append(Variant("mock", "sync", telemetry=True, limits="memory", prompt_kb=64))
    return out


def measure(
    variant: Variant, base_url: str | None, budget: Budget, *, stream_chunks: int | None = None
) -> Comparison:
    """Run one variant; streaming when ``stream_chunks`` is given (then first-chunk times are kept)."""
    telemetry = Telemetry() if variant.telemetry else None
    raw, wrapped, gateway = make_clients(variant, base_url, telemetry)

    def settle() -> None:
        flush_gateway(gateway)

    extra: dict[str, Any] = {}
    if stream_chunks is None:
        kwargs: dict[str, Any] = {}
    else:
        kwargs = {"stream": True, "stream_options": {"include_usage": True}}
        extra["chunks"] = stream_chunks
    try:
        with caller(gateway):
            if variant.mode == "sync":
                a, b = interleave_sync(
                    _sync_call(raw, kwargs, variant.messages),
                    _sync_call(wrapped, kwargs, variant.messages),
                    rounds=budget.rounds,
                    per_round=budget.per_round,
                    warmup=budget.warmup,
                    settle=settle,
                )
            else:
                a, b = asyncio.run(_run_async(raw, wrapped, kwargs, budget, settle, variant.messages))
    finally:
        if telemetry is not None:
            telemetry.shutdown()
    return Comparison(variant.label, a, b, extra=extra)


def _sync_call(
    client: Any, kwargs: dict[str, Any], messages: list[dict[str, str]] = MESSAGES
) -> Callable[[], int | None]:
    create = client.chat.completions.create
    if not kwargs:

        def call() -> int | None:
            create(model=MODEL, messages=messages)
            return None

        return call

    def stream() -> int | None:
        first = None
        for _chunk in create(model=MODEL, messages=messages, **kwargs):
            if first is None:
                first = time.perf_counter_ns()
        return first

    return stream


async def _run_async(
    raw: Any,
    wrapped: Any,
    kwargs: dict[str, Any],
    budget: Budget,
    settle: Callable[[], None],
    messages: list[dict[str, str]] = MESSAGES,
) -> tuple[Samples, Samples]:
    def make(client: Any) -> Any:
        create = client.chat.completions.create
        if not kwargs:

            async def call() -> int | None:
                await create(model=MODEL, messages=messages)
                return None

            return call

        async def stream() -> int | None:
            first = None
            async for _chunk in await create(model=MODEL, messages=messages, **kwargs):
                if first is None:
                    first = time.perf_counter_ns()
            return first

        return stream

    try:
        return await interleave_async(
            make(raw),
            make(wrapped),
            rounds=budget.rounds,
            per_round=budget.per_round,
            warmup=budget.warmup,
            settle=settle,
        )
    finally:
        await raw.close()
        await wrapped.close()


def run_latency(base_url: str | None, probes: Probes, quick: bool) -> Section:
    """The non-streaming latency section."""
    section = Section("Added latency per call (non-streaming)")
    budget = (
        Budget(rounds=2, per_round=60, warmup=30) if quick else Budget(rounds=10, per_round=200, warmup=200)
    )
    started = time.perf_counter()
    for variant in variants(quick):
        if variant.upstream == "loopback" and base_url is None:
            continue
        why = probes.problem(variant)
        if why:
            section.rows.append({"label": variant.label, "skipped": why})
            continue
        section.rows.append(measure(variant, base_url, budget).as_dict())
    section.seconds = time.perf_counter() - started
    section.notes.append(
        f"{budget.rounds} rounds of {budget.per_round} raw/wrapped call pairs (alternating AB, BA) after "
        f"{budget.warmup} warm-up calls each. added = wrapped - raw (median, p99); noise = A-vs-A spread "
        "of medians between even and odd rounds; added CPU = median CPU of the calling thread per call, "
        "wrapped - raw; deferred CPU = other threads' CPU (the telemetry worker) per wrapped call."
    )
    section.notes.append(
        "mock = in-process httpx2.MockTransport behind the SDK's own HTTP client (the wrapped client "
        "passes the undeclared model through to it); loopback = HTTP/1.1 server process on 127.0.0.1 "
        "(raw SDK dials it directly; the wrapped client's model is declared on an openai-compatible "
        "provider, so the gateway's own HTTP client dials it)."
    )
    return section
