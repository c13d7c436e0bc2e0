"""The status page in a real browser: headless Chromium against uvicorn, DOM after the JS refresh."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import openai
import pytest

from llm_gateway_mw import Gateway
from tests.status.conftest import LiveServer, run_chromium

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

CONFIG: dict[str, Any] = {
    "providers": {
        "us-east": {"type": "mock", "failure_rate": 1.0, "failure_status": 503},
        "eu-west": {"type": "mock"},
    },
    "models": [
        {"name": "gpt-4o-mini", "provider": "us-east"},
        {"name": "gpt-4o-mini", "provider": "eu-west"},
        {"name": "gpt-4o", "provider": "eu-west"},
    ],
    "routing": {"strategy": "ordered"},
    "routes": {"auto": {"targets": ["gpt-4o-mini", "gpt-4o"]}},
    "retry": {"attempts": 1, "backoff_initial": 0.01},
    "circuit_breaker": {"failures": 3, "cooldown": 600},
    "rate_limits": {"rules": [{"per": "user", "limit": "4/minute"}]},
    "budgets": {"rules": [{"per": "user", "usd": 2.0}]},
}
PROMPTS = [
    "Translate 'good morning' into French.",
    "Design a multi-region failover plan for our Postgres cluster and compare the tradeoffs step by step.",
    "What's the capital of Peru?",
]


def _ask(gateway: Gateway, user: str, prompt: str) -> None:
    client = gateway.wrap(openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1"))
    with gateway.caller(user=user), contextlib.suppress(openai.RateLimitError):
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": prompt}])


class _LateCall:
    """Wraps the status app: after the page's first ``status.json`` read, one more call happens.

    That call can only appear in the DOM if the page's script fetched ``status.json`` again.
    """

    def __init__(self, app: Any, gateway: Gateway) -> None:
        self.app, self.gateway, self.reads = app, gateway, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["path"].endswith("/status.json"):
            self.reads += 1
            if self.reads == 1:
                _ask(self.gateway, "late-user", "hello again")


def test_status_page_in_chromium(chromium: str, tmp_path: Path, artifacts: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    gateway = Gateway(CONFIG)
    for i in range(8):
        _ask(gateway, ["alice", "bob"][i % 2] if i < 6 else "mallory", PROMPTS[i % len(PROMPTS)])
    for _ in range(5):
        _ask(gateway, "mallory", "ok thanks")  # over the 4/minute limit: refused
    status = _LateCall(gateway.status_app(allow=lambda scope: scope["client"][0] == "127.0.0.1"), gateway)
    app = Starlette(routes=[Mount("/llm-gateway", app=status)])
    with LiveServer(app) as server:
        url = f"{server.url}/llm-gateway/"
        shot = artifacts / "status_page.png"
        shot.unlink(missing_ok=True)
        taken = run_chromium(
            chromium, url, tmp_path / "profile-shot", "--virtual-time-budget=3000", f"--screenshot={shot}"
        )
        assert shot.exists() and shot.stat().st_size > 10_000, taken.stderr[-2000:]
        dumped = run_chromium(
            chromium, url, tmp_path / "profile-dom", "--virtual-time-budget=3000", "--dump-dom"
        )
    dom = dumped.stdout
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    for deployment in (
        "gpt-4o-mini@us-east/gpt-4o-mini",
        "gpt-4o-mini@eu-west/gpt-4o-mini",
        "gpt-4o@eu-west/gpt-4o",
    ):
        assert f'data-deployment="{deployment}"' in dom
    assert re.search(r'class="badge open"[^>]*>open<', dom), "the failing deployment's circuit is shown open"
    assert 'data-request-id="gw-' in dom
    assert "user late-user" in dom, "a call made after the first read shows: the page refreshed itself"
    assert "refused: rate limit" in dom
    assert 'id="live"' in dom and 'class="live on"' in dom
    assert status.reads >= 2


def test_closed_page_in_chromium_says_how_to_open(chromium: str, tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/llm-gateway", app=Gateway(CONFIG).status_app())])
    with LiveServer(app) as server:
        dumped = run_chromium(chromium, f"{server.url}/llm-gateway/", tmp_path / "profile", "--dump-dom")
    assert "403 Forbidden" in dumped.stdout and "status_app(public=True)" in dumped.stdout
