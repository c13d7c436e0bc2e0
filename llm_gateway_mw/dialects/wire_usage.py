"""Token usage on the wire: reading either dialect's usage object and writing one from :class:`Usage`.

:class:`~llm_gateway_mw.usage.Usage` counts every input token in ``input_tokens``; OpenAI's
``prompt_tokens`` already does, Anthropic's ``input_tokens`` excludes cache reads and writes,
so the conversions add or subtract those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..usage import Usage

__all__ = [
    "anthropic_usage_payload",
    "openai_usage_payload",
    "usage_from_anthropic",
    "usage_from_anthropic_usage",
    "usage_from_openai",
    "usage_from_openai_usage",
]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _detail(usage: Mapping[str, Any], section: str, key: str) -> int:
    details = usage.get(section)
    return _count(details.get(key)) if isinstance(details, Mapping) else 0


def usage_from_openai_usage(usage: Mapping[str, Any]) -> Usage:
    """Read an OpenAI usage object: Chat Completions, Responses API or embeddings shape."""
    if "prompt_tokens" in usage:  # chat completions, embeddings (no completion_tokens)
        return Usage(
            input_tokens=_count(usage.get("prompt_tokens")),
            output_tokens=_count(usage.get("completion_tokens")),
            cache_read_tokens=_detail(usage, "prompt_tokens_details", "cached_tokens"),
            cache_write_tokens=_detail(usage, "prompt_tokens_details", "cache_write_tokens"),
            reasoning_tokens=_detail(usage, "completion_tokens_details", "reasoning_tokens"),
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
        if isinstance(response, Mapping):
            usage = response.get("usage")
    return usage_from_openai_usage(usage) if isinstance(usage, Mapping) else None


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
        if isinstance(message, Mapping):
            usage = message.get("usage")
    return usage_from_anthropic_usage(usage) if isinstance(usage, Mapping) else None


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
