"""Judging one upstream reply: a usable answer, a stream to open, or the reason it is not.

Plain functions for whole replies, a generator for a stream's first event: the attempt loop
and the first try (``attempts.first_result``) decide from the same verdicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .dialects.errors import error_message_from_body
from .dialects.sse import SSEEvent, SSEParser
from .dialects.wire_usage import UNREADABLE, tail_usage
from .effects import CloseStream, Failure, ReadChunk, UpstreamReply
from .inbound import loads_json

if TYPE_CHECKING:
    from .dialects import Dialect
    from .drivers import CoreGen
    from .providers.deployment import Deployment
    from .records import AttemptRecord
    from .usage import Usage

__all__ = ["AttemptResult", "judge_reply", "open_stream"]


@dataclass(slots=True)
class AttemptResult:
    """The committed attempt: a full reply, or an open stream with its first events already read."""

    deployment: Deployment
    attempt: AttemptRecord
    reply: UpstreamReply
    parsed: dict[str, Any] | None = None
    parser: SSEParser | None = None
    first_events: list[SSEEvent] | None = None
    usage: Usage | None = None  # read from the body's tail when ``parsed`` was skipped


def judge_reply(
    deployment: Deployment,
    attempt: AttemptRecord,
    reply: UpstreamReply,
    stream: bool,
    unchanged: Dialect | None = None,
) -> AttemptResult | tuple[str, int, str | None] | None:
    """Judge one reply: a usable answer, (why, status, failure kind), or None for a 2xx stream to open.

    ``unchanged``: the reply's dialect when it goes back to the caller as it is; then only its
    usage is decoded (``tail_usage``), unless the body's shape calls for the full parse.
    A plain function, not a generator: a whole reply needs no I/O to judge.
    """
    if reply.failure is not None:
        return f"{reply.failure.kind} error: {reply.failure.detail}", reply.status, reply.failure.kind
    if reply.status >= 400:
        return f"HTTP {reply.status}: {error_message_from_body(reply.body)}", reply.status, None
    if stream and reply.stream is not None:
        return None
    if unchanged is not None:
        usage = tail_usage(reply.body, unchanged)
        if usage is not UNREADABLE:
            return AttemptResult(deployment, attempt, reply, usage=usage)
    try:
        parsed = loads_json(reply.body)
    except ValueError:
        return "the upstream answered 200 with a body that is not JSON", 502, None
    if not isinstance(parsed, dict):
        return "the upstream answered 200 with a JSON body that is not an object", 502, None
    return AttemptResult(deployment, attempt, reply, parsed=parsed)


def open_stream(
    deployment: Deployment, attempt: AttemptRecord, reply: UpstreamReply
) -> CoreGen[AttemptResult | tuple[str, int, str | None]]:
    """Read a 2xx stream up to its first whole event: the result, or (why, status, failure kind)."""
    assert reply.stream is not None
    parser = SSEParser()
    events: list[SSEEvent] = []
    while not events:
        chunk = yield ReadChunk(reply.stream)
        if isinstance(chunk, Failure):
            yield CloseStream(reply.stream)
            return f"the stream failed before its first event ({chunk.detail})", 0, "connection"
        if not chunk:
            events = parser.flush()
            if not events:
                yield CloseStream(reply.stream)
                return "the upstream closed the stream before its first event", 0, "connection"
            break
        events = parser.feed(chunk)
    attempt.first_chunk_at = time.perf_counter()
    first = events[0]
    if first.event == "error" or first.data.startswith('{"error"'):
        yield CloseStream(reply.stream)
        message = error_message_from_body(first.data.encode())
        status = 529 if "overloaded" in first.data else 500
        return f"the stream opened with an error event: {message}", status, None
    return AttemptResult(deployment, attempt, reply, parser=parser, first_events=events)
