"""What the mounted endpoint checks before a request reaches the pipeline.

Every failure is a ``GatewayRefusal`` with the status the API would give, rendered by the
endpoint in the caller's dialect: 400 malformed JSON or fields, 401 key problems, 403 a
model outside the key's allowlist, 404 unknown paths or models, 405 wrong methods, 413
bodies over ``[endpoint] max_body_bytes`` (read incrementally, never past the limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import GatewayRefusal, InvalidRequestError, ModelNotAllowedError, UnknownModelError

if TYPE_CHECKING:
    from ..config.schema import GatewayConfig, KeyConfig
    from .keys import KeyRing
    from .middleware import Receive

__all__ = ["ClientGone", "authenticate", "check_fields", "check_model", "read_body", "refusal"]


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


def refusal(
    status: int, code: str, error_type: str, message: str, headers: Mapping[str, str] | None = None
) -> GatewayRefusal:
    """A refusal with its own status and code (for cases ``errors`` has no class for)."""
    found = GatewayRefusal(message, headers=headers)
    found.status, found.code, found.error_type = status, code, error_type
    return found


def authenticate(keys: KeyRing, headers: Mapping[str, str], allow_anonymous: bool) -> KeyConfig | None:
    """The caller's ``[[keys]]`` entry, None for an allowed anonymous caller; else a 401 refusal."""
    entry, presented = keys.match_any(headers)
    if entry is not None:
        return entry
    if not keys and not allow_anonymous:
        raise refusal(
            401,
            "no_keys_configured",
            "authentication_error",
            "this endpoint has no gateway keys configured. Run `llm-gateway-mw keys new` and add the "
            "[[keys]] entry it prints (name, hash, optional models/tenant) to the gateway config, or "
            "serve it with gateway.asgi_app(allow_anonymous=True) to accept callers without a key.",
        )
    if presented and keys:
        raise refusal(401, "invalid_api_key", "authentication_error", "invalid gateway key")
    if allow_anonymous:
        return None
    raise refusal(
        401,
        "missing_api_key",
        "authentication_error",
        "missing gateway key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
    )


async def read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """The request body, read chunk by chunk; 413 as soon as it would exceed ``limit`` bytes."""
    too_large = refusal(
        413,
        "request_too_large",
        "request_too_large",
        f"request body is larger than {limit} bytes; raise [endpoint] max_body_bytes to accept it",
    )
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _messages(body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("'messages' must be a non-empty array of message objects")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequestError(f"'messages[{i}]' must be an object with a string 'role'")


def _embedding_input(body: Mapping[str, Any]) -> None:
    value = body.get("input")
    ok = (isinstance(value, str) and value != "") or (
        isinstance(value, list)
        and value
        and all(
            isinstance(v, (str, int)) or (isinstance(v, list) and all(isinstance(t, int) for t in v))
            for v in value
        )
    )
    if not ok:
        raise InvalidRequestError(
            "'input' must be a non-empty string, an array of strings, or an array of token arrays"
        )


def check_fields(dialect: str, operation: str, body: Mapping[str, Any]) -> None:
    """400 for fields the operation cannot work with (the SDKs send well-formed bodies)."""
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequestError("'stream' must be true or false")
    if operation == "embeddings":
        _embedding_input(body)
    elif operation == "responses":
        if "input" in body and not isinstance(body["input"], (str, list)):
            raise InvalidRequestError("'input' must be a string or an array of input items")
    elif operation == "chat":
        _messages(body)
        if dialect == "anthropic":
            tokens = body.get("max_tokens")
            if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
                raise InvalidRequestError("'max_tokens' is required and must be a positive integer")


def check_model(config: GatewayConfig, key: KeyConfig | None, model: str) -> None:
    """404 for undeclared models, 403 for models outside the key's allowlist."""
    names = config.model_names()
    allowed = list(key.models) if key is not None and key.models else names
    if model not in names:
        raise UnknownModelError(model, allowed)
    if model not in allowed:
        assert key is not None
        raise ModelNotAllowedError(
            f"gateway key '{key.name}' may not use model '{model}'; it may use: {', '.join(key.models)}"
        )
