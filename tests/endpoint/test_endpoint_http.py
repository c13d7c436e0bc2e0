"""The mounted endpoint over raw HTTP: routing, keys, validation, limits, SSE and disconnects."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from llm_gateway_mw import Gateway, LLMGatewayMiddleware
from llm_gateway_mw.asgi.endpoint import GatewayEndpoint
from llm_gateway_mw.asgi.keys import hash_key

from ..integrations.support import MESSAGES, OTHER_KEY, TEAM_KEY, config
from .conftest import asgi_client

CHAT = {"model": "gpt-4o", "messages": MESSAGES}


async def test_chat_completion_as_the_keys_caller(client: httpx2.AsyncClient, gateway: Gateway) -> None:
    response = await client.post("/v1/chat/completions", json=CHAT)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("[mock mock-large]")
    assert response.headers["x-llm-gateway-deployment"] == "gpt-4o"
    assert response.headers["content-length"] == str(len(response.content))
    call = gateway.runtime.recent[-1]
    assert (call.caller.key, call.caller.tenant, call.caller.user) == ("team", "acme", None)
    assert call.http_route == "/v1/chat/completions"


async def test_x_api_key_header_and_anthropic_messages(endpoint: GatewayEndpoint) -> None:
    async with asgi_client(endpoint, key=None) as client:
        body = {"model": "claude-sonnet", "max_tokens": 50, "messages": MESSAGES}
        response = await client.post("/v1/messages", json=body, headers={"x-api-key": TEAM_KEY})
    assert response.status_code == 200
    assert response.json()["type"] == "message" and response.json()["content"][0]["type"] == "text"


@pytest.mark.parametrize(
    ("headers", "code", "hint"),
    [
        ({}, "missing_api_key", "Authorization: Bearer"),
        ({"authorization": "Bearer gw_wrong"}, "invalid_api_key", "invalid gateway key"),
        ({"x-api-key": "gw_wrong"}, "invalid_api_key", "invalid gateway key"),
    ],
)
async def test_401_for_missing_or_unknown_keys(
    endpoint: GatewayEndpoint, headers: dict[str, str], code: str, hint: str
) -> None:
    async with asgi_client(endpoint, key=None) as client:
        response = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
        anthropic = await client.post("/v1/messages", json=CHAT, headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == code and hint in error["message"] and error["type"] == "authentication_error"
    assert anthropic.status_code == 401
    assert anthropic.json()["type"] == "error" and anthropic.json()["error"]["type"] == "authentication_error"


async def test_no_keys_configured_is_closed_unless_anonymous_is_allowed() -> None:
    gateway = Gateway(config(keys=[]))
    async with asgi_client(gateway.asgi_app(), key=None) as client:
        closed = await client.post("/v1/chat/completions", json=CHAT)
    assert closed.status_code == 401
    message = closed.json()["error"]["message"]
    assert (
        "llm-gateway-mw keys new" in message and "[[keys]]" in message and "allow_anonymous=True" in message
    )
    async with asgi_client(gateway.asgi_app(allow_anonymous=True), key=None) as client:
        open_ = await client.post("/v1/chat/completions", json=CHAT)
    assert open_.status_code == 200
    assert gateway.runtime.recent[-1].caller.key is None


async def test_anonymous_allowed_beside_keys_but_a_wrong_key_is_still_refused(gateway: Gateway) -> None:
    async with asgi_client(gateway.asgi_app(allow_anonymous=True), key=None) as client:
        anonymous = await client.post("/v1/chat/completions", json=CHAT)
        wrong = await client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": "gw_nope"})
    assert anonymous.status_code == 200 and wrong.status_code == 401


async def test_403_outside_the_keys_models_and_404_for_unknown_ones(endpoint: GatewayEndpoint) -> None:
    async with asgi_client(endpoint, key=OTHER_KEY) as client:
        allowed = await client.post("/v1/chat/completions", json=CHAT)
        forbidden = await client.post("/v1/chat/completions", json={**CHAT, "model": "claude-sonnet"})
        unknown = await client.post("/v1/chat/completions", json={**CHAT, "model": "gpt-9"})
    assert allowed.status_code == 200
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "model_not_allowed"
    assert "may use: gpt-4o" in forbidden.json()["error"]["message"]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    assert "claude-sonnet" not in unknown.json()["error"]["message"]  # only the key's own models are named


async def test_404_paths_and_405_methods(client: httpx2.AsyncClient) -> None:
    missing = await client.post("/v1/completions", json=CHAT)
    assert missing.status_code == 404 and "/v1/chat/completions" in missing.json()["error"]["message"]
    wrong_method = await client.get("/v1/chat/completions")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert (await client.post("/v1/models")).status_code == 405


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/v1/chat/completions", b"{not json", "not valid JSON"),
        ("/v1/chat/completions", b"[1, 2]", "JSON object"),
        ("/v1/chat/completions", json.dumps({"messages": MESSAGES}).encode(), "'model'"),
        ("/v1/chat/completions", json.dumps({"model": "gpt-4o"}).encode(), "'messages'"),
        ("/v1/chat/completions", json.dumps({"model": "gpt-4o", "messages": ["hi"]}).encode(), "messages[0]"),
        ("/v1/chat/completions", json.dumps({**CHAT, "stream": "yes"}).encode(), "'stream'"),
        ("/v1/embeddings", json.dumps({"model": "text-embedding-3-small", "input": 3}).encode(), "'input'"),
        ("/v1/messages", json.dumps({"model": "claude-sonnet", "messages": MESSAGES}).encode(), "max_tokens"),
    ],
)
async def test_400_for_malformed_bodies(
    client: httpx2.AsyncClient, path: str, body: bytes, fragment: str
) -> None:
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    payload = response.json()
    message = payload["error"]["message"]
    assert fragment in message
    if path == "/v1/messages":
        assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"


async def test_413_by_declared_length_and_while_reading_chunks() -> None:
    gateway = Gateway(config(endpoint={"max_body_bytes": 1000}))
    app = gateway.asgi_app()
    async with asgi_client(app) as client:
        declared = await client.post("/v1/chat/completions", content=b"x" * 1001)
    assert declared.status_code == 413 and "max_body_bytes" in declared.json()["error"]["message"]

    reads = 0

    async def receive() -> dict[str, Any]:  # an endless chunked body without content-length
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"y" * 300, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"authorization", f"Bearer {TEAM_KEY}".encode())],
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=20)
    assert sent[0]["status"] == 413
    assert reads == 4  # stopped at the first chunk past the limit


async def test_models_list_in_both_dialects_filtered_by_key(endpoint: GatewayEndpoint) -> None:
    async with asgi_client(endpoint) as client:
        openai_list = (await client.get("/v1/models")).json()
        anthropic_list = (await client.get("/v1/models", headers={"anthropic-version": "2023-06-01"})).json()
        one = await client.get("/v1/models/gpt-4o")
        none = await client.get("/v1/models/gpt-9")
    assert [m["id"] for m in openai_list["data"]] == [
        "gpt-4o",
        "claude-sonnet",
        "text-embedding-3-small",
        "down",
    ]
    assert openai_list["object"] == "list" and openai_list["data"][0]["owned_by"] == "mock"
    assert anthropic_list["data"][0]["type"] == "model" and anthropic_list["has_more"] is False
    assert one.json()["id"] == "gpt-4o" and none.status_code == 404
    async with asgi_client(endpoint, key=OTHER_KEY) as client:
        assert [m["id"] for m in (await client.get("/v1/models")).json()["data"]] == ["gpt-4o"]


async def test_streams_as_server_sent_events(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = [line for line in response.text.split("\n") if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    text = "".join(
        (json.loads(e[6:])["choices"] or [{}])[0].get("delta", {}).get("content") or "" for e in events[:-1]
    )
    assert text.startswith("[mock mock-large] You said")
    anthropic = await client.post(
        "/v1/messages",
        json={"model": "claude-sonnet", "max_tokens": 20, "messages": MESSAGES, "stream": True},
    )
    assert "event: message_start" in anthropic.text and "event: message_stop" in anthropic.text


async def test_client_disconnect_mid_stream_closes_and_settles_the_call() -> None:
    gateway = Gateway(
        config(
            providers={"slow": {"type": "mock", "chunk_delay_ms": 20}},
            models=[{"name": "gpt-4o", "provider": "slow", "model": "mock-large"}],
        )
    )
    app = gateway.asgi_app()
    first_chunk = asyncio.Event()
    body = json.dumps({**CHAT, "stream": True}).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body"):
            first_chunk.set()

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"authorization", f"Bearer {TEAM_KEY}".encode())],
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=20)
    assert not any(m["type"] == "http.response.body" and m.get("more_body") is False for m in sent)
    call = gateway.runtime.recent[-1]
    assert call.ended is not None  # settled exactly once: spans, cost and health accounted
    attempt = call.attempts[-1]
    assert attempt.finish_reasons == ["error"] and "caller disconnected" in (attempt.error_message or "")
    deployment = gateway.runtime.deployments["gpt-4o"][0]
    health = gateway.runtime.health(deployment)
    assert health.consecutive_failures == 0 and health.opened_at is None  # not the upstream's fault


async def test_mounted_under_the_middleware_shares_one_request_context() -> None:
    from fastapi import FastAPI

    gateway = Gateway(config(middleware={"usage_headers": True}))
    app = FastAPI()
    app.add_middleware(LLMGatewayMiddleware, gateway=gateway)
    app.mount("/llm", gateway.asgi_app())
    async with asgi_client(app) as client:
        response = await client.post("/llm/v1/chat/completions", json=CHAT)
        missing = await client.post("/llm/v1/nope", json=CHAT)
    assert response.status_code == 200 and missing.status_code == 404
    assert response.headers["x-llm-gateway-calls"] == "1"  # the outer middleware counted the endpoint's call
    call = gateway.runtime.recent[-1]
    assert call.http_route == "/llm/v1/chat/completions" and call.caller.key == "team"
    assert call.request_id == response.headers["x-llm-gateway-request-id"]


async def test_served_alone_it_answers_lifespan(endpoint: GatewayEndpoint) -> None:
    incoming = [{"type": "lifespan.shutdown"}, {"type": "lifespan.startup"}]
    out: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop()

    async def send(message: dict[str, Any]) -> None:
        out.append(message["type"])

    await endpoint({"type": "lifespan"}, receive, send)
    assert out == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_per_key_budget_refuses_with_429() -> None:
    keys = [{"name": "intern", "hash": hash_key("gw_intern"), "tenant": "acme", "budget_usd": 0.0000001}]
    gateway = Gateway(config(keys=keys))
    async with asgi_client(gateway.asgi_app(), key="gw_intern") as client:
        refused = await client.post("/v1/chat/completions", json=CHAT)
    assert refused.status_code == 429
    assert refused.headers["x-llm-gateway-error"] == "budget_exceeded" and "retry-after" in refused.headers
    assert refused.json()["error"]["code"] == "budget_exceeded"
