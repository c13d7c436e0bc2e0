"""Sends upstream requests over HTTP with an httpx or httpx2 client, sync or async.

The same code serves both libraries: their client APIs match, only the module differs.
Transport exceptions become neutral ``Failure`` values so the core can classify them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ..effects import Failure, UpstreamReply, UpstreamRequest

__all__ = ["HttpStreamHandle", "HttpUpstream"]


@dataclass(slots=True)
class HttpStreamHandle:
    """An open streaming response body."""

    response: Any
    _sync_iter: Any = None
    _async_iter: Any = None

    def read_sync(self) -> bytes:
        if self._sync_iter is None:
            self._sync_iter = self.response.iter_bytes()
        return next(self._sync_iter, b"")  # type: ignore[no-any-return]

    async def read_async(self) -> bytes:
        if self._async_iter is None:
            self._async_iter = self.response.aiter_bytes()
        try:
            return await self._async_iter.__anext__()  # type: ignore[no-any-return]
        except StopAsyncIteration:
            return b""

    def close_sync(self) -> None:
        self.response.close()

    async def close_async(self) -> None:
        await self.response.aclose()


_DROP_RESPONSE_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})


@dataclass
class HttpUpstream:
    """An HTTP upstream reached through one sync and/or one async client of ``module``."""

    module: ModuleType
    sync_client: Any = None
    async_client: Any = None
    owns_clients: bool = False
    _timeout_errors: tuple[type[BaseException], ...] = field(init=False)
    _transport_errors: tuple[type[BaseException], ...] = field(init=False)

    def __post_init__(self) -> None:
        self._timeout_errors = (self.module.TimeoutException,)
        self._transport_errors = (self.module.TransportError, OSError)

    def _client_sync(self) -> Any:
        if self.sync_client is None:
            self.sync_client = self.module.Client(timeout=None)
        return self.sync_client

    def _client_async(self) -> Any:
        if self.async_client is None:
            self.async_client = self.module.AsyncClient(timeout=None)
        return self.async_client

    def _build(self, client: Any, request: UpstreamRequest) -> Any:
        return client.build_request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.body,
            timeout=request.timeout,
        )

    def send_sync(self, request: UpstreamRequest) -> UpstreamReply:
        client = self._client_sync()
        try:
            response = client.send(self._build(client, request), stream=True)
        except self._timeout_errors as exc:
            return _failure("timeout", exc)
        except self._transport_errors as exc:
            return _failure("connection", exc)
        headers = _headers(response)
        if request.stream and response.status_code < 300:
            return UpstreamReply(response.status_code, headers, stream=HttpStreamHandle(response))
        try:
            body = response.read()
        except self._timeout_errors as exc:
            return _failure("timeout", exc, status=response.status_code)
        except self._transport_errors as exc:
            return _failure("connection", exc, status=response.status_code)
        finally:
            response.close()
        return UpstreamReply(response.status_code, headers, body=body)

    async def send_async(self, request: UpstreamRequest) -> UpstreamReply:
        client = self._client_async()
        try:
            response = await client.send(self._build(client, request), stream=True)
        except self._timeout_errors as exc:
            return _failure("timeout", exc)
        except self._transport_errors as exc:
            return _failure("connection", exc)
        headers = _headers(response)
        if request.stream and response.status_code < 300:
            return UpstreamReply(response.status_code, headers, stream=HttpStreamHandle(response))
        try:
            body = await response.aread()
        except self._timeout_errors as exc:
            return _failure("timeout", exc, status=response.status_code)
        except self._transport_errors as exc:
            return _failure("connection", exc, status=response.status_code)
        finally:
            await response.aclose()
        return UpstreamReply(response.status_code, headers, body=body)

    def close_sync(self) -> None:
        if self.owns_clients and self.sync_client is not None:
            self.sync_client.close()

    async def close_async(self) -> None:
        if self.owns_clients and self.async_client is not None:
            await self.async_client.aclose()


def _headers(response: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.items() if k.lower() not in _DROP_RESPONSE_HEADERS]


def _failure(kind: str, exc: BaseException, status: int = 0) -> UpstreamReply:
    return UpstreamReply(status, [], failure=Failure(kind, f"{type(exc).__name__}: {exc}"))
