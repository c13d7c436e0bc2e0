"""Token usage on the wire: reading either dialect's usage object and writing one from :class:`Usage`.

:class:`~llm_gateway_mw.usage.Usage` counts every input token in ``input_tokens``; OpenAI's
``prompt_tokens`` already does, Anthropic's ``input_tokens`` excludes cache reads and writes,
so the conversions add or subtract those.
"""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Mapping
from typing import Any

from ..usage import Usage

__all__ = [
    "UNREADABLE",
    "anthropic_usage_payload",
    "decoded_tail_usage",
    "openai_usage_payload",
    "tail_usage",
    "usage_from_anthropic",
    "usage_from_anthropic_usage",
    "usage_from_openai",
    "usage_from_openai_usage",
    "usage_of",
]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _detail(usage: Mapping[str, Any], section: str, key: str) -> int:
    details = usage.get(section)
    return _count(details.get(key)) if isinstance(details, dict) else 0


def usage_from_openai_usage(usage: Mapping[str, Any]) -> Usage:
    """Read an OpenAI usage object: Chat Completions, Responses API or embeddings shape."""
    if "prompt_tokens" in usage:  # chat completions, embeddings (no completion_tokens)
        prompt = usage.get("prompt_tokens_details")
        completion = usage.get("completion_tokens_details")
        inputs = usage.get("prompt_tokens")
        outputs = usage.get("completion_tokens")
        return Usage(  # counts inline (type(x) is int also rules out bools): this runs on every call
            inputs if type(inputs) is int and inputs > 0 else 0,
            outputs if type(outputs) is int and outputs > 0 else 0,
            _count(prompt.get("cached_tokens")) if type(prompt) is dict else 0,
            _count(prompt.get("cache_write_tokens")) if type(prompt) is dict else 0,
            _count(completion.get("reasoning_tokens")) if type(completion) is dict else 0,
        )
    return Usage(  # Responses API
        input_tokens=_count(usage.get("input_tokens")),
        output_tokens=_count(usage.get("output_tokens")),
        cache_read_tokens=_detail(usage, "input_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(usage, "output_tokens_details", "reasoning_tokens"),
    )


def usage_from_openai(body: Mapping[str, Any]) -> Usage | None:
    """The usage of an OpenAI response body or chunk (also ``{"response": {"usage": ...}}`` events)."""
    usage = body.get("usage")
    if usage is None:
        response = body.get("response")
        if isinstance(response, dict):
            usage = response.get("usage")
    return usage_from_openai_usage(usage) if isinstance(usage, dict) else None


def usage_of(body: Mapping[str, Any], dialect: str) -> Usage | None:
    """The usage of a whole reply body in ``dialect``."""
    return usage_from_anthropic(body) if dialect == "anthropic" else usage_from_openai(body)


def usage_from_anthropic_usage(usage: Mapping[str, Any]) -> Usage:
    """Read an Anthropic usage object; cache reads and writes are added to ``input_tokens``."""
    cache_read = _count(usage.get("cache_read_input_tokens"))
    cache_write = _count(usage.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=_count(usage.get("input_tokens")) + cache_read + cache_write,
        output_tokens=_count(usage.get("output_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=_detail(usage, "output_tokens_details", "thinking_tokens"),
    )


def usage_from_anthropic(body: Mapping[str, Any]) -> Usage | None:
    """The usage of an Anthropic message body (also a ``message_start`` event's ``message``)."""
    usage = body.get("usage")
    if usage is None:
        message = body.get("message")
        if isinstance(message, dict):
            usage = message.get("usage")
    return usage_from_anthropic_usage(usage) if isinstance(usage, dict) else None


def openai_usage_payload(usage: Usage) -> dict[str, Any]:
    """``usage`` as an OpenAI Chat Completions usage object."""
    prompt_details: dict[str, Any] = {"cached_tokens": usage.cache_read_tokens}
    if usage.cache_write_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def anthropic_usage_payload(usage: Usage) -> dict[str, Any]:
    """``usage`` as an Anthropic usage object (``input_tokens`` without cache reads and writes)."""
    payload: dict[str, Any] = {
        "input_tokens": max(usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens, 0),
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": usage.output_tokens,
    }
    if usage.reasoning_tokens:
        payload["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return payload


UNREADABLE: Any = object()
"""``tail_usage``'s answer when the body must be parsed whole instead."""

_USAGE_KEY = b'"usage":'
_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


# The usage object most OpenAI-compatible servers send (the three counts, compact), then only plain
# members (printable ASCII strings without escapes, integers, literals) up to the body's final
# brace: read with one match and no decoding. Wherever it matches, the decoding below reads the
# same counts (a test compares the two over generated bodies); anything else is decoded.
_PLAIN_OPENAI_USAGE = re.compile(
    rb'"usage":\{"prompt_tokens":(0|[1-9][0-9]*),"completion_tokens":(0|[1-9][0-9]*),'
    rb'"total_tokens":(?:0|[1-9][0-9]*)\}'
    rb'(?:,"[A-Za-z0-9_]*":(?:"[\x20\x21\x23-\x5b\x5d-\x7e]*"|-?(?:0|[1-9][0-9]*)|null|true|false))*'
    rb"\}[ \t\n\r]*\Z"
)


def tail_usage(body: bytes, dialect: str) -> Usage | None:
    """The usage of a reply body's top-level ``usage`` key, found from the end, parsing little else.

    For replies handed back to the SDK unchanged, where only the usage is needed on the hot
    path. An unescaped ``"usage":`` can only be an object key (inside JSON strings quotes are
    escaped). Everything from the last one to the end, behind an opening brace, is one whole
    JSON object exactly when that key belongs to the top-level object: it and the keys after it
    (OpenAI sends ``service_tier`` and ``system_fingerprint``) are closed by the body's final
    brace. A nested key leaves closing brackets over, and the scan stops short of the end.
    Anything else (no such key, a body that is not a ``{...}`` object, bad JSON there) returns
    ``UNREADABLE``: parse the whole body then. A body broken before the key is not detected
    here; the SDK reports it.
    """
    at = body.rfind(_USAGE_KEY)
    if at <= 0 or body[0] != 0x7B:  # 0x7B: "{"
        return UNREADABLE  # type: ignore[no-any-return]
    if dialect == "openai":
        plain = _PLAIN_OPENAI_USAGE.match(body, at)
        if plain is not None:
            return Usage(int(plain[1]), int(plain[2]))
    return decoded_tail_usage(body, at, dialect)


def decoded_tail_usage(body: bytes, at: int, dialect: str) -> Usage | None:
    """``tail_usage`` by decoding the tail from ``at`` (the last ``"usage":``) to the end."""
    try:
        text = "{" + body[at:].decode().rstrip()
        tail, stop = _scan_once(text, 0)
    except (ValueError, StopIteration):
        return UNREADABLE  # type: ignore[no-any-return]
    usage = tail["usage"] if stop == len(text) and type(tail) is dict else None
    if type(usage) is not dict:
        return UNREADABLE  # type: ignore[no-any-return]
    return usage_from_anthropic_usage(usage) if dialect == "anthropic" else usage_from_openai_usage(usage)
