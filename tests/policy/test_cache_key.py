"""Tests of response-cache keys and the cacheability rule."""

from __future__ import annotations

import re
from typing import Any

import pytest

from llm_gateway_mw.dialects import Dialect
from llm_gateway_mw.policy.cache_key import IGNORED_FIELDS, cache_key, canonical_request, is_cacheable

BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name a colour."},
    ],
    "temperature": 0,
    "max_tokens": 20,
}


def key(
    body: dict[str, Any],
    *,
    scope: str = "tenant:acme",
    dialect: Dialect = "openai",
    operation: str = "chat",
) -> str:
    return cache_key(dialect=dialect, operation=operation, body=body, scope=scope)


def test_key_shape() -> None:
    value = key(BODY)
    assert value.startswith("tenant:acme:")
    assert re.fullmatch(r"[0-9a-f]{64}", value.rsplit(":", 1)[1])


def test_key_is_deterministic_and_order_independent() -> None:
    reordered = dict(reversed(list(BODY.items())))
    assert key(BODY) == key(dict(BODY)) == key(reordered)


def test_scopes_never_collide() -> None:
    keys = {key(BODY, scope=scope) for scope in ("tenant:acme", "tenant:globex", "global", "user:acme", "")}
    assert len(keys) == 5
    # a scope that looks like another scope plus a prefix of the digest still differs
    assert key(BODY, scope="a") != key(BODY, scope="a:b")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stream", True),
        ("stream_options", {"include_usage": True}),
        ("user", "alice"),
        ("metadata", {"trace": "123"}),
        ("store", True),
        ("service_tier", "flex"),
    ],
)
def test_fields_that_do_not_change_the_answer_are_ignored(field: str, value: object) -> None:
    assert field in IGNORED_FIELDS
    assert key({**BODY, field: value}) == key(BODY)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model", "gpt-4o"),
        ("temperature", 0.7),
        ("top_p", 0.5),
        ("max_tokens", 21),
        ("max_completion_tokens", 20),
        ("seed", 7),
        ("n", 2),
        ("stop", ["\n"]),
        ("tool_choice", "required"),
        ("response_format", {"type": "json_object"}),
        ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        ("some_future_parameter", 1),
    ],
)
def test_fields_that_change_the_answer_change_the_key(field: str, value: object) -> None:
    assert key({**BODY, field: value}) != key(BODY)


def test_message_text_changes_the_key() -> None:
    changed = {**BODY, "messages": [BODY["messages"][0], {"role": "user", "content": "Name a fruit."}]}
    assert key(changed) != key(BODY)


def test_dialect_and_operation_are_part_of_the_key() -> None:
    assert key(BODY, dialect="anthropic") != key(BODY)
    assert key(BODY, operation="responses") != key(BODY)


def test_stop_string_equals_one_element_list() -> None:
    assert key({**BODY, "stop": "END"}) == key({**BODY, "stop": ["END"]})
    assert key({**BODY, "stop": "END"}) != key({**BODY, "stop": ["END", "STOP"]})


def test_string_content_equals_single_text_part() -> None:
    parts = {
        **BODY,
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "You are terse."}]},
            {"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
        ],
    }
    assert key(parts) == key(BODY)


def test_two_text_parts_differ_from_their_concatenation() -> None:
    split = {
        **BODY,
        "messages": [
            BODY["messages"][0],
            {
                "role": "user",
                "content": [{"type": "text", "text": "Name a "}, {"type": "text", "text": "colour."}],
            },
        ],
    }
    assert key(split) != key(BODY)


def test_anthropic_system_blocks_and_cache_control() -> None:
    plain = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Name a colour."}],
    }
    blocks = {
        **plain,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Name a colour.", "cache_control": {"type": "ephemeral"}}
                ],
            }
        ],
    }
    assert key(plain, dialect="anthropic") == key(blocks, dialect="anthropic")


def test_responses_input_items_normalise_content() -> None:
    plain = {"model": "gpt-5", "input": [{"role": "user", "content": "hi"}]}
    parts = {"model": "gpt-5", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}
    assert key(plain, operation="responses") == key(parts, operation="responses")


def test_integral_floats_equal_ints() -> None:
    assert key({**BODY, "temperature": 0.0}) == key({**BODY, "temperature": 0})
    assert key({**BODY, "temperature": 0.5}) != key({**BODY, "temperature": 0})


def test_canonical_request_does_not_mutate_input() -> None:
    body = {**BODY, "stop": "END", "stream": True}
    snapshot = repr(body)
    canonical = canonical_request(body)
    assert repr(body) == snapshot
    assert canonical["stop"] == ["END"] and "stream" not in canonical


# --- cacheability -------------------------------------------------------------------------


def test_is_cacheable_rejects_several_choices() -> None:
    assert is_cacheable({**BODY, "n": 1}, max_temperature=None)
    assert not is_cacheable({**BODY, "n": 2}, max_temperature=None)


def test_is_cacheable_temperature_ceiling() -> None:
    assert is_cacheable({**BODY, "temperature": 0.2}, max_temperature=0.5)
    assert is_cacheable({**BODY, "temperature": 0.5}, max_temperature=0.5)
    assert not is_cacheable({**BODY, "temperature": 0.7}, max_temperature=0.5)
    assert is_cacheable({**BODY, "temperature": 1.5}, max_temperature=None)


def test_missing_temperature_counts_as_provider_default() -> None:
    body = {name: value for name, value in BODY.items() if name != "temperature"}
    assert not is_cacheable(body, max_temperature=0.5)
    assert is_cacheable(body, max_temperature=1.0)
    assert is_cacheable(body, max_temperature=None)
