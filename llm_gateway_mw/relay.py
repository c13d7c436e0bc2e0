"""Relays a committed upstream stream to the caller, translating events as they pass.

The drivers' stream wrappers hand the relay the upstream's chunk iterator (``relay_sync`` /
``relay_async``) or single reads (``step``); the relay decides what bytes the caller sees. Once a
byte has reached the caller there is no failover: a failure ends the stream with an error event the
caller's SDK raises as its own typed error, so content is never duplicated or half-replayed.

Same-dialect streams take a fast path on the hot loop: a chunk of whole events carrying nothing an
observer needs (no usage, finish reason, end marker or error) is forwarded as the very bytes object
that arrived, without being parsed, copied or re-encoded. The stream's plain content chunks are
recognised by their learned shape (``dialects.sse.ChunkTemplate``: a few comparisons, inlined in
the loops), any other chunk by substring searches (``dialects.sse.classify``); only chunks that
may carry a marker reach the parser and the observer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from .dialects import Dialect
from .dialects.errors import stream_error_event
from .dialects.sse import (
    CLEAN_DATA_LINE,
    MUST_PARSE,
    ChunkTemplate,
    PassthroughMarkers,
    SSEEvent,
    SSEParser,
    classify,
    encode_event,
    parse_complete,
)
from .effects import Failure, StreamHandle

if TYPE_CHECKING:
    from .dialects.streams import StreamTranslator
    from .drivers import CoreGen

__all__ = ["StreamRelay", "async_chunks", "sync_chunks"]


def sync_chunks(handle: StreamHandle) -> Iterator[bytes]:
    """The handle's own chunk iterator when it has one (no method call per chunk), else its reads.

    ``chunks_sync`` / ``chunks_async`` are optional on a ``StreamHandle``: the HTTP handle has them,
    the in-process mock's handle is read through ``read_sync`` / ``read_async``.
    """
    chunks: Any = getattr(handle, "chunks_sync", None)
    return chunks() if chunks is not None else iter(handle.read_sync, b"")  # type: ignore[no-any-return]


def async_chunks(handle: StreamHandle) -> AsyncIterator[bytes]:
    """Async twin of :func:`sync_chunks`."""
    chunks: Any = getattr(handle, "chunks_async", None)
    return chunks() if chunks is not None else _reads(handle)  # type: ignore[no-any-return]


async def _reads(handle: StreamHandle) -> AsyncIterator[bytes]:
    while chunk := await handle.read_async():
        yield chunk


_NO_MARKERS = PassthroughMarkers(needles=(), data_line_needles=())


class StreamRelay:
    """Turns upstream chunks into caller-dialect bytes and remembers how the stream ended."""

    __slots__ = (
        "_fast",
        "_settle",
        "_settled",
        "_template",
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
        markers: PassthroughMarkers | None = None,
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
        # Same-dialect streams: chunks without any of these markers pass through unparsed.
        self.markers = markers
        self._template = ChunkTemplate(markers or _NO_MARKERS)
        # The markers while the next chunk may skip the parser (it holds no partial event back).
        self._fast = markers if parser.idle else None

    def start(self) -> bytes:
        """Bytes for the events read before committing to this upstream."""
        events, self.first_events = self.first_events, []
        return self._emit(events)

    def relay_sync(self, chunks: Iterator[bytes], on_exit: Callable[[], None]) -> Iterator[bytes]:
        """Everything the caller reads, from ``chunks`` (see :func:`sync_chunks`); ``on_exit`` runs once
        the caller stops reading, however that happens (exhausted, closed, collected).

        The loop inlines ``ChunkTemplate.matches`` with the shape in local variables, so a plain
        content chunk costs a few comparisons and no method call; another chunk that may pass
        unparsed costs ``classify``. A chunk that must be parsed, the end of the stream and a read
        failure leave the inner loop for ``_leave`` (``_parse`` / ``step``), outside the ``try`` that turns
        iterator errors into failures (``checking`` keeps a bug in the check from passing for one).
        """
        try:
            out = self.start()
            if out:
                yield out
            capture, deadline, monotonic = self.capture, self.deadline, time.monotonic
            prefix, plen, suffix, slen = self._shape()
            checking = False
            while not self.done:
                chunk: bytes | Failure
                try:
                    for chunk in chunks:
                        end = len(chunk) - slen
                        if end >= plen and chunk[:plen] == prefix and chunk[end:] == suffix:
                            middle = chunk[plen:end]
                            clean = 34 not in middle and 10 not in middle and 13 not in middle
                        else:
                            clean = False
                        if not clean:
                            checking = True
                            shape = self._recheck(chunk)
                            checking = False
                            if shape is None:
                                break
                            prefix, plen, suffix, slen = shape
                        if capture is not None:
                            capture.append(chunk)
                        if monotonic() > deadline:
                            yield chunk + self._deadline_passed()
                            return
                        yield chunk
                    else:
                        chunk = b""
                except Exception as exc:
                    if checking:
                        raise
                    chunk = Failure("connection", f"{type(exc).__name__}: {exc}")
                out = self._leave(chunk)
                if out:
                    yield out
                prefix, plen, suffix, slen = self._shape()
        finally:
            on_exit()

    async def relay_async(
        self, chunks: AsyncIterator[bytes], on_exit: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[bytes]:
        """Async twin of :meth:`relay_sync` (``chunks`` from :func:`async_chunks`)."""
        try:
            out = self.start()
            if out:
                yield out
            capture, deadline, monotonic = self.capture, self.deadline, time.monotonic
            prefix, plen, suffix, slen = self._shape()
            checking = False
            while not self.done:
                chunk: bytes | Failure
                try:
                    async for chunk in chunks:
                        end = len(chunk) - slen
                        if end >= plen and chunk[:plen] == prefix and chunk[end:] == suffix:
                            middle = chunk[plen:end]
                            clean = 34 not in middle and 10 not in middle and 13 not in middle
                        else:
                            clean = False
                        if not clean:
                            checking = True
                            shape = self._recheck(chunk)
                            checking = False
                            if shape is None:
                                break
                            prefix, plen, suffix, slen = shape
                        if capture is not None:
                            capture.append(chunk)
                        if monotonic() > deadline:
                            yield chunk + self._deadline_passed()
                            return
                        yield chunk
                    else:
                        chunk = b""
                except Exception as exc:
                    if checking:
                        raise
                    chunk = Failure("connection", f"{type(exc).__name__}: {exc}")
                out = self._leave(chunk)
                if out:
                    yield out
                prefix, plen, suffix, slen = self._shape()
        finally:
            await on_exit()

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
        if not self._passes(result):
            return self._parse(result)
        if self.capture is not None:
            self.capture.append(result)
        return result + self._deadline_passed() if time.monotonic() > self.deadline else result

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

    def _shape(self) -> tuple[bytes, int, bytes, int]:
        """The template's (prefix, plen, suffix, slen); a shape nothing matches while it may not be used."""
        if self._fast is None:
            return b"", ChunkTemplate.OFF, b"", 0
        template = self._template
        return template.prefix, template.plen, template.suffix, template.slen

    def _recheck(self, chunk: bytes) -> tuple[bytes, int, bytes, int] | None:
        """A chunk off the learned shape: the shape to match next when it may pass unparsed, else None."""
        if not self._passes(chunk):
            return None
        template = self._template
        return template.prefix, template.plen, template.suffix, template.slen

    def _leave(self, chunk: bytes | Failure) -> bytes:
        """What the relay yields when a chunk leaves the unparsed loop: parsed, the end, or a failure."""
        return self._parse(chunk) if chunk.__class__ is bytes and chunk else self.step(chunk)

    def _passes(self, chunk: bytes) -> bool:
        """True when ``chunk`` may pass unparsed (``classify``); a clean data line refines the template."""
        markers = self._fast
        if markers is None:
            return False
        verdict = classify(chunk, markers)
        if verdict == CLEAN_DATA_LINE:
            self._template.learn(chunk)
        return verdict != MUST_PARSE

    def _parse(self, chunk: bytes) -> bytes:
        """A chunk through the parser and the translator or observer (it may carry a marker)."""
        if self.markers is None:
            out = self._emit(self.parser.feed(chunk))
        else:
            out = self._emit(parse_complete(self.parser.take_complete(chunk)))
            self._fast = self.markers if self.parser.idle else None
        if not self.done and time.monotonic() > self.deadline:
            return out + self._deadline_passed()
        return out

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

    def _deadline_passed(self) -> bytes:
        return self._fail("the call's deadline passed while streaming")

    def _fail(self, why: str) -> bytes:
        self.done = True
        self.error = why
        message = (
            f"llm-gateway-mw: {why} ({self.label}). The stream is not retried because part of the answer "
            f"already reached the caller; retry the call to get a complete answer."
        )
        return encode_event(stream_error_event(self.caller_dialect, message=message, error_type="api_error"))
