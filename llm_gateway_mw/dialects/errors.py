"""Error bodies on the wire, in each dialect's shape (these are JSON payloads, not exceptions).

The gateway answers a failed call with the error shape of the SDK the application uses,
so that SDK raises its own typed exception (``openai.RateLimitError``,
``anthropic.NotFoundError``...). An upstream error from the other dialect is re-wrapped
with :func:`translate_error_body`; a failure in the middle of a stream is sent as
:func:`stream_error_event`, which both SDKs turn into an exception while iterating.
"""

from __future__ import annotations

import json
from typing import Any

from . import Dialect
from .sse import SSEEvent

__all__ = [
    "ANTHROPIC_ERROR_TYPES",
    "MAX_FALLBACK_MESSAGE_CHARS",
    "error_body",
    "error_message_from_body",
    "error_type_for_status",
    "stream_error_event",
    "translate_error_body",
]

MAX_FALLBACK_MESSAGE_CHARS = 500
"""A body that is not a recognised error JSON is quoted as text, cut to this many characters."""

ANTHROPIC_ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "billing_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "conflict_error",
        "rate_limit_error",
        "timeout_error",
        "api_error",
        "overloaded_error",
    }
)
"""Error types Anthropic clients know; any other (OpenAI's ``server_error``...) reads as ``api_error``."""

_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type_for_status(status: int) -> str:
    """The error ``type`` both dialects use for an HTTP status (Anthropic's vocabulary)."""
    known = _TYPE_BY_STATUS.get(status)
    if known is not None:
        return known
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(dialect: Dialect, *, message: str, error_type: str, code: str | None = None) -> dict[str, Any]:
    """An error response body in ``dialect``'s shape.

    OpenAI bodies carry ``error_type`` and ``code`` as given; Anthropic bodies have no
    code, and a type outside :data:`ANTHROPIC_ERROR_TYPES` becomes ``api_error``.
    """
    if dialect == "openai":
        return {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    if error_type not in ANTHROPIC_ERROR_TYPES:
        error_type = "api_error"
    return {"type": "error", "error": {"type": error_type, "message": message}}


def error_message_from_body(raw: bytes) -> str:
    """The human-readable message of an error body in either dialect (or any JSON/text).

    Understands ``{"error": {"message": ...}}`` (OpenAI and Anthropic), ``{"error": "..."}``,
    ``{"message": ...}`` and ``{"detail": ...}``; anything else falls back to the body's text,
    cut to :data:`MAX_FALLBACK_MESSAGE_CHARS` characters.
    """
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        found = _message_in(parsed)
        if found:
            return found
    return text[:MAX_FALLBACK_MESSAGE_CHARS]


def _message_in(parsed: dict[str, Any]) -> str | None:
    error = parsed.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
    if isinstance(error, str) and error:
        return error
    for key in ("message", "detail"):
        value = parsed.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _code_in(raw: bytes) -> str | None:
    """The OpenAI-style ``error.code`` of a body, kept when re-wrapping for OpenAI clients."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code else None


def translate_error_body(raw: bytes, *, target: Dialect, status: int) -> bytes:
    """Re-wrap any upstream error body as a ``target``-dialect error body for HTTP ``status``.

    The message is kept (see :func:`error_message_from_body`); the type comes from the
    status, because the SDKs choose their exception class from the status and the two
    dialects name types differently. An OpenAI ``error.code`` survives for OpenAI clients.
    """
    message = error_message_from_body(raw) or f"upstream returned HTTP {status} with an empty body"
    code = _code_in(raw) if target == "openai" else None
    body = error_body(target, message=message, error_type=error_type_for_status(status), code=code)
    return json.dumps(body).encode()


def stream_error_event(dialect: Dialect, *, message: str, error_type: str) -> SSEEvent:
    """An in-stream event that makes ``dialect``'s SDK raise mid-stream.

    OpenAI: a ``data: {"error": {...}}`` event (``openai.APIError``). Anthropic: an
    ``event: error`` event carrying the error body (``anthropic.APIStatusError``).
    """
    body = error_body(dialect, message=message, error_type=error_type)
    return SSEEvent(json.dumps(body), None if dialect == "openai" else "error")
