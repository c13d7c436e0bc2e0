"""The Django middleware in-process: sync (WSGI handler) and async (ASGI handler) chains, the example too.

Django is configured once per process with the example project's settings; library tests
swap in their own URLconf and gateway with ``override_settings``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

django = pytest.importorskip("django")
from opentelemetry.trace import SpanKind  # noqa: E402

from llm_gateway_mw import Gateway  # noqa: E402
from llm_gateway_mw.context import current_call_context  # noqa: E402

from .support import (  # noqa: E402
    EXAMPLES,
    PARENT_ID,
    RATE_LIMITED,
    TEAM_KEY,
    TINY_BUDGET,
    TRACE_ID,
    TRACEPARENT,
    config,
    traced_gateway,
)

URLS = "tests.integrations.django_urls"
MEMBER = {"HTTP_AUTHORIZATION": "Bearer tok-frank"}  # the example's token auth → request.user


@pytest.fixture(scope="module", autouse=True)
def django_ready() -> Iterator[None]:
    """The example project's settings; its tracing stays off in this process."""
    sys.path.insert(0, str(EXAMPLES / "django_project"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes_site.settings")
    saved = os.environ.get("OTEL_TRACES_EXPORTER")
    os.environ["OTEL_TRACES_EXPORTER"] = "none"
    try:
        django.setup()
    finally:
        if saved is None:
            del os.environ["OTEL_TRACES_EXPORTER"]
        else:
            os.environ["OTEL_TRACES_EXPORTER"] = saved
    yield


def settings_for(gateway: Gateway, **options: Any) -> Any:
    from django.test import override_settings

    return override_settings(ROOT_URLCONF=URLS, LLM_GATEWAY={"gateway": gateway, **options})


def test_example_project_in_process() -> None:
    from django.test import Client

    from llm_gateway_mw.integrations.django import get_gateway

    client = Client()
    notes = json.dumps({"notes": "We agreed to ship the beta on Friday; Ana owns the release notes."})
    summary = client.post("/api/summaries/", notes, content_type="application/json", **MEMBER)
    assert summary.status_code == 200
    assert summary.json()["member"] == "frank" and summary.json()["model"] in ("cheap", "strong")
    assert summary["x-llm-gateway-calls"] == "1" and float(summary["x-llm-gateway-cost-usd"]) > 0
    streamed = client.post("/api/summaries/stream/", notes, content_type="application/json", **MEMBER)
    assert b"".join(streamed.streaming_content).startswith(b"[mock gpt-4o-mini]")
    items = client.post("/api/action-items/", notes, content_type="application/json", **MEMBER)
    assert items.json()["member"] == "frank"
    assert client.post("/api/summaries/", "{}", content_type="application/json", **MEMBER).status_code == 400
    assert client.post("/api/summaries/", notes, content_type="application/json").status_code == 401
    recent = list(get_gateway().runtime.recent)[-3:]
    assert [(c.caller.user, c.caller.tenant) for c in recent] == [("frank", "design")] * 3
    assert [c.http_route for c in recent] == ["api/summaries/", "api/summaries/stream/", "api/action-items/"]


async def test_example_project_async_handler() -> None:
    from django.test import AsyncClient

    client = AsyncClient()
    notes = json.dumps({"notes": "Grace will migrate the CI runners next week."})
    headers = {"authorization": "Bearer tok-grace"}
    items = await client.post("/api/action-items/", notes, content_type="application/json", headers=headers)
    assert items.status_code == 200 and items.json()["member"] == "grace"
    summary = await client.post("/api/summaries/", notes, content_type="application/json", headers=headers)
    assert summary.json()["member"] == "grace"


def test_sync_chain_context_default_identity_and_usage_headers() -> None:
    from django.test import Client

    gateway = Gateway(config())
    with settings_for(gateway, usage_headers=True):
        client = Client()
        member = client.get("/items/3/?n=2", **MEMBER)
        keyed = client.get("/ask/", HTTP_AUTHORIZATION=f"Bearer {TEAM_KEY}", HTTP_X_USER="mallory")
    assert member.json() == {"user": "frank", "tenant": None, "key": None, "route": "items/<int:item>/"}
    assert member["x-llm-gateway-calls"] == "2"
    assert keyed.json() == {"user": None, "tenant": "acme", "key": "team", "route": "ask/"}
    assert [c.caller.user for c in gateway.runtime.recent] == ["frank", "frank", None]
    assert current_call_context().caller.user is None


async def test_async_chain_context_and_identify_option() -> None:
    from django.test import AsyncClient

    gateway = Gateway(config())

    async def identify(request: Any) -> dict[str, str]:
        return {"user": request.user.username, "tenant": request.user.team}

    with settings_for(gateway, identify=identify, usage_headers=True):
        response = await AsyncClient().get("/aask/?n=2", headers={"authorization": "Bearer tok-grace"})
    assert response.json() == {"user": "grace", "tenant": "platform", "key": None, "route": "aask/"}
    assert response["x-llm-gateway-calls"] == "2"


def test_streamed_bodies_keep_the_caller_sync() -> None:
    from django.test import Client

    gateway = Gateway(config())
    with settings_for(gateway):
        response = Client().get("/stream/", **MEMBER)
        body = b"".join(response.streaming_content).decode()
    assert body.startswith("[mock mock-large] You said") and body.endswith("|user=frank")
    assert gateway.runtime.recent[-1].caller.user == "frank"


async def test_streamed_bodies_keep_the_caller_async() -> None:
    from django.test import AsyncClient

    gateway = Gateway(config())
    with settings_for(gateway):
        response = await AsyncClient().get("/astream/", headers={"authorization": "Bearer tok-grace"})
        body = b"".join([part async for part in response.streaming_content]).decode()
    assert body.endswith("|user=grace")
    assert gateway.runtime.recent[-1].caller.user == "grace"


def test_refusals_become_json_sync() -> None:
    from django.test import Client

    with settings_for(Gateway(config(**RATE_LIMITED))):
        client = Client()
        assert client.get("/ask/", **MEMBER).status_code == 200
        refused = client.get("/ask/", **MEMBER)
        handled = Client().get("/caught/", HTTP_AUTHORIZATION="Bearer tok-grace")
    assert refused.status_code == 429
    assert refused["content-type"] == "application/json"
    assert refused["x-ratelimit-limit"] == "1" and int(refused["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert handled.json() == {"handled": "by the view"}
    with settings_for(Gateway(config(**TINY_BUDGET)), budget_status=402):
        assert Client().get("/ask/").status_code == 402
    with settings_for(Gateway(config())):
        client = Client(raise_request_exception=False)
        upstream = client.get("/ask/?model=down")
        unhealthy = client.get("/ask/?model=down")
    assert upstream.status_code == 500 and not upstream.has_header("x-llm-gateway-error")
    assert unhealthy.status_code == 503 and int(unhealthy["retry-after"]) >= 1


async def test_refusals_become_json_async() -> None:
    from django.test import AsyncClient

    with settings_for(Gateway(config(**RATE_LIMITED))):
        client = AsyncClient()
        headers = {"authorization": "Bearer tok-grace"}
        assert (await client.get("/aask/", headers=headers)).status_code == 200
        refused = await client.get("/aask/", headers=headers)
    assert refused.status_code == 429 and refused["x-llm-gateway-error"] == "rate_limit_exceeded"


def test_server_span_from_traceparent_and_none_under_django_instrumentation() -> None:
    from django.test import Client

    traced = traced_gateway()
    with settings_for(traced.gateway):
        Client().get("/items/1/", HTTP_TRACEPARENT=TRACEPARENT)
    (server,) = [s for s in traced.spans() if s.kind == SpanKind.SERVER]
    assert server.name == "GET items/<int:item>/"
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None and format(server.parent.span_id, "016x") == PARENT_ID

    otel_django = pytest.importorskip("opentelemetry.instrumentation.django")
    traced = traced_gateway()
    instrumentor = otel_django.DjangoInstrumentor()
    with settings_for(traced.gateway):
        instrumentor.instrument(tracer_provider=traced.provider)
        try:
            Client().get("/items/1/", HTTP_TRACEPARENT=TRACEPARENT)
        finally:
            instrumentor.uninstrument()
    servers = [s for s in traced.spans() if s.kind == SpanKind.SERVER]
    assert len(servers) == 1 and servers[0].instrumentation_scope.name != "llm_gateway_mw.web"  # type: ignore[union-attr]
    gateway_span = next(s for s in traced.spans() if s.kind == SpanKind.INTERNAL)
    assert gateway_span.parent is not None and gateway_span.parent.span_id == servers[0].context.span_id


def test_middleware_is_sync_and_async_capable_and_checks_settings() -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from llm_gateway_mw.integrations.django import LLMGatewayMiddleware

    assert LLMGatewayMiddleware.sync_capable and LLMGatewayMiddleware.async_capable
    with override_settings(LLM_GATEWAY={"confg": "x"}), pytest.raises(ImproperlyConfigured, match="unknown"):
        LLMGatewayMiddleware(lambda request: None)
    with override_settings(LLM_GATEWAY=None), pytest.raises(ImproperlyConfigured, match="LLM_GATEWAY"):
        LLMGatewayMiddleware(lambda request: None)
