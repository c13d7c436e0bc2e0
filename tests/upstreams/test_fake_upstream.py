"""Self-tests of FakeUpstream success paths with the real openai/anthropic SDKs."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import openai
import pytest

from .behaviours import ToolCall, Usage, http_error, rate_limited, success, tool_call
from .fixtures import UpstreamFactory
from .sdk import (
    ANTHROPIC_MODEL,
    ANTHROPIC_TOOLS,
    OPENAI_MODEL,
    OPENAI_TOOLS,
    USER_HI,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    openai_client,
)
from .server import FakeUpstream


def test_start_is_fast_and_stop_leaves_nothing_behind() -> None:
    threads_before = set(threading.enumerate())
    timings = []
    for _ in range(3):  # best of three: the machine may be busy with other tests
        started = time.perf_counter()
        server = FakeUpstream("fast").start()
        timings.append(time.perf_counter() - started)
        server.stop()
    assert min(timings) < 0.05
    server = FakeUpstream("fast").start()
    with openai_client(server) as client:
        client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
        assert server.open_connections == 1  # kept alive by the client pool
        server.stop()
    assert server.alive_threads() == []
    assert set(threading.enumerate()) <= threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_openai_chat_sync_echoes_model_and_usage(upstream: FakeUpstream) -> None:
    upstream.enqueue(success("Bonjour !", usage=Usage(input_tokens=120, output_tokens=7, cached_tokens=64)))
    with openai_client(upstream) as client:
        completion = client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, temperature=0.3)
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == OPENAI_MODEL
    assert completion.choices[0].message.content == "Bonjour !"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        120,
        7,
        127,
    )
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 64
    [req] = upstream.requests
    assert (req.method, req.path, req.dialect, req.status) == ("POST", "/v1/chat/completions", "openai", 200)
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.body == {"model": OPENAI_MODEL, "messages": USER_HI, "temperature": 0.3}
    assert req.behaviour == success(
        "Bonjour !", usage=Usage(input_tokens=120, output_tokens=7, cached_tokens=64)
    )


async def test_openai_chat_async_default_reply_names_the_upstream(upstream: FakeUpstream) -> None:
    async with async_openai_client(upstream) as client:
        completion = await client.chat.completions.create(model="gpt-4.1", messages=USER_HI)
    assert completion.choices[0].message.content == "Hello from upstream"
    assert upstream.last_request.headers["x-stainless-async"].startswith("async:")


def test_openai_stream_helper_text_and_usage(upstream: FakeUpstream) -> None:
    upstream.enqueue(
        success("one two three four", usage=Usage(input_tokens=9, output_tokens=4, cached_tokens=3))
    )
    with (
        openai_client(upstream) as client,
        client.chat.completions.stream(
            model=OPENAI_MODEL, messages=USER_HI, stream_options={"include_usage": True}
        ) as stream,
    ):
        deltas = [event.delta for event in stream if event.type == "content.delta" and event.delta]
        final = stream.get_final_completion()
    assert deltas == ["one", " two", " three", " four"]
    assert final.choices[0].message.content == "one two three four"
    assert final.usage is not None and final.usage.total_tokens == 13
    assert (
        final.usage.prompt_tokens_details is not None and final.usage.prompt_tokens_details.cached_tokens == 3
    )


def test_openai_stream_tool_call_deltas(upstream: FakeUpstream) -> None:
    upstream.enqueue(tool_call("get_weather", {"city": "Paris", "unit": "celsius"}, id="call_abc"))
    with (
        openai_client(upstream) as client,
        client.chat.completions.stream(model=OPENAI_MODEL, messages=USER_HI, tools=OPENAI_TOOLS) as stream,
    ):
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.id == "call_abc" and call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Paris","unit":"celsius"}'


async def test_openai_async_raw_stream_chunks(upstream: FakeUpstream) -> None:
    upstream.enqueue(success("a b", tool_calls=[ToolCall(name="get_weather", arguments={"city": "Oslo"})]))
    async with async_openai_client(upstream) as client:
        stream = await client.chat.completions.create(
            model=OPENAI_MODEL, messages=USER_HI, tools=OPENAI_TOOLS, stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "a b"
    args = "".join(
        tc.function.arguments or ""
        for c in chunks
        for tc in (c.choices[0].delta.tool_calls or [] if c.choices else [])
        if tc.function
    )
    assert args == '{"city":"Oslo"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert all(c.usage is None for c in chunks)  # no include_usage → no usage chunk


def test_openai_tool_call_needs_declared_tools_and_n_choices(upstream: FakeUpstream) -> None:
    upstream.enqueue(tool_call("get_weather", {"city": "Rome"}, text="plain"), success("x"))
    with openai_client(upstream) as client:
        no_tools = client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
        many = client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, n=3)
    assert no_tools.choices[0].message.tool_calls is None and no_tools.choices[0].message.content == "plain"
    assert [c.index for c in many.choices] == [0, 1, 2]


def test_openai_embeddings_base64_and_float(upstream: FakeUpstream) -> None:
    with openai_client(upstream) as client:
        default = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
        b64 = client.embeddings.create(model="text-embedding-3-small", input="a", dimensions=8)
        floats = client.embeddings.create(
            model="text-embedding-3-small", input="a", dimensions=8, encoding_format="float"
        )
    assert [len(d.embedding) for d in default.data] == [1536, 1536]
    assert sum(x * x for x in default.data[0].embedding) == pytest.approx(1.0, rel=1e-4)
    assert upstream.requests[0].body["encoding_format"] == "base64"  # what the SDK asks for by default
    assert floats.data[0].embedding == pytest.approx(b64.data[0].embedding, rel=1e-6)
    assert default.usage.prompt_tokens >= 1 and default.model == "text-embedding-3-small"


def test_openai_responses_json_and_stream(upstream: FakeUpstream) -> None:
    tools: list[Any] = [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    ]
    upstream.enqueue(success("hi there", usage=Usage(input_tokens=5, output_tokens=2, cached_tokens=1)))
    upstream.enqueue(tool_call("get_weather", {"city": "Lima"}, text="Checking"))
    with openai_client(upstream) as client:
        response = client.responses.create(model=OPENAI_MODEL, input="hi", instructions="be brief")
        with client.responses.stream(model=OPENAI_MODEL, input="weather?", tools=tools) as stream:
            kinds = [event.type for event in stream]
            final = stream.get_final_response()
    assert response.output_text == "hi there" and response.instructions == "be brief"
    assert response.usage is not None and response.usage.input_tokens_details.cached_tokens == 1
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    assert final.output_text == "Checking"
    [call] = [item for item in final.output if item.type == "function_call"]
    assert call.name == "get_weather" and call.arguments == '{"city":"Lima"}'


def test_models_list_in_both_dialects(upstream_factory: UpstreamFactory) -> None:
    server = upstream_factory(models=["gpt-4o", "claude-haiku-4-5"])
    server.enqueue(http_error(503), path="/v1/models")
    with openai_client(server) as oai, anthropic_client(server) as ant:
        with pytest.raises(openai.InternalServerError):
            oai.models.list()
        assert [m.id for m in oai.models.list().data] == ["gpt-4o", "claude-haiku-4-5"]
        assert [m.id for m in ant.models.list().data] == ["gpt-4o", "claude-haiku-4-5"]
    assert [r.dialect for r in server.requests] == ["openai", "openai", "anthropic"]
    assert [r.status for r in server.requests] == [503, 200, 200]


def test_anthropic_messages_sync_usage_and_recording(upstream: FakeUpstream) -> None:
    usage = Usage(input_tokens=50, output_tokens=6, cached_tokens=1000, cache_creation_tokens=200)
    upstream.enqueue(success("Hi!", usage=usage))
    with anthropic_client(upstream) as client:
        message = client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=64, system="terse", messages=USER_HI
        )
    assert message.id.startswith("msg_01") and message.model == ANTHROPIC_MODEL
    assert [b.type for b in message.content] == ["text"] and message.content[0].text == "Hi!"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (50, 6)
    assert message.usage.cache_read_input_tokens == 1000
    assert message.usage.cache_creation_input_tokens == 200
    req = upstream.last_request
    assert req.dialect == "anthropic" and req.headers["anthropic-version"]
    assert req.api_key == "test-key" and req.headers["authorization"] == "Bearer test-key"


async def test_anthropic_async_stream_helper_with_tool_use(upstream: FakeUpstream) -> None:
    upstream.enqueue(
        tool_call("get_weather", {"city": "Paris"}, text="Let me check.", usage=Usage(output_tokens=21))
    )
    async with (
        async_anthropic_client(upstream) as client,
        client.messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=256, messages=USER_HI, tools=ANTHROPIC_TOOLS
        ) as stream,
    ):
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert {"content_block_start", "content_block_delta", "content_block_stop", "message_delta"} <= set(kinds)
    text, tool = final.content
    assert text.type == "text" and text.text == "Let me check."
    assert tool.type == "tool_use" and tool.name == "get_weather" and tool.input == {"city": "Paris"}
    assert tool.id.startswith("toolu_01")
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 21


def test_anthropic_raw_stream_has_ping_and_input_json_deltas(upstream: FakeUpstream) -> None:
    upstream.enqueue(tool_call("get_weather", {"city": "Paris"}))
    with anthropic_client(upstream) as client:
        response = client.messages.with_raw_response.create(
            model=ANTHROPIC_MODEL, max_tokens=64, messages=USER_HI, tools=ANTHROPIC_TOOLS, stream=True
        )
        raw = response.http_response.read().decode()
    assert response.http_response.headers["content-type"].startswith("text/event-stream")
    assert "event: ping" in raw and '"type":"input_json_delta"' in raw
    assert raw.rstrip().endswith('data: {"type":"message_stop"}')


def test_anthropic_count_tokens(upstream: FakeUpstream) -> None:
    with anthropic_client(upstream) as client:
        count = client.messages.count_tokens(model=ANTHROPIC_MODEL, messages=USER_HI)
    assert count.input_tokens > 0


def test_script_filters_by_model_and_path(upstream: FakeUpstream) -> None:
    upstream.enqueue(rate_limited(), model="gpt-4o")
    upstream.enqueue(success("embedded"), path="/v1/embeddings")
    with openai_client(upstream) as client:
        assert client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI).choices[0].message.content
        assert len(upstream.pending) == 2
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o", messages=USER_HI)
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert upstream.pending == []
    assert [r.model for r in upstream.requests_to("/v1/chat/completions")] == [OPENAI_MODEL, "gpt-4o"]
    assert upstream.requests_to(model="gpt-4o")[0].status == 429


def test_default_behaviour_and_keep_alive_reuse(upstream: FakeUpstream) -> None:
    upstream.default = success("always")
    with openai_client(upstream) as client:
        texts = [
            client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI).choices[0].message.content
            for _ in range(3)
        ]
    assert texts == ["always"] * 3
    assert len({r.connection_id for r in upstream.requests}) == 1


def test_two_providers_with_their_own_keys(upstream_factory: UpstreamFactory) -> None:
    primary = upstream_factory("primary", api_key="sk-primary")
    backup = upstream_factory("backup", api_key="sk-backup")
    assert primary.port != backup.port
    with openai_client(primary) as a, anthropic_client(backup) as b:
        assert a.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI).choices[0].message.content == (
            "Hello from primary"
        )
        reply = b.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)
    assert reply.content[0].text == "Hello from backup"  # type: ignore[union-attr]
    assert [r.api_key for r in primary.requests + backup.requests] == ["sk-primary", "sk-backup"]


def test_concurrent_requests_consume_the_script_exactly_once(upstream: FakeUpstream) -> None:
    upstream.enqueue(*[rate_limited()] * 10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def call(client: openai.OpenAI) -> None:
        try:
            client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
            result = "ok"
        except openai.RateLimitError:
            result = "429"
        with lock:
            outcomes.append(result)

    with openai_client(upstream) as client:
        threads = [threading.Thread(target=call, args=(client,)) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(outcomes).count("429") == 10 and len(outcomes) == 24
    assert len(upstream.requests) == 24 and upstream.pending == []
