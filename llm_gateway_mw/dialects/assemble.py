"""A streamed reply, as the client received it, rebuilt into the equivalent whole reply body.

The response cache stores whole (non-streaming) bodies in the caller's dialect; for a
streamed call it captures the SSE bytes sent to the client and turns them back into the
body a non-streaming call would have returned: OpenAI ``chat.completion.chunk`` events
into a ``chat.completion``, Anthropic Messages events into a ``message``. Pure: bytes in,
JSON object out. A stream that is incomplete or carried an error raises ``ValueError``
(such a reply must not be cached).
"""

from __future__ import annotations

import json
from typing import Any

from . import Dialect
from .sse import SSEEvent, SSEParser

__all__ = ["assemble", "assemble_anthropic_message", "assemble_openai_chat", "parse_sse"]


def parse_sse(sse: bytes) -> list[SSEEvent]:
    """Every event in a whole SSE byte string."""
    parser = SSEParser()
    return parser.feed(sse) + parser.flush()


def assemble(dialect: Dialect, sse: bytes) -> dict[str, Any]:
    """The whole reply body equivalent to the ``dialect`` stream ``sse``."""
    events = parse_sse(sse)
    if dialect == "openai":
        return assemble_openai_chat(events)
    return assemble_anthropic_message(events)


def _load(event: SSEEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.data)
    except ValueError:
        raise ValueError(f"the stream has an event that is not JSON: {event.data[:80]!r}") from None
    if not isinstance(data, dict):
        raise ValueError("the stream has an event that is not a JSON object")
    if data.get("type") == "error" or ("error" in data and data.get("type") is None):
        raise ValueError("the stream carried an error event")
    return data


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _new_choice() -> dict[str, Any]:
    return {"role": "assistant", "content": [], "refusal": [], "tools": {}, "finish": None, "logprobs": None}


def assemble_openai_chat(events: list[SSEEvent]) -> dict[str, Any]:
    """``chat.completion`` from ``chat.completion.chunk`` events (``[DONE]`` ends them)."""
    head: dict[str, Any] = {}
    usage: Any = None
    choices: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.data.startswith("[DONE]"):
            break
        chunk = _load(event)
        for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
            if head.get(key) is None and chunk.get(key) is not None:
                head[key] = chunk[key]
        if chunk.get("usage") is not None:
            usage = chunk["usage"]
        for raw in chunk.get("choices") or []:
            if not isinstance(raw, dict):
                continue
            state = choices.setdefault(int(raw.get("index", 0)), _new_choice())
            _absorb_choice(state, raw)
    if not choices or any(state["finish"] is None for state in choices.values()):
        raise ValueError("the stream ended before every choice finished")
    body: dict[str, Any] = {
        "id": head.get("id"),
        "object": "chat.completion",
        "created": head.get("created", 0),
        "model": head.get("model", ""),
        "choices": [_choice_body(index, choices[index]) for index in sorted(choices)],
    }
    for key in ("system_fingerprint", "service_tier"):
        if key in head:
            body[key] = head[key]
    if usage is not None:
        body["usage"] = usage
    return body


def _absorb_choice(state: dict[str, Any], raw: dict[str, Any]) -> None:
    delta = raw.get("delta")
    delta = delta if isinstance(delta, dict) else {}
    if isinstance(delta.get("role"), str):
        state["role"] = delta["role"]
    state["content"].append(_text(delta.get("content")))
    state["refusal"].append(_text(delta.get("refusal")))
    for call in delta.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        slot = state["tools"].setdefault(
            int(call.get("index", 0)), {"id": None, "type": "function", "name": "", "arguments": []}
        )
        if call.get("id"):
            slot["id"] = call["id"]
        function = call.get("function")
        if isinstance(function, dict):
            slot["name"] += _text(function.get("name"))
            slot["arguments"].append(_text(function.get("arguments")))
    logprobs = raw.get("logprobs")
    if isinstance(logprobs, dict):
        merged = state["logprobs"] or {"content": [], "refusal": None}
        for key in ("content", "refusal"):
            if isinstance(logprobs.get(key), list):
                merged[key] = (merged.get(key) or []) + logprobs[key]
        state["logprobs"] = merged
    if isinstance(raw.get("finish_reason"), str):
        state["finish"] = raw["finish_reason"]


def _choice_body(index: int, state: dict[str, Any]) -> dict[str, Any]:
    content = "".join(state["content"])
    refusal = "".join(state["refusal"])
    calls = [
        {
            "id": slot["id"],
            "type": slot["type"],
            "function": {"name": slot["name"], "arguments": "".join(slot["arguments"])},
        }
        for _, slot in sorted(state["tools"].items())
    ]
    message: dict[str, Any] = {
        "role": state["role"],
        "content": content if content or not (calls or refusal) else None,
        "refusal": refusal or None,
    }
    if calls:
        message["tool_calls"] = calls
    return {
        "index": index,
        "message": message,
        "logprobs": state["logprobs"],
        "finish_reason": state["finish"],
    }


def assemble_anthropic_message(events: list[SSEEvent]) -> dict[str, Any]:
    """Anthropic ``message`` from ``message_start`` … ``message_stop`` events."""
    message: dict[str, Any] | None = None
    blocks: dict[int, dict[str, Any]] = {}
    json_parts: dict[int, list[str]] = {}
    stopped = False
    for event in events:
        data = _load(event)
        kind = data.get("type") or event.event
        if kind == "message_start" and isinstance(data.get("message"), dict):
            message = dict(data["message"])
            message["usage"] = dict(message.get("usage") or {})
        elif kind == "content_block_start" and isinstance(data.get("content_block"), dict):
            index = int(data.get("index", 0))
            blocks[index] = dict(data["content_block"])
            if blocks[index].get("type") in ("tool_use", "server_tool_use", "mcp_tool_use"):
                json_parts[index] = []
        elif kind == "content_block_delta":
            _absorb_block_delta(blocks, json_parts, data)
        elif kind == "content_block_stop":
            index = int(data.get("index", 0))
            parts = json_parts.pop(index, None)
            if parts is not None and index in blocks:
                text = "".join(parts)
                blocks[index]["input"] = json.loads(text) if text else blocks[index].get("input") or {}
        elif kind == "message_delta" and message is not None:
            delta = data.get("delta")
            if isinstance(delta, dict):
                message.update({k: delta[k] for k in ("stop_reason", "stop_sequence") if k in delta})
            if isinstance(data.get("usage"), dict):
                message["usage"].update({k: v for k, v in data["usage"].items() if v is not None})
        elif kind == "message_stop":
            stopped = True
    if message is None or not stopped:
        raise ValueError("the stream ended before message_stop")
    message["content"] = [blocks[index] for index in sorted(blocks)]
    return message


def _absorb_block_delta(
    blocks: dict[int, dict[str, Any]], json_parts: dict[int, list[str]], data: dict[str, Any]
) -> None:
    index = int(data.get("index", 0))
    block = blocks.get(index)
    delta = data.get("delta")
    if block is None or not isinstance(delta, dict):
        return
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = _text(block.get("text")) + _text(delta.get("text"))
    elif kind == "input_json_delta" and index in json_parts:
        json_parts[index].append(_text(delta.get("partial_json")))
    elif kind == "thinking_delta":
        block["thinking"] = _text(block.get("thinking")) + _text(delta.get("thinking"))
    elif kind == "signature_delta":
        block["signature"] = _text(delta.get("signature"))
    elif kind == "citations_delta" and isinstance(delta.get("citation"), dict):
        block["citations"] = [*(block.get("citations") or []), delta["citation"]]
