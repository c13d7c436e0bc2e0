"""The cache's stream codecs: whole reply -> SSE (replay) and SSE -> whole reply (assemble)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_gateway_mw.dialects.assemble import assemble, parse_sse
from llm_gateway_mw.dialects.replay import replay

OPENAI_REPLY: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Checking the weather.",
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
    "system_fingerprint": "fp_1",
}

ANTHROPIC_REPLY: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "The user wants Oslo.", "signature": "sig=="},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo", "days": [1, 2]}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 40,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 100,
        "output_tokens": 25,
    },
}


def test_openai_round_trip_ends_with_done_and_usage_only_when_asked() -> None:
    plain = replay("openai", OPENAI_REPLY)
    assert plain.endswith(b"data: [DONE]\n\n")
    assert b'"usage"' not in plain
    with_usage = replay("openai", OPENAI_REPLY, include_usage=True)
    events = parse_sse(with_usage)
    usage_chunk = json.loads(events[-2].data)
    assert usage_chunk["choices"] == [] and usage_chunk["usage"] == OPENAI_REPLY["usage"]
    assert all(json.loads(e.data)["object"] == "chat.completion.chunk" for e in events[:-1])
    assert assemble("openai", with_usage) == OPENAI_REPLY
    assert assemble("openai", plain) == {k: v for k, v in OPENAI_REPLY.items() if k != "usage"}


def test_anthropic_round_trip_has_the_event_sequence() -> None:
    sse = replay("anthropic", ANTHROPIC_REPLY)
    names = [e.event for e in parse_sse(sse)]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 3
    start = json.loads(parse_sse(sse)[0].data)
    assert start["message"]["content"] == [] and start["message"]["usage"]["output_tokens"] == 0
    assert assemble("anthropic", sse) == ANTHROPIC_REPLY


def test_assembly_joins_fragmented_deltas() -> None:
    chunks = [
        {
            "id": "c",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        },
        {"id": "c", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"id": "c", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"content": "lo"}}]},
        {
            "id": "c",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
        },
    ]
    sse = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    body = assemble("openai", sse)
    assert body["choices"][0]["message"]["content"] == "Hello"
    assert body["choices"][0]["finish_reason"] == "length" and "usage" not in body

    events = [
        (
            "message_start",
            {"type": "message_start", "message": {"id": "m", "content": [], "usage": {"input_tokens": 3}}},
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"a":'},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": " 1}"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    sse = b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)
    message = assemble("anthropic", sse)
    assert message["content"] == [{"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}]
    assert (
        message["usage"] == {"input_tokens": 3, "output_tokens": 9} and message["stop_reason"] == "tool_use"
    )


@pytest.mark.parametrize(
    ("dialect", "sse"),
    [
        ("openai", b'data: {"choices": [{"index": 0, "delta": {"content": "cut"}}]}\n\n'),
        ("openai", b'data: {"error": {"message": "overloaded"}}\n\n'),
        ("anthropic", b'event: message_start\ndata: {"type": "message_start", "message": {"id": "m"}}\n\n'),
        ("anthropic", b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error"}}\n\n'),
        ("openai", b"data: not json\n\n"),
    ],
)
def test_incomplete_or_failed_streams_are_not_assembled(dialect: Any, sse: bytes) -> None:
    with pytest.raises(ValueError):
        assemble(dialect, sse)
