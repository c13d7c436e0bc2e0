"""Message content in the GenAI conventions' JSON shape (v1.41), from either inbound dialect.

Only read when content capture is on. Every text, tool argument and tool result goes
through the redaction callable; images and files are reduced to their type (or their
URL), never their bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .names import INPUT_MESSAGES, OUTPUT_MESSAGES, SYSTEM_INSTRUCTIONS, TOOL_DEFINITIONS

__all__ = ["content_attributes"]

Redact = Callable[[str], str]
Part = dict[str, Any]
Message = dict[str, Any]


def content_attributes(
    dialect: str, request_body: Any, response_body: Any, redact: Redact | None
) -> dict[str, str]:
    """The ``gen_ai.*`` content attributes of a call, as JSON strings (absent when unknown)."""
    r: Redact = redact or _same
    request = _as_mapping(request_body)
    response = _as_mapping(response_body)
    out: dict[str, str] = {}
    if request is not None:
        if dialect == "anthropic":
            system = _anthropic_system(request.get("system"), r)
            messages = [_anthropic_message(m, r) for m in _dicts(request.get("messages"))]
        else:
            system = []
            messages = [_openai_message(m, r) for m in _dicts(request.get("messages"))]
        if messages:
            out[INPUT_MESSAGES] = _dumps(messages)
        if system:
            out[SYSTEM_INSTRUCTIONS] = _dumps(system)
        tools = [_tool_definition(t) for t in _dicts(request.get("tools"))]
        if tools:
            out[TOOL_DEFINITIONS] = _dumps(tools)
    if response is not None:
        if dialect == "anthropic":
            outputs = _anthropic_output(response, r)
        else:
            outputs = [_openai_choice(c, r) for c in _dicts(response.get("choices"))]
        if outputs:
            out[OUTPUT_MESSAGES] = _dumps(outputs)
    return out


def _same(text: str) -> str:
    return text


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _as_mapping(body: Any) -> Mapping[str, Any] | None:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, (bytes, bytearray, str)):
        try:
            decoded = json.loads(body)
        except ValueError:
            return None
        return decoded if isinstance(decoded, Mapping) else None
    return None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _walk(value: Any, r: Redact) -> Any:
    """Redact every string inside a JSON-like value (tool arguments and results)."""
    if isinstance(value, str):
        return r(value)
    if isinstance(value, Mapping):
        return {k: _walk(v, r) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, r) for v in value]
    return value


def _text(text: str, r: Redact) -> Part:
    return {"type": "text", "content": r(text)}


# --- OpenAI Chat Completions ------------------------------------------------------------


def _openai_parts(content: Any, r: Redact) -> list[Part]:
    if isinstance(content, str):
        return [_text(content, r)]
    parts: list[Part] = []
    for part in _dicts(content):
        kind = part.get("type")
        if kind in ("text", "refusal"):
            parts.append(_text(str(part.get(kind) or ""), r))
        elif kind == "image_url":
            url = (part.get("image_url") or {}).get("url")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                parts.append({"type": "uri", "modality": "image", "uri": url})
            else:
                parts.append({"type": "blob", "modality": "image"})
        else:
            parts.append({"type": str(kind)})
    return parts


def _openai_tool_calls(calls: Any, r: Redact) -> list[Part]:
    parts: list[Part] = []
    for call in _dicts(calls):
        function = call.get("function") or {}
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": _walk(function.get("arguments"), r),
            }
        )
    return parts


def _openai_message(message: Mapping[str, Any], r: Redact) -> Message:
    role = message.get("role") or "user"
    if role == "developer":
        role = "system"
    if role == "tool":
        response = message.get("content")
        if not isinstance(response, str):
            response = "".join(p.get("content", "") for p in _openai_parts(response, _same))
        parts = [{"type": "tool_call_response", "id": message.get("tool_call_id"), "response": r(response)}]
    else:
        parts = _openai_parts(message.get("content"), r) + _openai_tool_calls(message.get("tool_calls"), r)
    out: Message = {"role": role, "parts": parts}
    if isinstance(message.get("name"), str):
        out["name"] = message["name"]
    return out


def _openai_choice(choice: Mapping[str, Any], r: Redact) -> Message:
    message = choice.get("message") or {}
    parts = _openai_parts(message.get("content"), r)
    if isinstance(message.get("refusal"), str):
        parts.append(_text(message["refusal"], r))
    if isinstance(choice.get("text"), str):  # legacy completions
        parts.append(_text(choice["text"], r))
    parts += _openai_tool_calls(message.get("tool_calls"), r)
    return {
        "role": message.get("role") or "assistant",
        "parts": parts,
        "finish_reason": choice.get("finish_reason") or "error",
    }


# --- Anthropic Messages -----------------------------------------------------------------


def _anthropic_parts(content: Any, r: Redact) -> list[Part]:
    if isinstance(content, str):
        return [_text(content, r)]
    parts: list[Part] = []
    for block in _dicts(content):
        kind = block.get("type")
        if kind == "text":
            parts.append(_text(str(block.get("text") or ""), r))
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": r(str(block.get("thinking") or ""))})
        elif kind in ("tool_use", "server_tool_use"):
            parts.append(
                {
                    "type": "tool_call",
                    "id": block.get("id"),
                    "name": block.get("name"),
                    "arguments": _walk(block.get("input"), r),
                }
            )
        elif kind == "tool_result":
            result = block.get("content")
            response = _anthropic_parts(result, r) if isinstance(result, list) else _walk(result, r)
            parts.append({"type": "tool_call_response", "id": block.get("tool_use_id"), "response": response})
        else:
            parts.append({"type": str(kind)})
    return parts


def _anthropic_system(system: Any, r: Redact) -> list[Part]:
    return _anthropic_parts(system, r) if system else []


def _anthropic_message(message: Mapping[str, Any], r: Redact) -> Message:
    return {"role": message.get("role") or "user", "parts": _anthropic_parts(message.get("content"), r)}


def _anthropic_output(response: Mapping[str, Any], r: Redact) -> list[Message]:
    if "content" not in response:
        return []
    return [
        {
            "role": response.get("role") or "assistant",
            "parts": _anthropic_parts(response.get("content"), r),
            "finish_reason": response.get("stop_reason") or "error",
        }
    ]


def _tool_definition(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function")
    if isinstance(function, Mapping):  # OpenAI
        return {
            "type": tool.get("type") or "function",
            "name": function.get("name"),
            "description": function.get("description"),
            "parameters": function.get("parameters"),
        }
    if "input_schema" in tool:  # Anthropic client tool
        return {
            "type": "function",
            "name": tool.get("name"),
            "description": tool.get("description"),
            "parameters": tool.get("input_schema"),
        }
    return {"type": tool.get("type"), "name": tool.get("name")}  # server-side tool
