"""Sends upstream requests over HTTP with an httpx or httpx2 client, sync or async.

The same code serves both libraries: their client APIs match, only the module differs.
Transport exceptions become neutral ``Failure`` values so the core can classify them.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..effects import Failure, UpstreamReply, UpstreamRequest
from ..headers import RawHeader

__all__ = ["HttpStreamHandle", "HttpUpstream"]


@dataclass(slots=True)
class HttpStreamHandle:
    """An open streaming response body."""

    response: Any
    _sync_iter: Any = None
    _async_iter: Any = None

    def read_sync(self) -> bytes:
        return next(self.chunks_sync(), b"")  # type: ignore[no-any-return]

    async def read_async(self) -> bytes:
        try:
            return await self.chunks_async().__anext__()  # type: ignore[no-any-return]
        except StopAsyncIteration:
            return b""

    def chunks_sync(self) -> Any:
        """The body's chunk iterator, which the relay loops over directly (no method call per chunk).

        Without a content encoding the transport's own byte stream is the body: no decoder layer.
        """
        if self._sync_iter is None:
            response = self.response
            self._sync_iter = iter(response.stream) if _identity(response) else response.iter_bytes()
        return self._sync_iter

    def chunks_async(self) -> Any:
        """Async twin of :meth:`chunks_sync`."""
        if self._async_iter is None:
            response = self.response
            self._async_iter = response.stream.__aiter__() if _identity(response) else response.aiter_bytes()
        return self._async_iter

    def close_sync(self) -> None:
        self.response.close()

    async def close_async(self) -> None:
        await self.response.aclose()


@dataclass
class HttpUpstream:
    """An HTTP upstream reached through one sync and/or one async client of ``module``."""

    module: ModuleType
    sync_client: Any = None
    async_client: Any = None
    owns_clients: bool = False
    _async_by_loop: weakref.WeakKeyDictionary[Any, Any] = field(
        init=False, default_factory=weakref.WeakKeyDictionary
    )
    _timeout_errors: tuple[type[BaseException], ...] = field(init=False)
    _transport_errors: tuple[type[BaseException], ...] = field(init=False)
    _urls: dict[str, tuple[Any, bytes]] = field(init=False, default_factory=dict)  # URL, Host header

    def __post_init__(self) -> None:
        self._timeout_errors = (self.module.TimeoutException,)
        self._transport_errors = (self.module.TransportError, OSError)

    def _client_sync(self) -> Any:
        if self.sync_client is None:
            self.sync_client = self.module.Client(timeout=None)
        return self.sync_client

    def _client_async(self) -> Any:
        if not self.owns_clients:
            return self.async_client  # the application's own client, used as it is
        # Connection pools belong to one event loop: Flask and Django async views under WSGI run each
        # request in a fresh loop, so the gateway keeps one client per live loop.
        loop = asyncio.get_running_loop()
        client = self._async_by_loop.get(loop)
        if client is None:
            client = self.module.AsyncClient(timeout=None)
            self._async_by_loop[loop] = client
        return client

    def _prepare(self, client: Any, request: UpstreamRequest) -> Any:
        """The request of ``client``'s library to send, its timeout set.

        A passthrough request is the SDK's own request object, sent as it is. For a client that
        adds nothing of its own (no event hooks, no auth: ``exchange_sync`` then sends straight on
        its transport) the request is built directly, with only the headers it needs.
        """
        t = request.timeout
        timeout = {"connect": t, "read": t, "write": t, "pool": t}
        raw = request.raw
        if raw is not None:  # the SDK's own request, built for this one send: only the deadline changes
            raw.extensions["timeout"] = timeout
            return raw
        if _is_plain(client):
            target = self._urls.get(request.url)
            if target is None:  # parsing a URL costs ~10 µs in httpx; a deployment has a handful: parse once
                url = self.module.URL(request.url)
                target = (url, url.netloc)
                if len(self._urls) < 1024:
                    self._urls[request.url] = target
            url, host = target
            # stream=: httpx adds no headers of its own (each addition re-scans the header list), so the
            # Host and Content-Length it would add are given here.
            raw = self.module.Request(
                request.method,
                url,
                stream=self.module.ByteStream(request.body),
                extensions={"timeout": timeout},
            )
            _set_headers(raw.headers, host, len(request.body), request.headers)
            raw.read()
            return raw
        return client.build_request(
            request.method,
            request.url,
            headers=[(name, value) for name, _, value in request.headers],
            content=request.body,
            timeout=request.timeout,
        )

    def send_sync(self, request: UpstreamRequest) -> UpstreamReply:
        return self.exchange_sync(
            self._prepare(self.sync_client or self._client_sync(), request), request.stream
        )

    def exchange_sync(self, raw: Any, stream: bool = False) -> UpstreamReply:
        """Send ``raw`` (a request of this upstream's library, its timeout set) and read the reply.

        A client without event hooks or auth adds nothing but cost on top of its transport, so the
        request goes straight to the transport the client would pick for its URL (its proxy mounts
        included). Transport failures come back as values. One flat function: the express lane
        sends the SDK's own request through it (benchmarks/README.md, "Sixth round").
        """
        client = self.sync_client or self._client_sync()
        try:
            if _is_plain(client):
                response = client._transport_for_url(raw.url).handle_request(raw)
            else:
                response = client.send(raw, stream=True)
        except self._timeout_errors as exc:
            return _failure("timeout", exc)
        except self._transport_errors as exc:
            return _failure("connection", exc)
        if stream and response.status_code < 300:
            return UpstreamReply(response.status_code, response.headers, stream=HttpStreamHandle(response))
        try:
            body = response.read()
        except self._timeout_errors as exc:
            return _failure("timeout", exc, status=response.status_code)
        except self._transport_errors as exc:
            return _failure("connection", exc, status=response.status_code)
        finally:
            response.close()
        return UpstreamReply(response.status_code, response.headers, body=body, native=response)

    async def send_async(self, request: UpstreamRequest) -> UpstreamReply:
        return await self.exchange_async(self._prepare(self._client_async(), request), request.stream)

    async def exchange_async(self, raw: Any, stream: bool = False) -> UpstreamReply:
        """Async twin of :meth:`exchange_sync`."""
        client = self._client_async()
        try:
            if _is_plain(client):
                response = await client._transport_for_url(raw.url).handle_async_request(raw)
            else:
                response = await client.send(raw, stream=True)
        except self._timeout_errors as exc:
            return _failure("timeout", exc)
        except self._transport_errors as exc:
            return _failure("connection", exc)
        if stream and response.status_code < 300:
            return UpstreamReply(response.status_code, response.headers, stream=HttpStreamHandle(response))
        try:
            body = await response.aread()
        except self._timeout_errors as exc:
            return _failure("timeout", exc, status=response.status_code)
        except self._transport_errors as exc:
            return _failure("connection", exc, status=response.status_code)
        finally:
            await response.aclose()
        return UpstreamReply(response.status_code, response.headers, body=body, native=response)

    def close_sync(self) -> None:
        if self.owns_clients and self.sync_client is not None:
            self.sync_client.close()

    async def close_async(self) -> None:
        if self.owns_clients:
            client = self._async_by_loop.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.aclose()


def _set_headers(headers: Any, host: bytes, length: int, given: list[RawHeader]) -> None:
    """Fill a new request's empty ``Headers``: Host, Content-Length, then ``given`` as they are."""
    stored = getattr(headers, "_list", None)
    if not isinstance(stored, list) or stored:  # not the httpx we know: let it normalise every header
        headers.update([(b"Host", host), (b"Content-Length", b"%d" % length), *((n, v) for n, _, v in given)])
        return
    stored.append((b"Host", b"host", host))
    stored.append((b"Content-Length", b"content-length", b"%d" % length))
    stored.extend(given)


def _identity(response: Any) -> bool:
    return response.headers.get("content-encoding", "identity") in ("identity", "")


def _is_plain(client: Any) -> bool:
    """True when the client adds no behaviour of its own (hooks, auth) around its transport."""
    try:
        hooks = client._event_hooks
        return (
            not hooks["request"]
            and not hooks["response"]
            and client._auth is None
            and hasattr(client, "_transport_for_url")
        )
    except (AttributeError, KeyError, TypeError):  # not an httpx/httpx2 client as we know it
        return False


def _failure(kind: str, exc: BaseException, status: int = 0) -> UpstreamReply:
    return UpstreamReply(status, [], failure=Failure(kind, f"{type(exc).__name__}: {exc}"))
