"""The relay's same-dialect fast path changes nothing the caller or the accounting sees.

Every stream is relayed twice: with the passthrough markers (chunks forwarded unparsed where
possible) and without them (every event parsed, observed and re-encoded). The caller must read the
same events and the observer must end in the same state, whatever the chunking, line endings, JSON
spacing, markers in odd places, errors, cuts and deadlines.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from llm_gateway_mw import relay as relay_module
from llm_gateway_mw.dialects.sse import PassthroughMarkers, SSEEvent, SSEParser
from llm_gateway_mw.dialects.streams import AnthropicPassthroughObserver, OpenAIPassthroughObserver
from llm_gateway_mw.drivers import CoreGen
from llm_gateway_mw.relay import StreamRelay, async_chunks, sync_chunks
from llm_gateway_mw.translate import PASSTHROUGH_MARKERS
from llm_gateway_mw.upstream.http import HttpStreamHandle

TEXTS = ["Hello", " world", "", '"quoted"', "back\\slash", "[DONE]", "error", '"usage":{', "é ✓", "\n"]


class Cut(Exception):
    """The upstream connection failing mid-stream."""


class ListHandle:
    """A stream handle over prepared chunks (no ``chunks_sync``: the relay falls back to reads)."""

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks = list(chunks)
        self.fail_at = fail_at
        self.reads = 0

    def read_sync(self) -> bytes:
        if self.reads == self.fail_at:
            raise Cut("connection reset")
        self.reads += 1
        return self.chunks.pop(0) if self.chunks else b""

    async def read_async(self) -> bytes:
        return self.read_sync()

    def close_sync(self) -> None:
        pass

    async def close_async(self) -> None:
        pass


def openai_event(rng: random.Random, body: dict[str, Any], spaced: bool) -> bytes:
    separators = (", ", ": ") if spaced else (",", ":")
    return (
        b"data: "
        + json.dumps(body, separators=separators, ensure_ascii=rng.random() < 0.5).encode()
        + b"\n\n"
    )


def openai_stream(rng: random.Random) -> list[bytes]:
    """Events of one OpenAI stream: content, maybe an early finish of a second choice, usage, [DONE]."""
    spaced = rng.random() < 0.3
    base: dict[str, Any] = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "model": "m"}
    if rng.random() < 0.5:
        base["usage"] = None
    padded = rng.random() < 0.2  # OpenAI's "obfuscation": a second string that varies on every chunk
    events = []
    for i in range(rng.randrange(1, 25)):
        choice: dict[str, Any] = {
            "index": i % 2 if rng.random() < 0.2 else 0,
            "delta": {"content": rng.choice(TEXTS)},
        }
        choice["finish_reason"] = "length" if rng.random() < 0.05 else None
        choices = [choice]
        if rng.random() < 0.1:  # another choice finishing inside an otherwise plain-looking chunk
            choices.insert(0, {"index": 1, "delta": {"content": "x"}, "finish_reason": "stop"})
        body = {**base, "choices": choices}
        if padded:
            body["obfuscation"] = "x" * rng.randrange(1, 9)
        if rng.random() < 0.05:  # running usage on a content chunk (vLLM's continuous usage stats)
            body["usage"] = {"prompt_tokens": 3, "completion_tokens": i, "total_tokens": 3 + i}
        event = openai_event(rng, body, spaced and rng.random() < 0.9)
        if rng.random() < 0.04:  # a broken server: raw line breaks inside the text hide an end marker
            breaks = rng.choice([b"\n\n", b"\r\r", b"\r\n\r\n"])
            event = event.replace(
                b'"content":"', b'"content":"' + breaks + b"data: [DONE]" + breaks + b": ", 1
            )
        events.append(event)
    if rng.random() < 0.1:
        events.append(b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n')
    events.append(
        openai_event(rng, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, spaced)
    )
    usage = {"prompt_tokens": 3, "completion_tokens": len(events), "total_tokens": 3 + len(events)}
    events.append(openai_event(rng, {**base, "choices": [], "usage": usage}, spaced))
    if rng.random() < 0.1:
        events.append(b": keep-alive\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def anthropic_stream(rng: random.Random) -> list[bytes]:
    def event(name: str, body: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(body)}\n\n".encode()

    events = [
        event(
            "message_start",
            {"type": "message_start", "message": {"id": "msg", "model": "m", "usage": {"input_tokens": 5}}},
        )
    ]
    for _ in range(rng.randrange(1, 15)):
        delta = {"type": "text_delta", "text": rng.choice(TEXTS)}
        events.append(
            event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    if rng.random() < 0.1:
        events.append(event("error", {"type": "error", "error": {"type": "overloaded_error"}}))
    events.append(
        event(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}},
        )
    )
    events.append(event("message_stop", {"type": "message_stop"}))
    return events


def chunked(rng: random.Random, events: list[bytes]) -> list[bytes]:
    """The events as an upstream might deliver them: one per read, cut anywhere, or several at once."""
    if rng.random() < 0.2:
        events = [e.replace(b"\n", b"\r\n") for e in events]
    style = rng.random()
    if style < 0.5:
        return events
    raw = b"".join(events)
    if style < 0.75:
        cuts = sorted(rng.sample(range(1, len(raw)), min(len(raw) - 1, rng.randrange(1, 30))))
        return [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    out, i = [], 0
    while i < len(events):
        n = rng.randrange(1, 4)
        out.append(b"".join(events[i : i + n]))
        i += n
    return out


def no_settle(relay: StreamRelay) -> CoreGen[None]:
    yield from ()


def make_relay(
    dialect: str, chunks: list[bytes], markers: PassthroughMarkers | None, **kw: Any
) -> StreamRelay:
    """A committed relay as the attempt loop leaves it: the first whole event already read and parsed."""
    handle = ListHandle(chunks)
    parser = SSEParser()
    first: list[SSEEvent] = []
    while not first and handle.chunks:
        first = parser.feed(handle.read_sync())
    if "fail_after" in kw:  # reads after the commit
        handle.fail_at = handle.reads + kw.pop("fail_after")
    translator = (
        OpenAIPassthroughObserver(kw.pop("strip", False))
        if dialect == "openai"
        else AnthropicPassthroughObserver()
    )
    return StreamRelay(
        handle=handle,
        parser=parser,
        translator=translator,
        first_events=first,
        caller_dialect=dialect,  # type: ignore[arg-type]
        deadline=kw.pop("deadline", 1e18),
        label="test",
        settle=no_settle,
        capture=True,
        markers=markers,
    )


def outcome(relay: StreamRelay, out: list[bytes]) -> tuple[Any, ...]:
    parser = SSEParser()
    events = [e for chunk in out for e in parser.feed(chunk)] + parser.flush()
    t = relay.translator
    captured = b"".join(relay.capture or [])
    return (
        events,
        t.usage,
        t.finish_reasons,
        t.completed,
        t.response_id,
        relay.error,
        relay.done,
        captured == b"".join(out),
    )


def relay_sync(relay: StreamRelay) -> list[bytes]:
    out = list(relay.relay_sync(sync_chunks(relay.handle), lambda: None))
    relay.abort("closed")
    return out


def relay_async(relay: StreamRelay) -> list[bytes]:
    async def main() -> list[bytes]:
        async def on_exit() -> None:
            relay.abort("closed")

        return [chunk async for chunk in relay.relay_async(async_chunks(relay.handle), on_exit)]

    return asyncio.run(main())


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_fast_path_is_invisible(dialect: str, mode: str) -> None:
    rng = random.Random(f"{dialect}-{mode}")
    run = relay_sync if mode == "sync" else relay_async
    for case in range(250 if mode == "sync" else 60):
        events = openai_stream(rng) if dialect == "openai" else anthropic_stream(rng)
        chunks = chunked(rng, events)
        kw: dict[str, Any] = {}
        if rng.random() < 0.15:
            kw["fail_after"] = rng.randrange(0, len(chunks))
        if dialect == "openai" and rng.random() < 0.3:
            kw["strip"] = True
        fast = make_relay(dialect, chunks, PASSTHROUGH_MARKERS[dialect], **kw)
        slow = make_relay(dialect, chunks, None, **kw)
        assert outcome(fast, run(fast)) == outcome(slow, run(slow)), (case, chunks)


@pytest.mark.parametrize("padded", [False, True])
def test_plain_chunks_are_forwarded_as_the_same_objects(padded: bool) -> None:
    padding = b',"obfuscation":"%d"' if padded else b""
    plain = [
        b'data: {"id":"c","choices":[{"delta":{"content":"%d"},"finish_reason":null}]%s}\n\n'
        % (i, padding % (i * 7) if padded else b"")
        for i in range(20)
    ]
    end = [b'data: {"id":"c","choices":[{"delta":{},"finish_reason":"stop"}]}\n\n', b"data: [DONE]\n\n"]
    relay = make_relay("openai", plain + end, PASSTHROUGH_MARKERS["openai"])
    out = relay_sync(relay)
    assert all(o is c for o, c in zip(out[1:20], plain[1:], strict=True))
    assert relay.translator.completed and relay.translator.finish_reasons == ["stop"]


@pytest.mark.parametrize("run", [relay_sync, relay_async])
def test_a_marker_between_the_learned_prefix_and_suffix_is_seen(run: Any) -> None:
    def line(choices: str) -> bytes:
        return b'data: {"id":"c","choices":[%s]}\n\n' % choices.encode()

    plain = [line(f'{{"index":0,"delta":{{"content":"{i}"}},"finish_reason":null}}') for i in range(5)]
    both = line(
        '{"index":0,"delta":{"content":"a"},"finish_reason":"stop"},'
        '{"index":1,"delta":{"content":"b"},"finish_reason":null}'
    )
    relay = make_relay("openai", [*plain, both, *plain[:2]], PASSTHROUGH_MARKERS["openai"])
    assert relay._template.matches(both) is False
    run(relay)
    assert relay.translator.finish_reasons == ["stop"]


@pytest.mark.parametrize("run", [relay_sync, relay_async])
def test_deadline_ends_a_fast_stream_with_an_error_event(run: Any) -> None:
    events = openai_stream(random.Random(5))
    relay = make_relay("openai", events, PASSTHROUGH_MARKERS["openai"], deadline=0.0)
    out = run(relay)
    assert relay.error == "the call's deadline passed while streaming"
    assert len(out) == 2  # the first event, then the next chunk with the error event appended
    assert out[1].startswith(events[1]) and b'\n\ndata: {"error"' in out[1] and b"deadline" in out[1]


@pytest.mark.parametrize("run", [relay_sync, relay_async])
def test_deadline_passing_mid_stream_ends_it_on_the_fast_path(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = itertools.count()
    clock = types.SimpleNamespace(monotonic=lambda: 0.0 if next(calls) < 8 else 2.0)
    monkeypatch.setattr(relay_module, "time", clock)
    content = [
        b'data: {"id":"c","choices":[{"delta":{"content":"%d"},"finish_reason":null}]}\n\n' % i
        for i in range(30)
    ]
    relay = make_relay("openai", content, PASSTHROUGH_MARKERS["openai"], deadline=1.0)
    out = run(relay)
    assert relay.error == "the call's deadline passed while streaming"
    assert b"deadline" in out[-1] and out[-1].startswith(content[len(out) - 1])
    assert 5 < len(out) < 15
    assert all(o is c for o, c in zip(out[3:-1], content[3:], strict=False))  # forwarded unparsed


@pytest.mark.parametrize("run", [relay_sync, relay_async])
def test_a_bug_in_the_fast_path_check_is_not_taken_for_an_upstream_failure(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(chunk: bytes, markers: PassthroughMarkers) -> int:
        raise RuntimeError("bug")

    monkeypatch.setattr(relay_module, "classify", broken)
    relay = make_relay("openai", openai_stream(random.Random(9)), PASSTHROUGH_MARKERS["openai"])
    with pytest.raises(RuntimeError, match="bug"):
        run(relay)


def test_http_handle_reads_and_iterates_one_body() -> None:
    body = [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
    response = httpx2.Response(200, stream=httpx2.ByteStream(b"".join(body)))
    handle = HttpStreamHandle(response)
    assert handle.read_sync() == b"".join(body)
    assert list(handle.chunks_sync()) == []
    assert handle.read_sync() == b""

    class Events(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            return iter(body)

    handle = HttpStreamHandle(httpx2.Response(200, stream=Events()))
    assert handle.read_sync() == body[0]
    assert list(handle.chunks_sync()) == body[1:]


async def test_http_handle_async_reads_and_iterates_one_body() -> None:
    body = [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]

    class Events(httpx2.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in body:
                yield chunk

    handle = HttpStreamHandle(httpx2.Response(200, stream=Events()))
    assert await handle.read_async() == body[0]
    assert [c async for c in handle.chunks_async()] == body[1:]
    assert await handle.read_async() == b""
