"""Sends a relayed upstream stream to an ASGI client as Server-Sent Events.

The same loop as the SDK transports' ``AsyncRelayStream``: read a chunk, let the relay
translate it, send the bytes. A watcher task listens for ``http.disconnect``; when the
client goes away the stream is cancelled, marked as cut short, closed and settled, so
usage, cost and spans are accounted for exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ..drivers import run_async
from ..effects import Failure

if TYPE_CHECKING:
    from ..relay import StreamRelay
    from .middleware import Receive, Send

__all__ = ["send_relay"]


async def _pump(send: Send, relay: StreamRelay) -> bool:
    """Relay until the stream ends; False if the client went away while sending."""
    try:
        out = relay.start()
        if out:
            await send({"type": "http.response.body", "body": out, "more_body": True})
        while not relay.done:
            try:
                chunk: bytes | Failure = await relay.handle.read_async()
            except Exception as exc:
                chunk = Failure("connection", f"{type(exc).__name__}: {exc}")
            out = relay.step(chunk)
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:  # ASGI 2.4: send raises once the client disconnected
        return False
    return True


async def send_relay(
    send: Send, receive: Receive, status: int, headers: list[tuple[bytes, bytes]], relay: StreamRelay
) -> None:
    """Stream ``relay`` to the client; always closes the upstream and settles the call."""
    disconnected = False
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                nonlocal disconnected
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        disconnected = True
                        group.cancel_scope.cancel()
                        return

            group.start_soon(watch)
            if not await _pump(send, relay):
                disconnected = True
            group.cancel_scope.cancel()
    except OSError:
        disconnected = True
    finally:
        with anyio.CancelScope(shield=True):
            if not relay.done:
                relay.abort(
                    "the caller disconnected"
                    if disconnected
                    else "the caller's stream was stopped by the server"
                )
            try:
                await relay.handle.close_async()
            finally:
                await run_async(relay.settle())
