"""Request validation for the OpenAI routes, with the real API's messages and codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ApiError

CHAT_PARAMS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
        "top_logprobs", "user", "tools", "tool_choice", "parallel_tool_calls", "response_format", "seed",
        "service_tier", "store", "metadata", "reasoning_effort", "modalities", "audio", "prediction",
        "web_search_options", "verbosity", "safety_identifier", "prompt_cache_key",
        # also sent by openai-python 3.x
        "functions", "function_call", "moderation", "prompt_cache_options", "prompt_cache_retention",
    }
)  # fmt: skip
EMBEDDING_PARAMS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})
RESPONSES_PARAMS = frozenset(
    {
        "model", "input", "instructions", "stream", "stream_options", "temperature", "top_p", "top_logprobs",
        "max_output_tokens", "max_tool_calls", "tools", "tool_choice", "parallel_tool_calls",
        "previous_response_id", "conversation", "store", "metadata", "reasoning", "text", "truncation",
        "user", "include", "background", "background_options", "service_tier", "prompt", "prompt_cache_key",
        "prompt_cache_options", "prompt_cache_retention", "safety_identifier", "context_management",
        "moderation", "image", "access_programs",
    }
)  # fmt: skip
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
USER_PART_TYPES = ("text", "image_url", "input_audio", "file")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", param, code)


def check_unknown(body: Mapping[str, Any], known: frozenset[str]) -> None:
    """400 for the first top-level parameter the API does not know."""
    for key in body:
        if key not in known:
            raise _bad(f"Unrecognized request argument supplied: {key}")


def check_range(body: Mapping[str, Any], name: str, low: float, high: float) -> None:
    """400 when ``body[name]`` is not a number within ``[low, high]``."""
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(
            f"Invalid type for '{name}': expected a decimal, but got a {type(value).__name__} instead.",
            name,
            "invalid_type",
        )
    if value > high:
        raise _bad(
            f"Invalid '{name}': decimal above maximum value. Expected a value <= {high:g}, but got "
            f"{value:g} instead.",
            name,
            "decimal_above_max_value",
        )
    if value < low:
        raise _bad(
            f"Invalid '{name}': decimal below minimum value. Expected a value >= {low:g}, but got "
            f"{value:g} instead.",
            name,
            "decimal_below_min_value",
        )


def _require_model(body: Mapping[str, Any]) -> None:
    if "model" not in body or body["model"] in (None, ""):
        raise _bad("you must provide a model parameter")
    if not isinstance(body["model"], str):
        raise _bad("Invalid type for 'model': expected a string.", "model", "invalid_type")


def _check_content(i: int, role: str, msg: Mapping[str, Any]) -> None:
    content = msg.get("content")
    has_calls = bool(msg.get("tool_calls") or msg.get("function_call"))
    if content is None:
        if role == "assistant" and (has_calls or msg.get("refusal") or msg.get("audio")):
            return
        raise _bad(
            f"Missing required parameter: 'messages[{i}].content'.",
            f"messages[{i}].content",
            "missing_required_parameter",
        )
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _bad(
            f"Invalid type for 'messages[{i}].content': expected one of a string or array of objects, "
            f"but got {type(content).__name__} instead.",
            f"messages[{i}].content",
            "invalid_type",
        )
    allowed = USER_PART_TYPES if role == "user" else ("text", "refusal")
    for j, part in enumerate(content):
        where = f"messages[{i}].content[{j}]"
        if not isinstance(part, Mapping) or part.get("type") not in allowed:
            kind = part.get("type") if isinstance(part, Mapping) else part
            raise _bad(
                f"Invalid value: '{kind}'. Supported values are: "
                + ", ".join(f"'{t}'" for t in allowed)
                + ".",
                f"{where}.type",
                "invalid_value",
            )
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise _bad(
                f"Missing required parameter: '{where}.text'.", f"{where}.text", "missing_required_parameter"
            )
        if part["type"] == "image_url" and not isinstance(part.get("image_url"), Mapping):
            raise _bad(
                f"Missing required parameter: '{where}.image_url'.",
                f"{where}.image_url",
                "missing_required_parameter",
            )


def _check_tool_calls(i: int, calls: list[Any]) -> None:
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not call.get("id") or not isinstance(fn.get("name"), str):
            raise _bad(
                f"Missing required parameter: 'messages[{i}].tool_calls[{j}].function'.",
                f"messages[{i}].tool_calls[{j}].function",
                "missing_required_parameter",
            )


def _check_tool_sequence(messages: list[Mapping[str, Any]]) -> None:
    """Tool messages answer a preceding assistant ``tool_calls``; every call gets an answer."""
    pending: dict[str, int] = {}  # tool_call_id -> index of the assistant message
    open_idx: int | None = None
    for i, msg in enumerate(messages):
        role = msg["role"]
        if role == "tool":
            if open_idx is None or msg.get("tool_call_id") not in pending:
                raise _bad(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            pending.pop(msg["tool_call_id"])
            continue
        if pending:
            break
        open_idx = None
        if role == "assistant" and msg.get("tool_calls"):
            open_idx = i
            pending = {str(c.get("id")): i for c in msg["tool_calls"] if isinstance(c, Mapping)}
    if pending:
        idx = next(iter(pending.values()))
        raise _bad(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            "'tool_call_id'. The following tool_call_ids did not have response messages: "
            + ", ".join(str(k) for k in pending),
            f"messages.[{idx}].role",
        )


def _check_messages(body: Mapping[str, Any]) -> None:
    if "messages" not in body:
        raise _bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise _bad(
            f"Invalid type for 'messages': expected an array, but got {type(messages).__name__} instead.",
            "messages",
            "invalid_type",
        )
    if not messages:
        raise _bad(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty "
            "array instead.",
            "messages",
            "empty_array",
        )
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping):
            raise _bad(
                f"Invalid type for 'messages[{i}]': expected an object, but got "
                f"{type(msg).__name__} instead.",
                f"messages[{i}]",
                "invalid_type",
            )
        role = msg.get("role")
        if role is None:
            raise _bad(
                f"Missing required parameter: 'messages[{i}].role'.",
                f"messages[{i}].role",
                "missing_required_parameter",
            )
        if role not in ROLES:
            raise _bad(
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                "'function', 'tool', and 'developer'.",
                f"messages[{i}].role",
                "invalid_value",
            )
        if role == "tool" and not msg.get("tool_call_id"):
            raise _bad(
                f"Missing required parameter: 'messages[{i}].tool_call_id'.",
                f"messages[{i}].tool_call_id",
                "missing_required_parameter",
            )
        _check_content(i, role, msg)
        if role == "assistant":
            _check_tool_calls(i, msg.get("tool_calls") or [])
    _check_tool_sequence(messages)


def _check_tools(body: Mapping[str, Any]) -> None:
    tools = body.get("tools")
    if tools is None:
        if body.get("tool_choice") is not None:
            raise _bad(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                "tool_choice",
            )
        return
    if not isinstance(tools, list):
        raise _bad("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or tool.get("type") not in ("function", "custom"):
            raise _bad(
                f"Missing required parameter: 'tools[{i}].type'.",
                f"tools[{i}].type",
                "missing_required_parameter",
            )
        spec = tool.get(tool["type"])
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if not isinstance(name, str):
            raise _bad(
                f"Missing required parameter: 'tools[{i}].{tool['type']}.name'.",
                f"tools[{i}].{tool['type']}.name",
                "missing_required_parameter",
            )
        if not TOOL_NAME.match(name):
            raise _bad(
                f"Invalid 'tools[{i}].{tool['type']}.name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                f"tools[{i}].{tool['type']}.name",
                "invalid_value",
            )


def validate_chat(body: Mapping[str, Any]) -> None:
    """Validate a ``POST /v1/chat/completions`` body."""
    check_unknown(body, CHAT_PARAMS)
    _require_model(body)
    _check_messages(body)
    check_range(body, "temperature", 0, 2)
    check_range(body, "top_p", 0, 1)
    check_range(body, "presence_penalty", -2, 2)
    check_range(body, "frequency_penalty", -2, 2)
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128):
        raise _bad(f"Invalid 'n': expected an integer between 1 and 128, got {n!r}.", "n", "invalid_value")
    if body.get("stream_options") is not None and body.get("stream") is not True:
        raise _bad(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    _check_tools(body)


def validate_embeddings(body: Mapping[str, Any]) -> None:
    """Validate a ``POST /v1/embeddings`` body."""
    check_unknown(body, EMBEDDING_PARAMS)
    _require_model(body)
    value = body.get("input")
    if value is None:
        raise _bad("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    if value == "" or value == []:
        raise _bad(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-"
            "reference.",
            "input",
        )
    if body.get("encoding_format", "float") not in ("float", "base64"):
        raise _bad(
            f"Invalid value: '{body['encoding_format']}'. Supported values are: 'float' and 'base64'.",
            "encoding_format",
            "invalid_value",
        )
    dims = body.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or dims < 1):
        raise _bad(f"Invalid value for 'dimensions' = {dims}. Must be greater than 0.", "dimensions")


def validate_responses(body: Mapping[str, Any]) -> None:
    """Validate a ``POST /v1/responses`` body."""
    check_unknown(body, RESPONSES_PARAMS)
    _require_model(body)
    if body.get("input") is None and not body.get("previous_response_id") and not body.get("prompt"):
        raise _bad("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    check_range(body, "temperature", 0, 2)
    check_range(body, "top_p", 0, 1)
    tools = body.get("tools") or []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("type"), str):
            raise _bad(
                f"Missing required parameter: 'tools[{i}].type'.",
                f"tools[{i}].type",
                "missing_required_parameter",
            )
        if tool["type"] == "function" and not isinstance(tool.get("name"), str):
            raise _bad(
                f"Missing required parameter: 'tools[{i}].name'.",
                f"tools[{i}].name",
                "missing_required_parameter",
            )
