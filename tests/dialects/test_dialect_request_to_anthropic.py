"""OpenAI Chat Completions request -> Anthropic Messages request."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from llm_gateway_mw.dialects.requests import (
    PLACEHOLDER_USER_TEXT,
    openai_chat_to_anthropic,
)
from llm_gateway_mw.errors import InvalidRequestError, UnsupportedParameterError

from .request_samples import (
    AGENT_CONVERSATION,
    PNG,
    TIME_TOOL,
    WEATHER_TOOL,
    assert_valid_anthropic_request,
    to_anthropic,
    to_openai,
)


def test_simple_chat() -> None:
    out = to_anthropic({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]})
    assert out == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_agent_conversation_translates_fully() -> None:
    body = {
        "model": "gpt-4o",
        "messages": copy.deepcopy(AGENT_CONVERSATION),
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "max_completion_tokens": 300,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": "END",
        "user": "user-42",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    out = to_anthropic(body)
    assert out["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Use metric units."},
    ]
    assert out["max_tokens"] == 300
    assert out["temperature"] == 0.2 and out["top_p"] == 0.9
    assert out["stop_sequences"] == ["END"]
    assert out["metadata"] == {"user_id": "user-42"}
    assert out["stream"] is True and "stream_options" not in out
    assert out["tool_choice"] == {"type": "auto"}
    assert out["tools"][0] == {
        "name": "get_weather",
        "description": "Current weather for a city",
        "input_schema": WEATHER_TOOL["function"]["parameters"],  # type: ignore[index]
    }
    assert out["tools"][1]["input_schema"]["properties"] == {"tz": {"type": "string"}}
    user, assistant, results = out["messages"]
    assert user["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }
    assert user["content"][2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
    }
    assert assistant["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {"tz": "CET"}},
    ]
    assert results["content"][0] == {"type": "tool_result", "tool_use_id": "call_1", "content": "18C, cloudy"}
    assert results["content"][1]["content"] == [{"type": "text", "text": "14:05"}]
    # the user's follow-up merges into the tool-result turn, after the results
    assert results["content"][2] == {"type": "text", "text": "Thanks. And tomorrow?"}


def test_single_system_string_stays_a_string() -> None:
    out = to_anthropic(
        {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "x"}]}
    )
    assert out["system"] == "Be kind."


def test_system_message_in_the_middle_is_hoisted_in_order() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "A"},
            {"role": "user", "content": "u1"},
            {"role": "assistant", "content": "a1"},
            {"role": "system", "content": "B"},
            {"role": "user", "content": "u2"},
        ]
    }
    out = to_anthropic(body)
    assert out["system"] == [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]


def test_consecutive_same_role_messages_merge() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": "four"},
        ]
    }
    out = to_anthropic(body)
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "four"}],
        },
    ]


def test_conversation_starting_with_assistant_gets_a_user_turn_first() -> None:
    out = to_anthropic(
        {"messages": [{"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Hi"}]}
    )
    assert out["messages"][0] == {"role": "user", "content": PLACEHOLDER_USER_TEXT}


def test_system_only_conversation_gets_a_user_turn() -> None:
    out = to_anthropic({"messages": [{"role": "system", "content": "Say hi."}]})
    assert out["messages"] == [{"role": "user", "content": PLACEHOLDER_USER_TEXT}]


def test_empty_text_and_empty_assistant_messages_are_skipped() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "b"}]},
        ]
    }
    out = to_anthropic(body)
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_assistant_tool_call_without_text_and_empty_arguments() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "ping", "arguments": ""}}
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": ""},
        ]
    }
    out = to_anthropic(body)
    assert out["messages"][1]["content"] == [{"type": "tool_use", "id": "c", "name": "ping", "input": {}}]
    assert out["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": "c"}]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER_TOOL], "tool_choice": choice}
    assert to_anthropic(body)["tool_choice"] == expected


def test_tool_choice_auto_or_none_without_tools_is_left_out() -> None:
    for choice in ("auto", "none"):
        out = to_anthropic({"messages": [{"role": "user", "content": "x"}], "tool_choice": choice})
        assert "tool_choice" not in out
        back = to_openai(
            {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": choice}}
        )
        assert "tool_choice" not in back
    required = to_anthropic({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})
    assert required["tool_choice"] == {"type": "any"}


def test_parallel_tool_calls_false_disables_parallel_use() -> None:
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "tools": [WEATHER_TOOL],
        "parallel_tool_calls": False,
    }
    assert to_anthropic(body)["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    body["tool_choice"] = "required"
    assert to_anthropic(body)["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_max_tokens_sources() -> None:
    msgs = [{"role": "user", "content": "x"}]
    assert to_anthropic({"messages": msgs, "max_tokens": 50})["max_tokens"] == 50
    assert to_anthropic({"messages": msgs, "max_tokens": 50, "max_completion_tokens": 60})["max_tokens"] == 60
    assert to_anthropic({"messages": msgs}, default_max_tokens=1234)["max_tokens"] == 1234


def test_stop_list_and_neutral_values_are_accepted() -> None:
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "stop": ["a", "b"],
        "n": 1,
        "presence_penalty": 0,
        "frequency_penalty": 0.0,
        "logprobs": False,
        "logit_bias": {},
        "modalities": ["text"],
        "store": False,
        "response_format": {"type": "text"},
        "seed": None,
    }
    out = to_anthropic(body)
    assert out["stop_sequences"] == ["a", "b"]
    assert set(out) == {"model", "max_tokens", "messages", "stop_sequences"}


def test_json_schema_and_effort_become_output_config() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "r", "schema": schema, "strict": True},
        },
        "reasoning_effort": "high",
    }
    assert to_anthropic(body)["output_config"] == {
        "format": {"type": "json_schema", "schema": schema},
        "effort": "high",
    }


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n", 2),
        ("logprobs", True),
        ("top_logprobs", 3),
        ("presence_penalty", 0.5),
        ("frequency_penalty", -1),
        ("seed", 7),
        ("logit_bias", {"50256": -100}),
        ("audio", {"voice": "alloy", "format": "wav"}),
        ("modalities", ["text", "audio"]),
        ("prediction", {"type": "content", "content": "x"}),
        ("response_format", {"type": "json_object"}),
        ("reasoning_effort", "minimal"),
        ("service_tier", "flex"),
        ("metadata", {"k": "v"}),
        ("store", True),
        ("functions", [{"name": "f"}]),
        ("web_search_options", {}),
        ("verbosity", "low"),
        ("totally_made_up", 1),
        ("stream_options", {"include_usage": True, "future_option": 1}),
    ],
)
def test_inexpressible_parameters_raise_and_can_be_dropped(param: str, value: Any) -> None:
    body = {"messages": [{"role": "user", "content": "x"}], param: value}
    with pytest.raises(UnsupportedParameterError) as info:
        openai_chat_to_anthropic(body, model="m")
    assert info.value.target == "anthropic"
    assert info.value.parameter.split(".")[0] == param
    assert "drop_unsupported" in str(info.value)
    out = openai_chat_to_anthropic(body, model="m", drop_unsupported=True)
    assert param not in out and "stop_sequences" not in out
    assert_valid_anthropic_request(out)


def test_temperature_above_one_raises_or_clamps() -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "temperature": 1.5}
    with pytest.raises(UnsupportedParameterError, match="temperature"):
        openai_chat_to_anthropic(body, model="m")
    assert openai_chat_to_anthropic(body, model="m", drop_unsupported=True)["temperature"] == 1.0
    assert to_anthropic({**body, "temperature": 1})["temperature"] == 1


def test_message_level_unsupported_fields() -> None:
    named = {"messages": [{"role": "user", "content": "x", "name": "bob"}]}
    with pytest.raises(UnsupportedParameterError, match=r"messages\[0\]\.name"):
        openai_chat_to_anthropic(named, model="m")
    assert to_anthropic(named, drop_unsupported=True)["messages"] == [{"role": "user", "content": "x"}]
    audio = {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}
    with pytest.raises(UnsupportedParameterError, match=r"messages\[0\]\.content\[0\]"):
        openai_chat_to_anthropic(audio, model="m")
    gif = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AA"}}],
            }
        ]
    }
    with pytest.raises(UnsupportedParameterError, match="image/bmp"):
        openai_chat_to_anthropic(gif, model="m")


def test_cache_control_on_parts_is_carried() -> None:
    part = {"type": "text", "text": "long context", "cache_control": {"type": "ephemeral"}}
    out = to_anthropic({"messages": [{"role": "user", "content": [part]}]})
    assert out["messages"][0]["content"] == [part]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"messages": "hi"}, "'messages' must be a JSON array"),
        ({}, "'messages' must be a JSON array"),
        ({"messages": ["hi"]}, r"'messages\[0\]' must be a JSON object"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": 5}]}, "must be a JSON array"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": "10"}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"}, "tool_choice"),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}],
                    },
                ]
            },
            "arguments",
        ),
    ],
)
def test_invalid_shapes_raise_invalid_request(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidRequestError, match=fragment):
        openai_chat_to_anthropic(body, model="m")


def test_body_must_be_an_object() -> None:
    with pytest.raises(InvalidRequestError, match="request body"):
        openai_chat_to_anthropic([], model="m")  # type: ignore[arg-type]


def test_input_is_not_mutated() -> None:
    body = {"messages": copy.deepcopy(AGENT_CONVERSATION), "tools": [WEATHER_TOOL, TIME_TOOL]}
    snapshot = copy.deepcopy(body)
    openai_chat_to_anthropic(body, model="m")
    assert body == snapshot


def test_user_and_safety_identifier() -> None:
    msgs = [{"role": "user", "content": "x"}]
    assert to_anthropic({"messages": msgs, "safety_identifier": "s"})["metadata"] == {"user_id": "s"}
    assert to_anthropic({"messages": msgs, "user": "s", "safety_identifier": "s"})["metadata"] == {
        "user_id": "s"
    }
    both = {"messages": msgs, "user": "u", "safety_identifier": "s"}
    with pytest.raises(UnsupportedParameterError, match="'user'"):
        openai_chat_to_anthropic(both, model="m")
    assert to_anthropic(both, drop_unsupported=True)["metadata"] == {"user_id": "s"}
