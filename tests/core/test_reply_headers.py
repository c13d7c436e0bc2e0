"""The gateway's response headers: built as httpx stores them, added to any headers object."""

from __future__ import annotations

import httpx
import httpx2
import pytest

from llm_gateway_mw.records import AttemptRecord, Caller, CallRecord, RequestParams
from llm_gateway_mw.reply_headers import add_headers, gateway_headers, lane_headers, passthrough_headers


def _call() -> CallRecord:
    call = CallRecord("gw-1-7", "chat", "fast", "openai", False, RequestParams(), Caller())
    call.attempts.append(AttemptRecord(1, "café-east", "openai", "openai", "gpt-4o-mini", "chat"))
    call.cost_usd = 0.000123
    call.route = "fast"
    return call


@pytest.mark.parametrize("module", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_headers_added_in_place_read_back_as_text(module: object) -> None:
    headers = module.Headers({"content-type": "application/json"})  # type: ignore[attr-defined]
    add_headers(headers, gateway_headers(_call()))
    assert headers["x-llm-gateway-request-id"] == "gw-1-7"
    assert headers["x-llm-gateway-deployment"] == "caf%C3%A9-east"  # header values are ASCII
    assert headers["x-llm-gateway-attempts"] == "1"
    assert headers["x-llm-gateway-cost-usd"] == "0.00012300"
    assert headers["x-llm-gateway-cache"] == "miss"
    assert headers["x-llm-gateway-route"] == "fast"
    assert headers["content-type"] == "application/json"


def test_a_headers_object_of_another_shape_takes_them_one_by_one() -> None:
    headers: dict[str, str] = {}  # no httpx-internal list: each header is set through the mapping API
    add_headers(headers, gateway_headers(_call()))
    assert headers == {
        "x-llm-gateway-request-id": "gw-1-7",
        "x-llm-gateway-deployment": "caf%C3%A9-east",
        "x-llm-gateway-attempts": "1",
        "x-llm-gateway-cost-usd": "0.00012300",
        "x-llm-gateway-cache": "miss",
        "x-llm-gateway-route": "fast",
    }


@pytest.mark.parametrize("cost", [0.000123, None], ids=["priced", "unpriced"])
def test_the_express_lane_builds_the_same_headers_from_the_models_fixed_ones(cost: float | None) -> None:
    """Deployment, attempts, cache and route are built once per model; request id and cost per call."""
    call = _call()
    call.cost_usd = cost
    fixed = passthrough_headers("café-east", "fast")
    assert list(lane_headers("gw-1-7", cost, fixed)) == gateway_headers(call)
    assert passthrough_headers("café-east", "fast") == fixed  # the same objects: built once
    assert all(a is b for a, b in zip(passthrough_headers("café-east", "fast"), fixed, strict=True))
