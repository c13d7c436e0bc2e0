"""Support desk API (FastAPI): agents of several companies draft replies to tickets with an LLM.

Every LLM call goes through the gateway with the agent as ``user`` and the agent's company
as ``tenant``, so per-agent rate limits, per-company budgets and traces need no extra code.

    uvicorn support_api:app --app-dir examples/fastapi_app

``create_app(gateway)`` builds the app around any gateway (the tests and ``llm-gateway-mw
demo`` do). Importing this module has no side effects: ``app``, the one uvicorn serves, is
built on first access by ``build_default_app()`` (tracing to the console, ``gateway.toml``).
Installed, this module is ``llm_gateway_mw.examples.fastapi_app.support_api``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openai
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from llm_gateway_mw import Gateway, LLMGatewayMiddleware, configure_telemetry

if TYPE_CHECKING:
    from llm_gateway_mw.telemetry import TelemetryHandle

__all__ = ["AGENTS", "CONFIG", "TICKETS", "Agent", "build_default_app", "create_app"]

CONFIG = Path(__file__).parent / "gateway.toml"


# -- agents and tickets (a real app keeps these in a database) -----------------------------------
@dataclass(frozen=True)
class Agent(BaseUser):
    username: str
    company: str

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username

    @property
    def identity(self) -> str:
        return self.username


AGENTS = {
    "tok-alice": Agent("alice", "acme"),
    "tok-bob": Agent("bob", "acme"),
    "tok-carol": Agent("carol", "globex"),
    "tok-dave": Agent("dave", "globex"),
    "tok-erin": Agent("erin", "initech"),
    "tok-batch-bot": Agent("batch-bot", "initech"),  # initech's job that pre-drafts replies to the queue
}
TICKETS: dict[str, dict[int, str]] = {
    "acme": {
        1: "My invoice for March shows two charges for the same seat. Can you refund one?",
        2: (
            "After upgrading to v5 our nightly export job fails with a timeout when the dataset exceeds "
            "two million rows. We tried raising the limit in settings, splitting the export by region and "
            "running it off-peak, but each attempt stops at the same step. Please explain what changed in "
            "v5, compare the options for exporting large datasets, and recommend a migration plan."
        ),
        3: "How do I add a new user to our workspace?",
        4: "Can you change the billing email on our account to finance@acme.example?",
        5: (
            "We need to move our EU customers' data to your Frankfurt region before our GDPR audit in six "
            "weeks. Walk us through the migration step by step, explain the downtime and the data residency "
            "guarantees during the move, compare a big-bang cutover with a phased one, and tell us what "
            "our DPO should review."
        ),
        6: "Where can I download last year's invoices?",
    },
    "globex": {
        7: "How do I reset my password?",
        8: "Is there a dark mode in the mobile app?",
        9: "Please cancel the extra seat we added by mistake yesterday.",
        10: (
            "Our SSO login started failing for half of the team after we rotated the SAML signing "
            "certificate in Okta. Some users get 'invalid signature' while others can still sign in. "
            "Diagnose what could cause a partial failure like this, explain how certificate rollover "
            "should work with your service provider metadata, and give us a safe rollback plan."
        ),
        11: (
            "Your API returns 429 errors to our integration during the end-of-month batch even though we "
            "stay under the documented limit. Analyze our pattern (bursts of 400 requests in ten seconds, "
            "then nothing for a minute), explain how your rate limiter counts requests, and propose a "
            "retry and backoff strategy with the trade-offs."
        ),
        12: "What time zone are the usage reports in?",
    },
    "initech": {
        13: "Can I get a copy of our contract?",
        14: "How do I turn off the weekly summary emails?",
        15: (
            "Our webhook consumer receives some events twice and a few out of order, which corrupts the "
            "order totals in our warehouse. Explain your delivery guarantees, debug why duplicates and "
            "reordering happen, and design an idempotent consumer with a reconciliation job, comparing "
            "the options."
        ),
        16: "Please update the shipping address on order 5521.",
        17: "Does the Pro subscription come with phone support?",
    },
}


class AgentTokens(AuthenticationBackend):
    """``Authorization: Bearer tok-...`` → the agent; anything else stays anonymous."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        agent = AGENTS.get(token) if scheme.lower() == "bearer" else None
        return (AuthCredentials(["agent"]), agent) if agent else None


def identify_agent(scope: Mapping[str, Any]) -> dict[str, str] | None:
    """Who is calling, for the gateway: the agent and the agent's company."""
    agent = scope.get("user")
    return {"user": agent.username, "tenant": agent.company} if isinstance(agent, Agent) else None


