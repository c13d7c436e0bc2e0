"""HTTP transports that hand an SDK client's requests to the gateway pipeline.

The vendor SDKs call their HTTP client once per attempt; a wrapped client's HTTP
client has one of these transports, so every request goes through the gateway and comes
back as an ordinary response the SDK parses as if the provider had answered. The same
classes are built for ``httpx`` (older SDKs) and ``httpx2`` (current SDKs).
"""

from __future__ import annotations

import functools
import weakref
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .drivers import (
    call_async,
    call_sync,
    resume_async,
    resume_sync,
    run_async,
    run_sync,
    send_lane_async,
    send_lane_sync,
)
from .errors import GatewayRefusal
from .express import enter, finish
from .inbound import Inbound, operation_for, parse_body, scan_request, sdk_timeout
from .pipeline import ERROR_HEADER, Outcome
from .relay import async_chunks, sync_chunks
from .reply_headers import add_headers
from .translate import refusal_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from .binding import Binding
    from .relay import StreamRelay
    from .runtime import Runtime

__all__ = ["transport_classes"]


def _inbound(
    binding: Binding, request: Any, operation: str, raw: bytes, scanned: tuple[str, bool] | None
) -> Inbound:
    """The SDK's request as the pipeline reads it (``scanned``: model and stream read off ``raw``)."""
    if scanned is None:
        body, model, stream = parse_body(raw)
    else:
        body, (model, stream) = None, scanned
    # url "": formatting an httpx URL costs ~2 µs and a passthrough never needs it (Inbound.full_url()).
    return Inbound(
        binding.dialect,
        operation,
        request.method,
        "",
        request.headers,
        raw,
        body,
        model,
        stream,
        sdk_timeout(request),
        request,
    )


def _refusal_response(module: ModuleType, binding: Binding, refusal: GatewayRefusal) -> Any:
    headers = [("content-type", "application/json"), (ERROR_HEADER, refusal.code), *refusal.headers.items()]
    return module.Response(refusal.status, headers=headers, content=refusal_body(refusal, binding.dialect))


def _response(module: ModuleType, outcome: Outcome) -> Any:
    native = outcome.native
    if native is None:
        return module.Response(outcome.status, headers=outcome.headers, content=outcome.body)
    if outcome.headers:
        for key, value in outcome.header_pairs():
            native.headers[key] = value
    else:
        add_headers(native.headers, outcome.native_headers)
    return native


def _raise(module: ModuleType, outcome: Outcome, request: Any) -> None:
    error = module.ReadTimeout if outcome.raise_kind == "timeout" else module.ConnectError
    raise error(outcome.message, request=request)


def _abandon_sync(relay: StreamRelay, reason: str) -> None:
    """Finalizer for streams the caller dropped: account for them exactly once."""
    relay.abort(reason)
    try:  # noqa: SIM105
        relay.handle.close_sync()
    except Exception:  # discarded anyway (a plain try: every stream ends here, suppress() costs more)
        pass
    run_sync(relay.settle())


