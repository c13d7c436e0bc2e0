"""The translation stage: puts requests, replies, errors and streams into the right dialect.

A thin layer over ``dialects``: it picks the direction from the caller's dialect and
the deployment's, and does nothing at all when they match.
"""

from __future__ import annotations

import json
from typing import Any

from .dialects import Dialect
from .dialects.errors import error_body, translate_error_body
from .dialects.requests import anthropic_to_openai_chat, openai_chat_to_anthropic
from .dialects.responses import (
    anthropic_response_to_openai_chat,
    finish_reasons_anthropic,
    finish_reasons_openai,
    openai_chat_response_to_anthropic,
    usage_from_anthropic,
    usage_from_openai,
)
from .dialects.sse import PassthroughMarkers
from .dialects.streams import (
    AnthropicPassthroughObserver,
    AnthropicToOpenAIStream,
    OpenAIPassthroughObserver,
    OpenAIToAnthropicStream,
    StreamTranslator,
)
from .errors import GatewayRefusal
from .usage import Usage

__all__ = [
    "ReplySummary",
    "passthrough_markers",
    "refusal_body",
    "request_for",
    "stream_translator",
    "summarize_reply",
    "translate_error",
    "translate_reply",
]


def request_for(
    body: dict[str, Any],
    *,
    source: Dialect,
    target: Dialect,
    model: str,
    operation: str,
    default_max_tokens: int,
    drop_unsupported: bool,
) -> dict[str, Any]:
    """The request body in the target dialect (a shallow copy when no translation is needed)."""
    if source == target or operation != "chat":
        out = dict(body)
        if target == "openai" and operation == "chat" and out.get("stream") is True:
            # Ask for usage so streamed calls can be costed; the observer strips it if the app did not ask.
            options = dict(out.get("stream_options") or {})
            options["include_usage"] = True
            out["stream_options"] = options
        return out
    if target == "anthropic":
        return openai_chat_to_anthropic(
            body, model=model, default_max_tokens=default_max_tokens, drop_unsupported=drop_unsupported
        )
    return anthropic_to_openai_chat(body, model=model, drop_unsupported=drop_unsupported)


class ReplySummary:
    """What accounting needs from a reply: usage, id, model, finish reasons."""

    __slots__ = ("finish_reasons", "response_id", "response_model", "usage")

    def __init__(
        self,
        usage: Usage | None,
        response_id: str | None,
        response_model: str | None,
        finish_reasons: list[str],
    ) -> None:
        self.usage = usage
        self.response_id = response_id
        self.response_model = response_model
        self.finish_reasons = finish_reasons


def summarize_reply(parsed: dict[str, Any], dialect: Dialect) -> ReplySummary:
    rid = parsed.get("id")
    model = parsed.get("model")
    if dialect == "anthropic":
        usage, reasons = usage_from_anthropic(parsed), finish_reasons_anthropic(parsed)
    else:
        usage, reasons = usage_from_openai(parsed), finish_reasons_openai(parsed)
    return ReplySummary(
        usage, rid if isinstance(rid, str) else None, model if isinstance(model, str) else None, reasons
    )


def translate_reply(parsed: dict[str, Any], *, source: Dialect, target: Dialect, model: str) -> bytes:
    """A successful reply re-encoded in the caller's dialect."""
    if source == "anthropic":
        out = anthropic_response_to_openai_chat(parsed, model=model)
    else:
        out = openai_chat_response_to_anthropic(parsed, model=model)
    return json.dumps(out, separators=(",", ":")).encode()


def translate_error(raw: bytes, *, source: Dialect, target: Dialect, status: int) -> bytes:
    if source == target:
        return raw
    return translate_error_body(raw, target=target, status=status)


def refusal_body(refusal: GatewayRefusal, dialect: Dialect) -> bytes:
    body = error_body(dialect, message=refusal.message, error_type=refusal.error_type, code=refusal.code)
    return json.dumps(body).encode()


# What a same-dialect observer must see (usage, finish reasons, the end, errors); the relay forwards
# every other chunk without parsing it. ``needles`` hold for any chunk of whole events;
# ``data_line_needles`` for a chunk that is one ``data: {`` line not opening with ``{"e``, which can
# be neither the end marker nor an error event (see ``PassthroughMarkers``).
PASSTHROUGH_MARKERS: dict[str, PassthroughMarkers] = {
    "openai": PassthroughMarkers(
        needles=(
            '"finish_reason":"',
            '"usage":{',
            '"finish_reason": "',
            '"usage": {',
            "[DONE]",
            '"error"',
        ),
        # The observer reads usage and finish reasons anywhere in the data; [DONE] and {"error"
        # matter only at its start.
        data_line_needles=('"finish_reason":"', '"usage":{', '"finish_reason": "', '"usage": {'),
    ),
    "anthropic": PassthroughMarkers(
        needles=("message_start", "message_delta", "message_stop", "event: error", '"error"'),
        # Unnamed events: the observer looks for '"type":"message_' in the data.
        data_line_needles=("message_start", "message_delta", "message_stop"),
    ),
    "responses": PassthroughMarkers(
        needles=(
            "response.created",
            "response.completed",
            "response.failed",
            "response.incomplete",
            '"error"',
        ),
        data_line_needles=(),  # the observer reads named events only
    ),
}


def passthrough_markers(*, source: Dialect, target: Dialect, operation: str) -> PassthroughMarkers | None:
    """The relay's fast-path markers, or None when events must be translated one by one."""
    if operation == "responses":
        return PASSTHROUGH_MARKERS["responses"]
    return PASSTHROUGH_MARKERS[target] if source == target else None


def stream_translator(
    *, source: Dialect, target: Dialect, model: str, app_wants_usage: bool, operation: str = "chat"
) -> StreamTranslator:
    """Events from a ``source``-dialect upstream turned into the caller's ``target`` dialect."""
    if operation == "responses":
        from .dialects.responses_stream import ResponsesPassthroughObserver

        return ResponsesPassthroughObserver()
    if source == target:
        if target == "openai":
            return OpenAIPassthroughObserver(strip_usage_chunk=not app_wants_usage)
        return AnthropicPassthroughObserver()
    if source == "anthropic":
        return AnthropicToOpenAIStream(model=model, include_usage=app_wants_usage)
    return OpenAIToAnthropicStream(model=model)
