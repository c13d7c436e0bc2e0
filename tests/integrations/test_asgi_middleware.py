"""LLMGatewayMiddleware on real Starlette/FastAPI apps, with real SDK clients on the mock provider."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx2
import openai
import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse, StreamingResponse  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser  # noqa: E402
from starlette.middleware.authentication import AuthenticationMiddleware  # noqa: E402
from starlette.requests import HTTPConnection  # noqa: E402
from starlette.routing import Route, WebSocketRoute  # noqa: E402
from starlette.websockets import WebSocket  # noqa: E402

from llm_gateway_mw import Gateway, LLMGatewayMiddleware  # noqa: E402
from llm_gateway_mw.context import current_call_context  # noqa: E402

from .support import (  # noqa: E402
    MESSAGES,
    PARENT_ID,
    RATE_LIMITED,
    TEAM_KEY,
    TINY_BUDGET,
    TRACE_ID,
    TRACEPARENT,
    Traced,
    config,
    traced_gateway,
)


class TokenUsers(AuthenticationBackend):
    """The app's own authentication: ``Authorization: Token <name>``."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        scheme, _, name = conn.headers.get("authorization", "").partition(" ")
        return (AuthCredentials(["user"]), SimpleUser(name)) if scheme == "Token" and name else None


def _context() -> dict[str, Any]:
    ctx = current_call_context()
    return {
        "user": ctx.caller.user,
        "tenant": ctx.caller.tenant,
        "key": ctx.caller.key,
        "request_id": ctx.request_id,
        "route": ctx.http_route,
    }


def build_app(
    gateway: Gateway, *, auth: bool = True, fastapi_options: dict[str, Any] | None = None, **options: Any
) -> FastAPI:
    aclient = gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    app = FastAPI(**(fastapi_options or {}))

    @app.get("/items/{item_id}")
    async def item(item_id: int, model: str = "gpt-4o", calls: int = 1) -> dict[str, Any]:
        for _ in range(calls):
            await aclient.chat.completions.create(model=model, messages=MESSAGES)
        return _context()

    @app.get("/sync")
    def sync_view() -> dict[str, Any]:  # FastAPI runs it in a worker thread
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        return _context()

    @app.get("/caught")
    async def caught() -> JSONResponse:
        try:
            await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        except openai.RateLimitError:
            return JSONResponse({"handled": "by the app"}, status_code=200)
        return JSONResponse({"handled": "nothing to handle"})

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def words() -> Any:
            chunks = await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        return StreamingResponse(words(), media_type="text/plain")

    app.add_middleware(LLMGatewayMiddleware, gateway=gateway, **options)
    if auth:
        app.add_middleware(AuthenticationMiddleware, backend=TokenUsers())
    return app


def http(app: Any, *, raise_app_exceptions: bool = True) -> httpx2.AsyncClient:
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx2.AsyncClient(transport=transport, base_url="http://testserver")


async def test_context_reaches_async_and_threaded_handlers() -> None:
    gateway = Gateway(config())
    async with http(build_app(gateway, usage_headers=True)) as client:
        response = await client.get("/items/7?calls=2", headers={"authorization": "Token alice"})
        threaded = await client.get(
            "/sync", headers={"authorization": "Token bob", "x-request-id": "abc-123"}
        )
    assert response.status_code == 200
    seen = response.json()
    assert seen["user"] == "alice" and seen["route"] == "/items/{item_id}"
    assert seen["request_id"] == response.headers["x-llm-gateway-request-id"]
    assert threaded.json()["user"] == "bob" and threaded.json()["request_id"] == "abc-123"
    first, second, third = list(gateway.runtime.recent)
    assert first.caller.user == second.caller.user == "alice"
    assert first.request_id == second.request_id == seen["request_id"]  # one web request, one id
    assert first.http_route == "/items/{item_id}"
    assert third.caller.user == "bob" and third.http_route == "/sync"
    assert current_call_context().caller.user is None  # nothing leaks out of the request


