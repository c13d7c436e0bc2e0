"""Raw payloads validate against the SDKs' pydantic models (validation, not lax construction)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from anthropic.types import Message, MessageTokensCount, ModelInfo, RawMessageStreamEvent
from openai.types import CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from .behaviours import ToolCall, Usage, success
from .sdk import ANTHROPIC_MODEL, ANTHROPIC_TOOLS, OPENAI_MODEL, OPENAI_TOOLS, USER_HI
from .server import FakeUpstream

OAI = {"authorization": "Bearer test-key"}
ANT = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
SCRIPTED = success(
    "Sure, calling it.",
    tool_calls=[ToolCall(name="get_weather", arguments={"city": "Paris"}), ToolCall(name="get_weather")],
    usage=Usage(
        input_tokens=30, output_tokens=12, cached_tokens=10, cache_creation_tokens=5, reasoning_tokens=2
    ),
)


@pytest.fixture
def http(upstream: FakeUpstream) -> Iterator[httpx2.Client]:
    """A raw HTTP client on the upstream."""
    with httpx2.Client(base_url=upstream.url, timeout=5) as client:
        yield client


def _sse(response: httpx2.Response) -> list[tuple[str | None, str]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event"), fields["data"]))
    return events


def test_chat_completion_payloads(upstream: FakeUpstream, http: httpx2.Client) -> None:
    upstream.enqueue(SCRIPTED, SCRIPTED)
    body: dict[str, Any] = {"model": OPENAI_MODEL, "messages": USER_HI, "tools": OPENAI_TOOLS}
    plain = http.post("/v1/chat/completions", json=body, headers=OAI)
    completion = ChatCompletion.model_validate(plain.json())
    assert len(completion.choices[0].message.tool_calls or []) == 2
    assert completion.usage and completion.usage.completion_tokens_details
    assert completion.usage.completion_tokens_details.reasoning_tokens == 2
    streamed = http.post(
        "/v1/chat/completions",
        json={**body, "stream": True, "stream_options": {"include_usage": True}},
        headers=OAI,
    )
    events = _sse(streamed)
    assert events[-1] == (None, "[DONE]")
    chunks = [ChatCompletionChunk.model_validate(json.loads(data)) for _, data in events[:-1]]
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.total_tokens == 42
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert all(c.usage is None for c in chunks[:-1])


def test_embeddings_and_models_payloads(http: httpx2.Client) -> None:
    response = http.post("/v1/embeddings", json={"model": "e", "input": [[1, 2, 3], [4]]}, headers=OAI)
    assert len(CreateEmbeddingResponse.model_validate(response.json()).data) == 2
    listing = http.get("/v1/models", headers=OAI).json()
    assert [Model.model_validate(m).id for m in listing["data"]]
    ant_listing = http.get("/v1/models", headers=ANT).json()
    assert [ModelInfo.model_validate(m).id for m in ant_listing["data"]]


def test_responses_payloads(upstream: FakeUpstream, http: httpx2.Client) -> None:
    upstream.enqueue(SCRIPTED, SCRIPTED)
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]
    body = {"model": OPENAI_MODEL, "input": "weather?", "tools": tools}
    response = Response.model_validate(http.post("/v1/responses", json=body, headers=OAI).json())
    assert [item.type for item in response.output] == ["message", "function_call", "function_call"]
    events = _sse(http.post("/v1/responses", json={**body, "stream": True}, headers=OAI))
    adapter: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
    parsed = [adapter.validate_python(json.loads(data)) for _, data in events]
    assert [e.sequence_number for e in parsed] == list(range(len(parsed)))
    assert all(name == e.type for (name, _), e in zip(events, parsed, strict=True))
    assert parsed[-1].type == "response.completed"


def test_anthropic_payloads(upstream: FakeUpstream, http: httpx2.Client) -> None:
    upstream.enqueue(SCRIPTED, SCRIPTED)
    body = {"model": ANTHROPIC_MODEL, "max_tokens": 100, "messages": USER_HI, "tools": ANTHROPIC_TOOLS}
    message = Message.model_validate(http.post("/v1/messages", json=body, headers=ANT).json())
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.usage.cache_read_input_tokens == 10 and message.usage.cache_creation_input_tokens == 5
    events = _sse(http.post("/v1/messages", json={**body, "stream": True}, headers=ANT))
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    kinds = []
    for name, data in events:
        payload = json.loads(data)
        assert payload["type"] == name
        if name != "ping":
            adapter.validate_python(payload)
        kinds.append(name)
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 3
    count = http.post(
        "/v1/messages/count_tokens", json={"model": ANTHROPIC_MODEL, "messages": USER_HI}, headers=ANT
    )
    assert MessageTokensCount.model_validate(count.json()).input_tokens > 0


def test_error_payload_shapes(http: httpx2.Client) -> None:
    oai = http.post("/v1/chat/completions", json={"messages": USER_HI}, headers=OAI)
    assert oai.json() == {
        "error": {
            "message": "you must provide a model parameter",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    ant = http.post("/v1/messages", json={"model": "m", "messages": USER_HI}, headers=ANT)
    payload = ant.json()
    assert payload == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        "request_id": payload["request_id"],
    }
    assert payload["request_id"].startswith("req_011C")
