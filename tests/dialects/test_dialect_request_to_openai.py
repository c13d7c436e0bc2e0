"""Anthropic Messages request -> OpenAI Chat Completions request."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from llm_gateway_mw.dialects.requests import (
    TOOL_ERROR_PREFIX,
    anthropic_to_openai_chat,
)
from llm_gateway_mw.errors import InvalidRequestError, UnsupportedParameterError

from .request_samples import (
    ANTHROPIC_AGENT,
    PNG,
    to_openai,
)


def test_anthropic_agent_conversation() -> None:
    out = to_openai(copy.deepcopy(ANTHROPIC_AGENT))
    assert out["model"] == "gpt-4o"
    assert out["max_completion_tokens"] == 512
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert out["stop"] == ["END"]
    assert out["temperature"] == 0.5 and out["top_p"] == 0.8
    assert out["user"] == "u-1"
    assert out["tool_choice"] == "required" and out["parallel_tool_calls"] is False
    assert out["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    system, user, assistant, tool1, tool2, follow_up = out["messages"]
    assert system == {"role": "system", "content": "You are terse."}
    assert user["content"][1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    assert user["content"][2] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    assert assistant == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "toolu_2",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz":"CET"}'},
            },
        ],
    }
    assert tool1 == {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"}
    assert tool2 == {"role": "tool", "tool_call_id": "toolu_2", "content": "14:05"}
    assert follow_up == {"role": "user", "content": "Thanks!"}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "get_time"}, {"type": "function", "function": {"name": "get_time"}}),
    ],
)
def test_anthropic_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    body = {**ANTHROPIC_AGENT, "tool_choice": choice}
    out = to_openai(body)
    assert out["tool_choice"] == expected
    assert "parallel_tool_calls" not in out


def test_tool_result_error_keeps_its_text_with_a_prefix() -> None:
    body = {
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t", "is_error": True, "content": "boom"}],
            },
        ],
    }
    out = to_openai(body)
    assert out["messages"][1]["content"] is None
    assert out["messages"][2] == {"role": "tool", "tool_call_id": "t", "content": TOOL_ERROR_PREFIX + "boom"}


def test_structured_output_and_effort() -> None:
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    body = {
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}, "effort": "low"},
    }
    out = to_openai(body)
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema, "strict": True},
    }
    assert out["reasoning_effort"] == "low"
    assert "stream_options" not in out


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("top_k", 5),
        ("thinking", {"type": "enabled", "budget_tokens": 2048}),
        ("container", "c-1"),
        ("mcp_servers", [{"type": "url", "url": "https://x", "name": "x"}]),
        ("inference_geo", "us"),
        ("speed", "fast"),
        ("service_tier", "priority"),
        ("metadata", {"user_id": "u", "other": 1}),
        ("something_new", True),
        ("tools", [{"type": "web_search_20250305", "name": "web_search"}]),
    ],
)
def test_anthropic_inexpressible_parameters(param: str, value: Any) -> None:
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "x"}], param: value}
    with pytest.raises(UnsupportedParameterError) as info:
        anthropic_to_openai_chat(body, model="gpt-4o")
    assert info.value.target == "openai"
    assert info.value.parameter.startswith(param)
    out = anthropic_to_openai_chat(body, model="gpt-4o", drop_unsupported=True)
    assert param not in out or param == "metadata"


def test_anthropic_unsupported_content_blocks() -> None:
    doc = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "AA"}}
    body = {
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [doc, {"type": "text", "text": "sum"}]}],
    }
    with pytest.raises(UnsupportedParameterError, match=r"messages\[0\]\.content\[0\]"):
        anthropic_to_openai_chat(body, model="m")
    assert to_openai(body, drop_unsupported=True)["messages"] == [{"role": "user", "content": "sum"}]
    image_result = {
        "type": "tool_result",
        "tool_use_id": "t",
        "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}],
    }
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": [image_result]}]}
    with pytest.raises(UnsupportedParameterError, match=r"messages\[0\]\.content\[0\]\.content\[0\]"):
        anthropic_to_openai_chat(body, model="m")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"messages": {"role": "user"}}, "'messages' must be a JSON array"),
        ({"messages": [{"role": "system", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": None}]}, "content"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "maybe"}}, "tool_choice"),
        ({"messages": [{"role": "user", "content": [{"type": "image", "source": "x"}]}]}, "source"),
    ],
)
def test_anthropic_invalid_shapes(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidRequestError, match=fragment):
        anthropic_to_openai_chat(body, model="m")
