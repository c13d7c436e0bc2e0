"""``scan_request`` reads model and stream off a request body only when it cannot be wrong."""

from __future__ import annotations

import json

import pytest

from llm_gateway_mw.errors import InvalidRequestError
from llm_gateway_mw.inbound import Inbound, parse_body, scan_request


def compact(body: dict) -> bytes:
    """As httpx and httpx2 encode ``json=`` bodies."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": 'say "model":"x"'}]},
        {"messages": [{"role": "user", "content": "hi"}], "model": "gpt-4o", "temperature": 0.2},
        {"model": "text-embedding-3-small", "input": ["a", "b"]},
        {"model": "ünïcode-model", "messages": []},
    ],
)
def test_a_compact_sdk_body_gives_what_the_full_parse_gives(body: dict) -> None:
    raw = compact(body)
    _, model, stream = parse_body(raw)
    assert scan_request(raw) == (model, stream)


@pytest.mark.parametrize(
    "raw",
    [
        compact({"model": "a", "metadata": {"model": "b"}}),  # a second "model" key, nested
        compact({"metadata": {"model": "b"}, "model": "a"}),
        compact({"model": "a", "stream": True}),  # streams are parsed (stream_options)
        compact({"model": "a", "stream": False}),
        compact({"model": 'we\\ird"name', "messages": []}),  # escapes in the value
        compact({"model": None, "messages": []}),  # not a string
        compact({"model": "", "messages": []}),
        json.dumps({"model": "a", "messages": []}).encode(),  # spaces after the colon
        json.dumps({"model": "ü"}, separators=(",", ":")).encode(),  # an escaped character
        b'["model":"a"]',  # not an object
        b'{"model":"\xff\xfe"}',  # not UTF-8
        b"",
    ],
)
def test_anything_else_is_left_to_the_full_parse(raw: bytes) -> None:
    assert scan_request(raw) is None


def test_a_scanned_body_is_parsed_when_first_read_and_refused_then_if_unusable() -> None:
    raw = b'{"metadata":{"model":"declared-name"}}'  # no top-level model: the scan cannot tell
    assert scan_request(raw) == ("declared-name", False)
    inbound = Inbound("openai", "chat", "POST", "", [], raw, None, "declared-name", False, None)
    with pytest.raises(InvalidRequestError, match="needs a 'model'"):
        inbound.body  # noqa: B018  (reading it parses it)
    good = Inbound("openai", "chat", "POST", "", [], compact({"model": "m"}), None, "m", False, None)
    assert good.body == {"model": "m"} and good.parsed == {"model": "m"}


@pytest.mark.parametrize("model", ["gpt-4o-2024-08-06", 'my "quoted" model', "modèle", ""])
def test_replace_model_swaps_only_the_model_string(model: str) -> None:
    from llm_gateway_mw.inbound import replace_model

    body = {"messages": [{"role": "user", "content": "a model: the model"}], "model": "m", "n": 1}
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert scan_request(raw) == ("m", False)
    replaced = replace_model(raw, json.dumps(model)[1:-1].encode())
    assert json.loads(replaced) == {**body, "model": model}
    with pytest.raises(ValueError, match="scan_request"):
        replace_model(b'{"model": "spaced"}', b"x")
