"""The two thin I/O drivers: they perform the effects the decision core yields.

``run_sync`` blocks (for ``openai.OpenAI``/``anthropic.Anthropic``); ``run_async`` awaits
(for the async clients). Neither makes a decision: every branch lives in the core.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import Any, TypeVar

from .effects import CloseStream, Failure, ReadChunk, Send, Sleep, StoreCall

__all__ = ["CoreGen", "run_async", "run_sync"]

T = TypeVar("T")
CoreGen = Generator[Any, Any, T]


def run_sync(core: CoreGen[T]) -> T:
    """Drive a core generator to completion with blocking I/O."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = core.throw(error) if error is not None else core.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = None
        try:
            # The common effect is handled here, without a call to the dispatcher.
            value = (
                effect.upstream.send_sync(effect.request) if type(effect) is Send else _perform_sync(effect)
            )
        except Exception as exc:
            error = exc


def _perform_sync(effect: Any) -> Any:
    kind = type(effect)
    if kind is Send:
        return effect.upstream.send_sync(effect.request)
    if kind is ReadChunk:
        try:
            return effect.stream.read_sync()
        except Exception as exc:
            return Failure("connection", f"{type(exc).__name__}: {exc}")
    if kind is StoreCall:
        return getattr(effect.store.sync, effect.method)(*effect.args, **effect.kwargs)
    if kind is Sleep:
        if effect.seconds > 0:
            time.sleep(effect.seconds)
        return None
    if kind is CloseStream:
        effect.stream.close_sync()
        return None
    raise TypeError(f"unknown effect {effect!r}")


async def run_async(core: CoreGen[T]) -> T:
    """Drive a core generator to completion on the running event loop."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = core.throw(error) if error is not None else core.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        error = None
        try:
            if type(effect) is Send:  # the common effect, without a call to the dispatcher
                value = await effect.upstream.send_async(effect.request)
            else:
                value = await _perform_async(effect)
        except Exception as exc:
            error = exc


async def _perform_async(effect: Any) -> Any:
    kind = type(effect)
    if kind is Send:
        return await effect.upstream.send_async(effect.request)
    if kind is ReadChunk:
        try:
            return await effect.stream.read_async()
        except Exception as exc:
            return Failure("connection", f"{type(exc).__name__}: {exc}")
    if kind is StoreCall:
        return await getattr(effect.store.aio, effect.method)(*effect.args, **effect.kwargs)
    if kind is Sleep:
        if effect.seconds > 0:
            await asyncio.sleep(effect.seconds)
        return None
    if kind is CloseStream:
        await effect.stream.close_async()
        return None
    raise TypeError(f"unknown effect {effect!r}")
