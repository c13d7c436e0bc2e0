"""Wire error bodies: the real SDKs must raise their typed exceptions with our message."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from llm_gateway_mw.dialects.errors import (
    MAX_FALLBACK_MESSAGE_CHARS,
    error_body,
    error_message_from_body,
    error_type_for_status,
    stream_error_event,
    translate_error_body,
)
from llm_gateway_mw.dialects.sse import SSEEvent, encode_event

from . import sdk_clients
from .sdk_clients import Reply, anthropic_error_fields

ANTHROPIC_429 = b'{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}'
OPENAI_404 = json.dumps(
    {
        "error": {
            "message": "The model `gpt-9` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
).encode()


def openai_client(status: int, body: bytes, content_type: str = "application/json") -> openai.OpenAI:
    return sdk_clients.openai_client(Reply(body, status, content_type))


def anthropic_client(status: int, body: bytes, content_type: str = "application/json") -> anthropic.Anthropic:
    return sdk_clients.anthropic_client(Reply(body, status, content_type))


def call_openai(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], **kwargs)


def call_anthropic(client: anthropic.Anthropic) -> Any:
    return client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])


def test_error_body_shapes() -> None:
    assert error_body("openai", message="m", error_type="t", code="c") == {
        "error": {"message": "m", "type": "t", "param": None, "code": "c"}
    }
    assert error_body("anthropic", message="m", error_type="rate_limit_error") == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "m"},
    }
    # a type Anthropic clients do not know reads as api_error
    assert error_body("anthropic", message="m", error_type="server_error")["error"]["type"] == "api_error"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ANTHROPIC_429, "Number of request tokens has exceeded your per-minute rate limit"),
        (OPENAI_404, "The model `gpt-9` does not exist or you do not have access to it."),
        (b'{"error": "plain string error"}', "plain string error"),
        (b'{"message": "top-level message"}', "top-level message"),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b"<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
        (b'{"unexpected": 1}', '{"unexpected": 1}'),
        (b"  \xff\xfe garbage  ", "\ufffd\ufffd garbage"),
        (b"", ""),
        (b"[1, 2]", "[1, 2]"),
    ],
)
def test_error_message_from_body(raw: bytes, expected: str) -> None:
    assert error_message_from_body(raw) == expected


def test_error_message_fallback_is_truncated() -> None:
    assert len(error_message_from_body(b"x" * 5000)) == MAX_FALLBACK_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
        (418, "invalid_request_error"),
        (599, "api_error"),
    ],
)
def test_error_type_for_status(status: int, error_type: str) -> None:
    assert error_type_for_status(status) == error_type


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (409, openai.ConflictError),
        (422, openai.UnprocessableEntityError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (529, openai.InternalServerError),
    ],
)
def test_anthropic_error_translated_for_openai_sdk(
    status: int, exception: type[openai.APIStatusError]
) -> None:
    body = translate_error_body(ANTHROPIC_429, target="openai", status=status)
    with pytest.raises(exception) as info:
        call_openai(openai_client(status, body))
    assert info.value.status_code == status
    assert "Number of request tokens has exceeded your per-minute rate limit" in info.value.message
    assert info.value.type == error_type_for_status(status)


@pytest.mark.parametrize(
    ("status", "exception_names"),
    [
        (400, {"BadRequestError"}),
        (401, {"AuthenticationError"}),
        (403, {"PermissionDeniedError"}),
        (404, {"NotFoundError"}),
        (413, {"ContentTooLargeError", "RequestTooLargeError"}),  # the name changed across SDK generations
        (429, {"RateLimitError"}),
        (500, {"InternalServerError"}),
        (529, {"OverloadedError"}),
    ],
)
def test_openai_error_translated_for_anthropic_sdk(status: int, exception_names: set[str]) -> None:
    body = translate_error_body(OPENAI_404, target="anthropic", status=status)
    assert json.loads(body)["error"]["type"] == error_type_for_status(status)
    with pytest.raises(anthropic.APIStatusError) as info:
        call_anthropic(anthropic_client(status, body))
    assert type(info.value).__name__ in exception_names
    assert info.value.status_code == status
    assert "The model `gpt-9` does not exist" in str(info.value)
    assert anthropic_error_fields(info.value) == (
        error_type_for_status(status),
        "The model `gpt-9` does not exist or you do not have access to it.",
    )


def test_openai_code_is_kept_for_openai_clients() -> None:
    body = json.loads(translate_error_body(OPENAI_404, target="openai", status=404))
    assert body["error"]["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError) as info:
        call_openai(openai_client(404, json.dumps(body).encode()))
    assert info.value.code == "model_not_found"


def test_garbage_upstream_body_still_gives_a_typed_error() -> None:
    raw = b"<html>upstream proxy timeout</html>"
    with pytest.raises(anthropic.InternalServerError, match="upstream proxy timeout"):
        call_anthropic(anthropic_client(502, translate_error_body(raw, target="anthropic", status=502)))
    with pytest.raises(openai.RateLimitError, match="empty body"):
        call_openai(openai_client(429, translate_error_body(b"", target="openai", status=429)))


# --- mid-stream errors ----------------------------------------------------------------------


def sse(*events: SSEEvent) -> bytes:
    return b"".join(encode_event(e) for e in events)


def test_openai_stream_error_event_raises_api_error_mid_stream() -> None:
    first = SSEEvent(
        json.dumps(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "m",
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": None}
                ],
            }
        )
    )
    error = stream_error_event("openai", message="upstream connection reset", error_type="api_error")
    assert error.event is None
    client = openai_client(200, sse(first, error), "text/event-stream")
    received: list[str] = []
    with pytest.raises(openai.APIError, match="upstream connection reset") as info:
        for chunk in call_openai(client, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["Hel"]
    assert info.value.type == "api_error"


def test_anthropic_stream_error_event_raises_status_error_mid_stream() -> None:
    start = SSEEvent(
        json.dumps(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "m",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 1},
                },
            }
        ),
        "message_start",
    )
    error = stream_error_event("anthropic", message="Overloaded", error_type="overloaded_error")
    assert error.event == "error"
    client = anthropic_client(200, sse(start, error), "text/event-stream")
    with (
        pytest.raises(anthropic.APIStatusError, match="Overloaded") as info,
        client.messages.stream(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]) as s,
    ):
        for _ in s:
            pass
    assert anthropic_error_fields(info.value) == ("overloaded_error", "Overloaded")
