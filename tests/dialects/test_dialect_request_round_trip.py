"""Requests translated there and back keep their meaning."""

from __future__ import annotations

import copy
import json

from .request_samples import (
    AGENT_CONVERSATION,
    ANTHROPIC_AGENT,
    TIME_TOOL,
    WEATHER_TOOL,
    to_anthropic,
    to_openai,
)


def test_openai_round_trip_preserves_meaning() -> None:
    original = {
        "messages": copy.deepcopy(AGENT_CONVERSATION),
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "max_completion_tokens": 200,
        "temperature": 0.3,
        "stop": ["x", "y"],
        "user": "u",
    }
    anthropic_body = to_anthropic(original)
    back = to_openai(anthropic_body)
    assert back["tools"] == [WEATHER_TOOL, TIME_TOOL]
    assert back["tool_choice"] == original["tool_choice"]
    assert back["parallel_tool_calls"] is False
    assert back["max_completion_tokens"] == 200
    assert back["temperature"] == 0.3 and back["stop"] == ["x", "y"] and back["user"] == "u"
    roles = [m["role"] for m in back["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool", "user"]
    assert back["messages"][0]["content"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Use metric units."},
    ]
    original_user = AGENT_CONVERSATION[2]["content"]
    assert back["messages"][1]["content"][0] == original_user[0]
    assert back["messages"][1]["content"][1] == original_user[1]
    assert back["messages"][1]["content"][2]["image_url"]["url"] == original_user[2]["image_url"]["url"]
    assistant = back["messages"][2]
    assert assistant["content"] == "Checking."
    for got, want in zip(assistant["tool_calls"], AGENT_CONVERSATION[3]["tool_calls"], strict=True):
        assert got["id"] == want["id"] and got["function"]["name"] == want["function"]["name"]
        assert json.loads(got["function"]["arguments"]) == json.loads(want["function"]["arguments"])
    assert back["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "18C, cloudy"}
    assert back["messages"][4] == {"role": "tool", "tool_call_id": "call_2", "content": "14:05"}
    assert back["messages"][5] == {"role": "user", "content": "Thanks. And tomorrow?"}


def test_anthropic_round_trip_preserves_meaning() -> None:
    original = copy.deepcopy(ANTHROPIC_AGENT)
    back = to_anthropic(to_openai(original))
    assert back["max_tokens"] == 512 and back["stop_sequences"] == ["END"]
    assert back["system"] == "You are terse."
    assert back["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert [t["name"] for t in back["tools"]] == ["get_weather", "get_time"]
    assert back["metadata"] == {"user_id": "u-1"}
    assert back["messages"][0]["content"] == original["messages"][0]["content"]
    # thinking is not carried to OpenAI, the rest of the assistant turn is
    assert back["messages"][1]["content"] == original["messages"][1]["content"][1:]
    assert back["messages"][2]["content"][0] == original["messages"][2]["content"][0]
    assert back["messages"][2]["content"][1] == {
        "type": "tool_result",
        "tool_use_id": "toolu_2",
        "content": "14:05",
    }
    assert back["messages"][2]["content"][2] == {"type": "text", "text": "Thanks!"}
