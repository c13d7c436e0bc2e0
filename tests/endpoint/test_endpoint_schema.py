"""Endpoint responses validated against OpenAI's published OpenAPI schema (component schemas).

The published document is OpenAPI 3.1 but still marks optional values with 3.0's
``nullable: true``; that keyword is translated to JSON Schema before validating. One
known erratum is applied: stream chunks carry ``finish_reason: null`` until the last one
(the live API and openai-python's ``ChatCompletionChunk`` both say so), which the
document types as a plain string.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

from ..integrations.support import MESSAGES, OTHER_KEY  # noqa: E402
from .conftest import asgi_client  # noqa: E402

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "openai-openapi.json"
if not SPEC.exists():  # pragma: no cover - the spec lives beside the checkout
    pytest.skip(f"OpenAI OpenAPI spec not found at {SPEC}", allow_module_level=True)


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema (a ``null`` type / enum member)."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable(v) for k, v in node.items()}
    if node.pop("nullable", False) is True:
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def _registry() -> Any:
    from referencing.jsonschema import DRAFT202012

    spec = _nullable(json.loads(SPEC.read_text()))
    chunk_choice = spec["components"]["schemas"]["CreateChatCompletionStreamResponse"]["properties"][
        "choices"
    ]
    chunk_choice["items"]["properties"]["finish_reason"]["nullable"] = True  # the erratum above
    chunk_choice["items"]["properties"]["finish_reason"] = _nullable(
        chunk_choice["items"]["properties"]["finish_reason"]
    )
    resource = referencing.Resource.from_contents(spec, default_specification=DRAFT202012)
    return referencing.Registry().with_resource("urn:openai-openapi", resource)


def validate(instance: Any, component: str) -> None:
    schema = {"$ref": f"urn:openai-openapi#/components/schemas/{component}"}
    validator = jsonschema.Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def _sse_payloads(text: str) -> list[Any]:
    return [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: {")]


async def test_chat_completion_and_stream_chunks(client: httpx2.AsyncClient) -> None:
    body = {"model": "gpt-4o", "messages": MESSAGES}
    validate((await client.post("/v1/chat/completions", json=body)).json(), "CreateChatCompletionResponse")
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    with_tool = await client.post(
        "/v1/chat/completions", json={**body, "tools": tools, "tool_choice": "required"}
    )
    validate(with_tool.json(), "CreateChatCompletionResponse")
    streamed = await client.post(
        "/v1/chat/completions", json={**body, "stream": True, "stream_options": {"include_usage": True}}
    )
    chunks = _sse_payloads(streamed.text)
    assert len(chunks) > 2
    for chunk in chunks:
        validate(chunk, "CreateChatCompletionStreamResponse")


async def test_embeddings_and_models(client: httpx2.AsyncClient) -> None:
    embeddings = await client.post(
        "/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["a", "b"]}
    )
    validate(embeddings.json(), "CreateEmbeddingResponse")
    validate((await client.get("/v1/models")).json(), "ListModelsResponse")
    validate((await client.get("/v1/models/gpt-4o")).json(), "Model")
    with pytest.raises(AssertionError, match="owned_by"):  # the validator is not vacuous
        validate(
            {"object": "list", "data": [{"id": "x", "object": "model", "created": 1}]}, "ListModelsResponse"
        )


async def test_error_bodies(client: httpx2.AsyncClient, endpoint: Any) -> None:
    chat = {"model": "gpt-4o", "messages": MESSAGES}
    async with asgi_client(endpoint, key=None) as anonymous:
        failures = [await anonymous.post("/v1/chat/completions", json=chat)]  # 401
    async with asgi_client(endpoint, key=OTHER_KEY) as limited:
        failures.append(await limited.post("/v1/chat/completions", json={**chat, "model": "claude-sonnet"}))
    failures += [
        await client.post("/v1/chat/completions", content=b"{"),  # 400
        await client.post("/v1/chat/completions", json={**chat, "model": "gpt-9"}),  # 404 model
        await client.get("/v1/nothing"),  # 404 path
        await client.get("/v1/chat/completions"),  # 405
    ]
    assert [r.status_code for r in failures] == [401, 403, 400, 404, 404, 405]
    for response in failures:
        validate(response.json(), "ErrorResponse")
