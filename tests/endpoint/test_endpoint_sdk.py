"""The official SDKs pointed at the endpoint: every call style, async in-process and sync over a real server."""

from __future__ import annotations

import anthropic
import httpx2
import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.asgi.endpoint import GatewayEndpoint
from tests.sdk_compat import chat_stream, sdk_http_module

from ..integrations.support import MESSAGES, OTHER_KEY, TEAM_KEY


def _transport(endpoint: GatewayEndpoint) -> httpx2.AsyncClient:
    sdk_http = sdk_http_module()
    return sdk_http.AsyncClient(transport=sdk_http.ASGITransport(app=endpoint))  # type: ignore[no-any-return]


async def test_async_openai_every_call_style(endpoint: GatewayEndpoint) -> None:
    client = openai.AsyncOpenAI(api_key=TEAM_KEY, base_url="http://gw/v1", http_client=_transport(endpoint))
    completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    text = completion.choices[0].message.content or ""
    assert text.startswith("[mock mock-large] You said")
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == text
    async with chat_stream(client)(model="gpt-4o", messages=MESSAGES) as helper:
        final = await helper.get_final_completion()
    assert final.choices[0].message.content == text
    raw = await client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-llm-gateway-deployment"] == "gpt-4o" and raw.parse().id == completion.id
    async with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MESSAGES, stream=True
    ) as streaming:
        assert b"[DONE]" in b"".join([part async for part in streaming.iter_bytes()])
    usage = await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in usage]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    embeddings = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(embeddings.data) == 2 and len(embeddings.data[1].embedding) == 8
    response = await client.responses.create(model="gpt-4o", input="hello responses")
    assert response.output_text.startswith("[mock mock-large]")
    events = [e.type async for e in await client.responses.create(model="gpt-4o", input="hi", stream=True)]
    assert events[0] == "response.created" and events[-1] == "response.completed"
    assert [m.id async for m in client.models.list()][:2] == ["gpt-4o", "claude-sonnet"]
    assert (await client.models.retrieve("gpt-4o")).id == "gpt-4o"


async def test_async_anthropic_every_call_style(endpoint: GatewayEndpoint) -> None:
    client = anthropic.AsyncAnthropic(
        api_key=TEAM_KEY, base_url="http://gw", http_client=_transport(endpoint)
    )
    message = await client.messages.create(model="claude-sonnet", max_tokens=50, messages=MESSAGES)
    text = message.content[0].text  # type: ignore[union-attr]
    assert text.startswith("[mock mock-large]")
    async with client.messages.stream(model="claude-sonnet", max_tokens=50, messages=MESSAGES) as stream:
        assert "".join([t async for t in stream.text_stream]) == text
        final = await stream.get_final_message()
    assert final.usage.output_tokens > 0
    events = await client.messages.create(
        model="claude-sonnet", max_tokens=50, messages=MESSAGES, stream=True
    )
    kinds = [e.type async for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    raw = await client.messages.with_raw_response.create(
        model="claude-sonnet", max_tokens=5, messages=MESSAGES
    )
    assert raw.headers["x-llm-gateway-deployment"] == "claude-sonnet"
    assert "gpt-4o" in [m.id async for m in client.models.list()]


async def test_sdk_errors_are_the_typed_ones(endpoint: GatewayEndpoint) -> None:
    wrong = openai.AsyncOpenAI(api_key="gw_wrong", base_url="http://gw/v1", http_client=_transport(endpoint))
    with pytest.raises(openai.AuthenticationError, match="invalid gateway key"):
        await wrong.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    other = openai.AsyncOpenAI(api_key=OTHER_KEY, base_url="http://gw/v1", http_client=_transport(endpoint))
    with pytest.raises(openai.PermissionDeniedError, match="may not use model 'claude-sonnet'"):
        await other.chat.completions.create(model="claude-sonnet", messages=MESSAGES)
    with pytest.raises(openai.NotFoundError, match="gpt-9"):
        await other.chat.completions.create(model="gpt-9", messages=MESSAGES)
    claude = anthropic.AsyncAnthropic(
        api_key=TEAM_KEY, base_url="http://gw", http_client=_transport(endpoint)
    )
    with pytest.raises(anthropic.NotFoundError):
        await claude.messages.create(model="gpt-9", max_tokens=5, messages=MESSAGES)


def test_sync_sdks_over_a_real_server(served_gateway: tuple[Gateway, str]) -> None:
    gateway, url = served_gateway
    client = openai.OpenAI(api_key=TEAM_KEY, base_url=f"{url}/v1", max_retries=0)
    completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    text = completion.choices[0].message.content
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    with chat_stream(client)(model="gpt-4o", messages=MESSAGES) as stream:
        assert stream.get_final_completion().choices[0].message.content == text
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-llm-gateway-attempts"] == "1"
    assert len(client.embeddings.create(model="text-embedding-3-small", input="x").data) == 1
    assert client.responses.create(model="gpt-4o", input="hey").output_text.startswith("[mock")
    assert "text-embedding-3-small" in [m.id for m in client.models.list()]
    claude = anthropic.Anthropic(api_key=TEAM_KEY, base_url=url, max_retries=0)
    with claude.messages.stream(model="claude-sonnet", max_tokens=40, messages=MESSAGES) as stream:
        assert stream.get_final_message().content[0].text.startswith("[mock")  # type: ignore[union-attr]
    callers = {(c.caller.key, c.caller.tenant) for c in gateway.runtime.recent}
    assert callers == {("team", "acme")}


def test_per_key_rate_limit_over_a_real_server(served_gateway: tuple[Gateway, str]) -> None:
    _, url = served_gateway
    client = openai.OpenAI(api_key=OTHER_KEY, base_url=f"{url}/v1", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    headers = refused.value.response.headers
    assert headers["x-llm-gateway-error"] == "rate_limit_exceeded"
    assert headers["x-ratelimit-limit"] == "1" and int(headers["retry-after"]) >= 1
