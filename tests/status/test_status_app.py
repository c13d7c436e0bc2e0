"""``gateway.status_app()`` over ASGI: the guard, the routes, and a snapshot with metadata only."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from collections.abc import MutableMapping
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.asgi.status import CLOSED_MESSAGE, StatusApp
from llm_gateway_mw.asgi.status_data import status_snapshot

SECRET_PROMPT = "my secret prompt about project bluebird"
CONFIG: dict[str, Any] = {
    "providers": {
        "down": {"type": "mock", "failure_rate": 1.0, "failure_status": 503},
        "up": {"type": "mock"},
    },
    "models": [
        {"name": "gpt-4o-mini", "provider": "down"},
        {"name": "gpt-4o-mini", "provider": "up"},
        {"name": "gpt-4o", "provider": "up"},
    ],
    "routing": {"strategy": "ordered"},
    "routes": {"auto": {"targets": ["gpt-4o-mini", "gpt-4o"]}},
    "retry": {"attempts": 1, "backoff_initial": 0.01},
    "circuit_breaker": {"failures": 2, "cooldown": 600},
    "rate_limits": {"rules": [{"per": "user", "limit": "3/minute"}]},
    "budgets": {"rules": [{"per": "user", "usd": 5.0}]},
}


def _traffic(gateway: Gateway) -> None:
    client = gateway.wrap(openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1"))
    for user in ["alice"] * 5 + ["bob"]:
        with gateway.caller(user=user), contextlib.suppress(openai.RateLimitError):
            client.chat.completions.create(
                model="auto", messages=[{"role": "user", "content": SECRET_PROMPT}]
            )


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_closed_by_default_and_says_how_to_open() -> None:
    async with _client(Gateway(CONFIG).status_app()) as client:
        for path in ("/", "/status.json", "/status.css"):
            response = await client.get(path)
            assert response.status_code == 403
            assert response.text == CLOSED_MESSAGE
            assert "status_app(public=True)" in response.text and "allow=lambda scope" in response.text


@pytest.mark.parametrize(("verdict", "status"), [(True, 200), (False, 403), ("yes", 403), (None, 403)])
async def test_allow_guard_sync_and_async(verdict: Any, status: int) -> None:
    gateway = Gateway(CONFIG)
    seen: list[str] = []

    def sync_guard(scope: Any) -> Any:
        seen.append(scope["path"])
        return verdict

    async def async_guard(scope: Any) -> Any:
        await asyncio.sleep(0)
        return verdict

    for guard in (sync_guard, async_guard):
        async with _client(gateway.status_app(allow=guard)) as client:
            assert (await client.get("/status.json")).status_code == status
    assert seen == ["/status.json"]


def test_allow_must_be_callable() -> None:
    with pytest.raises(TypeError, match="allow must be a callable"):
        Gateway(CONFIG).status_app(allow=True)  # type: ignore[arg-type]


async def test_page_is_self_contained_with_a_strict_policy() -> None:
    async with _client(Gateway(CONFIG).status_app(public=True)) as client:
        page = await client.get("/")
        css = await client.get("/status.css")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"
    for text in (page.text, css.text):
        assert (
            not re.search(r"(src|href)=\"(https?:)?//", text) and "@import" not in text and "url(" not in text
        )
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy and "unsafe-inline" not in policy
    script = re.search(r"<script>(.*?)</script>", page.text, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy  # the inline script is allowed by its hash, nothing else is
    assert 'fetch("status.json"' in page.text and "setInterval(refresh, 2000)" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"


async def test_mounted_under_starlette() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/llm-gateway", app=Gateway(CONFIG).status_app(public=True))])
    async with _client(app) as client:
        bare = await client.get("/llm-gateway?x=1", follow_redirects=False)
        assert bare.status_code == 307 and bare.headers["location"].endswith("/llm-gateway/?x=1")
        assert (await client.get("/llm-gateway/")).text.startswith("<!doctype html>")
        assert (await client.get("/llm-gateway/status.json")).json()["deployments"]
        assert (await client.get("/llm-gateway/nope")).status_code == 404
        posted = await client.post("/llm-gateway/status.json")
        assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
        head = await client.head("/llm-gateway/status.json")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 100


async def test_snapshot_shows_health_limits_budgets_and_calls_without_content() -> None:
    gateway = Gateway(CONFIG)
    _traffic(gateway)
    async with _client(gateway.status_app(public=True)) as client:
        response = await client.get("/status.json")
    assert response.headers["content-type"] == "application/json"
    assert SECRET_PROMPT not in response.text and "You said" not in response.text  # metadata only
    data = response.json()
    summary = data["summary"]
    assert (summary["calls"], summary["ok"], summary["refused"]) == (6, 4, 2)
    assert summary["failovers"] == 2 and summary["spend_usd"] > 0
    deployments = {d["id"]: d for d in data["deployments"]}
    down = deployments["gpt-4o-mini@down/gpt-4o-mini"]
    assert down["state"] == "open" and down["failures"] == 2 and "503" in down["last_error"]
    assert 0 < down["reopens_in_s"] <= 600
    up = deployments["gpt-4o-mini@up/gpt-4o-mini"]
    assert up["state"] == "closed" and up["successes"] == 4 and up["latency_ms"] is not None
    assert data["rate_limits"]["rules"] == [
        {"per": "user", "limit": "3/minute", "unit": "requests", "models": []}
    ]
    budgets = {row["who"]: row for row in data["budgets"]["usage"]}
    assert set(budgets) == {"user alice", "user bob"} and budgets["user alice"]["budget_usd"] == 5.0
    assert budgets["user alice"]["spent_usd"] > budgets["user bob"]["spent_usd"] > 0
    callers = {c["caller"]["user"]: c for c in data["callers"]}
    assert callers["alice"]["calls"] == 5 and callers["alice"]["rate_limited"] == 2
    assert callers["alice"]["remaining"] == 0 and callers["bob"]["remaining"] == 2
    newest = data["recent"][0]
    assert newest["caller"]["user"] == "bob" and newest["outcome"] == "ok"
    assert [a["status"] for a in newest["attempts"]] == [200]  # the circuit of "down" is open: skipped
    assert [a["status"] for a in data["recent"][-1]["attempts"]] == [503, 200]  # the first call failed over
    assert newest["route"] == "auto" and newest["reason"].startswith("simple:")
    assert newest["input_tokens"] > 0 and newest["cost_usd"] > 0
    refused = [c for c in data["recent"] if c["outcome"] == "refused"]
    assert len(refused) == 2 and refused[0]["refusal"] == "rate limit" and refused[0]["attempts"] == []


def test_snapshot_of_a_zero_config_gateway() -> None:
    data = status_snapshot(Gateway().runtime)
    assert data["deployments"] == [] and data["recent"] == [] and data["summary"]["calls"] == 0
    assert data["rate_limits"] == {"rules": [], "usage": None} and data["budgets"] == {
        "rules": [],
        "usage": None,
    }


async def test_lifespan_and_websocket() -> None:
    app = StatusApp(Gateway().runtime)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)
    await app({"type": "websocket", "path": "/"}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
        "websocket.close",
    ]


def test_snapshot_uses_the_policys_rate_limit_status_when_it_has_one() -> None:
    """The hook the limits policy can offer: ``rate_limit_status(caller, model)`` rows per rule."""
    gateway = Gateway(CONFIG)
    _traffic(gateway)
    real = gateway.runtime.policy
    asked: list[tuple[str | None, str]] = []

    class WithLimitStatus:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def rate_limit_status(self, caller: Any, model: str) -> list[Any]:
            asked.append((caller.user, model))
            used = 3 if caller.user == "alice" else 1
            return [
                SimpleNamespace(
                    label="rate_limits.rules[0]: 3/minute requests per user",
                    unit="requests",
                    limit=3,
                    remaining=3 - used,
                    resets_at=1.5e9,
                )
            ]

    gateway.runtime.policy = WithLimitStatus()  # type: ignore[assignment]
    usage = {row["who"]: row for row in status_snapshot(gateway.runtime)["rate_limits"]["usage"]}
    assert sorted(asked) == [("alice", "auto"), ("bob", "auto")]
    assert usage["user alice"] == {
        "rule": "rate_limits.rules[0]: 3/minute requests per user", "who": "user alice", "unit": "requests",
        "limit": 3, "used": 3, "remaining": 0, "resets_at": 1.5e9,
    }  # fmt: skip
    assert usage["user bob"]["used"] == 1


def test_a_failing_policy_store_does_not_take_the_page_down() -> None:
    gateway = Gateway(CONFIG)
    _traffic(gateway)

    class Broken:
        def budget_status(self, caller: Any, model: str) -> list[Any]:
            raise ConnectionError("redis is down")

    gateway.runtime.policy = Broken()  # type: ignore[assignment]
    data = status_snapshot(gateway.runtime)
    assert data["budgets"]["usage"] is None and data["summary"]["calls"] == 6
