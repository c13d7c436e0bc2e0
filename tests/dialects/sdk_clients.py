"""Real SDK clients answered by an in-memory transport, for either SDK generation.

CI runs these tests on the latest SDKs (built on ``httpx2``) and on the oldest supported
ones (openai 1.x / anthropic 0.x on ``httpx``); the helpers here hide the differences.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import anthropic
import httpx
import httpx2
import openai


@dataclass(frozen=True, slots=True)
class Reply:
    """What the fake upstream answers: status, body, content type, and chunking of the body."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"
    chunk_size: int | None = None


def _http(sdk: ModuleType) -> ModuleType:
    """The HTTP library ``sdk`` is built on."""
    return httpx2 if hasattr(sdk._base_client, "httpx2") else httpx


def _transport(http: ModuleType, reply: Reply, *, streaming_body: bool) -> Any:
    def handler(request: Any) -> Any:
        headers = {"content-type": reply.content_type}
        if streaming_body and reply.chunk_size:
            size = reply.chunk_size
            pieces = [reply.body[i : i + size] for i in range(0, len(reply.body), size)]
            return http.Response(reply.status, headers=headers, content=iter(pieces))
        return http.Response(reply.status, headers=headers, content=reply.body)

    return http.MockTransport(handler)


def openai_client(reply: Reply) -> openai.OpenAI:
    http = _http(openai)
    client = http.Client(transport=_transport(http, reply, streaming_body=True))
    return openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1", max_retries=0, http_client=client)


def async_openai_client(reply: Reply) -> openai.AsyncOpenAI:
    http = _http(openai)
    client = http.AsyncClient(transport=_transport(http, reply, streaming_body=False))
    return openai.AsyncOpenAI(
        api_key="x", base_url="http://127.0.0.1:9/v1", max_retries=0, http_client=client
    )


def anthropic_client(reply: Reply) -> anthropic.Anthropic:
    http = _http(anthropic)
    client = http.Client(transport=_transport(http, reply, streaming_body=True))
    return anthropic.Anthropic(api_key="x", base_url="http://127.0.0.1:9", max_retries=0, http_client=client)


def chat_stream(client: openai.OpenAI | openai.AsyncOpenAI) -> Callable[..., Any]:
    """``chat.completions.stream``, which older SDKs have under ``beta``."""
    completions: Any = client.chat.completions
    if hasattr(completions, "stream"):
        return completions.stream  # type: ignore[no-any-return]
    return client.beta.chat.completions.stream  # type: ignore[no-any-return]


def anthropic_error_fields(error: anthropic.APIStatusError) -> tuple[Any, Any]:
    """``(type, message)`` of an Anthropic error, from its body (every SDK generation keeps it)."""
    body: Any = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    return (body.get("type"), body.get("message")) if isinstance(body, dict) else (None, None)


def anthropic_knows_stop_reason(reason: str) -> bool:
    """Whether the installed ``anthropic.types.Message`` accepts ``reason`` when validating."""
    annotation = anthropic.types.Message.model_fields["stop_reason"].annotation
    values: set[Any] = set()
    for arg in typing.get_args(annotation):
        values.update(typing.get_args(arg) or [arg])
    return reason in values


def thinking_tokens(usage: Any) -> int | None:
    """``usage.output_tokens_details.thinking_tokens`` (a plain dict on SDKs that predate it)."""
    details = getattr(usage, "output_tokens_details", None)
    if isinstance(details, dict):
        return details.get("thinking_tokens")
    return getattr(details, "thinking_tokens", None)
