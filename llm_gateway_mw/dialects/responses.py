"""Non-streaming response bodies between the dialects, and what telemetry reads from them.

The translated bodies validate as ``openai.types.chat.ChatCompletion`` and
``anthropic.types.Message``. Thinking blocks are left out of OpenAI content (Chat
Completions has no place for them); OpenAI's refusal text becomes an Anthropic text
block with ``stop_reason: "refusal"``. Usage follows :mod:`.wire_usage`: OpenAI
``prompt_tokens`` include cached tokens, Anthropic ``input_tokens`` do not.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..usage import Usage
from .reasons import finish_reason_for, stop_reason_for
from .wire_usage import (
    anthropic_usage_payload,
    openai_usage_payload,
    usage_from_anthropic,
    usage_from_openai,
)

__all__ = [
    "RAW_ARGUMENTS_KEY",
    "anthropic_response_to_openai_chat",
    "finish_reasons_anthropic",
    "finish_reasons_openai",
    "openai_chat_response_to_anthropic",
    "usage_from_anthropic",
    "usage_from_openai",
]

RAW_ARGUMENTS_KEY = "_raw_arguments"
"""Key under which OpenAI tool-call arguments that are not a JSON object reach an Anthropic client.

A model cut short (``finish_reason: "length"``) can leave truncated JSON; Anthropic's
``tool_use.input`` must be an object, so the raw text is kept under this key, not lost.
"""


def anthropic_response_to_openai_chat(body: Mapping[str, Any], *, model: str) -> dict[str, Any]:
    """An Anthropic ``Message`` body as an OpenAI ``chat.completion`` body named ``model``."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in body.get("content") or []:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, separators=(",", ":"))
            calls.append(
                {
                    "id": str(block.get("id") or ""),
                    "type": "function",
                    "function": {"name": str(block.get("name") or ""), "arguments": arguments},
                }
            )
        # thinking, redacted_thinking and server-tool blocks have no Chat Completions form
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    stop_reason = body.get("stop_reason")
    out: dict[str, Any] = {
        "id": str(body.get("id") or f"chatcmpl-{uuid.uuid4().hex}"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason_for(stop_reason if isinstance(stop_reason, str) else None),
                "logprobs": None,
            }
        ],
    }
    usage = usage_from_anthropic(body)
    if usage is not None:
        out["usage"] = openai_usage_payload(usage)
    return out


def openai_chat_response_to_anthropic(body: Mapping[str, Any], *, model: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` body (first choice) as an Anthropic ``Message`` body named ``model``."""
    choices = body.get("choices") or []
    choice = choices[0] if choices and isinstance(choices[0], Mapping) else {}
    message = choice.get("message") or {}
    blocks: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, str) and content:
        blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):  # some OpenAI-compatible servers answer with parts
        text = "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
        if text:
            blocks.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        blocks.append({"type": "text", "text": refusal})
    for call in message.get("tool_calls") or []:
        fn = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(fn, Mapping):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": str(call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}"),
                    "name": str(fn.get("name") or ""),
                    "input": _tool_input(fn.get("arguments")),
                }
            )
    finish = choice.get("finish_reason")
    stop_reason = "refusal" if refusal else stop_reason_for(finish if isinstance(finish, str) else None)
    usage = usage_from_openai(body) or Usage()
    return {
        "id": str(body.get("id") or f"msg_{uuid.uuid4().hex}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": anthropic_usage_payload(usage),
    }


def _tool_input(arguments: object) -> dict[str, Any]:
    """OpenAI tool-call ``arguments`` (a JSON string) as an Anthropic ``input`` object."""
    if not arguments:
        return {}
    if isinstance(arguments, Mapping):
        return dict(arguments)
    try:
        parsed = json.loads(str(arguments))
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {RAW_ARGUMENTS_KEY: str(arguments)}


def finish_reasons_openai(body: Mapping[str, Any]) -> list[str]:
    """The finish reasons of an OpenAI body: each choice's, or a Responses API status."""
    choices = body.get("choices")
    if isinstance(choices, list):
        return [
            c["finish_reason"]
            for c in choices
            if isinstance(c, dict) and isinstance(c.get("finish_reason"), str)
        ]
    if body.get("object") == "response":
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        status = body.get("status")
        if isinstance(reason, str):
            return [reason]
        return [status] if isinstance(status, str) else []
    return []


def finish_reasons_anthropic(body: Mapping[str, Any]) -> list[str]:
    """The stop reason of an Anthropic message body (or of a ``message_delta`` event)."""
    reason = body.get("stop_reason")
    if reason is None:
        delta = body.get("delta")
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
    return [reason] if isinstance(reason, str) else []