@functools.cache
def transport_classes(module: ModuleType) -> tuple[type, type]:
    """(sync transport, async transport) classes for ``httpx`` or ``httpx2``."""

    class RelayStream(module.SyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, relay: StreamRelay) -> None:
            self.relay = relay
            self._finalizer = weakref.finalize(self, _abandon_sync, relay, "the caller dropped the stream")

        def __iter__(self) -> Iterator[bytes]:
            # The relay's own generator, not one wrapped in another: one generator hop per chunk.
            return self.relay.relay_sync(sync_chunks(self.relay.handle), self.close)

        def close(self) -> None:
            self.relay.abort("the caller closed the stream early")
            self._finalizer()

    class AsyncRelayStream(module.AsyncByteStream):  # type: ignore[misc, name-defined]
        def __init__(self, relay: StreamRelay) -> None:
            self.relay = relay
            self._closed = False
            self._finalizer = weakref.finalize(self, _abandon_sync, relay, "the caller dropped the stream")

        def __aiter__(self) -> AsyncIterator[bytes]:
            # The relay's own async generator, not one wrapped in another: one hop per chunk.
            return self.relay.relay_async(async_chunks(self.relay.handle), self.aclose)

        async def aclose(self) -> None:
            if self._closed:
                return
            self._closed = True
            self._finalizer.detach()
            self.relay.abort("the caller closed the stream early")
            try:
                await self.relay.handle.close_async()
            finally:
                await run_async(self.relay.settle())

    class GatewayTransport(module.BaseTransport):  # type: ignore[misc, name-defined]
        """Sync transport: runs the pipeline with blocking I/O."""

        def __init__(self, runtime: Runtime, binding: Binding) -> None:
            self.runtime = runtime
            self.binding = binding

        def handle_request(self, request: Any) -> Any:
            runtime, binding = self.runtime, self.binding
            operation = operation_for(binding.dialect, request.method, request.url.path)
            if operation is None:
                return self._forward(request)
            raw = request.read()
            scanned = scan_request(raw)  # a passthrough call never needs the body decoded
            lane = enter(runtime, binding, operation, request, raw, scanned)
            if isinstance(lane, Outcome):  # the express lane's policy refused the call
                outcome = lane
            elif lane is not None:  # the express lane: the upstream's own response comes back
                reply = send_lane_sync(runtime, lane, request)
                response = finish(runtime, lane, reply)
                if response is not None:
                    return response
                inbound = _inbound(binding, request, operation, raw, scanned)
                outcome = resume_sync(runtime, binding, inbound, lane, reply)
            else:
                try:
                    inbound = _inbound(binding, request, operation, raw, scanned)
                except GatewayRefusal as refusal:
                    return _refusal_response(module, binding, refusal)
                outcome = call_sync(runtime, binding, inbound)
            if outcome.raise_kind:
                _raise(module, outcome, request)
            if outcome.relay is not None:
                return module.Response(
                    outcome.status, headers=outcome.headers, stream=RelayStream(outcome.relay)
                )
            return _response(module, outcome)

        def _forward(self, request: Any) -> Any:
            client = self.binding.passthrough.sync_client  # type: ignore[union-attr]
            forwarded = client.build_request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.read(),
                extensions=request.extensions,
            )
            return client.send(forwarded, stream=True)

        def close(self) -> None:
            return None

    class AsyncGatewayTransport(module.AsyncBaseTransport):  # type: ignore[misc, name-defined]
        """Async transport: runs the same pipeline on the event loop."""

        def __init__(self, runtime: Runtime, binding: Binding) -> None:
            self.runtime = runtime
            self.binding = binding

        async def handle_async_request(self, request: Any) -> Any:
            runtime, binding = self.runtime, self.binding
            operation = operation_for(binding.dialect, request.method, request.url.path)
            if operation is None:
                return await self._forward(request)
            raw = await request.aread()
            scanned = scan_request(raw)  # a passthrough call never needs the body decoded
            lane = enter(runtime, binding, operation, request, raw, scanned)
            if isinstance(lane, Outcome):  # refused (see the sync transport)
                outcome = lane
            elif lane is not None:  # the express lane (see the sync transport)
                reply = await send_lane_async(runtime, lane, request)
                response = finish(runtime, lane, reply)
                if response is not None:
                    return response
                inbound = _inbound(binding, request, operation, raw, scanned)
                outcome = await resume_async(runtime, binding, inbound, lane, reply)
            else:
                try:
                    inbound = _inbound(binding, request, operation, raw, scanned)
                except GatewayRefusal as refusal:
                    return _refusal_response(module, binding, refusal)
                outcome = await call_async(runtime, binding, inbound)
            if outcome.raise_kind:
                _raise(module, outcome, request)
            if outcome.relay is not None:
                stream = AsyncRelayStream(outcome.relay)
                return module.Response(outcome.status, headers=outcome.headers, stream=stream)
            return _response(module, outcome)

        async def _forward(self, request: Any) -> Any:
            client = self.binding.passthrough.async_client  # type: ignore[union-attr]
            forwarded = client.build_request(
                request.method,
                request.url,
                headers=request.headers,
                content=await request.aread(),
                extensions=request.extensions,
            )
            return await client.send(forwarded, stream=True)

        async def aclose(self) -> None:
            return None

    return GatewayTransport, AsyncGatewayTransport
