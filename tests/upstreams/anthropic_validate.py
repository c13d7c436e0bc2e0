"""Request validation for ``POST /v1/messages``, with the real API's error messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ApiError

MESSAGE_PARAMS = frozenset(
    {
        "model", "messages", "system", "max_tokens", "metadata", "stop_sequences", "stream", "temperature",
        "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers",
        # also sent by anthropic-python 2.x
        "cache_control", "diagnostics", "inference_geo", "output_config", "speed", "context_management",
    }
)  # fmt: skip
COUNT_TOKENS_PARAMS = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "cache_control",
     "output_config", "context_management"}
)  # fmt: skip
BLOCK_TYPES = (
    "text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use", "tool_result",
    "server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
    "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "tool_search_tool_result",
    "container_upload", "mcp_tool_use", "mcp_tool_result",
)  # fmt: skip
USER_ONLY = ("tool_result", "image", "document", "search_result")
ASSISTANT_ONLY = ("tool_use", "thinking", "redacted_thinking", "server_tool_use")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


def _bad(message: str) -> ApiError:
    return ApiError(400, message, "invalid_request_error")


def _check_number(body: Mapping[str, Any], name: str, low: float, high: float | None) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"{name}: Input should be a valid number")
    if high is not None and value > high:
        raise _bad(f"{name}: Input should be less than or equal to {high:g}")
    if value < low:
        raise _bad(f"{name}: Input should be greater than or equal to {low:g}")


def _block_ids(content: Any, block_type: str, key: str) -> list[str]:
    if not isinstance(content, list):
        return []
    return [str(b.get(key)) for b in content if isinstance(b, Mapping) and b.get("type") == block_type]


def _check_block(where: str, role: str, block: Any) -> None:
    if not isinstance(block, Mapping):
        raise _bad(f"{where}: Input should be a valid dictionary or object to extract fields from")
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        expected = ", ".join(f"'{t}'" for t in BLOCK_TYPES)
        raise _bad(
            f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected tags: "
            f"{expected}"
        )
    if role == "assistant" and kind in USER_ONLY:
        raise _bad(f"{where}.type: `{kind}` blocks can only be in `user` messages")
    if role == "user" and kind in ASSISTANT_ONLY:
        raise _bad(f"{where}.type: `{kind}` blocks can only be in `assistant` messages")
    if kind == "text" and not isinstance(block.get("text"), str):
        raise _bad(f"{where}.text: Field required")
    if kind == "text" and not block["text"]:
        raise _bad("messages: text content blocks must be non-empty")
    if kind == "tool_use":
        for key in ("id", "name", "input"):
            if key not in block:
                raise _bad(f"{where}.tool_use.{key}: Field required")
        if not isinstance(block["input"], Mapping):
            raise _bad(f"{where}.tool_use.input: Input should be a valid dictionary")
    if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
        raise _bad(f"{where}.tool_result.tool_use_id: Field required")
    if kind == "image" and not isinstance(block.get("source"), Mapping):
        raise _bad(f"{where}.image.source: Field required")


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise _bad("messages: Input should be a valid list")
    if not messages:
        raise _bad("messages: at least one message is required")
    previous_role: str | None = None
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            raise _bad(f"messages.{i}: Input should be a valid dictionary or object to extract fields from")
        role = msg.get("role")
        if role == "system":
            raise _bad(
                'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
                'parameter, not "system" as an input message role.'
            )
        if role not in ("user", "assistant"):
            raise _bad(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in msg:
            raise _bad(f"messages.{i}.content: Field required")
        if i == 0 and role != "user":
            raise _bad('messages: first message must use the "user" role')
        if role == previous_role:
            raise _bad(
                'messages: roles must alternate between "user" and "assistant", but found multiple '
                f'"{role}" roles in a row'
            )
        previous_role = role
        content = msg["content"]
        if isinstance(content, str):
            if not content and not (role == "assistant" and i == len(messages) - 1):
                raise _bad(
                    f"messages.{i}: all messages must have non-empty content except for the optional "
                    "final assistant message"
                )
        elif isinstance(content, list):
            if not content and not (role == "assistant" and i == len(messages) - 1):
                raise _bad(
                    f"messages.{i}: all messages must have non-empty content except for the optional "
                    "final assistant message"
                )
            for j, block in enumerate(content):
                _check_block(f"messages.{i}.content.{j}", role, block)
        else:
            raise _bad(f"messages.{i}.content: Input should be a valid string or list")
    _check_tool_pairs(messages)
    last = messages[-1]
    text = last["content"] if isinstance(last["content"], str) else ""
    if last["role"] == "assistant" and text != text.rstrip():
        raise _bad("messages: final assistant content cannot end with trailing whitespace")


def _check_tool_pairs(messages: list[Mapping[str, Any]]) -> None:
    for i, msg in enumerate(messages):
        if msg["role"] == "user":
            offered = set(_block_ids(messages[i - 1]["content"], "tool_use", "id")) if i else set()
            for j, tid in enumerate(_block_ids(msg["content"], "tool_result", "tool_use_id")):
                if tid not in offered:
                    raise _bad(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                        f"blocks: {tid}. Each `tool_result` block must have a corresponding `tool_use` "
                        "block in the previous message."
                    )
        if msg["role"] == "assistant" and i + 1 < len(messages):
            answered = set(_block_ids(messages[i + 1]["content"], "tool_result", "tool_use_id"))
            missing = [t for t in _block_ids(msg["content"], "tool_use", "id") if t not in answered]
            if missing:
                raise _bad(
                    f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message."
                )


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _bad("system: Input should be a valid string or list")
    for j, block in enumerate(system):
        if (
            not isinstance(block, Mapping)
            or block.get("type") != "text"
            or not isinstance(block.get("text"), str)
        ):
            raise _bad(f"system.{j}: Input should be a text block")


def _check_tools(body: Mapping[str, Any]) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _bad("tools: Input should be a valid list")
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping):
                raise _bad(f"tools.{i}: Input should be a valid dictionary")
            name = tool.get("name")
            if not isinstance(name, str):
                raise _bad(f"tools.{i}.name: Field required")
            if not TOOL_NAME.match(name):
                raise _bad(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), Mapping):
                raise _bad(f"tools.{i}.custom.input_schema: Field required")
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, Mapping) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise _bad(
                "tool_choice: Input tag found using 'type' does not match any of the expected tags: "
                "'auto', 'any', 'tool', 'none'"
            )
        if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
            raise _bad("tool_choice.tool.name: Field required")


def _check_common(body: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in body:
        if key not in known:
            raise _bad(f"{key}: Extra inputs are not permitted")
    if "model" not in body:
        raise _bad("model: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise _bad("model: Input should be a valid string")
    if "messages" not in body:
        raise _bad("messages: Field required")
    _check_system(body.get("system"))
    _check_messages(body["messages"])
    _check_tools(body)


def validate_messages(body: Mapping[str, Any]) -> None:
    """Validate a ``POST /v1/messages`` body."""
    _check_common(body, MESSAGE_PARAMS)
    if "max_tokens" not in body:
        raise _bad("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise _bad("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise _bad("max_tokens: Input should be greater than or equal to 1")
    _check_number(body, "temperature", 0, 1)
    _check_number(body, "top_p", 0, 1)
    _check_number(body, "top_k", 0, None)
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise _bad("stop_sequences: Input should be a valid list of strings")
    thinking = body.get("thinking")
    if isinstance(thinking, Mapping) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise _bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= max_tokens:
            raise _bad(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
                "#max-tokens-and-context-window-size"
            )


def validate_count_tokens(body: Mapping[str, Any]) -> None:
    """Validate a ``POST /v1/messages/count_tokens`` body."""
    _check_common(body, COUNT_TOKENS_PARAMS)
