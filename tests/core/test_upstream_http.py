"""Wrapped real SDK clients against real HTTP upstreams on 127.0.0.1 that validate like the real APIs."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from llm_gateway_mw import Gateway
from tests.gateway_configs import KEY_ENV, two_dialects
from tests.sdk_compat import chat_stream
from tests.upstreams import behaviours as b
from tests.upstreams.server import FakeUpstream

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def test_passthrough_uses_the_clients_own_upstream_and_key(upstream: FakeUpstream) -> None:
    gateway = Gateway()
    client = gateway.wrap(openai.OpenAI(api_key="test-key", base_url=upstream.openai_base_url))
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hello from upstream"
    record = upstream.last_request
    assert record.api_key == "test-key" and record.body["model"] == "gpt-4o-mini"


def test_passthrough_keeps_custom_http_client_settings(upstream: FakeUpstream) -> None:
    seen: list[str] = []
    http_module = (
        httpx2 if int(openai.__version__.split(".")[0]) >= 3 else httpx
    )  # the SDK generation's library
    http_client = http_module.Client(event_hooks={"request": [lambda r: seen.append(str(r.url))]})
    client = Gateway().wrap(
        openai.OpenAI(api_key="test-key", base_url=upstream.openai_base_url, http_client=http_client)
    )
    client.chat.completions.create(model="m", messages=MESSAGES)
    assert seen == [upstream.openai_base_url + "/chat/completions"]
    # Non-managed endpoints are forwarded untouched too.
    models = client.models.list()
    assert models.data is not None


def test_openai_client_served_by_anthropic_deployment(upstream: FakeUpstream) -> None:
    client = Gateway(two_dialects(upstream)).wrap(
        openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1")
    )
    completion = client.chat.completions.create(
        model="claude-sonnet", messages=MESSAGES, max_tokens=50, stop=["\n\n"], temperature=0.2
    )
    assert completion.choices[0].message.content == "Hello from upstream"
    assert completion.choices[0].finish_reason == "stop"
    record = upstream.last_request
    assert record.path == "/v1/messages" and record.api_key == "test-key"
    assert record.body["system"] == "Be brief." and record.body["model"] == "claude-sonnet-4-5"
    assert record.body["stop_sequences"] == ["\n\n"] and record.body["max_tokens"] == 50


def test_anthropic_client_served_by_openai_deployment(upstream: FakeUpstream) -> None:
    client = Gateway(two_dialects(upstream)).wrap(
        anthropic.Anthropic(api_key="app", base_url="http://127.0.0.1:9")
    )
    message = client.messages.create(
        model="gpt-4o", max_tokens=30, system="Be brief.", messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.content[0].text == "Hello from upstream" and message.stop_reason == "end_turn"
    record = upstream.last_request
    assert record.path == "/v1/chat/completions"
    assert record.body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_cross_dialect_streams_with_tools(upstream: FakeUpstream) -> None:
    upstream.enqueue(b.tool_call("get_weather", {"city": "Paris"}, text="Checking."))
    client = Gateway(two_dialects(upstream)).wrap(
        openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    )
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    with chat_stream(client)(model="claude-sonnet", messages=MESSAGES, tools=tools) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_anthropic_stream_from_openai_deployment_has_usage(upstream: FakeUpstream) -> None:
    upstream.enqueue(b.success("Streamed words here", usage=b.Usage(input_tokens=11, output_tokens=4)))
    client = Gateway(two_dialects(upstream)).wrap(
        anthropic.Anthropic(api_key="x", base_url="http://127.0.0.1:9")
    )
    with client.messages.stream(
        model="gpt-4o", max_tokens=30, messages=[{"role": "user", "content": "Hi"}]
    ) as s:
        final = s.get_final_message()
    assert final.content[0].text == "Streamed words here"
    assert final.usage.output_tokens == 4
    assert upstream.last_request.body["stream_options"] == {"include_usage": True}


def test_upstream_errors_become_the_sdks_typed_errors(upstream: FakeUpstream) -> None:
    upstream.enqueue(b.http_error(400, message="messages: bad shape"))
    client = Gateway(two_dialects(upstream)).wrap(
        openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    )
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude-sonnet", messages=MESSAGES)
    assert info.value.status_code == 400 and "messages: bad shape" in str(info.value)
    upstream.enqueue(b.rate_limited(retry_after=30))
    aclient = Gateway(two_dialects(upstream)).wrap(
        anthropic.Anthropic(api_key="x", base_url="http://127.0.0.1:9")
    )
    with pytest.raises(anthropic.RateLimitError) as rinfo:
        aclient.messages.create(model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "Hi"}])
    assert rinfo.value.response.headers["retry-after"] == "30"


def test_sdk_retries_are_off_the_gateway_owns_them(upstream: FakeUpstream) -> None:
    upstream.enqueue(b.server_error(500), b.server_error(500), b.server_error(500))
    config = two_dialects(upstream, retry={"attempts": 2, "backoff_initial": 0.001, "backoff_max": 0.002})
    client = Gateway(config).wrap(openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1", max_retries=5))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(upstream.requests) == 2  # the gateway's 2 attempts, never 2 x 6


def test_app_headers_extra_body_and_timeout_still_apply(upstream: FakeUpstream) -> None:
    client = Gateway(two_dialects(upstream)).wrap(
        openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    )
    client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        extra_headers={"x-trace-me": "yes"},
        extra_body={"seed": 7},
        timeout=12,
    )
    record = upstream.last_request
    assert record.headers["x-trace-me"] == "yes" and record.body["seed"] == 7
    upstream.enqueue(b.slow_headers(2.0))
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, timeout=0.3)


def test_untranslatable_parameter_is_a_clear_error(upstream: FakeUpstream) -> None:
    client = Gateway(two_dialects(upstream)).wrap(
        openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    )
    with pytest.raises(openai.BadRequestError, match="logit_bias"):
        client.chat.completions.create(model="claude-sonnet", messages=MESSAGES, logit_bias={"50256": -100})
    assert upstream.requests == []
    relaxed = two_dialects(upstream)
    relaxed["models"][1]["drop_unsupported"] = True
    client = Gateway(relaxed).wrap(openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1"))
    client.chat.completions.create(model="claude-sonnet", messages=MESSAGES, logit_bias={"50256": -100})
    assert "logit_bias" not in upstream.last_request.body


def test_missing_key_variable_fails_at_first_call_naming_it(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    gateway = Gateway(two_dialects(upstream))  # construction does not need the key
    client = gateway.wrap(openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(openai.AuthenticationError, match=KEY_ENV):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


def test_strict_mode_rejects_undeclared_models(upstream: FakeUpstream) -> None:
    client = Gateway(two_dialects(upstream, strict=True)).wrap(
        openai.OpenAI(api_key="x", base_url="http://h/v1")
    )
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-5", messages=MESSAGES)
    assert "claude-sonnet" in str(info.value) and "gpt-4o" in str(info.value)


def test_responses_and_embeddings_pass_to_openai_type_providers(upstream: FakeUpstream) -> None:
    client = Gateway(two_dialects(upstream)).wrap(
        openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    )
    response = client.responses.create(model="gpt-4o", input="Hello")
    assert response.output_text
    assert upstream.last_request.path == "/v1/responses"
    embedding = client.embeddings.create(model="gpt-4o", input="Hello")
    assert embedding.data
    with pytest.raises(openai.BadRequestError, match="Anthropic dialect"):
        client.embeddings.create(model="claude-sonnet", input="Hello")


async def test_async_cross_dialect(upstream: FakeUpstream) -> None:
    client = Gateway(two_dialects(upstream)).wrap(
        openai.AsyncOpenAI(api_key="x", base_url="http://127.0.0.1:9/v1")
    )
    completion = await client.chat.completions.create(model="claude-sonnet", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hello from upstream"
    stream = await client.chat.completions.create(model="claude-sonnet", messages=MESSAGES, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello from upstream"


@pytest.mark.parametrize("module_name", ["httpx", "httpx2"])
def test_request_headers_are_stored_as_httpx_would_store_them(module_name: str) -> None:
    from llm_gateway_mw.headers import raw_header
    from llm_gateway_mw.upstream.http import _set_headers

    module = pytest.importorskip(module_name)
    pairs = [("X-Str", "a"), ("content-type", "application/json")]
    caller = module.Headers([("X-Bytes", "b")]).raw  # the caller's own, as its Headers object keeps them
    given = [raw_header(name, value) for name, value in pairs] + [(b"X-Bytes", b"x-bytes", b"b")]
    ours = module.Request("POST", "http://127.0.0.1:9/v1/x", stream=module.ByteStream(b"{}"))
    _set_headers(ours.headers, b"127.0.0.1:9", 2, given)
    theirs = module.Headers([("Host", "127.0.0.1:9"), ("Content-Length", "2"), *pairs, *caller])
    assert ours.headers.raw == theirs.raw
    assert ours.headers.multi_items() == theirs.multi_items()
    assert ours.headers._list == theirs._list  # the lowered names too, which lookups compare
    assert ours.headers["x-bytes"] == "b" and ours.headers["host"] == "127.0.0.1:9"
    with pytest.raises(UnicodeEncodeError):  # a non-ASCII value fails as it does in httpx itself
        raw_header("x-name", "café")
    with pytest.raises(UnicodeEncodeError):
        module.Headers([("x-name", "café")])


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_same_dialect_deployment_gets_the_sdks_bytes_with_its_model(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch, is_async: bool
) -> None:
    """No decode on the request path once the plan is built: the SDK's compact body goes on, only
    its model replaced."""
    import asyncio

    import llm_gateway_mw.inbound as inbound_module

    def no_decoding(raw: bytes) -> None:
        raise AssertionError("the request body was decoded on the request path")

    gateway = Gateway(two_dialects(upstream))
    messages = [{"role": "user", "content": 'say "hi" \u00e9'}]

    async def twice_async() -> Any:
        aclient = gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
        await aclient.chat.completions.create(model="gpt-4o", messages=messages)  # builds the plan
        monkeypatch.setattr(inbound_module, "parse_body", no_decoding)
        return await aclient.chat.completions.create(model="gpt-4o", messages=messages, temperature=0.2)

    if is_async:
        reply = asyncio.run(twice_async())
    else:
        client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
        client.chat.completions.create(model="gpt-4o", messages=messages)  # builds the plan
        monkeypatch.setattr(inbound_module, "parse_body", no_decoding)
        reply = client.chat.completions.create(model="gpt-4o", messages=messages, temperature=0.2)
    assert reply.choices[0].message.content
    sent = upstream.last_request
    assert sent.body == {"messages": messages, "model": "gpt-4o-2024-08-06", "temperature": 0.2}
    assert b'"model":"gpt-4o-2024-08-06"' in sent.raw_body and b'"model":"gpt-4o"' not in sent.raw_body


def test_a_cross_dialect_deployment_still_gets_a_translated_body(upstream: FakeUpstream) -> None:
    gateway = Gateway(two_dialects(upstream))
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    client.chat.completions.create(model="claude-sonnet", messages=[{"role": "user", "content": "hi"}])
    sent = upstream.last_request
    assert sent.path == "/v1/messages" and sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["messages"] == [{"role": "user", "content": "hi"}] and sent.body["max_tokens"] > 0