def from_this_machine(scope: Mapping[str, Any]) -> bool:
    """The status page's guard: open to a browser on the server's own machine only."""
    host = (scope.get("client") or ("",))[0]
    return host in ("127.0.0.1", "::1")


class DraftOptions(BaseModel):
    tone: str = "friendly"


def _agent(request: Request) -> Agent:
    agent = request.user
    if not isinstance(agent, Agent):
        raise HTTPException(401, "sign in with 'Authorization: Bearer <agent token>'")
    return agent


def _ticket(request: Request, ticket_id: int) -> tuple[Agent, str]:
    agent = _agent(request)
    text = TICKETS.get(agent.company, {}).get(ticket_id)
    if text is None:
        raise HTTPException(404, f"no ticket {ticket_id} for {agent.company}")
    return agent, text


# -- the app: one line of middleware, two mounts --------------------------------------------------
def create_app(
    gateway: Gateway,
    *,
    llm: openai.AsyncOpenAI | None = None,
    telemetry: TelemetryHandle | None = None,
) -> FastAPI:
    """The support desk around ``gateway``.

    ``llm`` is the OpenAI client the handlers use, wrapped here with ``gateway`` (default:
    ``openai.AsyncOpenAI()`` with ``OPENAI_API_KEY``; unused while every provider is a mock).
    ``telemetry`` is flushed when the app shuts down. The gateway is ``app.state.gateway``.
    """
    if llm is None:
        llm = openai.AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY", "offline-demo"))
    client = gateway.wrap(llm)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if telemetry is not None:  # export buffered spans before the server process exits
            telemetry.force_flush()

    app = FastAPI(title="Support desk", lifespan=lifespan)
    app.state.gateway = gateway
    app.add_middleware(LLMGatewayMiddleware, gateway=gateway, identify=identify_agent)
    app.add_middleware(AuthenticationMiddleware, backend=AgentTokens())  # added last, so it runs first
    app.mount("/llm", gateway.asgi_app())  # the triage bot calls /llm/v1/chat/completions with its key
    app.mount("/llm-gateway", gateway.status_app(allow=from_this_machine))  # live status page

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/tickets")
    async def tickets(request: Request) -> dict[str, Any]:
        agent = _agent(request)
        return {"company": agent.company, "tickets": sorted(TICKETS.get(agent.company, {}))}

    @app.post("/tickets/{ticket_id}/draft")
    async def draft_reply(ticket_id: int, options: DraftOptions, request: Request) -> dict[str, Any]:
        """Draft a reply with the "auto" route: the gateway picks the cheap or the strong model."""
        agent, text = _ticket(request, ticket_id)
        system = f"You are {agent.company}'s support agent. Tone: {options.tone}."
        raw = await client.chat.completions.with_raw_response.create(
            model="auto",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
        )  # refusals (rate limit, budget) escape: the middleware answers 429 with Retry-After
        completion = raw.parse()
        return {
            "ticket": ticket_id,
            "draft": completion.choices[0].message.content,
            "model": raw.headers.get("x-llm-gateway-deployment"),
            "agent": agent.username,
        }

    @app.post("/tickets/{ticket_id}/summary")
    async def stream_summary(ticket_id: int, request: Request) -> StreamingResponse:
        """A one-line summary, streamed to the browser as the model writes it."""
        _, text = _ticket(request, ticket_id)

        async def words() -> AsyncIterator[str]:
            stream = await client.chat.completions.create(
                model="cheap", messages=[{"role": "user", "content": f"Summarise: {text}"}], stream=True
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        return StreamingResponse(words(), media_type="text/plain; charset=utf-8")

    return app


def build_default_app() -> FastAPI:
    """The app as served: tracing per ``OTEL_TRACES_EXPORTER`` (console by default, ``otlp`` for a
    collector, ``none``), and the gateway from ``gateway.toml`` (or ``$SUPPORT_DESK_GATEWAY``)."""
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "console")
    telemetry = (
        configure_telemetry(service_name="support-desk", exporter=exporter, metrics=False)  # type: ignore[arg-type]
        if exporter != "none"
        else None
    )
    gateway = Gateway.from_file(os.environ.get("SUPPORT_DESK_GATEWAY", CONFIG))
    return create_app(gateway, telemetry=telemetry)


def __getattr__(name: str) -> Any:
    """``support_api.app`` (what ``uvicorn support_api:app`` reads) is built on first access."""
    if name == "app":
        app = globals()["app"] = build_default_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
