"""Anthropic Messages request body -> OpenAI Chat Completions request body.

* The top-level ``system`` becomes the first message (role ``system``).
* ``tool_result`` blocks of a user message become ``tool`` messages placed before the
  rest of that message (OpenAI wants them right after the assistant's tool calls); a
  result flagged ``is_error`` keeps its text, prefixed with :data:`TOOL_ERROR_PREFIX`,
  because OpenAI tool messages have no error flag.
* ``thinking`` and ``redacted_thinking`` blocks of earlier assistant turns are left out:
  OpenAI has nowhere to put them, and Anthropic itself ignores them in earlier turns.
* ``cache_control`` marks (top-level and on blocks) are left out: they are caching hints
  that do not change the answer, and OpenAI caches prompt prefixes by itself.
* ``max_tokens`` becomes ``max_completion_tokens`` (the form reasoning models accept);
  a streaming request gets ``stream_options: {"include_usage": true}`` so usage arrives.

Anything else OpenAI cannot express is refused (see :class:`ParameterPolicy`), never
dropped unasked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from .images import anthropic_image_to_openai
from .request_rules import ParameterPolicy, expect_list, expect_mapping, expect_str

__all__ = ["TOOL_ERROR_PREFIX", "anthropic_to_openai_chat"]

TOOL_ERROR_PREFIX = "Error: "
"""Put before the text of a ``tool_result`` marked ``is_error`` when it becomes an OpenAI tool message."""

_REFUSED_REASONS: dict[str, str] = {
    "top_k": "OpenAI has no top-k sampling",
    "thinking": "OpenAI Chat Completions has no thinking configuration; use reasoning models' defaults",
    "container": "OpenAI has no containers",
    "context_management": "OpenAI Chat Completions has no context management",
    "mcp_servers": "OpenAI Chat Completions cannot call MCP servers",
    "diagnostics": "OpenAI has no request diagnostics",
    "inference_geo": "OpenAI has no per-request inference region",
    "speed": "OpenAI has no speed setting",
    "user_profile_id": "OpenAI has no user profiles",
    "workspace_id": "OpenAI has no workspaces",
}
_COPIED = ("temperature", "top_p")
_JOINT = {"model", "messages", "system", "max_tokens", "stream", "tools", "tool_choice", "cache_control"}


def anthropic_to_openai_chat(
    body: Mapping[str, Any], *, model: str, drop_unsupported: bool = False
) -> dict[str, Any]:
    """Translate a Messages request to a Chat Completions request for ``model``."""
    policy = ParameterPolicy("openai", drop_unsupported)
    body = expect_mapping(body, "request body")
    out: dict[str, Any] = {"model": model}
    messages = _system_messages(body.get("system"), policy)
    for i, raw in enumerate(expect_list(body.get("messages"), "messages")):
        messages.extend(_message(expect_mapping(raw, f"messages[{i}]"), f"messages[{i}]", policy))
    out["messages"] = messages
    max_tokens = body.get("max_tokens")
    if max_tokens is not None:
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
            raise InvalidRequestError("'max_tokens' must be a non-negative integer.")
        out["max_completion_tokens"] = max_tokens
    if body.get("stream") is not None:
        out["stream"] = bool(body["stream"])
        if out["stream"]:
            out["stream_options"] = {"include_usage": True}
    for key, value in body.items():
        if key in _JOINT or value is None:
            continue
        if key in _COPIED:
            out[key] = value
        elif key == "stop_sequences":
            stops = [expect_str(s, "stop_sequences[]") for s in expect_list(value, "stop_sequences")]
            if stops:
                out["stop"] = stops
        elif key == "metadata":
            _metadata(expect_mapping(value, "metadata"), out, policy)
        elif key == "output_config":
            _output_config(expect_mapping(value, "output_config"), out, policy)
        elif key == "service_tier":
            tier = {"auto": "auto", "standard_only": "default"}.get(value)
            if tier is None:
                policy.refuse("service_tier", "OpenAI knows only auto and standard_only (default)")
            else:
                out["service_tier"] = tier
        else:
            policy.refuse(
                key, _REFUSED_REASONS.get(key, "it is not a Messages parameter the gateway can translate")
            )
    _tools(body, out, policy)
    return out


def _metadata(metadata: Mapping[str, Any], out: dict[str, Any], policy: ParameterPolicy) -> None:
    for key, value in metadata.items():
        if key == "user_id":
            if value is not None:
                out["user"] = expect_str(value, "metadata.user_id")
        elif value is not None:
            policy.refuse(f"metadata.{key}", "OpenAI has no such metadata")


def _output_config(config: Mapping[str, Any], out: dict[str, Any], policy: ParameterPolicy) -> None:
    for key, value in config.items():
        if value is None:
            continue
        if key == "effort":
            out["reasoning_effort"] = value
        elif key == "format":
            fmt = expect_mapping(value, "output_config.format")
            if fmt.get("type") != "json_schema":
                policy.refuse("output_config.format", f"OpenAI has no {fmt.get('type')!r} output format")
                continue
            schema = dict(expect_mapping(fmt.get("schema"), "output_config.format.schema"))
            # Anthropic's structured output always follows the schema: ask OpenAI for the same.
            out["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": schema, "strict": True},
            }
        else:
            policy.refuse(f"output_config.{key}", "OpenAI has no such output option")


def _tools(body: Mapping[str, Any], out: dict[str, Any], policy: ParameterPolicy) -> None:
    tools: list[dict[str, Any]] = []
    for j, raw in enumerate(expect_list(body.get("tools") or [], "tools")):
        tool = _tool(expect_mapping(raw, f"tools[{j}]"), f"tools[{j}]", policy)
        if tool is not None:
            tools.append(tool)
    if tools:
        out["tools"] = tools
    if body.get("tool_choice") is None:
        return
    choice = expect_mapping(body["tool_choice"], "tool_choice")
    kind = choice.get("type")
    if kind in ("auto", "any", "none"):
        out["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[str(kind)]
    elif kind == "tool":
        name = expect_str(choice.get("name"), "tool_choice.name")
        out["tool_choice"] = {"type": "function", "function": {"name": name}}
    else:
        raise InvalidRequestError("'tool_choice.type' must be auto, any, tool or none.")
    if not tools and out["tool_choice"] in ("auto", "none"):
        del out["tool_choice"]  # without tools, auto and none say nothing (and OpenAI rejects them)
    if choice.get("disable_parallel_tool_use") and tools:
        out["parallel_tool_calls"] = False


def _tool(tool: Mapping[str, Any], where: str, policy: ParameterPolicy) -> dict[str, Any] | None:
    if tool.get("type") not in (None, "custom"):
        policy.refuse(where, f"server tool {tool.get('type')!r} has no OpenAI equivalent")
        return None
    fn: dict[str, Any] = {"name": expect_str(tool.get("name"), f"{where}.name")}
    if tool.get("description") is not None:
        fn["description"] = expect_str(tool["description"], f"{where}.description")
    fn["parameters"] = dict(expect_mapping(tool.get("input_schema"), f"{where}.input_schema"))
    if tool.get("strict") is not None:
        fn["strict"] = bool(tool["strict"])
    for key, value in tool.items():
        if (
            key not in ("type", "name", "description", "input_schema", "strict", "cache_control")
            and value is not None
        ):
            policy.refuse(f"{where}.{key}", "OpenAI function tools have no such field")
    return {"type": "function", "function": fn}


def _system_messages(system: Any, policy: ParameterPolicy) -> list[dict[str, Any]]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    parts = _parts(expect_list(system, "system"), "system", policy, allowed=("text",))
    if not parts:
        return []
    return [{"role": "system", "content": _collapse(parts)}]


def _message(message: Mapping[str, Any], where: str, policy: ParameterPolicy) -> list[dict[str, Any]]:
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise InvalidRequestError(f"'{where}.role' must be user or assistant, got {role!r}.")
    for key in message:
        if key not in ("role", "content"):
            policy.refuse(f"{where}.{key}", "OpenAI messages have no such field")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = expect_list(content, f"{where}.content")
    if role == "assistant":
        return [_assistant(blocks, where, policy)]
    out: list[dict[str, Any]] = []
    rest: list[Any] = []
    for k, raw in enumerate(blocks):
        block = expect_mapping(raw, f"{where}.content[{k}]")
        if block.get("type") == "tool_result":
            out.append(_tool_message(block, f"{where}.content[{k}]", policy))
        else:
            rest.append((k, block))
    parts = _indexed_parts(rest, where, policy, allowed=("text", "image"))
    if parts:
        out.append({"role": "user", "content": _collapse(parts)})
    return out


def _assistant(blocks: list[Any], where: str, policy: ParameterPolicy) -> dict[str, Any]:
    texts: list[Any] = []
    calls: list[dict[str, Any]] = []
    for k, raw in enumerate(blocks):
        block = expect_mapping(raw, f"{where}.content[{k}]")
        kind = block.get("type")
        if kind == "tool_use":
            calls.append(
                {
                    "id": expect_str(block.get("id"), f"{where}.content[{k}].id"),
                    "type": "function",
                    "function": {
                        "name": expect_str(block.get("name"), f"{where}.content[{k}].name"),
                        "arguments": json.dumps(block.get("input") or {}, separators=(",", ":")),
                    },
                }
            )
        elif kind not in ("thinking", "redacted_thinking"):
            texts.append((k, block))
    message: dict[str, Any] = {"role": "assistant"}
    parts = _indexed_parts(texts, where, policy, allowed=("text",))
    message["content"] = _collapse(parts) if parts else (None if calls else "")
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_message(block: Mapping[str, Any], where: str, policy: ParameterPolicy) -> dict[str, Any]:
    call_id = expect_str(block.get("tool_use_id"), f"{where}.tool_use_id")
    for key, value in block.items():
        if key not in ("type", "tool_use_id", "content", "is_error", "cache_control") and value is not None:
            policy.refuse(f"{where}.{key}", "OpenAI tool messages have no such field")
    content = block.get("content")
    parts: list[dict[str, Any]]
    if content is None or isinstance(content, str):
        parts = [{"type": "text", "text": content or ""}]
    else:
        parts = _parts(
            expect_list(content, f"{where}.content"), f"{where}.content", policy, allowed=("text",)
        )
        parts = parts or [{"type": "text", "text": ""}]
    if block.get("is_error"):
        parts[0] = {"type": "text", "text": TOOL_ERROR_PREFIX + str(parts[0]["text"])}
    return {"role": "tool", "tool_call_id": call_id, "content": _collapse(parts)}


def _parts(
    blocks: list[Any], where: str, policy: ParameterPolicy, *, allowed: tuple[str, ...]
) -> list[dict[str, Any]]:
    return _indexed_parts(list(enumerate(blocks)), where, policy, allowed=allowed, nested=False)


def _indexed_parts(
    blocks: list[Any],
    where: str,
    policy: ParameterPolicy,
    *,
    allowed: tuple[str, ...],
    nested: bool = True,
) -> list[dict[str, Any]]:
    """Text and image blocks as OpenAI content parts; ``blocks`` holds (index, block) pairs."""
    parts: list[dict[str, Any]] = []
    for k, raw in blocks:
        block_where = f"{where}.content[{k}]" if nested else f"{where}[{k}]"
        block = expect_mapping(raw, block_where)
        kind = block.get("type")
        part: dict[str, Any] | None = None
        if kind not in allowed:
            policy.refuse(block_where, f"content type {kind!r} has no OpenAI equivalent here")
        elif kind == "text":
            part = {"type": "text", "text": expect_str(block.get("text"), f"{block_where}.text")}
            known: tuple[str, ...] = ("type", "text", "cache_control")
        else:
            part = anthropic_image_to_openai(block, block_where, policy)
            known = ("type", "source", "cache_control")
        if part is None:
            continue
        for key, value in block.items():
            if key not in known and value is not None:
                policy.refuse(f"{block_where}.{key}", "OpenAI content parts have no such field")
        parts.append(part)
    return parts


def _collapse(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A single text part as a plain string, otherwise the list of parts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return str(parts[0]["text"])
    return parts
