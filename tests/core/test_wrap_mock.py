"""Wrapped real SDK clients against the built-in mock provider: every call style, sync and async."""

from __future__ import annotations

import anthropic
import openai
import pytest

from llm_gateway_mw import Gateway
from tests.sdk_compat import chat_stream

CONFIG = {
    "providers": {"mock": {"type": "mock"}},
    "models": [
        {"name": "gpt-4o", "provider": "mock", "model": "mock-large"},
        {"name": "claude-sonnet", "provider": "mock", "model": "mock-large"},
    ],
}
MESSAGES = [{"role": "user", "content": "Say hello to the gateway please"}]


@pytest.fixture
def gateway() -> Gateway:
    return Gateway(CONFIG)


@pytest.fixture
def oai(gateway: Gateway) -> openai.OpenAI:
    return gateway.wrap(openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1"))


@pytest.fixture
def claude(gateway: Gateway) -> anthropic.Anthropic:
    return gateway.wrap(anthropic.Anthropic(api_key="sk-ant-test", base_url="http://127.0.0.1:9"))


def test_wrap_returns_same_class_without_sdk_retries(gateway: Gateway) -> None:
    for client in (
        openai.OpenAI(api_key="k"),
        openai.AsyncOpenAI(api_key="k"),
        anthropic.Anthropic(api_key="k"),
        anthropic.AsyncAnthropic(api_key="k"),
        openai.AzureOpenAI(api_key="k", api_version="2024-10-21", azure_endpoint="http://127.0.0.1:9"),
    ):
        wrapped = gateway.wrap(client)
        assert type(wrapped) is type(client)
        assert wrapped.max_retries == 0
        # later with_options keeps the gateway transport
        again = wrapped.with_options(timeout=5)
        assert type(again._client._transport).__name__ in ("GatewayTransport", "AsyncGatewayTransport")


def test_wrap_rejects_other_objects(gateway: Gateway) -> None:
    with pytest.raises(TypeError, match=r"wrap\(\) takes an openai.OpenAI"):
        gateway.wrap(object())


def test_openai_create(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.choices[0].message.content.startswith("[mock mock-large] You said: Say hello")
    assert completion.usage is not None and completion.usage.prompt_tokens > 0


def test_openai_raw_response_has_gateway_headers(oai: openai.OpenAI) -> None:
    raw = oai.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-llm-gateway-deployment"] == "gpt-4o"
    assert raw.headers["x-llm-gateway-attempts"] == "1"
    assert float(raw.headers["x-llm-gateway-cost-usd"]) > 0
    assert raw.parse().choices[0].finish_reason == "stop"


def test_openai_stream_styles(oai: openai.OpenAI) -> None:
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("[mock mock-large] You said")
    assert all(
        c.usage is None for c in chunks
    )  # the app did not ask for usage: the gateway's own is stripped
    with chat_stream(oai)(model="gpt-4o", messages=MESSAGES) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == text
    with oai.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MESSAGES, stream=True
    ) as r:
        assert r.headers["x-llm-gateway-deployment"] == "gpt-4o"
        body = b"".join(r.iter_bytes())
    assert b"[DONE]" in body


def test_openai_stream_usage_when_asked(oai: openai.OpenAI) -> None:
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_openai_embeddings(gateway: Gateway) -> None:
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    gw = Gateway(
        {
            "providers": {"mock": {"type": "mock"}},
            "models": [{"name": "text-embedding-3-small", "provider": "mock"}],
        }
    )
    client = gw.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2 and len(result.data[0].embedding) == 8


def test_anthropic_create_and_stream(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="claude-sonnet", max_tokens=100, messages=MESSAGES)
    assert message.content[0].type == "text" and "You said" in message.content[0].text
    with claude.messages.stream(model="claude-sonnet", max_tokens=100, messages=MESSAGES) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == message.content[0].text
    assert final.usage.output_tokens > 0
    raw = claude.messages.with_raw_response.create(model="claude-sonnet", max_tokens=100, messages=MESSAGES)
    assert raw.headers["x-llm-gateway-deployment"] == "claude-sonnet"


async def test_async_clients(gateway: Gateway) -> None:
    oai = gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    completion = await oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert "You said" in (completion.choices[0].message.content or "")
    stream = await oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == completion.choices[0].message.content
    claude = gateway.wrap(anthropic.AsyncAnthropic(api_key="k", base_url="http://127.0.0.1:9"))
    async with claude.messages.stream(model="claude-sonnet", max_tokens=50, messages=MESSAGES) as s:
        final = await s.get_final_message()
    assert "You said" in final.content[0].text


def test_mock_failure_marker_becomes_typed_error(oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    with pytest.raises(openai.InternalServerError, match="mock provider injected failure 503"):
        oai.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "[[mock:fail:503]]"}]
        )
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(
            model="claude-sonnet", max_tokens=10, messages=[{"role": "user", "content": "[[mock:fail:429]]"}]
        )


def test_tool_calls_through_mock(oai: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    completion = oai.chat.completions.create(
        model="gpt-4o",
        tools=tools,
        tool_choice="required",
        messages=[{"role": "user", "content": "find the order"}],
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup" and completion.choices[0].finish_reason == "tool_calls"


def test_caller_context_is_recorded(gateway: Gateway, oai: openai.OpenAI) -> None:
    with gateway.caller(user="u42", tenant="acme"):
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    call = gateway.runtime.recent[-1]
    assert call.caller.user == "u42" and call.caller.tenant == "acme"
    assert call.request_body is None  # content never outlives the call
