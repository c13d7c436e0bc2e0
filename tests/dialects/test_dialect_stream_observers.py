"""Same-dialect passthrough observers: events unchanged, usage and the rest observed cheaply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_gateway_mw.dialects import streams as streams_module
from llm_gateway_mw.dialects.sse import SSEEvent, encode_event
from llm_gateway_mw.dialects.streams import (
    AnthropicPassthroughObserver,
    AnthropicToOpenAIStream,
    OpenAIPassthroughObserver,
    OpenAIToAnthropicStream,
    StreamTranslator,
)
from llm_gateway_mw.usage import Usage

from .stream_samples import (
    ANTHROPIC_TEXT_AND_PARALLEL_TOOLS,
    ANTHROPIC_THINKING_THEN_TEXT,
    MESSAGES,
    OPENAI_TEXT_AND_PARALLEL_TOOLS,
    OPENAI_TEXT_NO_USAGE,
    OPENAI_USAGE,
    anthropic_client,
    data_events,
    openai_chunk,
    openai_client,
    openai_sse,
    stream_message,
)


def observe(observer: StreamTranslator, upstream: bytes) -> tuple[list[SSEEvent], list[SSEEvent]]:
    events = data_events(upstream)
    out: list[SSEEvent] = []
    for event in events:
        out.extend(observer.feed(event))
    out.extend(observer.finish())
    return events, out


def test_openai_passthrough_strips_usage_chunk_when_asked() -> None:
    observer = OpenAIPassthroughObserver(strip_usage_chunk=True)
    events, out = observe(observer, OPENAI_TEXT_AND_PARALLEL_TOOLS)
    assert len(out) == len(events) - 1
    assert all(a is b for a, b in zip(out, [e for e in events if '"usage":{' not in e.data], strict=True))
    assert observer.usage == Usage(input_tokens=1117, output_tokens=46, cache_read_tokens=1024)
    assert observer.finish_reasons == ["tool_calls"]
    assert (observer.response_id, observer.response_model) == ("chatcmpl-BRjLbDw8Xl", "gpt-4o-2024-08-06")
    assert observer.completed
    body = b"".join(encode_event(e) for e in out)
    chunks = list(openai_client(body).chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks)


def test_openai_passthrough_keeps_usage_chunk_otherwise() -> None:
    observer = OpenAIPassthroughObserver(strip_usage_chunk=False)
    events, out = observe(observer, OPENAI_TEXT_AND_PARALLEL_TOOLS)
    assert out == events
    assert observer.usage is not None and observer.usage.input_tokens == 1117


def test_openai_passthrough_without_usage_or_done() -> None:
    observer = OpenAIPassthroughObserver(strip_usage_chunk=True)
    events, out = observe(observer, OPENAI_TEXT_NO_USAGE[: -len(b"data: [DONE]\n\n")])
    assert out == events
    assert observer.usage is None and observer.finish_reasons == ["stop"] and not observer.completed


def test_openai_passthrough_counts_each_choice_once() -> None:
    observer = OpenAIPassthroughObserver(strip_usage_chunk=False)
    observer.feed(SSEEvent(json.dumps(openai_chunk({}, "stop"), separators=(",", ":"))))
    observer.feed(SSEEvent(json.dumps(openai_chunk({}, "stop", usage=OPENAI_USAGE), separators=(",", ":"))))
    assert observer.finish_reasons == ["stop"]


def test_openai_passthrough_accepts_spaced_json() -> None:
    spaced = json.dumps(openai_chunk({}, "length", usage=OPENAI_USAGE))
    observer = OpenAIPassthroughObserver(strip_usage_chunk=True)
    assert observer.feed(SSEEvent(spaced)) == [SSEEvent(spaced)]
    assert observer.finish_reasons == ["length"] and observer.usage is not None


def test_openai_passthrough_parses_few_events(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = streams_module._loads

    def counting(data: str) -> dict[str, Any] | None:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(streams_module, "_loads", counting)
    content = [openai_chunk({"content": f"tok{i} "}, usage=None) for i in range(200)]
    upstream = openai_sse(
        [*content, openai_chunk({}, "stop", usage=None), openai_chunk(None, usage=OPENAI_USAGE)]
    )
    observe(OpenAIPassthroughObserver(strip_usage_chunk=True), upstream)
    assert len(calls) == 3  # first chunk (id, model), finish chunk, usage chunk


def test_anthropic_passthrough_observer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = streams_module._loads

    def counting(data: str) -> dict[str, Any] | None:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(streams_module, "_loads", counting)
    observer = AnthropicPassthroughObserver()
    events, out = observe(observer, ANTHROPIC_TEXT_AND_PARALLEL_TOOLS)
    assert out == events and all(a is b for a, b in zip(out, events, strict=True))
    assert len(calls) == 2  # message_start and message_delta only
    assert observer.usage == Usage(input_tokens=572, output_tokens=89, cache_read_tokens=100)
    assert observer.finish_reasons == ["tool_use"]
    assert observer.response_id == "msg_01Aq9w938a90dw8q"
    assert observer.response_model == "claude-sonnet-4-5-20250929"
    assert observer.completed
    message = stream_message(anthropic_client(b"".join(encode_event(e) for e in out)))
    assert message.stop_reason == "tool_use"


def test_anthropic_passthrough_without_event_names() -> None:
    observer = AnthropicPassthroughObserver()
    for event in data_events(ANTHROPIC_THINKING_THEN_TEXT):
        observer.feed(SSEEvent(event.data.replace('": ', '":').replace(", ", ",")))
    assert observer.completed and observer.finish_reasons == ["end_turn"]
    assert observer.usage == Usage(
        input_tokens=60, output_tokens=40, cache_write_tokens=50, reasoning_tokens=25
    )


def test_all_translators_satisfy_the_protocol() -> None:
    translators: list[StreamTranslator] = [
        AnthropicToOpenAIStream(model="m", include_usage=True),
        OpenAIToAnthropicStream(model="m"),
        OpenAIPassthroughObserver(strip_usage_chunk=False),
        AnthropicPassthroughObserver(),
    ]
    for translator in translators:
        assert translator.usage is None and translator.finish_reasons == [] and not translator.completed
        assert translator.response_id is None and translator.response_model is None
