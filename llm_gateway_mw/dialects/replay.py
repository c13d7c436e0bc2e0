"""A whole reply body rendered as the stream a streaming call would have received.

The response cache serves a streamed request from a stored whole body (see
``assemble``): OpenAI ``chat.completion`` → ``chat.completion.chunk`` events ending in
``data: [DONE]`` (a usage chunk only when the request asked with
``stream_options.include_usage``); Anthropic ``message`` → ``message_start``, one
``content_block_start``/``_delta``/``_stop`` run per block, ``message_delta`` and
``message_stop``. Pure: JSON object in, SSE bytes out; each text arrives in one delta.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import Dialect
from .sse import SSEEvent, encode_event

__all__ = ["anthropic_events", "openai_chunks", "replay"]

_DONE = SSEEvent("[DONE]")
_TOOL_USE = ("tool_use", "server_tool_use", "mcp_tool_use")


def replay(dialect: Dialect, body: Mapping[str, Any], *, include_usage: bool = False) -> bytes:
    """``body`` as the SSE bytes of the equivalent ``dialect`` stream."""
    events = (
        openai_chunks(body, include_usage=include_usage) if dialect == "openai" else anthropic_events(body)
    )
    return b"".join(encode_event(event) for event in events)


def _dump(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def openai_chunks(body: Mapping[str, Any], *, include_usage: bool) -> list[SSEEvent]:
    """The ``chat.completion.chunk`` events of a ``chat.completion`` body."""
    head: dict[str, Any] = {
        "id": body.get("id"),
        "object": "chat.completion.chunk",
        "created": body.get("created", 0),
        "model": body.get("model", ""),
    }
    for key in ("system_fingerprint", "service_tier"):
        if body.get(key) is not None:
            head[key] = body[key]

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> SSEEvent:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return SSEEvent(_dump({**head, "choices": [choice]}))

    out: list[SSEEvent] = []
    for choice in body.get("choices") or []:
        index = int(choice.get("index", 0))
        message = choice.get("message") or {}
        out.append(chunk(index, {"role": message.get("role", "assistant"), "content": ""}))
        if message.get("content"):
            out.append(chunk(index, {"content": message["content"]}, logprobs=choice.get("logprobs")))
        if message.get("refusal"):
            out.append(chunk(index, {"refusal": message["refusal"]}))
        for position, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") or {}
            delta = {
                "index": position,
                "id": call.get("id"),
                "type": call.get("type", "function"),
                "function": {"name": function.get("name", ""), "arguments": function.get("arguments", "")},
            }
            out.append(chunk(index, {"tool_calls": [delta]}))
        out.append(chunk(index, {}, choice.get("finish_reason") or "stop"))
    if include_usage and body.get("usage") is not None:
        out.append(SSEEvent(_dump({**head, "choices": [], "usage": body["usage"]})))
    out.append(_DONE)
    return out


def _event(name: str, payload: dict[str, Any]) -> SSEEvent:
    return SSEEvent(_dump({"type": name, **payload}), name)


def anthropic_events(body: Mapping[str, Any]) -> list[SSEEvent]:
    """The Messages stream events of a ``message`` body."""
    usage = dict(body.get("usage") or {})
    start = {
        "id": body.get("id"),
        "type": "message",
        "role": body.get("role", "assistant"),
        "model": body.get("model", ""),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 0},
    }
    out = [_event("message_start", {"message": start})]
    for index, block in enumerate(body.get("content") or []):
        out.extend(_block_events(index, block))
    delta = {"stop_reason": body.get("stop_reason"), "stop_sequence": body.get("stop_sequence")}
    out.append(_event("message_delta", {"delta": delta, "usage": usage}))
    out.append(_event("message_stop", {}))
    return out


def _block_events(index: int, block: Mapping[str, Any]) -> list[SSEEvent]:
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        if block.get("text"):
            deltas.append({"type": "text_delta", "text": block["text"]})
        deltas.extend({"type": "citations_delta", "citation": c} for c in block.get("citations") or [])
    elif kind in _TOOL_USE:
        opening = {**block, "input": {}}
        if block.get("input"):
            deltas.append({"type": "input_json_delta", "partial_json": _dump(block["input"])})
    elif kind == "thinking":
        opening = {"type": "thinking", "thinking": "", "signature": ""}
        if block.get("thinking"):
            deltas.append({"type": "thinking_delta", "thinking": block["thinking"]})
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:  # redacted thinking, server tool results...: whole in their start event
        opening = dict(block)
    out = [_event("content_block_start", {"index": index, "content_block": opening})]
    out.extend(_event("content_block_delta", {"index": index, "delta": delta}) for delta in deltas)
    out.append(_event("content_block_stop", {"index": index}))
    return out
