"""The demo's world: its gateway config, a small FastAPI app using a wrapped client, and the traffic.

The app is what a user writes: ``gateway.wrap(openai.AsyncOpenAI())`` in a handler, the
``LLMGatewayMiddleware`` saying who is calling, and the status page mounted beside it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .defaults import CHEAP_MODEL, DEFAULT_ROUTE, STRONG_MODEL

if TYPE_CHECKING:
    from ..gateway import Gateway

__all__ = ["FAILING_PROVIDER", "RATE_LIMIT", "DemoRequest", "build_app", "demo_config", "plan_traffic"]

FAILING_PROVIDER = "us-east"
HEALTHY_PROVIDER = "eu-west"
RATE_LIMIT = 12  # requests per minute per user
BURSTY_USER = "batch-bot"
USERS = ("alice", "bob", "carol", "dave")

SIMPLE_PROMPTS = (
    "Translate 'Your order has shipped' into German.",
    "What's the capital of Australia?",
    "Fix the typos: 'Thnak you for you're patience.'",
    "Summarize in one sentence: the all-hands moved to Thursday at 3pm in the main auditorium.",
    "Give me three subject lines for a spring sale newsletter.",
    "Convert 72 degrees Fahrenheit to Celsius.",
    "Classify the sentiment: 'The battery lasts forever and the screen is gorgeous.'",
    "Rewrite this more politely: 'Send me the report now.'",
    "What does HTTP status 404 mean?",
    "thanks, that's all!",
)
COMPLEX_PROMPTS = (
    "Design a multi-region active-active architecture for our payments API on Kubernetes with "
    "Postgres. Compare synchronous replication with async reconciliation, explain the failure modes "
    "during a network partition, and recommend a rollout plan.",
    "Our worker deadlocks under load:\n```\nTraceback (most recent call last):\n"
    '  File "worker.py", line 88\nRuntimeError: deadlock detected\n```\n'
    "Walk me through the root cause step by step and propose a thread-safe fix.",
    "Prove that the square root of 2 is irrational, then explain why the argument fails for 4.",
    "Review this non-compete clause for enforceability in California and New York and explain "
    "the legal risk: 'Employee shall not engage in any competing business for 24 months worldwide.'",
    "Analyze our SaaS metrics: MRR grew from $120k to $180k, logo churn is 3.1% monthly, NRR is "
    "104%, CAC payback is 19 months. What are the risks and what would you prioritize, and why?",
)


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


@dataclass(slots=True)
class DemoRequest:
    """One request the demo sends, and what came back."""

    number: int
    user: str
    prompt: str
    status: int = 0
    deployment: str | None = None

    @property
    def request_id(self) -> str:
        return f"demo-{self.number:04d}"


def plan_traffic(total: int, seed: int) -> list[DemoRequest]:
    """A shuffled burst: four users asking a mix of questions, and one bot firing a third of the total."""
    rng = random.Random(seed)
    bot = total // 3
    requests = []
    for i in range(total):
        user = BURSTY_USER if i < bot else USERS[i % len(USERS)]
        prompt = rng.choice(COMPLEX_PROMPTS if rng.random() < 0.3 else SIMPLE_PROMPTS)
        requests.append(DemoRequest(0, user, prompt))
    rng.shuffle(requests)
    for number, request in enumerate(requests, start=1):
        request.number = number
    return requests


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def _identify(scope: Scope) -> dict[str, str] | None:
    """Demo only: the user comes from a header. A real app reads its authenticated user instead."""
    for name, value in scope.get("headers", ()):
        if name == b"x-demo-user":
            return {"user": value.decode("latin-1")}
    return None


def build_app(gateway: Gateway) -> tuple[ASGIApp, str]:
    """The demo's web app and what it is built with (FastAPI when installed, else plain ASGI)."""
    import openai

    from ..asgi.middleware import LLMGatewayMiddleware

    client = gateway.wrap(openai.AsyncOpenAI(api_key="demo-key-unused", base_url="http://127.0.0.1:9/v1"))

    async def answer(message: str) -> dict[str, Any]:
        raw = await client.chat.completions.with_raw_response.create(
            model=DEFAULT_ROUTE, messages=[{"role": "user", "content": message}]
        )
        completion = raw.parse()
        return {
            "answer": completion.choices[0].message.content,
            "deployment": raw.headers.get("x-llm-gateway-deployment"),
            "route": raw.headers.get("x-llm-gateway-route"),
        }

    status = gateway.status_app(public=True)  # in-process demo: nobody else can reach it
    try:
        from fastapi import Body, FastAPI
    except ImportError:
        return LLMGatewayMiddleware(_plain_app(answer, status), gateway, identify=_identify), "plain ASGI"

    app = FastAPI(title="llm-gateway-mw demo")

    @app.post("/chat")
    async def chat(message: str = Body(embed=True)) -> dict[str, Any]:
        return await answer(message)  # gateway refusals escape: the middleware answers 429

    app.mount("/llm-gateway", status)
    app.add_middleware(LLMGatewayMiddleware, gateway=gateway, identify=_identify)
    return app, "FastAPI"


def _plain_app(answer: Callable[[str], Awaitable[dict[str, Any]]], status: ASGIApp) -> ASGIApp:
    """The same app without FastAPI: ``POST /chat`` and the status page under ``/llm-gateway``."""

    async def app(
        scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        path = scope.get("path", "")
        if path.startswith("/llm-gateway"):
            await status({**scope, "root_path": "/llm-gateway"}, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        result = await answer(json.loads(body or b"{}").get("message", ""))
        payload = json.dumps(result).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app
