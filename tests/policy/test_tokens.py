"""Tests of the prompt-token estimates and requested output tokens.

Speed is measured, not asserted: ``python -m timeit`` on this machine gives about 4 us for
``estimate_prompt_tokens`` on a chat body with one 10 kB message (see ``tokens.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_gateway_mw.policy.tokens import (
    FILE_TOKENS,
    IMAGE_TOKENS,
    LOW_DETAIL_IMAGE_TOKENS,
    MESSAGE_OVERHEAD_TOKENS,
    REPLY_PRIMING_TOKENS,
    estimate_prompt_tokens,
    estimate_text_tokens,
    requested_output_tokens,
)

# Texts with their token counts, counted by hand the way GPT-4-era BPE tokenizers split
# them (cl100k/o200k agree on these within a token or two).
HAND_COUNTED = [
    ("Hello, world!", 4),  # Hello | , | ␣world | !
    ("The quick brown fox jumps over the lazy dog.", 10),  # nine words + '.'
    ("Tokenization splits text into pieces that a language model can process efficiently.", 14),
    ("def add(a, b):\n    return a + b\n", 13),
    ("你好\uff0c世界", 5),  # about one token per CJK character (fullwidth comma)
]


def chat(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": list(messages), **extra}


@pytest.mark.parametrize(("text", "real"), HAND_COUNTED)
def test_text_estimate_within_a_sane_factor(text: str, real: int) -> None:
    estimate = estimate_text_tokens(text)
    assert real / 2 <= estimate <= real * 2, (text, estimate)


def test_exact_arithmetic_for_ascii() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("abcd") == 1
    assert estimate_text_tokens("abcde") == 2
    assert estimate_text_tokens("a" * 10_000) == 2_500


def test_empty_body_is_zero() -> None:
    assert estimate_prompt_tokens({}) == 0
    assert estimate_prompt_tokens({"model": "gpt-4o", "messages": []}) == REPLY_PRIMING_TOKENS


def test_chat_message_overhead_and_priming() -> None:
    body = chat({"role": "system", "content": "abcd" * 10}, {"role": "user", "content": "abcd" * 5})
    assert estimate_prompt_tokens(body) == 15 + 2 * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS


def test_string_content_equals_text_parts() -> None:
    plain = chat({"role": "user", "content": "Describe the sea in three words."})
    parts = chat({"role": "user", "content": [{"type": "text", "text": "Describe the sea in three words."}]})
    assert estimate_prompt_tokens(plain) == estimate_prompt_tokens(parts)


def test_images_cost_a_fixed_amount_not_their_bytes() -> None:
    huge = "data:image/png;base64," + "A" * 1_000_000
    openai = chat({"role": "user", "content": [{"type": "image_url", "image_url": {"url": huge}}]})
    low = chat(
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": huge, "detail": "low"}}]}
    )
    anthropic = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "A" * 10**6},
                    }
                ],
            }
        ],
    }
    base = MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS
    assert estimate_prompt_tokens(openai) == IMAGE_TOKENS + base
    assert estimate_prompt_tokens(low) == LOW_DETAIL_IMAGE_TOKENS + base
    assert estimate_prompt_tokens(anthropic) == IMAGE_TOKENS + base


def test_documents() -> None:
    pdf = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "J" * 10**5},
    }
    text_doc = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "abcd" * 100},
    }
    base = MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS
    assert estimate_prompt_tokens(chat({"role": "user", "content": [pdf]})) == FILE_TOKENS + base
    assert estimate_prompt_tokens(chat({"role": "user", "content": [text_doc]})) == 100 + base


def test_anthropic_system_string_equals_blocks() -> None:
    message = {"role": "user", "content": "hi"}
    as_str = {"model": "claude-haiku-4-5", "system": "You are terse." * 10, "messages": [message]}
    blocks = [{"type": "text", "text": "You are terse." * 10, "cache_control": {"type": "ephemeral"}}]
    as_blocks = {**as_str, "system": blocks}
    assert estimate_prompt_tokens(as_str) == estimate_prompt_tokens(as_blocks)
    assert estimate_prompt_tokens(as_str) > estimate_prompt_tokens({"messages": [message]})


def test_tool_calls_and_results_count() -> None:
    arguments = json.dumps({"city": "Paris", "unit": "celsius"})
    openai = chat(
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees and sunny"},
    )
    just_question = chat({"role": "user", "content": "Weather in Paris?"})
    assert estimate_prompt_tokens(openai) >= estimate_prompt_tokens(just_question) + 2 * 4 + 10

    anthropic = {
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Paris" * 40}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": "sunny " * 40}],
            },
        ]
    }
    assert estimate_prompt_tokens(anthropic) >= (5 * 40 + 6 * 40) // 4


def test_tool_definitions_count_by_json_length() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city." * 5,
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    without = chat({"role": "user", "content": "hi"})
    with_tools = {**without, "tools": [tool]}
    added = estimate_prompt_tokens(with_tools) - estimate_prompt_tokens(without)
    json_tokens = len(json.dumps([tool], separators=(",", ":"))) / 4
    assert json_tokens - 1 <= added <= json_tokens + 1


def test_response_format_schema_counts() -> None:
    schema = {"name": "answer", "schema": {"type": "object", "properties": {"x": {"type": "string"}}}}
    without = chat({"role": "user", "content": "hi"})
    with_schema = {**without, "response_format": {"type": "json_schema", "json_schema": schema}}
    assert estimate_prompt_tokens(with_schema) > estimate_prompt_tokens(without)


def test_embeddings_inputs() -> None:
    assert estimate_prompt_tokens({"model": "text-embedding-3-small", "input": "abcd" * 25}) == 25
    # each input is tokenized on its own, so each rounds up on its own
    assert estimate_prompt_tokens({"input": ["abcde", "abcde", "abcd"]}) == 2 + 2 + 1
    assert estimate_prompt_tokens({"input": [1, 2, 3, 4]}) == 4
    assert estimate_prompt_tokens({"input": [[1, 2, 3], [4, 5]]}) == 5


def test_responses_api_bodies() -> None:
    simple = {"model": "gpt-5", "input": "abcd" * 10, "instructions": "abcd" * 5}
    assert estimate_prompt_tokens(simple) == 10 + 5 + MESSAGE_OVERHEAD_TOKENS
    items = {
        "model": "gpt-5",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "abcd" * 10}]},
            {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "high"},
            {"type": "function_call_output", "call_id": "c1", "output": "abcd" * 10},
        ],
    }
    expected = 20 + IMAGE_TOKENS + 3 * MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS
    assert estimate_prompt_tokens(items) == expected


def test_non_ascii_weighs_more() -> None:
    assert estimate_text_tokens("你好世界" * 100) >= 400  # ~1 token per CJK character
    assert estimate_text_tokens("abcd" * 100) == 100


def test_deep_nesting_does_not_recurse() -> None:
    nested: Any = "abcd"
    for _ in range(20_000):
        nested = [nested]
    body = chat({"role": "user", "content": [{"type": "tool_result", "content": nested}]})
    assert estimate_prompt_tokens(body) == 1 + MESSAGE_OVERHEAD_TOKENS + REPLY_PRIMING_TOKENS


def test_10kb_prompt_estimate_is_sane() -> None:
    text = ("The quick brown fox jumps over the lazy dog. " * 250)[:10_000]
    estimate = estimate_prompt_tokens(chat({"role": "user", "content": text}))
    # 10,000 characters of this sentence is ~2,200 real tokens (10 tokens per 45 characters)
    assert 1_100 <= estimate <= 4_400


# --- requested output tokens ------------------------------------------------------------


@pytest.mark.parametrize("key", ["max_tokens", "max_completion_tokens", "max_output_tokens"])
def test_requested_output_reads_each_key(key: str) -> None:
    assert requested_output_tokens({key: 321}, default=4096) == 321


def test_requested_output_default_and_embeddings() -> None:
    assert requested_output_tokens({"messages": []}, default=4096) == 4096
    assert requested_output_tokens({"input": "embed me"}, default=0) == 0


def test_requested_output_takes_the_largest_cap() -> None:
    assert requested_output_tokens({"max_tokens": 100, "max_completion_tokens": 300}, default=0) == 300


def test_requested_output_multiplies_by_choices() -> None:
    assert requested_output_tokens({"max_tokens": 100, "n": 3}, default=0) == 300
    assert requested_output_tokens({"n": 2}, default=50) == 100
    assert requested_output_tokens({"max_tokens": 100, "n": 1}, default=0) == 100


def test_requested_output_ignores_invalid_values() -> None:
    assert requested_output_tokens({"max_tokens": True}, default=7) == 7
    assert requested_output_tokens({"max_tokens": "100"}, default=7) == 7
    assert requested_output_tokens({"max_tokens": -5}, default=7) == 7
    assert requested_output_tokens({}, default=-1) == 0
