"""Request bodies shared by the request tests, and the structural rules each API enforces."""

from __future__ import annotations

import itertools
import json
from typing import Any

from llm_gateway_mw.dialects.requests import (
    anthropic_to_openai_chat,
    openai_chat_to_anthropic,
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}

AGENT_CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Weather and time in Paris? Also, what is in this picture?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}},
        ],
    },
    {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz":"CET"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18C, cloudy"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "14:05"}]},
    {"role": "user", "content": "Thanks. And tomorrow?"},
]


def assert_valid_anthropic_request(req: dict[str, Any]) -> None:
    """The rules the Messages API enforces on a request's structure."""
    assert isinstance(req["model"], str) and req["model"]
    assert isinstance(req["max_tokens"], int)
    messages = req["messages"]
    assert messages, "at least one message"
    assert messages[0]["role"] == "user", "first turn is the user's"
    for m in messages:
        assert set(m) == {"role", "content"}
        assert m["role"] in ("user", "assistant"), "system is top-level only"
    for prev, cur in itertools.pairwise(messages):
        assert prev["role"] != cur["role"], "roles alternate"
    for i, m in enumerate(messages):
        blocks = m["content"] if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
        for b in blocks:
            if b["type"] == "text":
                assert b["text"], "text blocks are non-empty"
        tool_uses = [b["id"] for b in blocks if b["type"] == "tool_use"]
        if tool_uses:
            assert m["role"] == "assistant"
            nxt = messages[i + 1]
            assert isinstance(nxt["content"], list)
            results = [b for b in nxt["content"] if b["type"] == "tool_result"]
            assert [b["tool_use_id"] for b in results] == tool_uses, "each tool_use answered in the next turn"
            kinds = [b["type"] for b in nxt["content"]]
            assert kinds[: len(results)] == ["tool_result"] * len(results), "tool results come first"
    system = req.get("system")
    if system is not None:
        assert isinstance(system, str) or all(b["type"] == "text" for b in system)


def assert_valid_openai_request(req: dict[str, Any]) -> None:
    """Chat Completions structure: tool messages right after the assistant's tool calls."""
    pending: list[str] = []
    for m in req["messages"]:
        assert m["role"] in ("system", "developer", "user", "assistant", "tool")
        if m["role"] == "tool":
            assert m["tool_call_id"] in pending
            pending.remove(m["tool_call_id"])
            continue
        assert not pending, "tool results must directly follow the tool calls"
        if m["role"] == "assistant":
            pending = [c["id"] for c in m.get("tool_calls", [])]
            for c in m.get("tool_calls", []):
                assert isinstance(json.loads(c["function"]["arguments"]), dict)


ANTHROPIC_AGENT: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 512,
    "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather in Paris? And this image?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {"tz": "CET"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "14:05"}],
                },
                {"type": "text", "text": "Thanks!"},
            ],
        },
    ],
    "tools": [
        {
            "name": "get_weather",
            "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            "cache_control": {"type": "ephemeral"},
        },
        {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}},
    ],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    "stop_sequences": ["END"],
    "temperature": 0.5,
    "top_p": 0.8,
    "metadata": {"user_id": "u-1"},
    "stream": True,
}


def to_anthropic(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    out = openai_chat_to_anthropic(body, model="claude-sonnet-4-5", **kwargs)
    assert_valid_anthropic_request(out)
    return out


def to_openai(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    out = anthropic_to_openai_chat(body, model="gpt-4o", **kwargs)
    assert_valid_openai_request(out)
    return out
