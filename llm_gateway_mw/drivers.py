"""The two thin I/O drivers: they perform the effects the decision core yields.

``run_sync`` blocks (for ``openai.OpenAI``/``anthropic.Anthropic``); ``run_async`` awaits
(for the async clients). Neither makes a decision: every branch lives in the core.
``call_sync`` and ``call_async`` run one managed call: a call the core begins with plain
functions (``express.begin``) has its first request sent here in place, with no effect
round trip; anything else, and any reply the core does not accept, runs as a core generator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, TypeVar

from .effects import CloseStream, Failure, ReadChunk, Send, Sleep, StoreCall
from .express import begin, complete, leave, resume
from .pipeline import abandon, handle_call

if TYPE_CHECKING:
    from .binding import Binding
    from .effects import UpstreamReply
    from .express import Lane
    from .inbound import Inbound
    from .pipeline import Outcome
    from .runtime import Runtime

__all__ = [
    "CoreGen",
    "call_async",
    "call_sync",
    "resume_async",
    "resume_sync",
    "run_async",
    "run_sync",
    "send_lane_async",
    "send_lane_sync",
]

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


def call_sync(rt: Runtime, binding: Binding, inbound: Inbound) -> Outcome:
    """Run one managed call with blocking I/O."""
    first = begin(rt, binding, inbound)
    if first is not None:
        try:
            reply = first.upstream.send_sync(first.request)
        except BaseException as unexpected:  # failures come back as values: a bug, or an interrupt
            abandon(rt, first.call, unexpected)
            raise
        finally:
            first.health.in_flight -= 1
        outcome = complete(rt, inbound, first, reply)
        if outcome is not None:
            return outcome
    return run_sync(handle_call(rt, binding, inbound, first))


async def call_async(rt: Runtime, binding: Binding, inbound: Inbound) -> Outcome:
    """Run one managed call on the running event loop (the same steps as ``call_sync``)."""
    first = begin(rt, binding, inbound)
    if first is not None:
        try:
            reply = await first.upstream.send_async(first.request)
        except BaseException as unexpected:  # a bug, or the task cancelled: the call ends either way
            abandon(rt, first.call, unexpected)
            raise
        finally:
            first.health.in_flight -= 1
        outcome = complete(rt, inbound, first, reply)
        if outcome is not None:
            return outcome
    return await run_async(handle_call(rt, binding, inbound, first))


def send_lane_sync(rt: Runtime, lane: Lane, request: Any) -> UpstreamReply:
    """Send an express-lane call's request (the SDK's own) with blocking I/O."""
    try:
        return lane.target.upstream.exchange_sync(request)
    except BaseException as unexpected:  # failures come back as values: a bug, or an interrupt
        leave(rt, lane, unexpected)
        raise
    finally:
        lane.target.health.in_flight -= 1


async def send_lane_async(rt: Runtime, lane: Lane, request: Any) -> UpstreamReply:
    """Send an express-lane call's request on the running event loop."""
    try:
        return await lane.target.upstream.exchange_async(request)
    except BaseException as unexpected:  # a bug, or the task cancelled: the call ends either way
        leave(rt, lane, unexpected)
        raise
    finally:
        lane.target.health.in_flight -= 1


def resume_sync(rt: Runtime, binding: Binding, inbound: Inbound, lane: Lane, reply: UpstreamReply) -> Outcome:
    """Go on with an express-lane call whose reply was not a plain answer, with blocking I/O."""
    return run_sync(handle_call(rt, binding, inbound, resume(rt, inbound, lane, reply)))


async def resume_async(
    rt: Runtime, binding: Binding, inbound: Inbound, lane: Lane, reply: UpstreamReply
) -> Outcome:
    """Go on with an express-lane call whose reply was not a plain answer, on the running event loop."""
    return await run_async(handle_call(rt, binding, inbound, resume(rt, inbound, lane, reply)))
