"""SSEParser and encode_event: framing, awkward chunk boundaries, comments, multi-line data."""

from __future__ import annotations

import json

import pytest

from llm_gateway_mw.dialects.sse import SSEEvent, SSEParser, encode_event

ANTHROPIC_STREAM = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_01","content":[]}}\n\n'
    b"event: ping\n"
    b'data: {"type": "ping"}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"h\xc3\xa9llo \xe2\x9c\x93"}}\n\n'
    b"event: message_stop\n"
    b'data: {"type":"message_stop"}\n\n'
)


def parse_all(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.flush())
    return events


def test_single_data_event() -> None:
    assert SSEParser().feed(b'data: {"a":1}\n\n') == [SSEEvent('{"a":1}')]


def test_named_events_and_order() -> None:
    events = parse_all([ANTHROPIC_STREAM])
    assert [e.event for e in events] == ["message_start", "ping", "content_block_delta", "message_stop"]
    assert json.loads(events[2].data)["delta"]["text"] == "héllo ✓"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13, 64])
def test_any_chunking_gives_the_same_events(size: int) -> None:
    chunks = [ANTHROPIC_STREAM[i : i + size] for i in range(0, len(ANTHROPIC_STREAM), size)]
    assert parse_all(chunks) == parse_all([ANTHROPIC_STREAM])


def test_every_two_way_split_including_inside_utf8_and_separators() -> None:
    whole = parse_all([ANTHROPIC_STREAM])
    for cut in range(1, len(ANTHROPIC_STREAM)):
        assert parse_all([ANTHROPIC_STREAM[:cut], ANTHROPIC_STREAM[cut:]]) == whole, cut


def test_crlf_line_endings_split_between_cr_and_lf() -> None:
    raw = b"event: a\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n"
    expected = [SSEEvent("1", "a"), SSEEvent("2")]
    for cut in range(1, len(raw)):
        assert parse_all([raw[:cut], raw[cut:]]) == expected, cut


def test_bare_cr_line_endings() -> None:
    assert parse_all([b"data: x\r\rdata: y\r\r"]) == [SSEEvent("x"), SSEEvent("y")]


def test_events_are_returned_as_soon_as_complete() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: one\n") == []
    assert parser.feed(b"\ndata: tw") == [SSEEvent("one")]
    assert parser.feed(b"o\n\n") == [SSEEvent("two")]


def test_multi_line_data_joins_with_newline() -> None:
    assert parse_all([b"data: line one\ndata: line two\ndata:\n\n"]) == [SSEEvent("line one\nline two\n")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    raw = b": keep-alive\n\n: comment\nid: 7\nretry: 100\nevent: x\ndata:no-space\n\n"
    assert parse_all([raw]) == [SSEEvent("no-space", "x")]


def test_event_without_data_is_not_dispatched() -> None:
    assert parse_all([b"event: ping\n\ndata: a\n\n"]) == [SSEEvent("a")]


def test_flush_returns_trailing_event_without_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.flush() == [SSEEvent("[DONE]")]
    assert parser.flush() == []


def test_extra_blank_lines_between_events() -> None:
    assert parse_all([b"data: a\n\n\n\ndata: b\n\n\n"]) == [SSEEvent("a"), SSEEvent("b")]


def test_openai_done_stream() -> None:
    raw = b'data: {"id":"c"}\n\ndata: [DONE]\n\n'
    assert parse_all([raw]) == [SSEEvent('{"id":"c"}'), SSEEvent("[DONE]")]


def test_encode_event() -> None:
    assert encode_event(SSEEvent("x")) == b"data: x\n\n"
    assert encode_event(SSEEvent('{"a":1}', "message_stop")) == b'event: message_stop\ndata: {"a":1}\n\n'
    assert encode_event(SSEEvent("a\nb")) == b"data: a\ndata: b\n\n"


@pytest.mark.parametrize(
    "event", [SSEEvent("x"), SSEEvent("multi\nline", "e"), SSEEvent("ünïcode ✓", "u"), SSEEvent("", "empty")]
)
def test_encode_then_parse_round_trips(event: SSEEvent) -> None:
    assert parse_all([encode_event(event)]) == [event]


def test_many_events_in_one_chunk() -> None:
    raw = b"".join(encode_event(SSEEvent(f'{{"n":{i}}}')) for i in range(1000))
    events = SSEParser().feed(raw)
    assert [json.loads(e.data)["n"] for e in events] == list(range(1000))


def test_large_event_fed_in_small_chunks_is_linear_enough() -> None:
    payload = "x" * 200_000
    raw = encode_event(SSEEvent(payload))
    parser = SSEParser()
    events: list[SSEEvent] = []
    for i in range(0, len(raw), 100):
        events.extend(parser.feed(raw[i : i + 100]))
    assert events == [SSEEvent(payload)]
