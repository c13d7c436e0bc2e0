"""Writing a behaviour to the wire: JSON bodies, SSE streams and the transport faults."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .behaviours import Behaviour, HttpError, MalformedJson, Reply, ResetMidBody
from .errors import OPENAI, render_http_error, request_id_header
from .http11 import LAST_CHUNK, Connection, chunk, head_bytes
from .recording import RecordedRequest
from .wire import Payload, SseEvent

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"


@dataclass
class Outcome:
    """What happened: the status sent (``None`` if none) and whether the connection survives."""

    status: int | None
    keep_alive: bool


def _connection_header(keep_alive: bool) -> tuple[str, str]:
    return ("connection", "keep-alive" if keep_alive else "close")


def success_headers(dialect: str) -> list[tuple[str, str]]:
    """Headers the real APIs put on a successful reply."""
    headers = [request_id_header(dialect)]
    if dialect == OPENAI:
        headers += [("openai-version", "2020-10-01"), ("openai-processing-ms", "42")]
    else:
        headers.append(("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"))
    return headers


def send_simple(
    conn: Connection,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    keep_alive: bool,
) -> Outcome:
    """A complete ``Content-Length`` response."""
    all_headers = [*headers, ("content-length", str(len(body))), _connection_header(keep_alive)]
    conn.send(head_bytes(status, all_headers) + body)
    return Outcome(status, keep_alive)


@dataclass
class Delivery:
    """Delivers one behaviour for one request.

    ``build`` turns a :class:`Reply` into the dialect's payload and
    ``stream_error`` makes the dialect's in-band error event. ``record.status``
    is set before a status line is written, so it is visible to the client
    as soon as the response is.
    """

    conn: Connection
    stop: threading.Event
    record: RecordedRequest
    dialect: str
    stream: bool
    keep_alive: bool
    build: Callable[[Reply], Payload]
    stream_error: Callable[[str, str], SseEvent]

    def run(self, behaviour: Behaviour) -> Outcome:
        """Apply ``behaviour`` (after its latency)."""
        if behaviour.latency > 0 and self.stop.wait(behaviour.latency):
            return Outcome(None, False)  # server stopping
        if isinstance(behaviour, HttpError):
            status, headers, body = render_http_error(self.dialect, behaviour)
            self.record.status = status
            return send_simple(self.conn, status, headers, body, self.keep_alive)
        if isinstance(behaviour, MalformedJson):
            return self._malformed(behaviour)
        if isinstance(behaviour, ResetMidBody):
            return self._reset(behaviour)
        if isinstance(behaviour, Reply):
            return self._reply(behaviour)
        raise TypeError(f"unsupported behaviour {behaviour!r}")

    def _json_head(self, status: int, headers: list[tuple[str, str]], length: int, keep_alive: bool) -> bytes:
        self.record.status = status
        framing = [("content-length", str(length)), _connection_header(keep_alive)]
        return head_bytes(status, [("content-type", JSON), *headers, *framing])

    def _sse_head(self, headers: list[tuple[str, str]], keep_alive: bool) -> bytes:
        self.record.status = 200
        framing = [("transfer-encoding", "chunked"), _connection_header(keep_alive)]
        return head_bytes(200, [("content-type", SSE), ("cache-control", "no-cache"), *headers, *framing])

    def _malformed(self, behaviour: MalformedJson) -> Outcome:
        headers = success_headers(self.dialect)
        if not self.stream:
            body = behaviour.body.encode()
            self.conn.send(self._json_head(200, headers, len(body), self.keep_alive) + body)
            return Outcome(200, self.keep_alive)
        event = SseEvent(data=behaviour.body, event=None if self.dialect == OPENAI else "message_start")
        self.conn.send(self._sse_head(headers, self.keep_alive) + chunk(event.encode()) + LAST_CHUNK)
        return Outcome(200, self.keep_alive)

    def _reset(self, behaviour: ResetMidBody) -> Outcome:
        payload = self.build(behaviour.reply)
        headers = [*success_headers(self.dialect), *payload.headers]
        if payload.events is None:
            body = json.dumps(payload.body).encode()
            head = self._json_head(payload.status, headers, len(body), True)
        else:
            body = b"".join(chunk(e.encode()) for e in payload.events) + LAST_CHUNK
            head = self._sse_head(headers, True)
        cut = max(1, min(len(body) - 1, int(len(body) * behaviour.fraction)))
        self.conn.send(head + body[:cut])
        self.conn.close(rst=True)
        return Outcome(payload.status, False)

    def _reply(self, reply: Reply) -> Outcome:
        payload = self.build(reply)
        headers = [*success_headers(self.dialect), *payload.headers]
        if payload.events is not None:
            return self._stream(reply, payload.events, headers)
        body = json.dumps(payload.body).encode()
        if reply.cut_after_events is not None:  # headers promise a body that never comes
            self.conn.send(self._json_head(payload.status, headers, len(body), True))
            self.conn.close(rst=reply.cut_with_rst)
            return Outcome(payload.status, False)
        self.conn.send(self._json_head(payload.status, headers, len(body), self.keep_alive) + body)
        return Outcome(payload.status, self.keep_alive)

    def _stream(self, reply: Reply, events: list[SseEvent], headers: list[tuple[str, str]]) -> Outcome:
        self.conn.send(self._sse_head(headers, self.keep_alive))
        for index, event in enumerate(events):
            if index and reply.event_delay > 0 and self.stop.wait(reply.event_delay):
                return Outcome(200, False)
            if reply.cut_after_events is not None and index >= reply.cut_after_events:
                self.conn.close(rst=reply.cut_with_rst)
                return Outcome(200, False)
            if reply.error_after_events is not None and index >= reply.error_after_events:
                error = self.stream_error(reply.error_type, reply.error_message)
                self.conn.send(chunk(error.encode()) + LAST_CHUNK)
                return Outcome(200, self.keep_alive)
            self.conn.send(chunk(event.encode()))
        if reply.cut_after_events is not None:  # all events sent, terminating chunk withheld
            self.conn.close(rst=reply.cut_with_rst)
            return Outcome(200, False)
        self.conn.send(LAST_CHUNK)
        return Outcome(200, self.keep_alive)
