"""Scripted behaviours of a fake upstream: one is consumed per request.

Each behaviour is a small frozen dataclass; the factory functions at the end of
this module are the intended way to build them::

    upstream.enqueue(rate_limited(retry_after=2), success("hi"))

Every behaviour has ``latency`` (seconds slept before anything is written; use
it for read-timeout tests). A :class:`Reply` describes a successful answer and
how it is delivered (chunking, slow or cut streams, mid-stream error events).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """A tool/function call the fake model makes.

    ``arguments`` is the JSON object of arguments (or an already-encoded JSON
    string). ``id`` defaults to a fresh dialect-style id (``call_…``/``toolu_…``).
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as a compact JSON string."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"))

    @property
    def arguments_obj(self) -> Any:
        """The arguments as a JSON value."""
        return json.loads(self.arguments) if isinstance(self.arguments, str) else dict(self.arguments)


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Token usage reported by a reply; every value is written verbatim.

    OpenAI: ``prompt_tokens=input_tokens``, ``completion_tokens=output_tokens``,
    ``prompt_tokens_details.cached_tokens=cached_tokens`` (``input_tokens_details``
    for the Responses API), ``cache_write_tokens=cache_creation_tokens`` (chat:
    only when non-zero), ``completion_tokens_details.reasoning_tokens``.
    Anthropic: ``input_tokens``, ``output_tokens``,
    ``cache_read_input_tokens=cached_tokens``,
    ``cache_creation_input_tokens=cache_creation_tokens``.
    ``None`` input/output counts are estimated from the request/reply sizes.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class Behaviour:
    """Base of all behaviours."""

    latency: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Reply(Behaviour):
    """A successful (HTTP 200) answer in the request's dialect.

    Content: ``text`` (``None``: ``"Hello from <upstream name>"``), ``tool_calls``
    (emitted only when the request declares ``tools``), ``usage``, ``stop_reason``
    (dialect value override, e.g. ``"length"``/``"max_tokens"``), ``model``
    (override of the echoed model).

    Delivery (streams): ``event_delay`` seconds between SSE events;
    ``cut_after_events`` closes the connection after that many events (0: right
    after the headers) without the terminating chunk, with a RST when
    ``cut_with_rst``; ``error_after_events`` sends the dialect's mid-stream
    error event (``error_type``/``error_message``) after that many events and
    ends the stream. For a non-streaming request ``cut_after_events`` closes
    the connection after the headers and ``error_after_events`` is ignored.
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    stop_reason: str | None = None
    model: str | None = None
    event_delay: float = 0.0
    cut_after_events: int | None = None
    cut_with_rst: bool = False
    error_after_events: int | None = None
    error_type: str = "overloaded_error"
    error_message: str = "Overloaded"


@dataclass(frozen=True, kw_only=True)
class HttpError(Behaviour):
    """An error status with the dialect's error JSON body.

    ``error_type``/``code``/``message`` default to what the real API sends for
    ``status``. ``retry_after`` → ``Retry-After`` (seconds), ``retry_after_ms``
    → ``retry-after-ms``; ``reset_requests``/``reset_tokens`` (seconds) →
    ``x-ratelimit-reset-requests``/``-tokens`` (OpenAI, ``"1.5s"`` format) or
    ``anthropic-ratelimit-requests-reset``/``-tokens-reset`` (RFC 3339).
    ``headers`` are added verbatim.
    """

    status: int
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    reset_requests: float | None = None
    reset_tokens: float | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class ResetMidBody(Behaviour):
    """Send the headers and ``fraction`` of a normal reply's body, then RST."""

    fraction: float = 0.5
    reply: Reply = field(default_factory=Reply)


@dataclass(frozen=True, kw_only=True)
class MalformedJson(Behaviour):
    """HTTP 200 whose body is not valid JSON (an SSE ``data:`` line for streams)."""

    body: str = '{"id": "broken", "choices": [{"index": 0, "message": {"role": "assi'


B = TypeVar("B", bound=Behaviour)


# --------------------------------------------------------------------------- factories


def success(
    text: str | None = None,
    *,
    tool_calls: Sequence[ToolCall] = (),
    usage: Usage | None = None,
    stop_reason: str | None = None,
    model: str | None = None,
    latency: float = 0.0,
) -> Reply:
    """A normal successful reply with ``text`` and optional tool calls."""
    return Reply(
        text=text,
        tool_calls=tuple(tool_calls),
        usage=usage,
        stop_reason=stop_reason,
        model=model,
        latency=latency,
    )


