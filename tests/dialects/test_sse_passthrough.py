"""The relay's same-dialect fast path: which chunks may pass unparsed (classify, ChunkTemplate)."""

from __future__ import annotations

import json

import pytest

from llm_gateway_mw.dialects.sse import (
    CLEAN,
    CLEAN_DATA_LINE,
    MUST_PARSE,
    ChunkTemplate,
    classify,
)
from llm_gateway_mw.translate import PASSTHROUGH_MARKERS

OPENAI = PASSTHROUGH_MARKERS["openai"]
ANTHROPIC = PASSTHROUGH_MARKERS["anthropic"]


def chunk(
    text: str, *, finish: str | None = None, spaced: bool = False, usage: bool = False, padding: str = ""
) -> bytes:
    body: dict[str, object] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = None
    if padding:
        body["obfuscation"] = padding
    separators = (", ", ": ") if spaced else (",", ":")
    return b"data: " + json.dumps(body, separators=separators).encode() + b"\n\n"


@pytest.mark.parametrize("spaced", [False, True])
def test_plain_openai_chunks_pass_as_single_data_lines(spaced: bool) -> None:
    for text in ["Hello", ' "quoted" ', "[DONE]", '"error"', "é ✓", ""]:
        assert classify(chunk(text, spaced=spaced, usage=True), OPENAI) == CLEAN_DATA_LINE


@pytest.mark.parametrize(
    "raw",
    [
        chunk("", finish="stop"),
        chunk("", finish="stop", spaced=True),
        b'data: {"choices":[],"usage":{"prompt_tokens":1}}\n\n',
        b'data: {"choices": [], "usage": {"prompt_tokens": 1}}\n\n',
        b"data: [DONE]\n\n",
        b"data:[DONE]\n\n",
        b'data: {"error":{"message":"overloaded"}}\n\n',
        b'data: {"a":1}\revent: error\n\n',  # a "\r" line ending: the parser decides
        b'data: {"a":1}\r\n\r\n',
        b'data: {"a":1}\n',  # not the end of an event yet
        b'data: {"a":1}',
        b"data: {}\n\n" + b"data: [DONE]\n\n",  # the end marker in a second event
        b"data: {\n\n",  # too short to say
    ],
)
def test_markers_and_unfinished_events_go_to_the_parser(raw: bytes) -> None:
    assert classify(raw, OPENAI) == MUST_PARSE


def test_whole_events_without_markers_pass_even_when_not_one_data_line() -> None:
    assert classify(chunk("a") + chunk("b"), OPENAI) == CLEAN
    assert classify(b": keep-alive\n\n", OPENAI) == CLEAN
    named = b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"hi"}}\n\n'
    assert classify(named, ANTHROPIC) == CLEAN
    assert classify(b'event: message_delta\ndata: {"type":"message_delta"}\n\n', ANTHROPIC) == MUST_PARSE
    assert classify(b'event: error\ndata: {"type":"error"}\n\n', ANTHROPIC) == MUST_PARSE


def learned(*chunks: bytes) -> ChunkTemplate:
    template = ChunkTemplate(OPENAI)
    for raw in chunks:
        assert classify(raw, OPENAI) == CLEAN_DATA_LINE
        template.learn(raw)
    return template


def test_template_learns_what_content_chunks_share() -> None:
    template = learned(chunk("Hello"), chunk(" world"))
    assert template.prefix.endswith(b'"content":"')
    assert template.suffix.startswith(b'"},"finish_reason":null}]}')
    assert template.matches(chunk("!"))
    assert template.matches(chunk(""))
    assert template.matches(chunk("[DONE] error usage"))


def test_one_chunk_teaches_no_shape() -> None:
    template = learned(chunk("Hello"))
    assert template.plen == ChunkTemplate.OFF
    assert not template.matches(chunk("Hello"))


@pytest.mark.parametrize(
    "raw",
    [
        chunk('say "hi"'),  # an escaped quote: the middle may leave the string
        chunk("a", finish="stop"),
        chunk("a", usage=True),
        chunk("x").replace(b'"x"', b'"x\\n\\ndata: [DONE]"').replace(b"\\n", b"\n"),
        chunk("x").replace(b'"x"', b'"x\rdata: y"'),
    ],
)
def test_template_leaves_anything_else_to_classify(raw: bytes) -> None:
    assert not learned(chunk("Hello"), chunk(" world")).matches(raw)


def test_template_refuses_a_shape_a_needle_could_straddle() -> None:
    # Here the varying string is a key: "usage" between this prefix and suffix would make '"usage":{'.
    template = learned(b'data: {"z":0,"a":{}}\n\n', b'data: {"z":0,"b":{}}\n\n')
    assert classify(b'data: {"z":0,"usage":{}}\n\n', OPENAI) == MUST_PARSE
    assert template.plen == ChunkTemplate.OFF
    assert not template.matches(b'data: {"z":0,"usage":{}}\n\n')


def test_template_gives_up_on_chunks_that_differ_in_two_strings() -> None:
    template = learned(chunk("Hello", padding="q7Zp"), chunk(" world", padding="x"))
    assert template.plen == ChunkTemplate.OFF  # the text and the padding: no one middle


def test_escaped_quotes_in_the_text_keep_the_template() -> None:
    template = learned(chunk("Hello"), chunk('"world'))
    assert template.plen != ChunkTemplate.OFF
    assert template.matches(chunk("again"))
    assert not template.matches(chunk('"again"'))  # escaped quotes in a middle still go to classify


def test_template_stops_learning_when_chunks_share_too_little() -> None:
    template = learned(chunk("a"))
    template.learn(b'data: {"other":1}\n\n')
    assert template.plen == ChunkTemplate.OFF
    template.learn(chunk("b"))
    template.learn(chunk("c"))
    assert template.plen == ChunkTemplate.OFF
