"""Support desk API (FastAPI): agents of several companies draft replies to tickets with an LLM.

Every LLM call goes through the gateway with the agent as ``user`` and the agent's company
as ``tenant``, so per-agent rate limits, per-company budgets and traces need no extra code.

    uvicorn support_api:app --app-dir examples/fastapi_app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from llm_gateway_mw import Gateway, LLMGatewayMiddleware, configure_telemetry

HERE = Path(__file__).parent

# -- tracing: spans to the console by default, OTEL_TRACES_EXPORTER=otlp for a collector ----------
EXPORTER = os.environ.get("OTEL_TRACES_EXPORTER", "console")
telemetry = (
    configure_telemetry(service_name="support-desk", exporter=EXPORTER, metrics=False)  # type: ignore[arg-type]
    if EXPORTER != "none"
    else None
)

# -- the gateway and the one wrapped client the whole app uses -----------------------------------
gateway = Gateway.from_file(os.environ.get("SUPPORT_DESK_GATEWAY", HERE / "gateway.toml"))
llm = gateway.wrap(openai.AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY", "offline-demo")))


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
    },
    "globex": {7: "How do I reset my password?"},
}


class AgentTokens(AuthenticationBackend):
    """``Authorization: Bearer tok-...`` → the agent; anything else stays anonymous."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        agent = AGENTS.get(token) if scheme.lower() == "bearer" else None
        return (AuthCredentials(["agent"]), agent) if agent else None


def identify_agent(scope: dict[str, Any]) -> dict[str, str] | None:
    """Who is calling, for the gateway: the agent and the agent's company."""
    agent = scope.get("user")
    return {"user": agent.username, "tenant": agent.company} if isinstance(agent, Agent) else None


# -- the app: one line of middleware, one mount ---------------------------------------------------
@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    if telemetry is not None:  # export buffered spans before the server process exits
        telemetry.force_flush()


app = FastAPI(title="Support desk", lifespan=lifespan)
app.add_middleware(LLMGatewayMiddleware, gateway=gateway, identify=identify_agent)
app.add_middleware(AuthenticationMiddleware, backend=AgentTokens())  # added last, so it runs first
app.mount("/llm", gateway.asgi_app())  # the triage bot calls /llm/v1/chat/completions with its key


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
    raw = await llm.chat.completions.with_raw_response.create(
        model="auto",
        messages=[
            {"role": "system", "content": f"You are {agent.company}'s support agent. Tone: {options.tone}."},
            {"role": "user", "content": text},
        ],
    )
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
        stream = await llm.chat.completions.create(
            model="cheap", messages=[{"role": "user", "content": f"Summarise: {text}"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return StreamingResponse(words(), media_type="text/plain; charset=utf-8")
