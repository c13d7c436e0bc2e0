"""Server-sent events: an incremental parser and an encoder, shared by both dialects.

The parser runs once per upstream chunk on the streaming hot path, so it works on whole
byte strings (``find``/``split``/``replace``) and never loops over single bytes. Field
handling follows the WHATWG event-stream rules the SDKs' own decoders follow: ``\\n``,
``\\r\\n`` and ``\\r`` all end a line, a blank line ends an event, ``:`` lines are comments,
several ``data:`` lines join with ``\\n``, and an event without data is not dispatched.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEEvent", "SSEParser", "encode_event", "parse_complete"]


@dataclass(slots=True)
class SSEEvent:
    """One server-sent event: its ``data`` (lines joined with ``\\n``) and optional ``event`` name."""

    data: str
    event: str | None = None


class SSEParser:
    """Turns a byte stream, cut anywhere, into complete :class:`SSEEvent` objects."""

    __slots__ = ("_buffer", "_pending_cr")

    def __init__(self) -> None:
        self._buffer = b""
        # A chunk that ends in "\r" may be half of "\r\n": keep it back until the next chunk.
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add ``chunk``; return the events it completed (possibly none)."""
        return parse_complete(self.take_complete(chunk))

    def take_complete(self, chunk: bytes) -> bytes:
        """Add ``chunk``; return, unparsed, the bytes of the events it completed (through their blank line).

        The relay's fast path for same-dialect streams: most events are forwarded as these bytes,
        and only those carrying something to observe are parsed (``parse_complete``).
        """
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                chunk = chunk[:-1]
                self._pending_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        previous = len(self._buffer)
        buffer = self._buffer + chunk if previous else chunk
        end = buffer.rfind(b"\n\n", max(previous - 1, 0))
        if end < 0:
            self._buffer = buffer
            return b""
        self._buffer = buffer[end + 2 :]
        return buffer[: end + 2]

    def flush(self) -> list[SSEEvent]:
        """Return the trailing event of a stream that ended without a blank line, and reset."""
        buffer = self._buffer
        self._buffer = b""
        self._pending_cr = False
        return _parse_blocks(buffer) if buffer.strip() else []


def parse_complete(raw: bytes) -> list[SSEEvent]:
    """The events in bytes returned by ``SSEParser.take_complete``."""
    return _parse_blocks(raw[:-2]) if raw else []


def _parse_blocks(raw: bytes) -> list[SSEEvent]:
    """Parse complete events separated by blank lines (line endings already ``\\n``)."""
    text = raw.decode("utf-8", errors="replace")
    events: list[SSEEvent] = []
    for block in text.split("\n\n"):
        event = _parse_block(block)
        if event is not None:
            events.append(event)
    return events


def _parse_block(block: str) -> SSEEvent | None:
    if block.startswith("data: ") and "\n" not in block:
        # The common case: one data line and nothing else.
        return SSEEvent(block[6:])
    data: list[str] = []
    name: str | None = None
    for line in block.split("\n"):
        if not line or line[0] == ":":
            continue
        field, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value or None
        # "id" and "retry" do not matter to the gateway; unknown fields are ignored by the spec.
    if not data:
        return None
    return SSEEvent("\n".join(data), name)


def encode_event(ev: SSEEvent) -> bytes:
    """Serialise ``ev`` as ``event: x\\ndata: y\\n\\n`` (no event line when it has no name)."""
    data = ev.data
    body = "data: " + data.replace("\n", "\ndata: ") if "\n" in data else "data: " + data
    if ev.event is None:
        return (body + "\n\n").encode()
    return f"event: {ev.event}\n{body}\n\n".encode()
