"""The Flask extension on real Flask apps: WSGI, WsgiToAsgi, async views, streams, refusals, traces."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

flask = pytest.importorskip("flask")
from asgiref.wsgi import WsgiToAsgi  # noqa: E402
from flask import Flask, Response, g, request, stream_with_context  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from llm_gateway_mw import Gateway  # noqa: E402
from llm_gateway_mw.context import current_call_context  # noqa: E402
from llm_gateway_mw.integrations.flask import LLMGateway  # noqa: E402

from .support import (  # noqa: E402
    MESSAGES,
    PARENT_ID,
    RATE_LIMITED,
    TEAM_KEY,
    TINY_BUDGET,
    TRACE_ID,
    TRACEPARENT,
    config,
    traced_gateway,
)


def _context() -> dict[str, Any]:
    ctx = current_call_context()
    return {
        "user": ctx.caller.user,
        "tenant": ctx.caller.tenant,
        "key": ctx.caller.key,
        "route": ctx.http_route,
    }


def build_app(gateway: Gateway, **options: Any) -> Flask:
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    app = Flask(__name__)
    LLMGateway(app, gateway, **options)

    @app.before_request
    def login() -> None:  # registered after the extension: the caller is still read after it
        name = request.headers.get("x-session-user")  # stands in for a session cookie lookup
        if name:
            g.user = name

    @app.get("/ask/<int:n>")
    def ask(n: int) -> dict[str, Any]:
        model = request.args.get("model", "gpt-4o")
        for _ in range(n):
            client.chat.completions.create(model=model, messages=MESSAGES)
        return _context()

    @app.get("/async")
    async def async_view() -> dict[str, Any]:
        aclient = gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
        await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        return _context()

    @app.get("/stream")
    def stream() -> Response:
        def words() -> Iterator[str]:  # no stream_with_context: runs after the view returned
            for chunk in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
            yield f"|user={current_call_context().caller.user}"

        wrapped = stream_with_context(words()) if request.args.get("with_context") else words()
        return Response(wrapped, mimetype="text/plain")

    @app.get("/caught")
    def caught() -> Any:
        try:
            for _ in range(2):
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        except openai.RateLimitError:
            return {"handled": "by the app"}
        return {"handled": "nothing"}

    return app


def test_context_in_sync_and_async_views_after_the_apps_before_request_hooks() -> None:
    gateway = Gateway(config(middleware={"usage_headers": True}))
    client = build_app(gateway).test_client()
    sync_view = client.get("/ask/2", headers={"x-session-user": "alice"})
    async_view = client.get("/async", headers={"x-session-user": "bob"})
    keyed = client.get("/ask/1", headers={"authorization": f"Bearer {TEAM_KEY}", "x-user": "mallory"})
    assert sync_view.json == {"user": "alice", "tenant": None, "key": None, "route": "/ask/<int:n>"}
    assert sync_view.headers["x-llm-gateway-calls"] == "2"
    assert async_view.json is not None and async_view.json["user"] == "bob"
    assert keyed.json == {"user": None, "tenant": "acme", "key": "team", "route": "/ask/<int:n>"}
    recorded = [(c.caller.user, c.caller.key, c.http_route) for c in gateway.runtime.recent]
    assert recorded == [
        ("alice", None, "/ask/<int:n>"),
        ("alice", None, "/ask/<int:n>"),
        ("bob", None, "/async"),
        (None, "team", "/ask/<int:n>"),
    ]
    assert current_call_context().caller.user is None


def test_custom_identify_gets_the_flask_request() -> None:
    gateway = Gateway(config())

    def identify(req: Any) -> dict[str, str]:
        return {"user": req.headers["x-session-user"], "tenant": "t-" + req.headers["x-session-user"]}

    client = build_app(gateway, identify=identify).test_client()
    assert client.get("/ask/1", headers={"x-session-user": "eve"}).json == {
        "user": "eve",
        "tenant": "t-eve",
        "key": None,
        "route": "/ask/<int:n>",
    }


def test_flask_login_current_user_is_the_default_caller() -> None:
    flask_login = pytest.importorskip("flask_login")
    gateway = Gateway(config())
    app = build_app(gateway)
    app.secret_key = "test"
    manager = flask_login.LoginManager(app)

    class User(flask_login.UserMixin):
        def __init__(self, ident: str) -> None:
            self.id = ident

    manager.request_loader(lambda req: User(req.headers["x-login"]) if "x-login" in req.headers else None)
    client = app.test_client()
    assert client.get("/ask/1", headers={"x-login": "u-17"}).json["user"] == "u-17"  # type: ignore[index]
    assert client.get("/ask/1").json["user"] is None  # type: ignore[index]


@pytest.mark.parametrize("with_context", [False, True])
def test_streamed_body_keeps_the_caller(with_context: bool) -> None:
    gateway = Gateway(config())
    client = build_app(gateway).test_client()
    query = "?with_context=1" if with_context else ""
    body = client.get(f"/stream{query}", headers={"x-session-user": "dora"}).get_data(as_text=True)
    assert body.startswith("[mock mock-large] You said") and body.endswith("|user=dora")
    assert gateway.runtime.recent[-1].caller.user == "dora"
    assert current_call_context().caller.user is None


@pytest.mark.parametrize("testing", [False, True])
def test_rate_limit_refusal_becomes_429(testing: bool) -> None:
    gateway = Gateway(config(**RATE_LIMITED))
    app = build_app(gateway)
    app.testing = testing  # PROPAGATE_EXCEPTIONS: refusals are still answered
    client = app.test_client()
    assert client.get("/ask/1", headers={"x-session-user": "alice"}).status_code == 200
    refused = client.get("/ask/1", headers={"x-session-user": "alice"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit"] == "1"
    assert refused.json is not None and refused.json["error"]["code"] == "rate_limit_exceeded"


def test_budget_402_503_and_upstream_errors() -> None:
    budget = build_app(Gateway(config(**TINY_BUDGET)), budget_status=402).test_client()
    refused = budget.get("/ask/1")
    assert refused.status_code == 402 and refused.headers["x-llm-gateway-error"] == "budget_exceeded"
    client = build_app(Gateway(config())).test_client()
    upstream = client.get("/ask/1?model=down")
    assert upstream.status_code == 500 and "x-llm-gateway-error" not in upstream.headers
    unhealthy = client.get("/ask/1?model=down")
    assert unhealthy.status_code == 503 and int(unhealthy.headers["retry-after"]) >= 1


def test_the_apps_error_handlers_win() -> None:
    gateway = Gateway(config(**RATE_LIMITED))
    app = build_app(gateway)

    @app.errorhandler(openai.RateLimitError)
    def slow_down(err: openai.RateLimitError) -> Any:
        return {"app": "says slow down"}, 429

    client = app.test_client()
    assert client.get("/caught", headers={"x-session-user": "a"}).json == {"handled": "by the app"}
    client.get("/ask/1", headers={"x-session-user": "b"})
    assert client.get("/ask/1", headers={"x-session-user": "b"}).json == {"app": "says slow down"}


async def test_wsgi_to_asgi_keeps_each_requests_caller() -> None:
    gateway = Gateway(config())
    asgi = WsgiToAsgi(build_app(gateway))
    transport = httpx2.ASGITransport(app=asgi)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        names = [f"user{i}" for i in range(12)]
        responses = await asyncio.gather(
            *(client.get("/ask/1", headers={"x-session-user": n}) for n in names)
        )
        anonymous = await client.get("/ask/1")  # same worker thread: nothing carried over
        streamed = await client.get("/stream", headers={"x-session-user": "sam"})
    assert [r.json()["user"] for r in responses] == names
    assert anonymous.json()["user"] is None
    assert streamed.text.endswith("|user=sam")


def test_server_span_joins_the_trace_and_defers_to_wsgi_instrumentation() -> None:
    traced = traced_gateway()
    app = build_app(traced.gateway)
    app.test_client().get("/ask/1", headers={"traceparent": TRACEPARENT})
    (server,) = [s for s in traced.spans() if s.kind == SpanKind.SERVER]
    assert server.name == "GET /ask/<int:n>"
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None and format(server.parent.span_id, "016x") == PARENT_ID
    gateway_span = next(s for s in traced.spans() if s.kind == SpanKind.INTERNAL)
    assert gateway_span.parent is not None and gateway_span.parent.span_id == server.context.span_id

    otel_wsgi = pytest.importorskip("opentelemetry.instrumentation.wsgi")
    traced = traced_gateway()
    app = build_app(traced.gateway)
    app.wsgi_app = otel_wsgi.OpenTelemetryMiddleware(app.wsgi_app, tracer_provider=traced.provider)  # type: ignore[method-assign]
    app.test_client().get("/ask/1", headers={"traceparent": TRACEPARENT})
    servers = [s for s in traced.spans() if s.kind == SpanKind.SERVER]
    assert len(servers) == 1 and servers[0].instrumentation_scope.name != "llm_gateway_mw.web"  # type: ignore[union-attr]


def test_needs_a_gateway_or_a_config_path(tmp_path: Any) -> None:
    with pytest.raises(RuntimeError, match="LLM_GATEWAY_CONFIG"):
        LLMGateway(Flask("bare"))
    path = tmp_path / "gateway.toml"
    path.write_text('[providers.mock]\ntype = "mock"\n')
    app = Flask("configured")
    app.config["LLM_GATEWAY_CONFIG"] = str(path)
    extension = LLMGateway()
    extension.init_app(app)
    with app.app_context():
        assert "mock" in extension.gateway.config.providers
