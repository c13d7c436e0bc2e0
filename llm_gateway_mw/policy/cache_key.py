"""Response-cache keys: equal requests (as far as the answer goes) get equal keys, per scope.

The key hashes every request field except a short list that cannot change the answer
(delivery and bookkeeping fields such as ``stream`` or ``user``). Excluding by name, rather
than including by name, keeps a new provider parameter from ever yielding a wrong hit: an
unknown field splits the cache instead of being ignored. A few spellings of the same request
are made equal first, so they share an entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..dialects import Dialect

__all__ = [
    "DEFAULT_TEMPERATURE",
    "IGNORED_FIELDS",
    "cache_key",
    "canonical_request",
    "is_cacheable",
]

#: Request fields that never change the answer, so never split the cache.
IGNORED_FIELDS = frozenset(
    {
        "stream",
        "stream_options",
        "user",
        "metadata",
        "store",
        "service_tier",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
    }
)

#: The sampling temperature both providers use when a request sets none.
DEFAULT_TEMPERATURE = 1.0

_KEY_VERSION = 1  # bump when the canonical form changes, so old entries are never read
_TEXT_PART_TYPES = frozenset({"text", "input_text"})
_MARKER_KEYS = frozenset({"cache_control"})  # prompt-caching hints: same answer with or without


def _plain(value: object) -> object:
    """Drop cache markers, make integral floats ints (``1.0`` == ``1``), tuples lists."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items() if key not in _MARKER_KEYS}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _content(value: object) -> object:
    """A single plain text part is the same content as the bare string."""
    if isinstance(value, list) and len(value) == 1:
        part = value[0]
        if (
            isinstance(part, dict)
            and part.get("type") in _TEXT_PART_TYPES
            and isinstance(part.get("text"), str)
            and part.keys() <= {"type", "text"}
        ):
            return part["text"]
    return value


def _messages(value: object) -> object:
    if not isinstance(value, list):
        return value
    normalised: list[object] = []
    for message in value:
        if isinstance(message, dict) and "content" in message:
            message = {**message, "content": _content(message["content"])}
        normalised.append(message)
    return normalised


def canonical_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """The answer-determining part of ``body`` in one canonical spelling (before hashing).

    Drops ``IGNORED_FIELDS`` and ``cache_control`` markers; an OpenAI ``stop`` string equals
    a one-element list; message (and Anthropic ``system``) content given as one text part
    equals the bare string; integral floats equal ints.
    """
    plain = {
        str(key): _plain(value)
        for key, value in body.items()
        if key not in IGNORED_FIELDS and key not in _MARKER_KEYS
    }
    if isinstance(plain.get("stop"), str):
        plain["stop"] = [plain["stop"]]
    for key in ("messages", "input"):
        if key in plain:
            plain[key] = _messages(plain[key])
    if "system" in plain:
        plain["system"] = _content(plain["system"])
    return plain


def cache_key(*, dialect: Dialect, operation: str, body: Mapping[str, Any], scope: str) -> str:
    """``"<scope>:<sha256 hex>"`` of the canonical request; distinct scopes never share a key.

    The scope (e.g. ``tenant:acme``) is both the key's prefix and part of the hashed text;
    the digest is always the last 64 characters, so no two scopes can produce the same key.
    """
    payload = {
        "v": _KEY_VERSION,
        "scope": scope,
        "dialect": dialect,
        "operation": operation,
        "body": canonical_request(body),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{scope}:{digest}"


def is_cacheable(body: Mapping[str, Any], *, max_temperature: float | None) -> bool:
    """Whether an answer to ``body`` may be served from cache.

    Not when it asks for several choices (``n`` > 1), nor, when ``max_temperature`` is set,
    when it samples hotter than that. A request without ``temperature`` samples at the
    providers' default of 1.0 and is judged at that.
    """
    choices = body.get("n")
    if isinstance(choices, (int, float)) and not isinstance(choices, bool) and choices > 1:
        return False
    if max_temperature is None:
        return True
    temperature = body.get("temperature")
    if temperature is None:
        temperature = DEFAULT_TEMPERATURE
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        return False
    return float(temperature) <= max_temperature
