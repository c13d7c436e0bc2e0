"""A URLconf for the Django middleware tests: views calling wrapped clients of ``get_gateway()``."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import path

from llm_gateway_mw.context import current_call_context
from llm_gateway_mw.gateway import Gateway
from llm_gateway_mw.integrations.django import get_gateway

from .support import MESSAGES


@functools.lru_cache(maxsize=32)
def _clients(gateway: Gateway) -> tuple[openai.OpenAI, openai.AsyncOpenAI]:
    base = "http://127.0.0.1:9/v1"
    return (
        gateway.wrap(openai.OpenAI(api_key="k", base_url=base)),
        gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url=base)),
    )


def _context() -> dict[str, Any]:
    ctx = current_call_context()
    return {
        "user": ctx.caller.user,
        "tenant": ctx.caller.tenant,
        "key": ctx.caller.key,
        "route": ctx.http_route,
    }


def ask(request: HttpRequest, item: int = 0) -> JsonResponse:
    client, _ = _clients(get_gateway())
    for _ in range(int(request.GET.get("n", "1"))):
        client.chat.completions.create(model=request.GET.get("model", "gpt-4o"), messages=MESSAGES)
    return JsonResponse(_context())


async def aask(request: HttpRequest) -> JsonResponse:
    _, client = _clients(get_gateway())
    for _ in range(int(request.GET.get("n", "1"))):
        await client.chat.completions.create(model=request.GET.get("model", "gpt-4o"), messages=MESSAGES)
    return JsonResponse(_context())


def stream(request: HttpRequest) -> StreamingHttpResponse:
    client, _ = _clients(get_gateway())

    def words() -> Iterator[str]:
        for chunk in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
        yield f"|user={current_call_context().caller.user}"

    return StreamingHttpResponse(words(), content_type="text/plain")


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    _, client = _clients(get_gateway())

    async def words() -> AsyncIterator[str]:
        chunks = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
        yield f"|user={current_call_context().caller.user}"

    return StreamingHttpResponse(words(), content_type="text/plain")


def caught(request: HttpRequest) -> JsonResponse:
    client, _ = _clients(get_gateway())
    try:
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    except openai.RateLimitError:
        return JsonResponse({"handled": "by the view"})
    return JsonResponse({"handled": "nothing"})


urlpatterns = [
    path("ask/", ask),
    path("items/<int:item>/", ask),
    path("aask/", aask),
    path("stream/", stream),
    path("astream/", astream),
    path("caught/", caught),
]
