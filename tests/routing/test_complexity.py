"""Complexity classifier: individual signals, explanations, tier mapping, wire shapes, and the labeled set."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from llm_gateway_mw.routing.complexity import (
    STRONG_THRESHOLD,
    Classifier,
    ComplexityDecision,
    classify,
    default_classifier,
    tier_thresholds,
)

DATASET = Path(__file__).resolve().parents[1] / "data" / "complexity_prompts.jsonl"
CODE = "```python\ndef total(items):\n    return sum(i.price * i.qty for i in items)\n```"


def user(text: str, **options: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **options}


def load_dataset() -> list[dict[str, Any]]:
    with DATASET.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def body_of(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in {"id", "label", "split"}}


# --- individual signals -------------------------------------------------------------------------


def test_fenced_code_block_raises_score_and_is_named() -> None:
    plain = classify(user("Here is the function I mentioned, can you take a look?"))
    with_code = classify(user("Here is the function I mentioned, can you take a look?\n\n" + CODE))
    assert with_code.score > plain.score
    assert "code_block" in with_code.signals
    assert "code_block" not in plain.signals


def test_stack_trace_routes_strong_and_is_explained() -> None:
    trace = (
        "This fails in production, why?\n\nTraceback (most recent call last):\n"
        '  File "/app/shop/views.py", line 58, in create_order\n'
        "    order = Order.objects.create(total=cart.total())\n"
        'django.db.utils.IntegrityError: null value in column "currency" violates not-null constraint'
    )
    decision = classify(user(trace))
    assert decision.tier == 1
    assert "stack_trace" in decision.signals
    assert decision.reason.startswith("complex: ")
    assert "stack trace" in decision.reason


def test_short_but_hard_proof_goes_strong() -> None:
    decision = classify(user("Prove there are infinitely many primes p ≡ 3 mod 4."))
    assert decision.tier == 1
    assert decision.signals[0] == "proof_request"
    assert "math_notation" in decision.signals


def test_long_but_easy_rewrite_stays_cheap() -> None:
    email = " ".join(["Thanks for the update on the catalogue, we recieved the brand guidelines."] * 40)
    decision = classify(user("Fix the typos in this email, don't change anything else:\n\n" + email))
    assert decision.tier == 0
    assert "lookup_or_rewrite_task" in decision.signals
    assert "long_prompt" in decision.signals


def test_trivial_code_question_stays_cheap() -> None:
    assert classify(user("what does `len([1,2])` return?")).tier == 0


def test_greeting_scores_zero() -> None:
    decision = classify(user("hi"))
    assert (decision.tier, decision.score) == (0, 0.0)
    assert decision.signals == ("greeting",)


def test_multi_step_cues_are_named() -> None:
    decision = classify(
        user("Compare and contrast two caching strategies and walk me through the trade-offs.")
    )
    assert "multi_step_cues" in decision.signals
    assert "technical_terms" in decision.signals


@pytest.mark.parametrize(
    ("options", "signal"),
    [
        ({"tools": [{"type": "function", "function": {"name": f"t{i}"}} for i in range(5)]}, "tools"),
        ({"max_tokens": 16000}, "large_max_tokens"),
        ({"max_completion_tokens": 16000}, "large_max_tokens"),
        ({"reasoning_effort": "high"}, "reasoning_effort"),
        ({"reasoning": {"effort": "high"}}, "reasoning_effort"),
        ({"thinking": {"type": "enabled", "budget_tokens": 8000}}, "extended_thinking"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
            "output_schema",
        ),
    ],
)
def test_request_option_signals_raise_score(options: dict[str, Any], signal: str) -> None:
    text = "Give me step by step instructions for making scrambled eggs."
    base = classify(user(text))
    decision = classify(user(text, **options))
    assert signal in decision.signals
    assert decision.score > base.score


def test_explicit_reasoning_request_reaches_strong_tier() -> None:
    assert classify(user("Tell me about the bicycle.", reasoning_effort="high")).tier == 1
    assert (
        classify(user("Tell me about the bicycle.", thinking={"type": "enabled", "budget_tokens": 4096})).tier
        == 1
    )


def test_small_max_tokens_and_low_effort_lower_score() -> None:
    text = "Explain why the build is slow and how to optimize the Docker cache layers."
    base = classify(user(text))
    assert classify(user(text, max_tokens=64)).score < base.score
    assert classify(user(text, reasoning_effort="low")).score < base.score


def test_images_are_a_signal() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/chart.png"}}
    body = {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Describe this chart."}, image]}]
    }
    decision = classify(body)
    assert "images" in decision.signals
    assert decision.score > classify(user("Describe this chart.")).score


def test_conversation_depth_and_technical_context() -> None:
    turns: list[dict[str, Any]] = []
    for i in range(6):
        turns.append({"role": "user", "content": f"question {i} about the service"})
        turns.append({"role": "assistant", "content": "Try this:\n" + CODE})
    turns.append({"role": "user", "content": "ok, and now?"})
    decision = classify({"messages": turns})
    assert "long_conversation" in decision.signals
    assert "technical_context" in decision.signals


def test_huge_prompt_is_capped_and_still_classified() -> None:
    decision = classify(user("Summarize this:\n\n" + "All quiet on the western front. " * 50_000))
    assert decision.tier == 0
    assert "long_prompt" in decision.signals


# --- explanation and tier mapping ---------------------------------------------------------------


def test_reason_names_verdict_signals_and_threshold() -> None:
    complex_ = classify(user("Design a multi-region rate limiter and analyze the consistency trade-offs."))
    simple = classify(user("What's the capital of Australia?"))
    assert complex_.reason.startswith("complex: ")
    assert f"≥ {STRONG_THRESHOLD:.2f})" in complex_.reason
    assert simple.reason.startswith("simple: ")
    assert f"< {STRONG_THRESHOLD:.2f})" in simple.reason
    assert 0.0 <= simple.score <= complex_.score <= 1.0


def test_tier_thresholds_are_documented_spacing() -> None:
    assert tier_thresholds(1) == ()
    assert tier_thresholds(2) == (STRONG_THRESHOLD,)
    assert tier_thresholds(3) == pytest.approx((STRONG_THRESHOLD / 2, STRONG_THRESHOLD))
    assert tier_thresholds(4) == pytest.approx(
        (STRONG_THRESHOLD / 3, 2 * STRONG_THRESHOLD / 3, STRONG_THRESHOLD)
    )
    with pytest.raises(ValueError):
        tier_thresholds(0)


def test_three_tiers_map_cheap_middle_and_strong() -> None:
    cheap = classify(user("What's the capital of Australia?"), tiers=3)
    middle = classify(
        user("Give step by step instructions for scrambled eggs, with the pros and cons."), tiers=3
    )
    strong = classify(user("Prove that the square root of 2 is irrational."), tiers=3)
    assert (cheap.tier, middle.tier, strong.tier) == (0, 1, 2)
    assert middle.reason.startswith("moderate (tier 1 of 3)")
    assert STRONG_THRESHOLD / 2 <= middle.score < STRONG_THRESHOLD


def test_complex_prompt_always_reaches_strongest_tier() -> None:
    text = "Design an event-sourced ledger and analyze the failure modes of its idempotency scheme."
    for tiers in (2, 3, 5):
        assert classify(user(text), tiers=tiers).tier == tiers - 1
    assert classify(user(text), tiers=1).tier == 0


def test_tier_is_consistent_with_score_for_any_tier_count() -> None:
    for record in load_dataset()[:60]:
        for tiers in (2, 3, 4):
            decision = classify(body_of(record), tiers=tiers)
            assert decision.tier == sum(1 for cut in tier_thresholds(tiers) if decision.score >= cut - 1e-9)


# --- wire shapes --------------------------------------------------------------------------------


def test_anthropic_shape_matches_openai_shape() -> None:
    ask = "The nightly job deadlocks when two workers update the same rows. Why, and how should we fix it?"
    openai_body = {
        "messages": [
            {"role": "system", "content": "You are a senior database engineer. Be rigorous."},
            {"role": "user", "content": "Our Postgres job keeps failing."},
            {"role": "assistant", "content": "Can you share the error?"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": ask},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "logs", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ERROR: deadlock detected"},
        ],
        "tools": [{"type": "function", "function": {"name": "logs", "parameters": {"type": "object"}}}],
        "max_tokens": 4000,
    }
    anthropic_body = {
        "system": [{"type": "text", "text": "You are a senior database engineer. Be rigorous."}],
        "messages": [
            {"role": "user", "content": "Our Postgres job keeps failing."},
            {"role": "assistant", "content": [{"type": "text", "text": "Can you share the error?"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": ask},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                ],
            },
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "logs", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "c1", "content": "ERROR: deadlock detected"}
                ],
            },
        ],
        "tools": [{"name": "logs", "input_schema": {"type": "object"}}],
        "max_tokens": 4000,
    }
    a, b = classify(openai_body), classify(anthropic_body)
    assert (a.tier, a.score, a.signals, a.reason) == (b.tier, b.score, b.signals, b.reason)
    for signal in ("images", "tools", "tool_loop", "expert_system_prompt", "large_max_tokens"):
        assert signal in a.signals


def test_last_user_turn_drives_the_decision() -> None:
    hard_then_easy = {
        "messages": [
            {"role": "user", "content": "Prove that the halting problem is undecidable."},
            {"role": "assistant", "content": "Suppose a decider H exists..."},
            {"role": "user", "content": "thanks!"},
        ]
    }
    decision = classify(hard_then_easy)
    assert decision.tier == 0
    assert "proof_request" not in decision.signals


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"messages": []},
        {"messages": "hello"},
        {"messages": [None, 3, "x", {"role": "user"}, {"role": "user", "content": None}]},
        {"messages": [{"role": "user", "content": [{"type": "image_url"}, {"type": "text", "text": 5}]}]},
        {"messages": [{"role": "assistant", "content": "How can I help?"}]},
        {"messages": [{"role": "user", "content": "   \n"}], "max_tokens": "lots", "tools": "nope"},
        {"system": "You are terse.", "messages": [{"role": "system", "content": "Be helpful."}]},
    ],
)
def test_odd_bodies_do_not_crash_and_go_cheap(body: dict[str, Any]) -> None:
    decision = classify(body)
    assert decision == ComplexityDecision(0, 0.0, decision.reason, ("no_user_message",))
    assert decision.reason.startswith("simple: no user message")


def test_non_mapping_body_does_not_crash() -> None:
    bad: Any = ["not", "a", "body"]
    assert classify(bad).tier == 0


def test_responses_style_input_string_is_read() -> None:
    assert classify({"input": "Prove that there are infinitely many primes."}).tier == 1


def test_user_classifier_is_pluggable() -> None:
    def always_strong(body: Mapping[str, Any], tiers: int) -> ComplexityDecision:
        return ComplexityDecision(tiers - 1, 1.0, "forced by policy", ("custom",))

    classifiers: list[Classifier] = [always_strong, default_classifier]
    forced, builtin = (c(user("hi"), 3) for c in classifiers)
    assert forced.tier == 2
    assert builtin == classify(user("hi"), tiers=3)


# --- the labeled evaluation set -----------------------------------------------------------------


def test_dataset_shape() -> None:
    records = load_dataset()
    assert len(records) >= 200
    assert {r["label"] for r in records} == {"simple", "complex"}
    assert {r["split"] for r in records} == {"dev", "holdout"}
    assert len({r["id"] for r in records}) == len(records)
    simple = sum(1 for r in records if r["label"] == "simple")
    assert 0.4 <= simple / len(records) <= 0.6
    for record in records:
        assert isinstance(record["messages"], list) and record["messages"]
        assert record["split"] == ("dev" if int(record["id"][1:]) % 2 else "holdout")


def test_dataset_routing_quality() -> None:
    records = load_dataset()
    complex_tiers = [classify(body_of(r)).tier for r in records if r["label"] == "complex"]
    simple_tiers = [classify(body_of(r)).tier for r in records if r["label"] == "simple"]
    complex_recall = sum(1 for t in complex_tiers if t == 1) / len(complex_tiers)
    simple_cheap = sum(1 for t in simple_tiers if t == 0) / len(simple_tiers)
    assert complex_recall >= 0.90, f"complex->strong {complex_recall:.1%}"
    assert simple_cheap >= 0.60, f"simple->cheap {simple_cheap:.1%}"