async def test_default_identity_trusts_no_client_header_but_checks_gateway_keys() -> None:
    gateway = Gateway(config())
    async with http(build_app(gateway, auth=False)) as client:
        spoofed = await client.get("/items/1", headers={"x-user": "mallory", "x-tenant": "evil"})
        keyed = await client.get("/items/1", headers={"authorization": f"Bearer {TEAM_KEY}"})
        wrong = await client.get("/items/1", headers={"authorization": "Bearer gw_not_a_key"})
    assert spoofed.json()["user"] is None and spoofed.json()["tenant"] is None
    assert keyed.json()["key"] == "team" and keyed.json()["tenant"] == "acme"
    assert wrong.json()["key"] is None


@pytest.mark.parametrize("is_async", [False, True])
async def test_custom_identify_sync_or_async(is_async: bool) -> None:
    def identify(scope: Any) -> dict[str, Any]:
        return {"user": scope["user"].display_name, "tenant": 42}

    async def aidentify(scope: Any) -> dict[str, Any]:
        return identify(scope)

    gateway = Gateway(config())
    app = build_app(gateway, identify=aidentify if is_async else identify)
    async with http(app) as client:
        seen = (await client.get("/items/1", headers={"authorization": "Token carol"})).json()
    assert (seen["user"], seen["tenant"]) == ("carol", "42")


async def test_concurrent_requests_keep_their_own_callers() -> None:
    gateway = Gateway(config())
    app = build_app(gateway)
    async with http(app) as client:
        names = [f"user{i}" for i in range(24)]
        responses = await asyncio.gather(
            *(client.get("/items/1", headers={"authorization": f"Token {n}"}) for n in names)
        )
    assert [r.json()["user"] for r in responses] == names
    assert sorted(c.caller.user or "" for c in gateway.runtime.recent) == sorted(names)


async def test_rate_limit_refusal_becomes_429_with_retry_after_and_ratelimit_headers() -> None:
    gateway = Gateway(config(**RATE_LIMITED))
    async with http(build_app(gateway)) as client:
        ok = await client.get("/items/1", headers={"authorization": "Token alice"})
        refused = await client.get("/items/1", headers={"authorization": "Token alice"})
        other_user = await client.get("/items/1", headers={"authorization": "Token bob"})
    assert ok.status_code == 200 and other_user.status_code == 200
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit"] == "1" and refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-llm-gateway-error"] == "rate_limit_exceeded"
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and "rate limit" in error["message"]


async def test_the_app_handling_a_refusal_wins() -> None:
    gateway = Gateway(config(**RATE_LIMITED))
    async with http(build_app(gateway)) as client:
        response = await client.get("/caught", headers={"authorization": "Token alice"})
    assert response.status_code == 200 and response.json() == {"handled": "by the app"}


@pytest.mark.parametrize(("configured", "expected"), [(429, 429), (402, 402)])
async def test_budget_refusal_status_is_configurable(configured: int, expected: int) -> None:
    gateway = Gateway(config(**TINY_BUDGET, middleware={"budget_status": configured}))
    async with http(build_app(gateway)) as client:
        refused = await client.get("/items/1", headers={"authorization": "Token alice"})
    assert refused.status_code == expected
    assert refused.headers["x-llm-gateway-error"] == "budget_exceeded"
    assert "retry-after" in refused.headers
    assert refused.json()["error"]["code"] == "budget_exceeded"


async def test_no_healthy_deployment_becomes_503_and_upstream_errors_stay_the_apps() -> None:
    gateway = Gateway(config())
    async with http(build_app(gateway), raise_app_exceptions=False) as client:
        upstream = await client.get("/items/1?model=down")  # the provider's own 503: the app's business
        refused = await client.get("/items/1?model=down")  # circuit now open: the gateway refuses
    assert upstream.status_code == 500  # Starlette's ServerErrorMiddleware, untouched by us
    assert "x-llm-gateway-error" not in upstream.headers
    assert refused.status_code == 503
    assert refused.headers["x-llm-gateway-error"] == "no_healthy_deployment"
    assert int(refused.headers["retry-after"]) >= 1


