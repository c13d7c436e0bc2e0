"""The demo's world: a gateway with an outage, and a burst of traffic for the FastAPI example.

The app is the support-desk example itself (``examples/fastapi_app``, shipped as
``llm_gateway_mw.examples.fastapi_app``): the demo builds its own gateway and hands it to
the example's ``create_app``, then sends the example's agents' tickets for reply drafts.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..examples.fastapi_app.support_api import AGENTS, TICKETS, create_app
from .defaults import CHEAP_MODEL, DEFAULT_ROUTE, STRONG_MODEL

if TYPE_CHECKING:
    from ..gateway import Gateway

__all__ = [
    "FAILING_PROVIDER",
    "RATE_LIMIT",
    "DemoRequest",
    "build_app",
    "company_of",
    "create_app",
    "demo_config",
    "plan_traffic",
]

FAILING_PROVIDER = "us-east"
HEALTHY_PROVIDER = "eu-west"
RATE_LIMIT = 12  # requests per minute per user
BURSTY_USER = "batch-bot"  # the example's agent that pre-drafts replies to a whole queue
USERS = ("alice", "bob", "carol", "dave", "erin")
TONES = ("friendly", "friendly", "formal")


def demo_config() -> dict[str, Any]:
    """Two regions of mock deployments, one of them down; complexity routing; a per-user rate limit."""
    return {
        "providers": {
            FAILING_PROVIDER: {"type": "mock", "latency_ms": 10, "failure_rate": 1.0, "failure_status": 503},
            HEALTHY_PROVIDER: {"type": "mock", "latency_ms": 40},
        },
        "models": [
            {"name": CHEAP_MODEL, "provider": FAILING_PROVIDER},
            {"name": CHEAP_MODEL, "provider": HEALTHY_PROVIDER},
            {"name": STRONG_MODEL, "provider": HEALTHY_PROVIDER},
        ],
        "routing": {"strategy": "ordered"},  # us-east first, so the outage shows
        "routes": {DEFAULT_ROUTE: {"targets": [CHEAP_MODEL, STRONG_MODEL]}},
        "retry": {"attempts": 1, "backoff_initial": 0.01},
        "circuit_breaker": {"failures": 3, "cooldown": 60},
        "rate_limits": {"rules": [{"per": "user", "limit": f"{RATE_LIMIT}/minute"}]},
    }


def _tokens() -> dict[str, str]:
    return {agent.username: token for token, agent in AGENTS.items()}


def company_of(user: str) -> str:
    """The example's company (the gateway's tenant) of one of its agents."""
    company: str = next(agent.company for agent in AGENTS.values() if agent.username == user)
    return company


@dataclass(slots=True)
class DemoRequest:
    """One reply draft the demo asks for, and what came back."""

    number: int
    user: str
    token: str
    ticket: int
    prompt: str  # the ticket's text, which the app sends to the ``auto`` route
    tone: str = "friendly"
    status: int = 0
    deployment: str | None = None

    @property
    def request_id(self) -> str:
        return f"demo-{self.number:04d}"


def plan_traffic(total: int, seed: int) -> list[DemoRequest]:
    """A shuffled burst: agents drafting replies to their company's tickets, and a bot firing a third."""
    rng = random.Random(seed)
    tokens = _tokens()
    bot = total // 3
    requests = []
    for i in range(total):
        user = BURSTY_USER if i < bot else USERS[i % len(USERS)]
        ticket, text = rng.choice(sorted(TICKETS[company_of(user)].items()))
        requests.append(DemoRequest(0, user, tokens[user], ticket, text, rng.choice(TONES)))
    rng.shuffle(requests)
    for number, request in enumerate(requests, start=1):
        request.number = number
    return requests


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def build_app(gateway: Gateway) -> ASGIApp:
    """The FastAPI example around the demo's gateway; its client points nowhere (all providers are mocks)."""
    import openai

    llm = openai.AsyncOpenAI(api_key="demo-key-unused", base_url="http://127.0.0.1:9/v1")
    app: ASGIApp = create_app(gateway, llm=llm)
    return app
