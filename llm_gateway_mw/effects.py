"""The I/O requests the decision core yields, and the neutral shapes of upstream traffic.

The pipeline is a generator: it yields an effect, a driver (``drivers.run_sync`` or
``drivers.run_async``) performs it and sends the result back. The core therefore never
blocks, never awaits, and is the same code for sync and async clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from .headers import header_pairs, header_value

_HOP_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection"})

__all__ = [
    "CloseStream",
    "Effect",
    "Failure",
    "ReadChunk",
    "Send",
    "Sleep",
    "StoreCall",
    "StreamHandle",
    "Upstream",
    "UpstreamReply",
    "UpstreamRequest",
]


@dataclass(slots=True)
class UpstreamRequest:
    """One HTTP request to an upstream, already in the upstream's dialect."""

    method: str
    url: str
    # (name, lowered name, value) bytes, as httpx stores headers; on a passthrough, the SDK's own Headers
    headers: Any
    body: bytes
    stream: bool
    timeout: float | None
    json_body: Any = None
    raw: Any = None  # the SDK's own request object, when it is sent unchanged (passthrough)


@dataclass(slots=True)
class Failure:
    """A transport-level failure: nothing (or nothing usable) came back."""

    kind: str  # "timeout" | "connection"
    detail: str


class StreamHandle(Protocol):
    """An open upstream response body, read chunk by chunk (sync or async)."""

    def read_sync(self) -> bytes: ...
    async def read_async(self) -> bytes: ...
    def close_sync(self) -> None: ...
    async def close_async(self) -> None: ...


@dataclass(slots=True)
class UpstreamReply:
    """What an upstream answered: a full body, or an open stream for 2xx streaming replies."""

    status: int
    headers: Any  # (name, value) pairs, or the HTTP library's Headers (decoded only when read)
    body: bytes = b""
    stream: StreamHandle | None = None
    failure: Failure | None = None
    native: Any = None  # the HTTP library's own response, already read: returned as is when unchanged

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def header_items(self) -> list[tuple[str, str]]:
        """Response headers to pass on: framing and encoding headers removed (the body is decoded)."""
        return [(k, v) for k, v in header_pairs(self.headers) if k.lower() not in _HOP_HEADERS]


class Upstream(Protocol):
    """Sends requests to one kind of upstream (HTTP client, in-process mock) in both I/O styles."""

    def send_sync(self, request: UpstreamRequest) -> UpstreamReply: ...
    async def send_async(self, request: UpstreamRequest) -> UpstreamReply: ...


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class Send:
    upstream: Upstream
    request: UpstreamRequest


@dataclass(slots=True)
class ReadChunk:
    """Read the next chunk of a stream; the driver returns bytes (b"" at end) or a Failure."""

    stream: StreamHandle


@dataclass(slots=True)
class CloseStream:
    stream: StreamHandle


@dataclass(slots=True)
class StoreCall:
    """Call ``method`` on a store's ``sync`` or ``aio`` face (the limits / limits.aio split)."""

    store: Any
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


Effect = Sleep | Send | ReadChunk | CloseStream | StoreCall