def tool_call(
    name: str,
    arguments: Mapping[str, Any] | str | None = None,
    *,
    id: str | None = None,
    text: str | None = "",
    usage: Usage | None = None,
    latency: float = 0.0,
) -> Reply:
    """A reply that calls tool ``name`` (plus ``text`` before it, empty by default)."""
    call = ToolCall(name=name, arguments=arguments if arguments is not None else {}, id=id)
    return Reply(text=text, tool_calls=(call,), usage=usage, latency=latency)


def http_error(
    status: int,
    *,
    message: str | None = None,
    error_type: str | None = None,
    code: str | None = None,
    retry_after: float | None = None,
    retry_after_ms: int | None = None,
    reset_requests: float | None = None,
    reset_tokens: float | None = None,
    headers: Mapping[str, str] | None = None,
    latency: float = 0.0,
) -> HttpError:
    """An HTTP error ``status`` with the dialect's error body."""
    return HttpError(
        status=status,
        message=message,
        error_type=error_type,
        code=code,
        retry_after=retry_after,
        retry_after_ms=retry_after_ms,
        reset_requests=reset_requests,
        reset_tokens=reset_tokens,
        headers=tuple((headers or {}).items()),
        latency=latency,
    )


def rate_limited(
    *,
    retry_after: float | None = 1,
    retry_after_ms: int | None = None,
    reset_requests: float | None = 1.0,
    reset_tokens: float | None = None,
    message: str | None = None,
    latency: float = 0.0,
) -> HttpError:
    """429 with ``Retry-After`` and rate-limit reset headers."""
    return http_error(
        429,
        message=message,
        retry_after=retry_after,
        retry_after_ms=retry_after_ms,
        reset_requests=reset_requests,
        reset_tokens=reset_tokens,
        latency=latency,
    )


def overloaded(*, retry_after: float | None = None, latency: float = 0.0) -> HttpError:
    """529 ``overloaded_error`` (Anthropic's shape; OpenAI routes get their own shape)."""
    return http_error(529, error_type="overloaded_error", retry_after=retry_after, latency=latency)


def server_error(status: int = 500, *, message: str | None = None, latency: float = 0.0) -> HttpError:
    """A 5xx error with the dialect's default body."""
    return http_error(status, message=message, latency=latency)


def reset_mid_body(
    fraction: float = 0.5, *, reply: Reply | None = None, latency: float = 0.0
) -> ResetMidBody:
    """Headers plus part of the body, then a TCP RST (``SO_LINGER`` 0)."""
    return ResetMidBody(fraction=fraction, reply=reply or Reply(), latency=latency)


def malformed_json(body: str | None = None, *, latency: float = 0.0) -> MalformedJson:
    """HTTP 200 with an unparsable JSON body."""
    return MalformedJson(latency=latency) if body is None else MalformedJson(body=body, latency=latency)


def stream_cut(
    after_events: int = 0, *, rst: bool = False, text: str | None = None, event_delay: float = 0.0
) -> Reply:
    """Close a stream after ``after_events`` SSE events (0: right after the headers)."""
    return Reply(text=text, cut_after_events=after_events, cut_with_rst=rst, event_delay=event_delay)


def stream_error(
    after_events: int = 2,
    *,
    error_type: str = "overloaded_error",
    message: str = "Overloaded",
    text: str | None = None,
) -> Reply:
    """Send the dialect's in-band SSE error event after ``after_events`` events."""
    return Reply(text=text, error_after_events=after_events, error_type=error_type, error_message=message)


def slow_stream(delay: float, *, text: str | None = None, tool_calls: Sequence[ToolCall] = ()) -> Reply:
    """A stream with ``delay`` seconds between consecutive SSE events."""
    return Reply(text=text, tool_calls=tuple(tool_calls), event_delay=delay)


def slow_headers(delay: float, *, text: str | None = None) -> Reply:
    """Sleep ``delay`` seconds before sending the response headers."""
    return Reply(text=text, latency=delay)


def with_latency(behaviour: B, seconds: float) -> B:
    """A copy of ``behaviour`` that waits ``seconds`` before responding."""
    return dataclasses.replace(behaviour, latency=seconds)
