"""Self-tests of request validation: the real APIs' statuses and error shapes."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from anthropic.resources.messages import Messages
from openai.resources.chat.completions import Completions
from openai.resources.embeddings import Embeddings
from openai.resources.responses import Responses

from .anthropic_validate import MESSAGE_PARAMS
from .behaviours import rate_limited
from .fixtures import UpstreamFactory
from .openai_validate import CHAT_PARAMS, EMBEDDING_PARAMS, RESPONSES_PARAMS
from .sdk import ANTHROPIC_MODEL, OPENAI_MODEL, USER_HI, anthropic_client, openai_client
from .server import FakeUpstream

OAI_HEADERS = {"authorization": "Bearer test-key"}
ANT_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}


@pytest.fixture
def http(upstream: FakeUpstream) -> Iterator[httpx2.Client]:
    """A raw HTTP client on the upstream, for bodies the SDKs would not build."""
    with httpx2.Client(base_url=upstream.url, timeout=5) as client:
        yield client


def _chat(**overrides: Any) -> dict[str, Any]:
    return {"model": OPENAI_MODEL, "messages": USER_HI, **overrides}


def _msg(**overrides: Any) -> dict[str, Any]:
    body = {"model": ANTHROPIC_MODEL, "max_tokens": 16, "messages": USER_HI, **overrides}
    return {k: v for k, v in body.items() if v is not None}


OPENAI_CASES = [
    ({"messages": USER_HI}, "you must provide a model parameter"),
    ({"model": OPENAI_MODEL}, "Missing required parameter: 'messages'."),
    (_chat(messages=[]), "empty array"),
    (_chat(messages=[{"role": "robot", "content": "x"}]), "Invalid value: 'robot'"),
    (_chat(messages=[{"role": "user"}]), "'messages[0].content'"),
    (_chat(messages=[*USER_HI, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]), "preceeding"),
    (
        _chat(messages=[*USER_HI, {"role": "assistant", "tool_calls": [TOOL_CALL]}, *USER_HI]),
        "did not have response messages: call_1",
    ),
    (_chat(temperature=2.5), "Expected a value <= 2"),
    (_chat(top_p=-0.1), "Expected a value >= 0"),
    (_chat(stream_options={"include_usage": True}), "only allowed when 'stream' is enabled"),
    (_chat(tool_choice="auto"), "'tool_choice' is only allowed when 'tools' are specified"),
    (_chat(tools=[{"type": "function", "function": {"name": "bad name"}}]), "does not match pattern"),
    (_chat(frobnicate=1), "Unrecognized request argument supplied: frobnicate"),
]


@pytest.mark.parametrize(("body", "fragment"), OPENAI_CASES)
def test_openai_chat_validation(http: httpx2.Client, body: dict[str, Any], fragment: str) -> None:
    response = http.post("/v1/chat/completions", json=body, headers=OAI_HEADERS)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert fragment in error["message"]
    assert response.headers["x-request-id"].startswith("req_")


def test_openai_valid_tool_round_trip_is_accepted(http: httpx2.Client) -> None:
    messages = [
        *USER_HI,
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    response = http.post("/v1/chat/completions", json=_chat(messages=messages), headers=OAI_HEADERS)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/v1/embeddings", {"model": "text-embedding-3-small"}, "'input'"),
        ("/v1/embeddings", {"model": "m", "input": "x", "encoding_format": "hex"}, "'hex'"),
        ("/v1/responses", {"model": OPENAI_MODEL}, "'input'"),
        ("/v1/responses", {"model": OPENAI_MODEL, "input": "x", "messages": []}, "supplied: messages"),
        ("/v1/chat/completions", "not json", "could not parse the JSON body"),
    ],
)
def test_openai_other_routes(http: httpx2.Client, path: str, body: Any, fragment: str) -> None:
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
    response = http.post(path, headers=OAI_HEADERS, **kwargs)
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]


ANTHROPIC_CASES = [
    (_msg(max_tokens=None), "max_tokens: Field required"),
    (_msg(model=None), "model: Field required"),
    (_msg(messages=[{"role": "system", "content": "x"}, *USER_HI]), 'Unexpected role "system"'),
    (_msg(messages=[{"role": "assistant", "content": "x"}]), "first message must use the"),
    (_msg(messages=[*USER_HI, *USER_HI]), "roles must alternate"),
    (_msg(messages=[{"role": "user", "content": [{"type": "txt", "text": "x"}]}]), "Input tag 'txt'"),
    (_msg(messages=[{"role": "user", "content": [{"type": "text"}]}]), "text: Field required"),
    (_msg(messages=[{"role": "user", "content": ""}]), "non-empty content"),
    (
        _msg(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]}]),
        "unexpected `tool_use_id` found in `tool_result` blocks: toolu_x",
    ),
    (
        _msg(messages=[*USER_HI, {"role": "assistant", "content": [TOOL_USE]}, *USER_HI]),
        "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
    ),
    (_msg(temperature=1.5), "temperature: Input should be less than or equal to 1"),
    (_msg(system=[{"type": "image"}]), "system.0"),
    (_msg(tools=[{"name": "f"}]), "input_schema: Field required"),
    (
        _msg(thinking={"type": "enabled", "budget_tokens": 2048}),
        "must be greater than `thinking.budget_tokens`",
    ),
    (_msg(frequency_penalty=0.1), "frequency_penalty: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "fragment"), ANTHROPIC_CASES)
def test_anthropic_messages_validation(http: httpx2.Client, body: dict[str, Any], fragment: str) -> None:
    response = http.post("/v1/messages", json=body, headers=ANT_HEADERS)
    assert response.status_code == 400
    payload = response.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert fragment in payload["error"]["message"]
    assert payload["request_id"] == response.headers["request-id"]


def test_anthropic_valid_tool_round_trip_and_prefill_accepted(http: httpx2.Client) -> None:
    messages = [
        *USER_HI,
        {"role": "assistant", "content": [{"type": "text", "text": "checking"}, TOOL_USE]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
        {"role": "assistant", "content": "It is"},
    ]
    response = http.post("/v1/messages", json=_msg(messages=messages, temperature=1), headers=ANT_HEADERS)
    assert response.status_code == 200, response.text


def test_auth_and_version_headers(http: httpx2.Client) -> None:
    no_key = http.post("/v1/chat/completions", json=_chat())
    assert no_key.status_code == 401 and "didn't provide an API key" in no_key.json()["error"]["message"]
    wrong = http.post(
        "/v1/chat/completions", json=_chat(), headers={"authorization": "Bearer sk-wrong-key-123"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    ant_no_key = http.post("/v1/messages", json=_msg(), headers={"anthropic-version": "2023-06-01"})
    assert ant_no_key.status_code == 401 and ant_no_key.json()["error"]["type"] == "authentication_error"
    no_version = http.post("/v1/messages", json=_msg(), headers={"x-api-key": "test-key"})
    assert no_version.status_code == 400
    assert no_version.json()["error"]["message"] == "anthropic-version: header is required"
    bearer = http.post(
        "/v1/messages",
        json=_msg(),
        headers={"authorization": "Bearer test-key", "anthropic-version": "2023-06-01"},
    )
    assert bearer.status_code == 200
    unknown = http.post("/v1/nope", json={}, headers=OAI_HEADERS)
    assert unknown.status_code == 404 and "Invalid URL (POST /v1/nope)" in unknown.json()["error"]["message"]


def test_sdk_errors_for_invalid_requests(upstream: FakeUpstream) -> None:
    upstream.enqueue(rate_limited())  # rejected requests must not consume the script
    with openai_client(upstream) as oai, anthropic_client(upstream) as ant:
        with pytest.raises(anthropic.BadRequestError) as no_max:
            ant.post(
                "/v1/messages", cast_to=anthropic.types.Message, body={"model": "m", "messages": USER_HI}
            )
        assert no_max.value.api_message == "max_tokens: Field required"
        with pytest.raises(anthropic.BadRequestError):
            ant.messages.create(model="m", max_tokens=8, messages=USER_HI, extra_body={"foo": 1})
        with pytest.raises(openai.BadRequestError) as unknown:
            oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, extra_body={"foo": 1})
        assert unknown.value.message.endswith("Unrecognized request argument supplied: foo")
        with pytest.raises(openai.AuthenticationError):
            oai.with_options(api_key="sk-other").chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
        with pytest.raises(anthropic.AuthenticationError):
            ant.with_options(api_key="sk-other").messages.create(model="m", max_tokens=8, messages=USER_HI)
    assert len(upstream.pending) == 1
    assert [r.status for r in upstream.requests] == [400, 400, 400, 401, 401]
    assert all(r.behaviour is None and r.error for r in upstream.requests)


def test_unknown_model_is_404_when_models_are_configured(upstream_factory: UpstreamFactory) -> None:
    server = upstream_factory(models=[OPENAI_MODEL, ANTHROPIC_MODEL], api_key=None)
    with openai_client(server, api_key="anything") as oai, anthropic_client(server, api_key="x") as ant:
        assert oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI).model == OPENAI_MODEL
        with pytest.raises(openai.NotFoundError) as caught:
            oai.chat.completions.create(model="gpt-9", messages=USER_HI)
        assert caught.value.code == "model_not_found"
        with pytest.raises(anthropic.NotFoundError):
            ant.messages.create(model="claude-9", max_tokens=8, messages=USER_HI)


def _sdk_body_params(fn: Any, header_only: set[str]) -> set[str]:
    names = set(inspect.signature(fn).parameters) - {"self", "timeout"} - header_only
    return {n for n in names if not n.startswith("extra_")}


def test_known_params_cover_everything_the_sdks_send() -> None:
    """Guards against false 400s: every body parameter of the installed SDKs is known."""
    assert _sdk_body_params(Completions.create, set()) <= CHAT_PARAMS
    assert _sdk_body_params(Embeddings.create, set()) <= EMBEDDING_PARAMS
    assert _sdk_body_params(Responses.create, set()) <= RESPONSES_PARAMS
    assert _sdk_body_params(Messages.create, {"user_profile_id", "workspace_id"}) <= MESSAGE_PARAMS
