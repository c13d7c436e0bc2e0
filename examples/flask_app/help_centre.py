"""Help-centre answers (Flask): staff of each workspace ask questions answered from their articles.

Every LLM call goes through the gateway with the member as ``user`` and the workspace as
``tenant``: per-member rate limits, per-workspace budgets and traces come for free.

    gunicorn --chdir examples/flask_app -k gthread --threads 4 help_centre:app       # WSGI
    uvicorn --app-dir examples/flask_app help_centre:asgi_app                        # ASGI (WsgiToAsgi)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import openai
from asgiref.wsgi import WsgiToAsgi
from flask import Flask, Response, g, jsonify, request, stream_with_context
from openai.types.chat import ChatCompletionMessageParam

from llm_gateway_mw import Gateway, configure_telemetry
from llm_gateway_mw.integrations.flask import LLMGateway

HERE = Path(__file__).parent

# -- tracing: spans to the console by default, OTEL_TRACES_EXPORTER=otlp for a collector ----------
EXPORTER = os.environ.get("OTEL_TRACES_EXPORTER", "console")
if EXPORTER != "none":
    configure_telemetry(service_name="help-centre", exporter=EXPORTER, metrics=False)  # type: ignore[arg-type]

gateway = Gateway.from_file(os.environ.get("HELP_CENTRE_GATEWAY", HERE / "gateway.toml"))
chat = gateway.wrap(openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "offline-demo")))


@dataclass(frozen=True)
class Member:
    name: str
    workspace: str


MEMBERS = {"tok-dana": Member("dana", "initech"), "tok-eli": Member("eli", "umbrella")}
ARTICLES = {
    "initech": [
        "To reset a password, open Settings, then Security, then 'Reset password'.",
        "Invoices are emailed on the first working day of each month.",
    ],
    "umbrella": ["Exports larger than 2 GB are split into several files."],
}


def identify_member(req: Any) -> dict[str, str] | None:
    """Who is calling, for the gateway (read after the before_request hooks ran)."""
    member = g.get("user")
    return {"user": member.name, "tenant": member.workspace} if isinstance(member, Member) else None


app = Flask(__name__)
LLMGateway(app, gateway, identify=identify_member)


@app.before_request
def authenticate() -> Any:
    if request.endpoint == "health":
        return None
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    member = MEMBERS.get(token)
    if member is None:
        return jsonify(error="send 'Authorization: Bearer <member token>'"), 401
    g.user = member
    return None


def _messages(question: str) -> list[ChatCompletionMessageParam]:
    articles = "\n".join(ARTICLES[g.user.workspace])
    return [
        {"role": "system", "content": f"Answer from these help articles only:\n{articles}"},
        {"role": "user", "content": question},
    ]


def _question() -> str:
    question = (request.get_json(silent=True) or {}).get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("missing question")
    return question


@app.errorhandler(ValueError)
def bad_request(err: ValueError) -> Any:
    return jsonify(error=str(err)), 400


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.post("/ask")
def ask() -> Any:
    """Answer with the "auto" route: the gateway picks the cheap or the strong model."""
    raw = chat.chat.completions.with_raw_response.create(model="auto", messages=_messages(_question()))
    answer = raw.parse().choices[0].message.content
    return {"answer": answer, "model": raw.headers.get("x-llm-gateway-deployment"), "member": g.user.name}


@app.post("/ask/stream")
def ask_stream() -> Response:
    """The answer streamed as plain text while the model writes it."""
    messages = _messages(_question())

    def words() -> Iterator[str]:
        for chunk in chat.chat.completions.create(model="cheap", messages=messages, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return Response(stream_with_context(words()), mimetype="text/plain")


@app.post("/translate")
async def translate() -> Any:
    """An async view calling Claude; Flask runs it in its own event loop, so the client is made here."""
    text = _question()
    claude = gateway.wrap(anthropic.AsyncAnthropic(api_key=os.environ.get("ANTHROPIC_API_KEY", "offline")))
    message = await claude.messages.create(
        model="translator", max_tokens=200, messages=[{"role": "user", "content": f"To French: {text}"}]
    )
    text = "".join(block.text for block in message.content if block.type == "text")
    return {"translation": text, "member": g.user.name}


asgi_app = WsgiToAsgi(app)  # type: ignore[no-untyped-call]
