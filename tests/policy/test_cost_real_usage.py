"""Cost per call from the real usage a (loopback) upstream reports, through the wrapped SDKs.

Covers cached input, cache writes and reasoning tokens, configured prices and the bundled
dated table, the ``x-llm-gateway-cost-usd`` header and the call record telemetry reads.
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.policy.pricing import PriceTable
from tests.upstreams import FakeUpstream, Reply, Usage

KEY_ENV = "LLMGW_TEST_UPSTREAM_KEY"
MESSAGES: list[Any] = [{"role": "user", "content": "What is the capital of France?"}]
OPENAI_USAGE = Usage(input_tokens=1000, output_tokens=300, cached_tokens=400, reasoning_tokens=120)
ANTHROPIC_USAGE = Usage(input_tokens=200, output_tokens=50, cached_tokens=1000, cache_creation_tokens=400)


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def gateway_for(upstream: FakeUpstream, *, priced: bool) -> Gateway:
    openai_model: dict[str, Any] = {"name": "chat", "provider": "oai", "model": "gpt-4o-mini"}
    claude_model: dict[str, Any] = {"name": "claude", "provider": "ant", "model": "claude-sonnet-4-5"}
    if priced:
        openai_model["price"] = {"input": 2.0, "output": 8.0, "cached_input": 0.5}
        claude_model["price"] = {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75}
    return Gateway(
        {
            "providers": {
                "oai": {"type": "openai", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV},
                "ant": {"type": "anthropic", "base_url": upstream.url, "api_key_env": KEY_ENV},
            },
            "models": [openai_model, claude_model],
            "cache": {"enabled": True},  # the configured policy is in place; these calls all miss
        }
    )


def sdk_openai(gateway: Gateway) -> openai.OpenAI:
    return gateway.wrap(openai.OpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))


# (600 uncached x $2 + 400 cached x $0.50 + 300 output incl. 120 reasoning x $8) per 1M tokens
OPENAI_PRICED = (600 * 2.0 + 400 * 0.5 + 300 * 8.0) / 1e6
# (200 uncached x $3 + 1000 cache reads x $0.30 + 400 cache writes x $3.75 + 50 output x $15) per 1M
ANTHROPIC_PRICED = (200 * 3.0 + 1000 * 0.3 + 400 * 3.75 + 50 * 15.0) / 1e6


def test_openai_cost_header_counts_cached_and_reasoning_tokens(upstream: FakeUpstream) -> None:
    upstream.default = Reply(usage=OPENAI_USAGE)
    gateway = gateway_for(upstream, priced=True)
    raw = sdk_openai(gateway).chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    completion = raw.parse()
    assert completion.usage is not None
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 400
    assert raw.headers["x-llm-gateway-cost-usd"] == f"{OPENAI_PRICED:.8f}" == "0.00380000"
    call = gateway.runtime.recent[-1]
    assert call.cost_usd == pytest.approx(OPENAI_PRICED, abs=1e-12)
    assert call.usage is not None and call.usage.reasoning_tokens == 120


def test_anthropic_cost_header_counts_cache_reads_and_writes(upstream: FakeUpstream) -> None:
    upstream.default = Reply(usage=ANTHROPIC_USAGE)
    gateway = gateway_for(upstream, priced=True)
    client = gateway.wrap(anthropic.Anthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    raw = client.messages.with_raw_response.create(model="claude", max_tokens=100, messages=MESSAGES)
    message = raw.parse()
    assert message.usage.cache_read_input_tokens == 1000
    assert message.usage.cache_creation_input_tokens == 400
    assert raw.headers["x-llm-gateway-cost-usd"] == f"{ANTHROPIC_PRICED:.8f}" == "0.00315000"


def test_bundled_dated_price_table_is_used_without_a_configured_price(upstream: FakeUpstream) -> None:
    upstream.default = Reply(usage=OPENAI_USAGE)
    table = PriceTable.bundled()
    assert table.as_of  # the bundled table is dated
    price = table.lookup("gpt-4o-mini")
    assert price is not None
    expected = (
        600 * price.price.input + 400 * (price.price.cached_input or 0) + 300 * price.price.output
    ) / 1e6
    raw = sdk_openai(gateway_for(upstream, priced=False)).chat.completions.with_raw_response.create(
        model="chat", messages=MESSAGES
    )
    assert raw.headers["x-llm-gateway-cost-usd"] == f"{expected:.8f}"


async def test_streamed_costs_reach_the_call_record_async(upstream: FakeUpstream) -> None:
    gateway = gateway_for(upstream, priced=True)
    upstream.default = Reply(usage=OPENAI_USAGE)
    oai = gateway.wrap(openai.AsyncOpenAI(api_key="app-key", base_url="http://127.0.0.1:9/v1"))
    stream = await oai.chat.completions.create(model="chat", messages=MESSAGES, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(chunk.usage is None for chunk in chunks)  # the app did not ask for usage
    assert gateway.runtime.recent[-1].cost_usd == pytest.approx(OPENAI_PRICED, abs=1e-12)

    upstream.default = Reply(usage=ANTHROPIC_USAGE)
    claude = gateway.wrap(anthropic.AsyncAnthropic(api_key="app-key", base_url="http://127.0.0.1:9"))
    async with claude.messages.stream(model="claude", max_tokens=100, messages=MESSAGES) as events:
        final = await events.get_final_message()
    assert final.usage.cache_read_input_tokens == 1000
    assert gateway.runtime.recent[-1].cost_usd == pytest.approx(ANTHROPIC_PRICED, abs=1e-12)