async def test_upstream_errors_can_be_mapped_when_asked() -> None:
    gateway = Gateway(config())
    async with http(build_app(gateway, map_upstream_errors=True)) as client:
        response = await client.get("/items/1?model=down")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert "HTTP 503" in response.json()["error"]["message"]


async def test_usage_headers_sum_the_requests_calls() -> None:
    gateway = Gateway(config(middleware={"usage_headers": True}))
    async with http(build_app(gateway)) as client:
        response = await client.get("/items/1?calls=3")
    calls = list(gateway.runtime.recent)
    assert response.headers["x-llm-gateway-calls"] == "3"
    assert int(response.headers["x-llm-gateway-tokens"]) == sum(
        c.usage.total_tokens for c in calls if c.usage
    )
    assert float(response.headers["x-llm-gateway-cost-usd"]) == pytest.approx(
        sum(c.cost_usd or 0 for c in calls), abs=1e-6
    )
    silent = Gateway(config())  # off unless configured
    async with http(build_app(silent)) as client:
        assert "x-llm-gateway-calls" not in (await client.get("/items/1")).headers


async def test_streamed_llm_response_keeps_the_caller() -> None:
    gateway = Gateway(config())
    async with http(build_app(gateway)) as client:
        response = await client.get("/stream", headers={"authorization": "Token dora"})
    assert response.text.startswith("[mock mock-large] You said")
    assert gateway.runtime.recent[-1].caller.user == "dora"
    assert gateway.runtime.recent[-1].http_route == "/stream"


async def test_streaming_responses_are_not_buffered() -> None:
    """The second chunk is only produced after the first reached the server: buffering would hang."""
    first_sent = asyncio.Event()

    async def body() -> Any:
        yield b"first"
        await first_sent.wait()
        yield b"second"

    async def endpoint(request: Request) -> StreamingResponse:
        return StreamingResponse(body())

    app = Starlette(routes=[Route("/s", endpoint)])
    app.add_middleware(LLMGatewayMiddleware, gateway=Gateway(config(middleware={"usage_headers": True})))
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body") == b"first":
            first_sent.set()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # never disconnects
        return {}

    scope = {"type": "http", "method": "GET", "path": "/s", "headers": [], "query_string": b""}
    await asyncio.wait_for(app(scope, receive, send), timeout=20)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body" and m.get("body")]
    assert bodies == [b"first", b"second"]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert (b"x-llm-gateway-calls", b"0") in start["headers"]


async def test_lifespan_and_websockets_pass_straight_through() -> None:
    events: list[str] = []

    async def socket_endpoint(ws: WebSocket) -> None:
        await ws.accept()
        events.append(f"ws user={current_call_context().caller.user}")
        await ws.send_text("hi")
        await ws.close()

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        events.append("startup")
        yield
        events.append("shutdown")

    app = Starlette(routes=[WebSocketRoute("/ws", socket_endpoint)], lifespan=lifespan)
    app.add_middleware(LLMGatewayMiddleware, gateway=Gateway(config()))
    messages = asyncio.Queue[dict[str, Any]]()
    for message in ({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}):
        messages.put_nowait(message)
    out: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, send)
    assert [m["type"] for m in out] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    out.clear()
    ws_messages = asyncio.Queue[dict[str, Any]]()
    ws_messages.put_nowait({"type": "websocket.connect"})
    scope = {"type": "websocket", "path": "/ws", "headers": [], "query_string": b"", "subprotocols": []}
    await app(scope, ws_messages.get, send)
    assert [m["type"] for m in out] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert events == ["startup", "shutdown", "ws user=None"]


