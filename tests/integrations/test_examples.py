"""The FastAPI and Flask examples, in-process (the Django one runs in-process in test_django.py)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx2
import openai
import pytest

from llm_gateway_mw import Gateway
from tests.sdk_compat import sdk_http_module

from .support import EXAMPLES


def load(relative: str, name: str) -> ModuleType:
    """Import an example module from its file (under ``name``), with its console tracing switched off."""
    path = EXAMPLES / relative
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_TRACES_EXPORTER", "none")
        patch.syspath_prepend(str(path.parent))
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it executes
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def support_desk() -> Iterator[Any]:
    """The example's app around a gateway from its gateway.toml (``create_app``: no global tracing)."""
    pytest.importorskip("fastapi")
    from llm_gateway_mw.examples.fastapi_app.support_api import CONFIG, create_app

    yield create_app(Gateway.from_file(CONFIG))


@pytest.fixture(scope="module")
def help_centre() -> Iterator[ModuleType]:
    pytest.importorskip("flask")
    yield load("flask_app/help_centre.py", "example_help_centre")


def _agent(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_support_desk_in_process(support_desk: Any) -> None:
    transport = httpx2.ASGITransport(app=support_desk)
    async with httpx2.AsyncClient(transport=transport, base_url="http://desk") as client:
        short = await client.post("/tickets/1/draft", json={"tone": "formal"}, headers=_agent("tok-alice"))
        long = await client.post("/tickets/2/draft", json={}, headers=_agent("tok-bob"))
        summary = await client.post("/tickets/7/summary", headers=_agent("tok-carol"))
        foreign = await client.post("/tickets/7/draft", json={}, headers=_agent("tok-alice"))
        anonymous = await client.get("/tickets")
        listing = await client.get("/tickets", headers=_agent("tok-carol"))
    assert short.status_code == 200 and short.json()["agent"] == "alice"
    assert {short.json()["model"], long.json()["model"]} <= {"cheap", "strong"}
    assert short.headers["x-llm-gateway-calls"] == "1" and float(short.headers["x-llm-gateway-cost-usd"]) > 0
    assert summary.text.startswith("[mock gpt-4o-mini] You said: Summarise")
    assert foreign.status_code == 404 and anonymous.status_code == 401
    assert listing.json() == {"company": "globex", "tickets": [7, 8, 9, 10, 11, 12]}
    recent = list(support_desk.state.gateway.runtime.recent)[-3:]
    assert [(c.caller.user, c.caller.tenant) for c in recent] == [
        ("alice", "acme"),
        ("bob", "acme"),
        ("carol", "globex"),
    ]
    assert recent[0].http_route == "/tickets/{ticket_id}/draft" and recent[0].route == "auto"


async def test_support_desk_triage_bot_uses_the_mounted_endpoint(support_desk: Any) -> None:
    sdk_http = sdk_http_module()
    http = sdk_http.AsyncClient(transport=sdk_http.ASGITransport(app=support_desk))
    bot = openai.AsyncOpenAI(api_key="gw_demo_support_bot", base_url="http://desk/llm/v1", http_client=http)
    reply = await bot.chat.completions.create(model="cheap", messages=[{"role": "user", "content": "triage"}])
    assert reply.choices[0].message.content is not None
    with pytest.raises(openai.PermissionDeniedError):
        await bot.chat.completions.create(model="strong", messages=[{"role": "user", "content": "x"}])
    call = support_desk.state.gateway.runtime.recent[-1]
    assert (call.caller.key, call.caller.tenant) == ("triage-bot", "acme")


async def test_support_desk_status_page_is_for_this_machine_only(support_desk: Any) -> None:
    local = httpx2.ASGITransport(app=support_desk)  # client 127.0.0.1
    remote = httpx2.ASGITransport(app=support_desk, client=("203.0.113.9", 4711))
    async with httpx2.AsyncClient(transport=local, base_url="http://desk") as client:
        page = await client.get("/llm-gateway/status.json")
    async with httpx2.AsyncClient(transport=remote, base_url="http://desk") as client:
        closed = await client.get("/llm-gateway/status.json")
    assert page.status_code == 200 and "deployments" in page.json()
    assert closed.status_code == 403


def test_support_desk_module_builds_its_app_lazily() -> None:
    """Importing the example does nothing; ``app`` (what uvicorn serves) is built on first access."""
    pytest.importorskip("fastapi")
    from opentelemetry import trace

    before = trace.get_tracer_provider()
    module = load("fastapi_app/support_api.py", "example_support_api_lazy")
    assert "app" not in vars(module) and trace.get_tracer_provider() is before
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_TRACES_EXPORTER", "none")  # no global tracer provider in the test process
        app = module.app
    assert module.app is app and app.state.gateway.config.strict
    assert "/tickets/{ticket_id}/draft" in {getattr(r, "path", None) for r in app.routes}
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = module.nope


def test_help_centre_in_process(help_centre: Any) -> None:
    client = help_centre.app.test_client()
    dana = {"authorization": "Bearer tok-dana"}
    answer = client.post("/ask", json={"question": "How do I reset my password?"}, headers=dana)
    streamed = client.post("/ask/stream", json={"question": "When are invoices sent?"}, headers=dana)
    streamed_text = streamed.get_data(as_text=True)  # the body (and its LLM call) runs as it is read
    translated = client.post(
        "/translate", json={"question": "good morning"}, headers={"authorization": "Bearer tok-eli"}
    )
    assert answer.status_code == 200 and answer.json["member"] == "dana"  # type: ignore[index]
    assert answer.headers["x-llm-gateway-calls"] == "1"
    assert streamed_text.startswith("[mock gpt-4o-mini] You said")
    assert translated.json["translation"].startswith("[mock claude-haiku]")  # type: ignore[index]
    assert client.post("/ask", json={}, headers=dana).status_code == 400
    assert client.post("/ask", json={"question": "x"}).status_code == 401
    recent = list(help_centre.gateway.runtime.recent)[-3:]
    assert [(c.caller.user, c.caller.tenant, c.http_route) for c in recent] == [
        ("dana", "initech", "/ask"),
        ("dana", "initech", "/ask/stream"),
        ("eli", "umbrella", "/translate"),
    ]


async def test_help_centre_through_wsgi_to_asgi(help_centre: Any) -> None:
    transport = httpx2.ASGITransport(app=help_centre.asgi_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://help") as client:
        response = await client.post(
            "/ask", json={"question": "Exports?"}, headers={"authorization": "Bearer tok-eli"}
        )
    assert response.json()["member"] == "eli"
    assert help_centre.gateway.runtime.recent[-1].caller.tenant == "umbrella"
