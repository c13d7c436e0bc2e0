"""Meeting-notes API: summaries (sync, streamed) and action items (async), all through the gateway."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator

import openai
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from openai.types.chat import ChatCompletionMessageParam

from llm_gateway_mw.integrations.django import get_gateway


@functools.cache
def llm() -> openai.OpenAI:
    """The wrapped sync client, made once per process from settings.LLM_GATEWAY."""
    return get_gateway().wrap(openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "offline-demo")))


@functools.cache
def allm() -> openai.AsyncOpenAI:
    return get_gateway().wrap(openai.AsyncOpenAI(api_key=os.environ.get("OPENAI_API_KEY", "offline-demo")))


class BadRequest(Exception):
    pass


def _notes(request: HttpRequest) -> list[ChatCompletionMessageParam]:
    try:
        notes = json.loads(request.body or b"{}").get("notes")
    except (ValueError, AttributeError):
        notes = None
    if not isinstance(notes, str) or not notes.strip():
        raise BadRequest('send {"notes": "..."}')
    team = request.user.team
    return [
        {"role": "system", "content": f"You summarise meeting notes for the {team} team."},
        {"role": "user", "content": notes},
    ]


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def summarise(request: HttpRequest) -> HttpResponse:
    """A summary from the "auto" route: the gateway picks the cheap or the strong model."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        messages = _notes(request)
    except BadRequest as err:
        return JsonResponse({"error": str(err)}, status=400)
    raw = llm().chat.completions.with_raw_response.create(model="auto", messages=messages)
    summary = raw.parse().choices[0].message.content
    return JsonResponse(
        {
            "summary": summary,
            "model": raw.headers.get("x-llm-gateway-deployment"),
            "member": request.user.username,
        }
    )


def summarise_stream(request: HttpRequest) -> HttpResponse:
    """The summary streamed as plain text while the model writes it."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        messages = _notes(request)
    except BadRequest as err:
        return JsonResponse({"error": str(err)}, status=400)

    def words() -> Iterator[str]:  # runs after the view returned: the middleware keeps its context
        for chunk in llm().chat.completions.create(model="cheap", messages=messages, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return StreamingHttpResponse(words(), content_type="text/plain; charset=utf-8")


async def action_items(request: HttpRequest) -> HttpResponse:
    """An async view: the same caller context reaches the async client."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        messages = _notes(request)
    except BadRequest as err:
        return JsonResponse({"error": str(err)}, status=400)
    messages.append({"role": "user", "content": "List the action items."})
    completion = await allm().chat.completions.create(model="auto", messages=messages)
    return JsonResponse(
        {"action_items": completion.choices[0].message.content, "member": request.user.username}
    )
