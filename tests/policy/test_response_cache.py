"""The response cache through the wrapped SDKs (memory storage): hits, scopes, bypass, TTL, streams."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.policy.engine import ConfiguredPolicy
from tests.sdk_compat import chat_stream
from tests.upstreams import FakeUpstream, Reply, Usage, http_error, success, tool_call

KEY_ENV = "LLMGW_TEST_UPSTREAM_KEY"
MESSAGES: list[Any] = [{"role": "user", "content": "Name three primary colours."}]
NO_CACHE = {"x-llm-gateway-cache": "no-cache"}
NO_STORE = {"x-llm-gateway-cache": "no-store"}


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def make_gateway(upstream: FakeUpstream, **cache: Any) -> Gateway:
    return Gateway(
        {
            "providers": {
                "oai": {"type": "openai", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV},
                "ant": {"type": "anthropic", "base_url": upstream.url, "api_key_env": KEY_ENV},
            },
            "models": [
                {
                    "name": "chat",
                    "provider": "oai",
                    "model": "gpt-4o-mini",
                    "price": {"input": 1, "output": 2},
                },
                {"name": "embed", "provider": "oai", "model": "text-embedding-3-small"},
                {"name": "claude", "provider": "ant", "model": "claude-sonnet-4-5"},
            ],
            "retry": {"attempts": 1},
            "cache": {"enabled": True, **cache},
        }
    )


def oai(gateway: Gateway) -> openai.OpenAI:
    return gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))


def claude(gateway: Gateway) -> anthropic.Anthropic:
    return gateway.wrap(anthropic.Anthropic(api_key="app-key", base_url="http://127.0.0.1:9"))


def memory_cache(gateway: Gateway) -> Any:
    policy = gateway.runtime.policy
    assert isinstance(policy, ConfiguredPolicy) and policy.cache is not None
    return policy.cache.store.sync


def test_a_hit_is_marked_costs_nothing_and_never_reaches_the_upstream(upstream: FakeUpstream) -> None:
    upstream.default = Reply(text="red, yellow, blue", usage=Usage(input_tokens=12, output_tokens=6))
    gateway = make_gateway(upstream)
    client = oai(gateway)
    first = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    second = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    assert (
        first.headers["x-llm-gateway-cache"] == "miss" and float(first.headers["x-llm-gateway-cost-usd"]) > 0
    )
    assert second.headers["x-llm-gateway-cache"] == "hit"
    assert second.headers["x-llm-gateway-cost-usd"] == "0.00000000"
    assert second.parse().choices[0].message.content == "red, yellow, blue"
    assert second.parse().model_dump() == first.parse().model_dump()
    assert len(upstream.requests) == 1
    call = gateway.runtime.recent[-1]
    assert call.cache_hit and call.cost_usd == 0.0


def test_one_tenant_never_receives_another_tenants_reply(upstream: FakeUpstream) -> None:
    upstream.enqueue(success("for acme"), success("for globex"))
    gateway = make_gateway(upstream, scope="tenant")
    client = oai(gateway)
    with gateway.caller(tenant="acme", user="a1"):
        assert (
            client.chat.completions.create(model="chat", messages=MESSAGES).choices[0].message.content
            == "for acme"
        )
    with gateway.caller(tenant="globex", user="g1"):
        reply = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
        assert reply.headers["x-llm-gateway-cache"] == "miss"
        assert reply.parse().choices[0].message.content == "for globex"
    with gateway.caller(tenant="acme", user="a2"):  # same tenant, other user: shared by design
        reply = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
        assert reply.headers["x-llm-gateway-cache"] == "hit"
        assert reply.parse().choices[0].message.content == "for acme"
    assert len(upstream.requests) == 2


def test_user_scope_separates_users_of_one_tenant(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, scope="user")
    client = oai(gateway)
    for user in ("a1", "a2", "a1"):
        with gateway.caller(tenant="acme", user=user):
            client.chat.completions.create(model="chat", messages=MESSAGES)
    assert len(upstream.requests) == 2


def test_per_call_bypass_headers(upstream: FakeUpstream) -> None:
    upstream.enqueue(success("first"), success("second"), success("third"))
    client = oai(make_gateway(upstream))
    assert (
        client.chat.completions.create(model="chat", messages=MESSAGES).choices[0].message.content == "first"
    )
    fresh = client.chat.completions.create(model="chat", messages=MESSAGES, extra_headers=NO_CACHE)
    assert fresh.choices[0].message.content == "second"  # looked up nothing, stored the fresh reply
    assert "x-llm-gateway-cache" not in upstream.requests[-1].headers  # a gateway control, not forwarded
    unstored = client.chat.completions.create(model="chat", messages=MESSAGES, extra_headers=NO_STORE)
    assert unstored.choices[0].message.content == "third"
    assert (
        client.chat.completions.create(model="chat", messages=MESSAGES).choices[0].message.content == "second"
    )
    assert len(upstream.requests) == 3


def test_max_temperature_bypasses_sampling_calls(upstream: FakeUpstream) -> None:
    client = oai(make_gateway(upstream, max_temperature=0.5))
    for _ in range(2):
        client.chat.completions.create(model="chat", messages=MESSAGES, temperature=0.9)
    assert len(upstream.requests) == 2
    for _ in range(2):
        client.chat.completions.create(model="chat", messages=MESSAGES, temperature=0.2)
    for _ in range(2):
        client.chat.completions.create(model="chat", messages=MESSAGES)  # default temperature 1.0
    assert len(upstream.requests) == 5
    for _ in range(2):
        client.chat.completions.create(model="chat", messages=MESSAGES, n=2, temperature=0)  # n > 1
    assert len(upstream.requests) == 7


def test_ttl_expiry_and_lru_eviction_in_memory(upstream: FakeUpstream) -> None:
    gateway = make_gateway(upstream, ttl=60, max_entries=2)
    store = memory_cache(gateway)
    now = [1000.0]
    store.clock = lambda: now[0]
    client = oai(gateway)

    def ask(text: str) -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="chat", messages=[{"role": "user", "content": text}]
        )
        return str(raw.headers["x-llm-gateway-cache"])

    assert [ask("a"), ask("a")] == ["miss", "hit"]
    now[0] += 61
    assert ask("a") == "miss"  # expired
    assert [ask("b"), ask("a"), ask("c")] == ["miss", "hit", "miss"]  # c evicts b, the least recently used
    assert len(store) == 2
    assert [ask("a"), ask("b")] == ["hit", "miss"]


def test_failures_are_not_cached(upstream: FakeUpstream) -> None:
    upstream.enqueue(http_error(500))
    client = oai(make_gateway(upstream))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="chat", messages=MESSAGES)
    client.chat.completions.create(model="chat", messages=MESSAGES)
    assert len(upstream.requests) == 2


def test_embeddings_are_cached(upstream: FakeUpstream) -> None:
    client = oai(make_gateway(upstream))
    first = client.embeddings.create(model="embed", input=["alpha", "beta"])
    raw = client.embeddings.with_raw_response.create(model="embed", input=["alpha", "beta"])
    assert raw.headers["x-llm-gateway-cache"] == "hit"
    assert raw.parse().data[1].embedding == first.data[1].embedding
    assert len(upstream.requests) == 1


def test_a_whole_reply_is_replayed_as_an_openai_stream(upstream: FakeUpstream) -> None:
    upstream.default = Reply(text="red, yellow and blue", usage=Usage(input_tokens=12, output_tokens=6))
    client = oai(make_gateway(upstream))
    whole = client.chat.completions.create(model="chat", messages=MESSAGES)
    with client.chat.completions.with_streaming_response.create(
        model="chat", messages=MESSAGES, stream=True
    ) as response:
        assert response.headers["x-llm-gateway-cache"] == "hit"
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = b"".join(response.iter_bytes())
    assert raw.endswith(b"data: [DONE]\n\n")
    chunks = list(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == whole.choices[0].message.content
    )
    assert chunks[-1].choices[0].finish_reason == "stop" and all(c.usage is None for c in chunks)
    with_usage = list(
        client.chat.completions.create(
            model="chat", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert with_usage[-1].choices == [] and with_usage[-1].usage is not None
    assert with_usage[-1].usage.completion_tokens == 6
    assert len(upstream.requests) == 1


def test_a_stream_is_captured_and_serves_later_calls(upstream: FakeUpstream) -> None:
    upstream.default = Reply(text="cyan magenta yellow", usage=Usage(input_tokens=12, output_tokens=5))
    gateway = make_gateway(upstream)
    client = oai(gateway)
    streamed = list(client.chat.completions.create(model="chat", messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    whole = client.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    assert whole.headers["x-llm-gateway-cache"] == "hit"
    parsed = whole.parse()
    assert parsed.choices[0].message.content == text == "cyan magenta yellow"
    assert parsed.usage is not None and parsed.usage.completion_tokens == 5  # kept even though stripped
    with chat_stream(client)(model="chat", messages=MESSAGES) as events:
        assert events.get_final_completion().choices[0].message.content == text
    assert len(upstream.requests) == 1


def test_tool_calls_survive_capture_and_replay(upstream: FakeUpstream) -> None:
    upstream.default = tool_call("get_weather", {"city": "Paris"})
    client = oai(make_gateway(upstream))
    tools: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    list(client.chat.completions.create(model="chat", messages=MESSAGES, tools=tools, stream=True))
    with chat_stream(client)(model="chat", messages=MESSAGES, tools=tools) as events:
        final = events.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
    assert final.choices[0].finish_reason == "tool_calls"
    assert len(upstream.requests) == 1


def test_anthropic_whole_and_streamed_replies_share_the_cache(upstream: FakeUpstream) -> None:
    upstream.default = Reply(text="Red, blue, yellow.", usage=Usage(input_tokens=20, output_tokens=7))
    client = claude(make_gateway(upstream))
    with client.messages.stream(model="claude", max_tokens=50, messages=MESSAGES) as events:
        streamed = events.get_final_message()
    raw = client.messages.with_raw_response.create(model="claude", max_tokens=50, messages=MESSAGES)
    assert raw.headers["x-llm-gateway-cache"] == "hit"
    whole = raw.parse()
    assert whole.content[0].type == "text" and whole.content[0].text == "Red, blue, yellow."
    assert whole.model_dump(exclude={"usage"}) == streamed.model_dump(exclude={"usage"})
    assert whole.usage.output_tokens == 7 and whole.stop_reason == "end_turn"
    assert len(upstream.requests) == 1


async def test_async_anthropic_stream_replayed_from_a_whole_reply(upstream: FakeUpstream) -> None:
    upstream.default = tool_call("lookup", {"order": 42}, text="Let me check.")
    gateway = make_gateway(upstream)
    client = gateway.wrap(anthropic.AsyncAnthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    tools: Any = [{"name": "lookup", "input_schema": {"type": "object"}}]
    whole = await client.messages.create(model="claude", max_tokens=50, messages=MESSAGES, tools=tools)
    async with client.messages.stream(
        model="claude", max_tokens=50, messages=MESSAGES, tools=tools
    ) as events:
        replayed = await events.get_final_message()
    assert gateway.runtime.recent[-1].cache_hit
    assert replayed.model_dump(exclude={"usage"}) == whole.model_dump(exclude={"usage"})
    assert replayed.content[1].type == "tool_use" and replayed.content[1].input == {"order": 42}
    assert replayed.usage.output_tokens == whole.usage.output_tokens
    assert len(upstream.requests) == 1
