"""Tests of the bundled price table, model lookup and cost arithmetic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llm_gateway_mw.errors import ConfigError
from llm_gateway_mw.policy.pricing import (
    ModelInfo,
    Price,
    PriceTable,
    cost_usd,
    worst_case_cost_usd,
)
from llm_gateway_mw.usage import Usage

REQUIRED_MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "o1",
    "o3",
    "o3-mini",
    "o4-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "claude-opus-4-1",
    "claude-opus-4",
    "claude-sonnet-4-5",
    "claude-sonnet-4",
    "claude-3-7-sonnet",
    "claude-haiku-4-5",
    "claude-3-5-haiku",
    "mock-small",
    "mock-large",
]


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.bundled()


def price_of(table: PriceTable, model: str) -> Price:
    info = table.lookup(model)
    assert info is not None, model
    return info.price


# --- the bundled table ------------------------------------------------------------------


def test_bundled_table_has_every_required_model(table: PriceTable) -> None:
    missing = [name for name in REQUIRED_MODELS if name not in table.names()]
    assert missing == []


def test_bundled_table_is_dated_and_sourced(table: PriceTable) -> None:
    assert table.as_of is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.as_of)
    assert any("openai.com" in url for url in table.sources)
    assert any("anthropic.com" in url for url in table.sources)
    assert all(url.startswith("https://") for url in table.sources)


def test_bundled_table_is_loaded_once(table: PriceTable) -> None:
    assert PriceTable.bundled() is table


def test_bundled_table_is_not_loaded_at_import() -> None:
    code = (
        "import llm_gateway_mw.policy.pricing as p\n"
        "assert p._bundled_table is None, 'loaded at import'\n"
        "p.PriceTable.bundled()\n"
        "assert p._bundled_table is not None\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_known_prices(table: PriceTable) -> None:
    assert price_of(table, "gpt-4o") == Price(input=2.5, output=10.0, cached_input=1.25)
    assert price_of(table, "gpt-4o-mini") == Price(input=0.15, output=0.6, cached_input=0.075)
    assert price_of(table, "claude-sonnet-4-5") == Price(3.0, 15.0, cached_input=0.3, cache_write=3.75)
    assert price_of(table, "claude-haiku-4-5") == Price(1.0, 5.0, cached_input=0.1, cache_write=1.25)
    assert price_of(table, "text-embedding-3-small").output == 0.0


def test_anthropic_models_have_cache_writes_and_openai_models_do_not(table: PriceTable) -> None:
    for name in table.names():
        info = table.lookup(name)
        assert info is not None
        assert info.price.output >= 0 and info.price.input > 0
        if info.provider == "anthropic":
            assert info.price.cache_write == pytest.approx(info.price.input * 1.25), name
            assert info.price.cached_input == pytest.approx(info.price.input * 0.1), name
        if info.provider == "openai":
            assert info.price.cache_write is None, name


def test_mock_models_are_flagged(table: PriceTable) -> None:
    for name in ("mock-small", "mock-large"):
        info = table.lookup(name)
        assert info is not None and info.provider == "mock"


def test_model_facts(table: PriceTable) -> None:
    gpt41 = table.lookup("gpt-4.1")
    assert gpt41 is not None
    assert gpt41.context_window == 1047576
    assert gpt41.max_output_tokens == 32768
    assert gpt41.supports_tools is True and gpt41.supports_images is True
    o3_mini = table.lookup("o3-mini")
    assert o3_mini is not None and o3_mini.supports_images is False
    embedding = table.lookup("text-embedding-3-large")
    assert embedding is not None and embedding.supports_tools is False


# --- lookup -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("o3-2025-04-16", "o3"),
        ("gpt-5-nano-2025-08-07", "gpt-5-nano"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-0", "claude-opus-4"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("openai/gpt-4o", "gpt-4o"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-3-5-haiku@20241022", "claude-3-5-haiku"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
        ("  GPT-4o  ", "gpt-4o"),
    ],
)
def test_lookup_matches_variants(table: PriceTable, model: str, expected: str) -> None:
    assert table.resolve(model) == expected
    info = table.lookup(model)
    assert info is not None and info.name == expected


@pytest.mark.parametrize(
    "model",
    [
        "unknown-model",
        "",
        "gpt-4",  # not in the table, and must not match gpt-4o or gpt-4.1
        "o1-pro",  # a different, pricier model: never priced as o1
        "o3-pro",
        "gpt-4o-realtime-preview",
        "claude-opus",
        "claude-sonnet-4-5-extra",
    ],
)
def test_lookup_unknown_is_none(table: PriceTable, model: str) -> None:
    assert table.lookup(model) is None
    assert model not in table


def test_longest_known_name_wins() -> None:
    short = ModelInfo(Price(1.0, 1.0))
    long = ModelInfo(Price(2.0, 2.0))
    table = PriceTable({"acme": short, "acme-mini": long})
    assert table.resolve("acme-mini-2025-01-01") == "acme-mini"
    assert table.resolve("acme-2025-01-01") == "acme"
    assert table.resolve("acme-mini-latest") == "acme-mini"


# --- building and overriding tables ------------------------------------------------------


def test_price_from_mapping() -> None:
    price = Price.from_mapping({"input": 1, "output": 2.5, "cached_input": 0.1, "context_window": 9}, "p")
    assert price == Price(1.0, 2.5, cached_input=0.1)


@pytest.mark.parametrize(
    "data",
    [
        {"input": 1.0},
        {"output": 1.0},
        {"input": -1.0, "output": 1.0},
        {"input": True, "output": 1.0},
        {"input": "1.0", "output": 1.0},
        {"input": float("nan"), "output": 1.0},
    ],
)
def test_price_from_mapping_rejects_bad_values(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"prices\.acme"):
        Price.from_mapping(data, "prices.acme")


def test_model_info_partial_override_keeps_base(table: PriceTable) -> None:
    base = table.lookup("gpt-4o")
    assert base is not None
    info = ModelInfo.from_mapping({"input": 2.0}, "prices.gpt-4o", base=base)
    assert info.price == Price(2.0, 10.0, cached_input=1.25)
    assert info.context_window == base.context_window
    assert info.name == "gpt-4o"


def test_model_info_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="cahced_input"):
        ModelInfo.from_mapping({"input": 1.0, "output": 1.0, "cahced_input": 0.1}, "prices.x")


def test_with_overrides(table: PriceTable) -> None:
    custom = ModelInfo(Price(0.5, 1.5))
    cheaper = ModelInfo(Price(1.0, 4.0))
    derived = table.with_overrides({"my-finetune": custom, "gpt-4o": cheaper})
    assert derived.lookup("my-finetune-2025-01-01") == ModelInfo(Price(0.5, 1.5), name="my-finetune")
    info = derived.lookup("gpt-4o-2024-08-06")
    assert info is not None and info.price == Price(1.0, 4.0)
    original = table.lookup("gpt-4o")
    assert original is not None and original.price.input == 2.5
    assert derived.resolve("claude-opus-4-0") == "claude-opus-4"
    assert derived.as_of == table.as_of


def test_table_from_mapping_validates() -> None:
    with pytest.raises(ConfigError, match=r"models\.bad"):
        PriceTable.from_mapping({"models": {"bad": {"input": 1.0}}})
    table = PriceTable.from_mapping(
        {"as_of": "2030-01-01", "models": {"x": {"input": 1, "output": 2, "aliases": ["y"]}}}
    )
    assert table.resolve("y-latest") == "x"
    assert len(table) == 1


# --- cost ------------------------------------------------------------------------------


def test_cost_openai_with_cached_and_reasoning_tokens(table: PriceTable) -> None:
    # 10,000 input of which 4,000 cached; 2,000 output of which 500 reasoning (already included).
    usage = Usage(input_tokens=10_000, output_tokens=2_000, cache_read_tokens=4_000, reasoning_tokens=500)
    # 6,000 x $2.50 + 4,000 x $1.25 + 2,000 x $10 = $15,000 + $5,000 + $20,000 per 1M = $0.04
    assert cost_usd(usage, price_of(table, "gpt-4o")) == pytest.approx(0.04, rel=1e-12)


def test_cost_anthropic_with_cache_reads_and_writes(table: PriceTable) -> None:
    usage = Usage(
        input_tokens=100_000,
        output_tokens=1_000,
        cache_read_tokens=60_000,
        cache_write_tokens=20_000,
        reasoning_tokens=400,
    )
    # 20,000 x $3 + 60,000 x $0.30 + 20,000 x $3.75 + 1,000 x $15 = 168,000 per 1M
    assert cost_usd(usage, price_of(table, "claude-sonnet-4-5-20250929")) == pytest.approx(0.168, rel=1e-12)


def test_cost_reasoning_tokens_are_not_billed_twice() -> None:
    price = Price(1.0, 10.0)
    with_reasoning = Usage(input_tokens=0, output_tokens=100, reasoning_tokens=80)
    without = Usage(input_tokens=0, output_tokens=100)
    assert cost_usd(with_reasoning, price) == cost_usd(without, price) == pytest.approx(0.001)


def test_cost_fallbacks_without_cache_prices() -> None:
    usage = Usage(input_tokens=3_000, cache_read_tokens=1_000, cache_write_tokens=1_000)
    # reads at the input price, writes at 1.25 x input
    assert cost_usd(usage, Price(1.0, 2.0)) == pytest.approx((1_000 + 1_000 + 1_250) / 1e6, rel=1e-12)


def test_cost_never_negative_on_inconsistent_usage() -> None:
    usage = Usage(input_tokens=10, cache_read_tokens=100)
    assert cost_usd(usage, Price(1.0, 1.0, cached_input=0.5)) == pytest.approx(100 * 0.5 / 1e6)


def test_cost_of_embedding(table: PriceTable) -> None:
    usage = Usage(input_tokens=1_000_000)
    assert cost_usd(usage, price_of(table, "text-embedding-3-small")) == pytest.approx(0.02)


def test_worst_case_cost(table: PriceTable) -> None:
    # every input token at the full input price, every allowed output token
    assert worst_case_cost_usd(1_000, 500, price_of(table, "gpt-4o")) == pytest.approx(0.0075, rel=1e-12)
    assert worst_case_cost_usd(0, 0, price_of(table, "gpt-4o")) == 0.0
    actual = cost_usd(
        Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=900), price_of(table, "o3")
    )
    assert actual <= worst_case_cost_usd(1_000, 500, price_of(table, "o3"))
