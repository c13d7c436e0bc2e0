"""Reads what the application's SDK sent: which operation, in which dialect, with which body.

Only the operations the gateway manages are parsed; anything else (files, batches,
model listings) is forwarded untouched to the wrapped client's own upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dialects import Dialect
from .errors import InvalidRequestError
from .headers import header_value
from .jsonwire import loads_json
from .records import RequestParams

__all__ = [
    "Inbound",
    "loads_json",
    "operation_for",
    "params_of",
    "parse_body",
    "replace_model",
    "scan_request",
    "sdk_timeout",
]

_OPENAI_OPERATIONS = (
    ("/chat/completions", "chat"),
    ("/embeddings", "embeddings"),
    ("/responses", "responses"),
)
_ANTHROPIC_OPERATIONS = (("/v1/messages", "chat"),)


def operation_for(dialect: Dialect, method: str, path: str) -> str | None:
    """The managed operation a request path names, or None to forward it untouched."""
    if method != "POST":
        return None
    table = _OPENAI_OPERATIONS if dialect == "openai" else _ANTHROPIC_OPERATIONS
    for suffix, operation in table:
        if path.endswith(suffix):
            return operation
    return None


@dataclass(slots=True)
class Inbound:
    """One managed request as the application's SDK built it."""

    dialect: Dialect
    operation: str
    method: str
    url: str  # "" when ``raw_request`` is set: read ``full_url()`` (formatting an httpx URL costs ~2 µs)
    headers: Any  # list of (name, value) pairs, or an httpx/httpx2 Headers object (decoded on demand)
    raw_body: bytes
    parsed: dict[str, Any] | None  # None until ``body`` is first read (``scan_request`` read the rest)
    model: str
    stream: bool
    timeout: float | None
    raw_request: Any = None

    @property
    def body(self) -> dict[str, Any]:
        """The decoded request body, parsed on first read (InvalidRequestError when it is not usable)."""
        body = self.parsed
        if body is None:
            body, _, _ = parse_body(self.raw_body)
            self.parsed = body
        return body

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def full_url(self) -> str:
        """The request URL as a string."""
        if not self.url and self.raw_request is not None:
            self.url = str(self.raw_request.url)
        return self.url


_MODEL_KEY = b'"model":'
_STREAM_KEY = b'"stream":'
_MODEL_VALUE = b'"model":"'


def scan_request(raw: bytes) -> tuple[str, bool] | None:
    """(model, stream) read straight off a compact SDK request body, or None: parse it whole.

    A passthrough call needs only these two; its body goes upstream as the SDK wrote it. Inside
    JSON strings quotes are escaped, so an unescaped ``"model":`` is an object key. It is taken
    when it occurs exactly once, as a string with no escapes, in a ``{...}`` body without a
    ``"stream":`` key (streams read ``stream_options``: they are parsed). The SDKs send the model
    at the top level, so one occurrence is the top-level key; a body with no top-level model at
    all, which ``parse_body`` refuses, would reach the upstream, which refuses it in turn. Any
    other shape (spaces after the colon, escapes, several "model" keys) is parsed whole.
    """
    # find/count, and an int for one byte: ``bytes in bytes`` first tries the needle as an int and
    # builds (then drops) a TypeError for it, on every call.
    if raw[:1] != b"{" or raw.count(_MODEL_KEY) != 1 or raw.find(_STREAM_KEY) >= 0:
        return None
    start = raw.find(_MODEL_VALUE) + len(_MODEL_VALUE)
    if start < len(_MODEL_VALUE):
        return None
    end = raw.find(b'"', start)
    value = raw[start:end]
    if not value or 0x5C in value:  # 0x5C: a backslash
        return None
    try:
        return value.decode(), False
    except UnicodeDecodeError:
        return None


def replace_model(raw: bytes, model: bytes) -> bytes:
    """``raw`` with its ``"model"`` string's content replaced by ``model`` (already JSON-escaped).

    For a body ``scan_request`` read: exactly one ``"model":"...`` key, its value free of escapes.
    """
    start = raw.find(_MODEL_VALUE)
    if start < 0:
        raise ValueError("replace_model needs a body scan_request has read")
    start += len(_MODEL_VALUE)
    return raw[:start] + model + raw[raw.find(b'"', start) :]


def sdk_timeout(request: Any) -> float | None:
    """The read timeout an SDK set on its httpx request (its per-call ``timeout``), if any."""
    timeout = request.extensions.get("timeout")
    read = timeout.get("read") if type(timeout) is dict else None
    return float(read) if isinstance(read, (int, float)) else None


def parse_body(raw: bytes) -> tuple[dict[str, Any], str, bool]:
    """Decode a JSON request body; returns (body, model, stream) or raises InvalidRequestError."""
    try:
        body = loads_json(raw) if raw else None
    except ValueError as err:
        raise InvalidRequestError(f"request body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError("request body needs a 'model' string naming the model or route to call")
    stream = body.get("stream") is True
    return body, model, stream


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def params_of(body: dict[str, Any]) -> RequestParams:
    """Sampling parameters in one shape, whatever the dialect."""
    stop = body.get("stop", body.get("stop_sequences"))
    stops: tuple[str, ...] = (
        (stop,) if isinstance(stop, str) else tuple(s for s in stop or () if isinstance(s, str))
    )
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens", body.get("max_output_tokens")))
    return RequestParams(
        temperature=_number(body.get("temperature")),
        top_p=_number(body.get("top_p")),
        top_k=_integer(body.get("top_k")),
        max_tokens=_integer(max_tokens),
        stop=stops,
        seed=_integer(body.get("seed")),
        choice_count=_integer(body.get("n")),
        frequency_penalty=_number(body.get("frequency_penalty")),
        presence_penalty=_number(body.get("presence_penalty")),
    )
