"""OpenAI upstream stream -> Anthropic client, reassembled by the real anthropic SDK."""

from __future__ import annotations

import json

import anthropic
import pytest

from llm_gateway_mw.dialects.sse import SSEEvent
from llm_gateway_mw.dialects.streams import OpenAIToAnthropicStream
from llm_gateway_mw.usage import Usage

from .sdk_clients import anthropic_error_fields
from .stream_samples import (
    OPENAI_TEXT_AND_PARALLEL_TOOLS,
    OPENAI_TEXT_NO_USAGE,
    OPENAI_USAGE,
    anthropic_client,
    data_events,
    openai_chunk,
    openai_sse,
    run,
    stream_message,
)


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_openai_to_anthropic_stream_helper(size: int) -> None:
    translator = OpenAIToAnthropicStream(model="alias")
    message = stream_message(anthropic_client(run(translator, OPENAI_TEXT_AND_PARALLEL_TOOLS, size), size=5))
    assert message.model == "alias"
    assert message.id == "chatcmpl-BRjLbDw8Xl"
    assert message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[0].text == "Checking both."  # type: ignore[union-attr]
    weather, time_call = message.content[1], message.content[2]
    assert weather.type == "tool_use" and time_call.type == "tool_use"
    assert (weather.id, weather.name, weather.input) == (
        "call_DdmO9pD3xa9XTPNJ32zg2hcA",
        "get_weather",
        {"location": "Paris"},
    )
    assert (time_call.id, time_call.name, time_call.input) == ("call_ABC", "get_time", {"tz": "CET"})
    assert message.usage.output_tokens == 46
    if "input_tokens" in anthropic.types.MessageDeltaUsage.model_fields:
        # OpenAI reports input usage only at the end, so it rides on message_delta, which
        # SDKs older than that field ignore (they keep message_start's zero).
        assert message.usage.input_tokens == 1117 - 1024
        assert message.usage.cache_read_input_tokens == 1024
    delta = next(
        e
        for e in data_events(run(OpenAIToAnthropicStream(model="a"), OPENAI_TEXT_AND_PARALLEL_TOOLS))
        if e.event == "message_delta"
    )
    assert json.loads(delta.data)["usage"] == {
        "input_tokens": 93,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1024,
        "output_tokens": 46,
    }
    assert translator.completed
    assert translator.finish_reasons == ["tool_calls"]
    assert translator.response_id == "chatcmpl-BRjLbDw8Xl"
    assert translator.response_model == "gpt-4o-2024-08-06"
    assert translator.usage == Usage(input_tokens=1117, output_tokens=46, cache_read_tokens=1024)


def test_openai_to_anthropic_event_sequence() -> None:
    events = data_events(run(OpenAIToAnthropicStream(model="alias"), OPENAI_TEXT_AND_PARALLEL_TOOLS))
    names = [e.event for e in events]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    payloads = [json.loads(e.data) for e in events]
    assert [p["index"] for p in payloads if p["type"] == "content_block_start"] == [0, 1, 2]
    assert all(p["type"] == e.event for p, e in zip(payloads, events, strict=True))


def test_openai_to_anthropic_without_usage_or_done() -> None:
    translator = OpenAIToAnthropicStream(model="alias")
    upstream = OPENAI_TEXT_NO_USAGE[: -len(b"data: [DONE]\n\n")]
    body = run(translator, upstream)
    assert not translator.completed and translator.usage is None
    message = stream_message(anthropic_client(body))
    assert message.content[0].text == "Hello world"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 0 and message.usage.input_tokens == 0


def test_openai_usage_in_the_finish_chunk_is_used() -> None:
    upstream = openai_sse(
        [openai_chunk({"role": "assistant", "content": "Hi"}), openai_chunk({}, "length", usage=OPENAI_USAGE)]
    )
    translator = OpenAIToAnthropicStream(model="alias")
    message = stream_message(anthropic_client(run(translator, upstream)))
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 46


def test_openai_refusal_stream() -> None:
    upstream = openai_sse(
        [
            openai_chunk({"role": "assistant", "content": None, "refusal": ""}),
            openai_chunk({"refusal": "I can't help"}),
            openai_chunk({"refusal": " with that."}),
            openai_chunk({}, "stop"),
        ]
    )
    message = stream_message(anthropic_client(run(OpenAIToAnthropicStream(model="alias"), upstream)))
    assert message.stop_reason == "refusal"
    assert message.content[0].text == "I can't help with that."  # type: ignore[union-attr]


def test_openai_error_chunk_becomes_anthropic_error_event() -> None:
    upstream = openai_sse(
        [
            openai_chunk({"role": "assistant", "content": "Hel"}),
            {
                "error": {
                    "message": "The server had an error",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        ],
        done=False,
    )
    translator = OpenAIToAnthropicStream(model="alias")
    body = run(translator, upstream)
    with pytest.raises(anthropic.APIStatusError, match="The server had an error") as info:
        stream_message(anthropic_client(body))
    # api_error is Anthropic's name for OpenAI's server_error
    assert anthropic_error_fields(info.value) == ("api_error", "The server had an error")


def test_openai_single_chunk_tool_call_and_empty_stream() -> None:
    whole = {
        "index": 0,
        "id": "call_x",
        "type": "function",
        "function": {"name": "f", "arguments": '{"a": 1}'},
    }
    upstream = openai_sse(
        [openai_chunk({"role": "assistant", "tool_calls": [whole]}), openai_chunk({}, "tool_calls")]
    )
    message = stream_message(anthropic_client(run(OpenAIToAnthropicStream(model="alias"), upstream)))
    assert message.content[0].input == {"a": 1}  # type: ignore[union-attr]
    empty = OpenAIToAnthropicStream(model="alias")
    assert empty.feed(SSEEvent("[DONE]")) == [] and empty.completed and empty.finish() == []
