"""Upstream streams modelled on the real APIs, and helpers to run translators and serve SDKs."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai

from llm_gateway_mw.dialects.sse import SSEEvent, SSEParser, encode_event
from llm_gateway_mw.dialects.streams import StreamTranslator

from . import sdk_clients
from .sdk_clients import Reply

MESSAGES: list[Any] = [{"role": "user", "content": "Weather in Paris and the time?"}]
OPENAI_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    },
    {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    },
]

# --- upstream fixtures, modelled on the real APIs ------------------------------------------------


def anthropic_sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def openai_sse(chunks: list[dict[str, Any]], done: bool = True) -> bytes:
    out = b"".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n".encode() for c in chunks)
    return out + (b"data: [DONE]\n\n" if done else b"")


def message_start(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_01Aq9w938a90dw8q",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
    }


def text_delta(index: int, text: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}


def json_delta(index: int, partial: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial},
    }


def tool_start(index: int, tool_id: str, name: str) -> dict[str, Any]:
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
    return {"type": "content_block_start", "index": index, "content_block": block}


ANTHROPIC_TEXT_AND_PARALLEL_TOOLS = anthropic_sse(
    [
        message_start(
            {
                "input_tokens": 472,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 100,
                "output_tokens": 2,
            }
        ),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        text_delta(0, "Okay, let me "),
        text_delta(0, "check both."),
        {"type": "content_block_stop", "index": 0},
        tool_start(1, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        json_delta(1, ""),
        json_delta(1, '{"location":'),
        json_delta(1, ' "Paris, Fr'),
        json_delta(1, 'ance"}'),
        {"type": "content_block_stop", "index": 1},
        tool_start(2, "toolu_01AbCdEf", "get_time"),
        json_delta(2, '{"tz": "CET"}'),
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 89},
        },
        {"type": "message_stop"},
    ]
)

ANTHROPIC_THINKING_THEN_TEXT = anthropic_sse(
    [
        message_start({"input_tokens": 10, "cache_creation_input_tokens": 50, "output_tokens": 1}),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Let me think"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "EqQBCg=="},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        text_delta(1, "27 * 453 = 12231"),
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 40, "output_tokens_details": {"thinking_tokens": 25}},
        },
        {"type": "message_stop"},
    ]
)


def openai_chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    )
    return {
        "id": "chatcmpl-BRjLbDw8Xl",
        "object": "chat.completion.chunk",
        "created": 1745000000,
        "model": "gpt-4o-2024-08-06",
        "service_tier": "default",
        "system_fingerprint": "fp_f5bdcc3276",
        "choices": choices,
        **extra,
    }


def tool_delta(
    index: int, arguments: str, tool_id: str | None = None, name: str | None = None
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if tool_id is not None:
        call = {
            "index": index,
            "id": tool_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
    return {"tool_calls": [call]}


OPENAI_USAGE = {
    "prompt_tokens": 1117,
    "completion_tokens": 46,
    "total_tokens": 1163,
    "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}

OPENAI_TEXT_AND_PARALLEL_TOOLS_CHUNKS = [
    openai_chunk({"role": "assistant", "content": "", "refusal": None}, usage=None),
    openai_chunk({"content": "Checking "}, usage=None),
    openai_chunk({"content": "both."}, usage=None),
    openai_chunk(tool_delta(0, "", "call_DdmO9pD3xa9XTPNJ32zg2hcA", "get_weather"), usage=None),
    openai_chunk(tool_delta(0, '{"loc'), usage=None),
    openai_chunk(tool_delta(0, 'ation": "Par'), usage=None),
    openai_chunk(tool_delta(0, 'is"}'), usage=None),
    openai_chunk(tool_delta(1, "", "call_ABC", "get_time"), usage=None),
    openai_chunk(tool_delta(1, '{"tz":'), usage=None),
    openai_chunk(tool_delta(1, '"CET"}'), usage=None),
    openai_chunk({}, "tool_calls", usage=None),
    openai_chunk(None, usage=OPENAI_USAGE),
]
OPENAI_TEXT_AND_PARALLEL_TOOLS = openai_sse(OPENAI_TEXT_AND_PARALLEL_TOOLS_CHUNKS)

OPENAI_TEXT_NO_USAGE = openai_sse(
    [
        openai_chunk({"role": "assistant", "content": ""}),
        openai_chunk({"content": "Hello"}),
        openai_chunk({"content": " world"}),
        openai_chunk({}, "stop"),
    ]
)

# --- helpers ------------------------------------------------------------------------------------


def pieces(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def run(translator: StreamTranslator, upstream: bytes, size: int = 7) -> bytes:
    """Parse upstream bytes cut into ``size``-byte chunks, translate, finish, encode."""
    parser = SSEParser()
    out: list[SSEEvent] = []
    for chunk in pieces(upstream, size):
        for event in parser.feed(chunk):
            out.extend(translator.feed(event))
    for event in parser.flush():
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    return b"".join(encode_event(e) for e in out)


def openai_client(body: bytes, size: int = 11) -> openai.OpenAI:
    """An OpenAI client reading ``body`` as an event stream, ``size`` bytes at a time."""
    return sdk_clients.openai_client(Reply(body, content_type="text/event-stream", chunk_size=size))


def anthropic_client(body: bytes, size: int = 11) -> anthropic.Anthropic:
    """An Anthropic client reading ``body`` as an event stream, ``size`` bytes at a time."""
    return sdk_clients.anthropic_client(Reply(body, content_type="text/event-stream", chunk_size=size))


def stream_message(client: anthropic.Anthropic) -> anthropic.types.Message:
    with client.messages.stream(model="alias", max_tokens=100, messages=MESSAGES) as stream:
        return stream.get_final_message()


def data_events(raw: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    return parser.feed(raw) + parser.flush()