async def test_nested_middlewares_do_the_work_once() -> None:
    traced = traced_gateway()
    inner = build_app(traced.gateway, usage_headers=True)
    outer = LLMGatewayMiddleware(inner, traced.gateway, usage_headers=True)
    async with http(outer) as client:
        response = await client.get("/items/1", headers={"authorization": "Token alice"})
    assert response.status_code == 200
    assert response.headers.get_list("x-llm-gateway-calls") == ["1"]  # the outer one; the inner passed
    servers = [s for s in traced.spans() if s.kind == SpanKind.SERVER]
    assert len(servers) == 1


async def test_server_span_joins_the_incoming_trace() -> None:
    traced = traced_gateway()
    async with http(build_app(traced.gateway)) as client:
        await client.get("/items/5", headers={"traceparent": TRACEPARENT, "authorization": "Token alice"})
    spans = traced.spans()
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "GET /items/{item_id}"
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None and format(server.parent.span_id, "016x") == PARENT_ID
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200
    gateway_span = next(s for s in spans if s.kind == SpanKind.INTERNAL)
    assert gateway_span.parent is not None and gateway_span.parent.span_id == server.context.span_id
    assert traced.gateway.runtime.recent[-1].http_route == "/items/{item_id}"


def _assert_single_server_span(traced: Traced) -> None:
    spans = traced.spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(servers) == 1, [s.name for s in spans]
    assert servers[0].instrumentation_scope is not None
    assert servers[0].instrumentation_scope.name != "llm_gateway_mw.web"  # theirs, not ours
    gateway_span = next(s for s in spans if s.kind == SpanKind.INTERNAL and s.name.startswith("gateway"))
    assert gateway_span.context.trace_id == servers[0].context.trace_id
    assert format(servers[0].context.trace_id, "032x") == TRACE_ID


async def test_no_second_server_span_under_opentelemetry_asgi() -> None:
    otel_asgi = pytest.importorskip("opentelemetry.instrumentation.asgi")
    traced = traced_gateway()
    app = otel_asgi.OpenTelemetryMiddleware(build_app(traced.gateway), tracer_provider=traced.provider)
    async with http(app) as client:
        await client.get("/items/5", headers={"traceparent": TRACEPARENT})
    _assert_single_server_span(traced)


async def test_no_second_server_span_under_fastapi_instrumentor() -> None:
    otel_fastapi = pytest.importorskip("opentelemetry.instrumentation.fastapi")
    traced = traced_gateway()
    app = build_app(traced.gateway)
    otel_fastapi.FastAPIInstrumentor.instrument_app(app, tracer_provider=traced.provider)
    try:
        async with http(app) as client:
            await client.get("/items/5", headers={"traceparent": TRACEPARENT})
    finally:
        otel_fastapi.FastAPIInstrumentor.uninstrument_app(app)
    _assert_single_server_span(traced)


async def test_no_second_server_span_under_starlettes_own_middleware() -> None:
    otel_starlette = pytest.importorskip("starlette.middleware.opentelemetry")  # Starlette 1.x
    traced = traced_gateway()
    app = otel_starlette.OpenTelemetryMiddleware(build_app(traced.gateway), tracer_provider=traced.provider)
    async with http(app) as client:
        await client.get("/items/5", headers={"traceparent": TRACEPARENT})
    _assert_single_server_span(traced)


async def test_no_second_server_span_under_fastapis_native_telemetry() -> None:
    if "telemetry" not in inspect.signature(FastAPI).parameters:
        pytest.skip("this FastAPI has no built-in telemetry")
    traced = traced_gateway()
    telemetry = {
        "tracer_provider": traced.provider,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
    }
    app = build_app(traced.gateway, fastapi_options={"telemetry": telemetry})
    async with http(app) as client:
        await client.get("/items/5", headers={"traceparent": TRACEPARENT})
    _assert_single_server_span(traced)
