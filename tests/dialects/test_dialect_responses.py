"""Non-streaming response translation, validated by the real SDK models and clients; usage readers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

from llm_gateway_mw.dialects.responses import (
    RAW_ARGUMENTS_KEY,
    anthropic_response_to_openai_chat,
    finish_reasons_anthropic,
    finish_reasons_openai,
    openai_chat_response_to_anthropic,
    usage_from_anthropic,
    usage_from_openai,
)
from llm_gateway_mw.usage import Usage

from .sdk_clients import Reply, anthropic_client, anthropic_knows_stop_reason, openai_client, thinking_tokens

ANTHROPIC_MESSAGE: dict[str, Any] = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "Need the weather tool.", "signature": "EqQBCgIYAhIM"},
        {"type": "text", "text": "Let me check "},
        {"type": "text", "text": "the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A",
            "name": "get_weather",
            "input": {"city": "Paris", "unit": "c"},
        },
        {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 100,
        "cache_creation_input_tokens": 20,
        "cache_read_input_tokens": 300,
        "output_tokens": 80,
        "output_tokens_details": {"thinking_tokens": 30},
    },
}

OPENAI_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Checking both.",
                "refusal": None,
                "annotations": [],
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 10, "audio_tokens": 0},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}


def validate_message(body: dict[str, Any]) -> Message:
    """``Message.model_validate``; a stop reason older SDKs do not list is checked by hand."""
    if not anthropic_knows_stop_reason(str(body["stop_reason"])):
        return Message.model_validate({**body, "stop_reason": None}).model_copy(
            update={"stop_reason": body["stop_reason"]}
        )
    return Message.model_validate(body)


def test_anthropic_message_to_chat_completion() -> None:
    out = anthropic_response_to_openai_chat(ANTHROPIC_MESSAGE, model="my-alias")
    completion = ChatCompletion.model_validate(out)
    assert completion.id == ANTHROPIC_MESSAGE["id"]
    assert completion.model == "my-alias"
    assert isinstance(completion.created, int) and completion.created > 1_700_000_000
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check the weather."
    calls = [c for c in choice.message.tool_calls or [] if c.type == "function"]
    assert [c.id for c in calls] == ["toolu_01A", "toolu_01B"]
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris", "unit": "c"}
    assert json.loads(calls[1].function.arguments) == {}
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == 420 and usage.completion_tokens == 80 and usage.total_tokens == 500
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 300
    assert usage.prompt_tokens_details.cache_write_tokens == 20
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 30


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_stop_reason_mapping(stop_reason: str, finish_reason: str) -> None:
    body = {**ANTHROPIC_MESSAGE, "content": [{"type": "text", "text": "x"}], "stop_reason": stop_reason}
    completion = ChatCompletion.model_validate(anthropic_response_to_openai_chat(body, model="m"))
    assert completion.choices[0].finish_reason == finish_reason
    assert completion.choices[0].message.tool_calls is None


def test_empty_anthropic_content_gives_empty_text() -> None:
    body = {**ANTHROPIC_MESSAGE, "content": [], "stop_reason": "end_turn"}
    completion = ChatCompletion.model_validate(anthropic_response_to_openai_chat(body, model="m"))
    assert completion.choices[0].message.content == ""


def test_openai_completion_to_anthropic_message() -> None:
    out = openai_chat_response_to_anthropic(OPENAI_COMPLETION, model="claude-alias")
    message = validate_message(out)
    assert message.id == OPENAI_COMPLETION["id"]
    assert message.model == "claude-alias" and message.role == "assistant" and message.type == "message"
    assert message.stop_reason == "tool_use" and message.stop_sequence is None
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[0].text == "Checking both."  # type: ignore[union-attr]
    tool = message.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_a", "get_weather", {"city": "Paris"})
    assert message.usage.input_tokens == 1117 - 1024
    assert message.usage.cache_read_input_tokens == 1024
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.output_tokens == 46
    assert thinking_tokens(message.usage) == 10


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reason_mapping(finish: str, stop: str) -> None:
    body = json.loads(json.dumps(OPENAI_COMPLETION))
    body["choices"][0]["finish_reason"] = finish
    body["choices"][0]["message"]["tool_calls"] = None
    assert validate_message(openai_chat_response_to_anthropic(body, model="m")).stop_reason == stop


def test_openai_refusal_becomes_refusal_stop() -> None:
    body = json.loads(json.dumps(OPENAI_COMPLETION))
    body["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "refusal": "I can't help with that.",
    }
    body["choices"][0]["finish_reason"] = "stop"
    message = validate_message(openai_chat_response_to_anthropic(body, model="m"))
    assert message.stop_reason == "refusal"
    assert message.content[0].text == "I can't help with that."  # type: ignore[union-attr]


def test_truncated_tool_arguments_are_kept_raw() -> None:
    body = json.loads(json.dumps(OPENAI_COMPLETION))
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"city": "Pa'
    body["choices"][0]["finish_reason"] = "length"
    message = validate_message(openai_chat_response_to_anthropic(body, model="m"))
    assert message.content[1].input == {RAW_ARGUMENTS_KEY: '{"city": "Pa'}  # type: ignore[union-attr]
    assert message.stop_reason == "max_tokens"


def test_openai_response_without_usage() -> None:
    body = {k: v for k, v in OPENAI_COMPLETION.items() if k != "usage"}
    message = validate_message(openai_chat_response_to_anthropic(body, model="m"))
    assert message.usage.input_tokens == 0 and message.usage.output_tokens == 0


def test_translated_bodies_through_the_real_clients() -> None:
    to_openai = anthropic_response_to_openai_chat(ANTHROPIC_MESSAGE, model="alias")
    completion = openai_client(Reply(json.dumps(to_openai).encode())).chat.completions.create(
        model="alias", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == "Let me check the weather."
    assert completion.usage is not None and completion.usage.prompt_tokens == 420

    to_anthropic = openai_chat_response_to_anthropic(OPENAI_COMPLETION, model="alias")
    message = anthropic_client(Reply(json.dumps(to_anthropic).encode())).messages.create(
        model="alias", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.stop_reason == "tool_use" and message.usage.cache_read_input_tokens == 1024


def test_round_trip_anthropic_openai_anthropic() -> None:
    back = openai_chat_response_to_anthropic(
        anthropic_response_to_openai_chat(ANTHROPIC_MESSAGE, model="a"), model="b"
    )
    assert back["content"] == [
        {"type": "text", "text": "Let me check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A",
            "name": "get_weather",
            "input": {"city": "Paris", "unit": "c"},
        },
        {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
    ]
    assert back["stop_reason"] == "tool_use"
    assert usage_from_anthropic(back) == usage_from_anthropic(ANTHROPIC_MESSAGE)


# --- usage and finish reasons -----------------------------------------------------------------


def test_usage_from_openai_chat() -> None:
    assert usage_from_openai(OPENAI_COMPLETION) == Usage(
        input_tokens=1117, output_tokens=46, cache_read_tokens=1024, reasoning_tokens=10
    )


def test_usage_from_openai_responses_api() -> None:
    body = {
        "object": "response",
        "status": "completed",
        "usage": {
            "input_tokens": 328,
            "input_tokens_details": {"cached_tokens": 128},
            "output_tokens": 52,
            "output_tokens_details": {"reasoning_tokens": 20},
            "total_tokens": 380,
        },
    }
    assert usage_from_openai(body) == Usage(
        input_tokens=328, output_tokens=52, cache_read_tokens=128, reasoning_tokens=20
    )
    event = {"type": "response.completed", "response": body}
    assert usage_from_openai(event) == usage_from_openai(body)


def test_usage_from_openai_embeddings_and_missing() -> None:
    embeddings = {"object": "list", "data": [], "usage": {"prompt_tokens": 8, "total_tokens": 8}}
    assert usage_from_openai(embeddings) == Usage(input_tokens=8)
    assert usage_from_openai({"choices": []}) is None
    assert usage_from_openai({"usage": None}) is None


def test_usage_from_anthropic() -> None:
    assert usage_from_anthropic(ANTHROPIC_MESSAGE) == Usage(
        input_tokens=420, output_tokens=80, cache_read_tokens=300, cache_write_tokens=20, reasoning_tokens=30
    )
    message_start = {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}
    assert usage_from_anthropic(message_start) == Usage(input_tokens=5, output_tokens=1)
    assert usage_from_anthropic({"content": []}) is None


def test_finish_reasons() -> None:
    assert finish_reasons_openai(OPENAI_COMPLETION) == ["tool_calls"]
    two = {"choices": [{"index": 0, "finish_reason": "stop"}, {"index": 1, "finish_reason": "length"}]}
    assert finish_reasons_openai(two) == ["stop", "length"]
    assert finish_reasons_openai({"choices": [{"index": 0, "finish_reason": None}]}) == []
    incomplete = {
        "object": "response",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
    }
    assert finish_reasons_openai(incomplete) == ["max_output_tokens"]
    assert finish_reasons_openai({"object": "response", "status": "completed"}) == ["completed"]
    assert finish_reasons_anthropic(ANTHROPIC_MESSAGE) == ["tool_use"]
    assert finish_reasons_anthropic({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}) == [
        "end_turn"
    ]
    assert finish_reasons_anthropic({"stop_reason": None}) == []
