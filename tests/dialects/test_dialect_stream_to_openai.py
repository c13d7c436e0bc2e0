"""Anthropic upstream stream -> OpenAI client, reassembled by the real openai SDK."""

from __future__ import annotations

import json

import openai
import pytest

from llm_gateway_mw.dialects.sse import SSEEvent
from llm_gateway_mw.dialects.streams import AnthropicToOpenAIStream
from llm_gateway_mw.usage import Usage

from .sdk_clients import Reply, async_openai_client, chat_stream
from .stream_samples import (
    ANTHROPIC_TEXT_AND_PARALLEL_TOOLS,
    ANTHROPIC_THINKING_THEN_TEXT,
    MESSAGES,
    OPENAI_TOOLS,
    anthropic_sse,
    message_start,
    openai_client,
    run,
    text_delta,
)


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_anthropic_to_openai_stream_helper(size: int) -> None:
    translator = AnthropicToOpenAIStream(model="alias", include_usage=True)
    body = run(translator, ANTHROPIC_TEXT_AND_PARALLEL_TOOLS, size)
    client = openai_client(body, size=13)
    with chat_stream(client)(model="alias", messages=MESSAGES, tools=OPENAI_TOOLS) as stream:
        for _ in stream:
            pass
        completion = stream.get_final_completion()
    assert completion.model == "alias"
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Okay, let me check both."
    calls = choice.message.tool_calls or []
    assert [(c.id, c.function.name) for c in calls] == [
        ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        ("toolu_01AbCdEf", "get_time"),
    ]
    assert json.loads(calls[0].function.arguments) == {"location": "Paris, France"}
    assert json.loads(calls[1].function.arguments) == {"tz": "CET"}
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 572 and completion.usage.completion_tokens == 89
    assert completion.usage.total_tokens == 661
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 100
    # what the translator observed about the upstream
    assert translator.completed
    assert translator.finish_reasons == ["tool_use"]
    assert translator.response_id == "msg_01Aq9w938a90dw8q"
    assert translator.response_model == "claude-sonnet-4-5-20250929"
    assert translator.usage == Usage(input_tokens=572, output_tokens=89, cache_read_tokens=100)


def test_anthropic_to_openai_raw_chunks() -> None:
    body = run(AnthropicToOpenAIStream(model="alias", include_usage=True), ANTHROPIC_TEXT_AND_PARALLEL_TOOLS)
    chunks = list(openai_client(body).chat.completions.create(model="alias", messages=MESSAGES, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    first_tool = next(c for c in chunks if c.choices and c.choices[0].delta.tool_calls)
    call = (first_tool.choices[0].delta.tool_calls or [])[0]
    assert (call.index, call.id, call.type) == (0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "function")
    assert call.function is not None and call.function.name == "get_weather"
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finishing] == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert body.endswith(b"data: [DONE]\n\n")


def test_anthropic_to_openai_without_include_usage_has_no_usage_chunk() -> None:
    translator = AnthropicToOpenAIStream(model="alias", include_usage=False)
    body = run(translator, ANTHROPIC_TEXT_AND_PARALLEL_TOOLS)
    chunks = list(openai_client(body).chat.completions.create(model="alias", messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert translator.usage is not None and translator.usage.output_tokens == 89


def test_anthropic_thinking_is_skipped() -> None:
    translator = AnthropicToOpenAIStream(model="alias", include_usage=True)
    client = openai_client(run(translator, ANTHROPIC_THINKING_THEN_TEXT))
    with chat_stream(client)(model="alias", messages=MESSAGES) as stream:
        completion = stream.get_final_completion()
    assert completion.choices[0].message.content == "27 * 453 = 12231"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 60
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 25
    assert translator.usage == Usage(
        input_tokens=60, output_tokens=40, cache_write_tokens=50, reasoning_tokens=25
    )


def test_anthropic_error_event_becomes_openai_error() -> None:
    upstream = anthropic_sse(
        [
            message_start({"input_tokens": 5, "output_tokens": 1}),
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            text_delta(0, "Partial"),
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ]
    )
    translator = AnthropicToOpenAIStream(model="alias", include_usage=True)
    body = run(translator, upstream)
    assert not translator.completed
    seen: list[str | None] = []
    with pytest.raises(openai.APIError, match="Overloaded") as info:
        for chunk in openai_client(body).chat.completions.create(
            model="alias", messages=MESSAGES, stream=True
        ):
            seen.append(chunk.choices[0].delta.content)
    assert seen == ["", "Partial"]
    assert info.value.type == "overloaded_error"


def test_anthropic_stream_cut_before_message_stop_is_closed_by_finish() -> None:
    cut = ANTHROPIC_TEXT_AND_PARALLEL_TOOLS[: ANTHROPIC_TEXT_AND_PARALLEL_TOOLS.index(b"event: message_stop")]
    translator = AnthropicToOpenAIStream(model="alias", include_usage=True)
    body = run(translator, cut)
    assert not translator.completed
    assert body.endswith(b"data: [DONE]\n\n")
    with chat_stream(openai_client(body))(model="alias", messages=MESSAGES) as stream:
        completion = stream.get_final_completion()
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage is not None and completion.usage.completion_tokens == 89


def test_anthropic_to_openai_ignores_events_after_completion_and_empty_stream() -> None:
    translator = AnthropicToOpenAIStream(model="alias", include_usage=True)
    assert translator.finish() == []
    run(translator, ANTHROPIC_THINKING_THEN_TEXT)
    assert translator.feed(SSEEvent('{"type":"ping"}', "ping")) == []
    assert translator.finish() == []


async def test_anthropic_to_openai_with_async_client() -> None:
    body = run(AnthropicToOpenAIStream(model="alias", include_usage=True), ANTHROPIC_TEXT_AND_PARALLEL_TOOLS)

    client = async_openai_client(Reply(body, content_type="text/event-stream"))
    async with chat_stream(client)(model="alias", messages=MESSAGES) as stream:
        completion = await stream.get_final_completion()
    assert completion.choices[0].message.content == "Okay, let me check both."
    assert len(completion.choices[0].message.tool_calls or []) == 2
