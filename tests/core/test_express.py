"""The express lane (``express``) records exactly what the full pipeline records.

Two gateways with the same configuration serve the same calls; on one of them the express lane
is switched off, so every call runs through ``pipeline.handle_call`` (``express_roads``).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from llm_gateway_mw import Gateway
from tests.core.express_roads import MESSAGES, calls, serve
from tests.telemetry.conftest import Otel
from tests.upstreams import behaviours as b
from tests.upstreams.server import FakeUpstream


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("telemetry", [False, True], ids=["telemetry-off", "telemetry-on"])
def test_the_express_lane_records_what_the_pipeline_records(
    upstream: FakeUpstream, otel: Otel, is_async: bool, telemetry: bool
) -> None:
    express = serve(upstream, express=True, is_async=is_async, otel=otel if telemetry else None)
    full = serve(upstream, express=False, is_async=is_async, otel=otel if telemetry else None)
    # The first call of each model builds its plan in the pipeline; the later ones take the lane.
    assert express.pop("express_models") == ["gpt-4o-mini", "text-embedding-3-small"]
    assert full.pop("express_models") == []
    assert express == full
    assert express["replies"][0][0] == "Hello from upstream"
    assert express["replies"][1][1]["x-llm-gateway-attempts"] == "1"
    assert float(express["replies"][1][1]["x-llm-gateway-cost-usd"]) > 0
    assert express["tally"][0] == 5 and express["tally"][3] > 0
    if telemetry:
        assert len(express["spans"]) >= 10  # a gateway span and an attempt span per call
        # Sampling parameters come off the undecoded passthrough body, on the telemetry worker.
        temperatures = [a.get("gen_ai.request.temperature") for _, a in express["spans"]]
        assert temperatures.count(0.5) >= 3


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_express_first_try_that_fails_goes_on_in_the_attempt_loop(
    upstream: FakeUpstream, is_async: bool
) -> None:
    gateway = Gateway({"retry": {"attempts": 2, "backoff_initial": 0.001, "backoff_max": 0.001}})
    sdk = openai.AsyncOpenAI if is_async else openai.OpenAI
    first = calls(gateway.wrap(sdk(api_key="test-key", base_url=upstream.openai_base_url)), is_async)
    upstream.enqueue(b.server_error(500))
    client = gateway.wrap(sdk(api_key="test-key", base_url=upstream.openai_base_url))
    again = calls(client, is_async)  # the models' plans are built: every call takes the express lane
    assert sorted(client._client._transport.binding.express) == ["gpt-4o-mini", "text-embedding-3-small"]
    assert [text for text, _ in again] == [text for text, _ in first]
    assert again[0][1]["x-llm-gateway-attempts"] == "2"  # the 500, then the retry
    assert [h["x-llm-gateway-attempts"] for _, h in again[1:]] == ["1", "1", "1", "1"]
    retried = list(gateway.runtime.recent)[5]
    assert [a.status for a in retried.attempts] == [500, 200]
    assert all(h.in_flight == 0 for h in gateway.runtime._health.values())


def _circuit_story(upstream: FakeUpstream, *, express: bool) -> list[str]:
    """A success, a 500 that opens the circuit, then two calls: the loop waits out the cooldown, probes."""
    gateway = Gateway({"retry": {"attempts": 1}, "circuit_breaker": {"failures": 1, "cooldown": 0.2}})
    gateway.runtime.express = gateway.runtime.lane = express  # False: every call takes handle_call
    client = gateway.wrap(openai.OpenAI(api_key="test-key", base_url=upstream.openai_base_url))
    seen = []
    for behaviour in (None, b.server_error(500), None, None):
        if behaviour is not None:
            upstream.enqueue(behaviour)
        try:
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
            seen.append(f"{raw.status_code} attempts={raw.headers['x-llm-gateway-attempts']}")
        except openai.APIStatusError as error:
            seen.append(f"{error.status_code} {error.response.headers.get('x-llm-gateway-error')}")
    [health] = gateway.runtime._health.values()
    seen.append(f"successes={health.successes} failures={health.failures} in_flight={health.in_flight}")
    return seen


def test_an_open_circuit_is_decided_as_the_attempt_loop_decides(upstream_factory: Any) -> None:
    with_lane = _circuit_story(upstream_factory(), express=True)
    without = _circuit_story(upstream_factory(), express=False)
    assert with_lane == without
    assert with_lane[1].startswith("500")
