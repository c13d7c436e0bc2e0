"""Successful Anthropic replies: messages (JSON and SSE), token counts, models."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .behaviours import Usage
from .ids import message_id, toolu_id
from .wire import Context, Payload, SseEvent, estimate_tokens, split_json, split_text

DEFAULT_MODELS = ("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-7")


def _usage(usage: Usage, inp: int, out: int) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_creation_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": out,
        "service_tier": "standard",
    }


def _content(ctx: Context) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    calls = ctx.reply.tool_calls if ctx.has_tools else ()
    if ctx.text or not calls:
        blocks.append({"type": "text", "text": ctx.text})
    for call in calls:
        blocks.append(
            {"type": "tool_use", "id": call.id or toolu_id(), "name": call.name, "input": call.arguments_obj}
        )
    return blocks


def stream_error_event(error_type: str, message: str) -> SseEvent:
    """Anthropic's in-band ``event: error`` (e.g. ``overloaded_error`` mid-stream)."""
    return SseEvent.json({"type": "error", "error": {"type": error_type, "message": message}}, event="error")


def create_message(ctx: Context) -> Payload:
    """``POST /v1/messages``: a ``message`` object or its event stream."""
    blocks = _content(ctx)
    extra = sum(estimate_tokens(b["input"]) + 3 for b in blocks if b["type"] == "tool_use")
    usage, inp, out = ctx.usage(output_extra=extra)
    has_tool_use = any(b["type"] == "tool_use" for b in blocks)
    stop_reason = ctx.reply.stop_reason or ("tool_use" if has_tool_use else "end_turn")
    message = {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(usage, inp, out),
    }
    if not ctx.stream:
        return Payload(body=message)
    return Payload(events=_stream(message, blocks, usage, inp, out))


def _event(kind: str, **fields: Any) -> SseEvent:
    return SseEvent.json({"type": kind, **fields}, event=kind)


def _stream(
    message: dict[str, Any], blocks: Sequence[dict[str, Any]], usage: Usage, inp: int, out: int
) -> list[SseEvent]:
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(usage, inp, 1),
    }
    events = [_event("message_start", message=start)]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            events.append(
                _event("content_block_start", index=index, content_block={"type": "text", "text": ""})
            )
            if index == 0:
                events.append(_event("ping"))
            events += [
                _event("content_block_delta", index=index, delta={"type": "text_delta", "text": piece})
                for piece in split_text(block["text"])
            ]
        else:
            head = {**block, "input": {}}
            events.append(_event("content_block_start", index=index, content_block=head))
            if index == 0:
                events.append(_event("ping"))
            arguments = "" if not block["input"] else _compact(block["input"])
            fragments = [""] + (split_json(arguments) if arguments else [])
            events += [
                _event(
                    "content_block_delta",
                    index=index,
                    delta={"type": "input_json_delta", "partial_json": frag},
                )
                for frag in fragments
            ]
        events.append(_event("content_block_stop", index=index))
    delta_usage = {
        "input_tokens": inp,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": out,
    }
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(_event("message_delta", delta=delta, usage=delta_usage))
    events.append(_event("message_stop"))
    return events


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def count_tokens(ctx: Context) -> Payload:
    """``POST /v1/messages/count_tokens``."""
    _, inp, _ = ctx.usage()
    return Payload(body={"input_tokens": inp})


def models(names: Sequence[str]) -> Payload:
    """``GET /v1/models`` in Anthropic's shape (chosen when ``anthropic-version`` is sent)."""
    data = [
        {
            "type": "model",
            "id": name,
            "display_name": name,
            "created_at": "2025-09-29T00:00:00Z",
            "lifecycle": "active",
            "deprecated_at": None,
            "retires_at": None,
        }
        for name in names
    ]
    return Payload(
        body={
            "data": data,
            "has_more": False,
            "first_id": names[0] if names else None,
            "last_id": names[-1] if names else None,
        }
    )
