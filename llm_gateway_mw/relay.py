"""Relays a committed upstream stream to the caller, translating events as they pass.

Pure: the drivers' stream wrappers read chunks and hand them to ``step``; the relay
decides what bytes the caller sees. Once a byte has reached the caller there is no
failover: a failure ends the stream with an error event the caller's SDK raises as its
own typed error, so content is never duplicated or half-replayed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .dialects import Dialect
from .dialects.errors import stream_error_event
from .dialects.sse import SSEEvent, SSEParser, encode_event, parse_complete
from .effects import Failure, StreamHandle

if TYPE_CHECKING:
    from .dialects.streams import StreamTranslator
    from .drivers import CoreGen

__all__ = ["StreamRelay"]


class StreamRelay:
    """Turns upstream chunks into caller-dialect bytes and remembers how the stream ended."""

    __slots__ = (
        "_settle",
        "_settled",
        "caller_dialect",
        "capture",
        "deadline",
        "done",
        "error",
        "first_events",
        "handle",
        "label",
        "markers",
        "parser",
        "translator",
    )

    def __init__(
        self,
        *,
        handle: StreamHandle,
        parser: SSEParser,
        translator: StreamTranslator,
        first_events: list[SSEEvent],
        caller_dialect: Dialect,
        deadline: float,
        label: str,
        settle: Callable[[StreamRelay], CoreGen[None]],
        capture: bool = False,
        markers: tuple[bytes, ...] | None = None,
    ) -> None:
        self.handle = handle
        self.parser = parser
        self.translator = translator
        self.first_events = first_events
        self.caller_dialect = caller_dialect
        self.deadline = deadline
        self.label = label
        self.done = False
        self.error: str | None = None
        self._settle = settle
        self._settled = False
        self.capture: list[bytes] | None = [] if capture else None  # caller-dialect bytes, for the cache
        # Same-dialect streams: events without any of these byte markers pass through unparsed.
        self.markers = markers

    def start(self) -> bytes:
        """Bytes for the events read before committing to this upstream."""
        events, self.first_events = self.first_events, []
        return self._emit(events)

    def step(self, result: bytes | Failure) -> bytes:
        """Process one read: a chunk, end of stream (b""), or a transport failure."""
        if self.done:
            return b""
        if isinstance(result, Failure):
            return self._fail(f"the upstream connection failed mid-stream ({result.detail})")
        if not result:
            tail = self._emit(self.parser.flush())
            if self.translator.completed:
                self.done = True
                return tail + self._encode(self.translator.finish())
            return tail + self._fail("the upstream closed the stream before its final event")
        markers = self.markers
        if markers is None:
            out = self._emit(self.parser.feed(result))
        else:
            complete = self.parser.take_complete(result)
            if _has_marker(complete, markers):
                out = self._emit(parse_complete(complete))
            else:
                out = complete
                if self.capture is not None and out:
                    self.capture.append(out)
        if not self.done and time.monotonic() > self.deadline:
            return out + self._fail("the call's deadline passed while streaming")
        return out

    def abort(self, reason: str) -> None:
        """The caller stopped reading (close, break, garbage collection): the stream ends as cut short."""
        if not self.done:
            self.done = True
            if not self.translator.completed:
                self.error = reason

    def settle(self) -> CoreGen[None]:
        """Account for the stream once (usage, cost, health, spans); idempotent."""
        if self._settled:
            return
        self._settled = True
        yield from self._settle(self)

    def _emit(self, events: list[SSEEvent]) -> bytes:
        out = []
        for event in events:
            if event.event == "error" or (event.event is None and event.data.startswith('{"error"')):
                self.error = "the upstream sent an error event mid-stream"
                self.done = True
            out.extend(self.translator.feed(event))
        if self.translator.completed and not self.done:
            self.done = True
            out.extend(self.translator.finish())
        return self._encode(out)

    def _encode(self, events: list[SSEEvent]) -> bytes:
        out = b"".join([encode_event(e) for e in events])
        if self.capture is not None and out:
            self.capture.append(out)
        return out

    def _fail(self, why: str) -> bytes:
        self.done = True
        self.error = why
        message = (
            f"llm-gateway-mw: {why} ({self.label}). The stream is not retried because part of the answer "
            f"already reached the caller; retry the call to get a complete answer."
        )
        return encode_event(stream_error_event(self.caller_dialect, message=message, error_type="api_error"))


def _has_marker(data: bytes, markers: tuple[bytes, ...]) -> bool:
    """Plain substring checks: cheaper per chunk than a regex alternation or a generator."""
    for marker in markers:  # noqa: SIM110 - a generator costs more than the scans themselves here
        if marker in data:
            return True
    return False
