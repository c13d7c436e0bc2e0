"""Both roads of a call, for the express lane's tests: the lane, and ``pipeline.handle_call`` alone.

``serve`` runs the same calls from a real SDK client against a real HTTP upstream on 127.0.0.1
through a gateway whose express lane is on or off, and returns what the tests compare: replies,
headers, call and attempt records, health, the web request's usage tally and the spans.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai

from llm_gateway_mw import Gateway
from llm_gateway_mw.context import UsageTally, push_call_context, reset_call_context
from llm_gateway_mw.records import CallRecord
from tests.telemetry.conftest import Otel
from tests.upstreams.server import FakeUpstream

__all__ = ["MESSAGES", "calls", "record", "serve"]

MESSAGES = [{"role": "user", "content": "What is 2+2?"}]
CALL_FIELDS = (
    "operation",
    "requested_model",
    "inbound_dialect",
    "stream",
    "route",
    "strategy",
    "decision_reason",
    "cache_hit",
    "cost_usd",
    "rate_limit_remaining",
    "error_type",
    "error_message",
    "http_route",
    "request_body",
    "response_body",
)
ATTEMPT_FIELDS = (
    "number",
    "deployment",
    "provider",
    "provider_kind",
    "upstream_model",
    "operation",
    "server_address",
    "server_port",
    "fallback_from",
    "status",
    "error_type",
    "usage",
    "response_id",
    "response_model",
    "finish_reasons",
)


VOLATILE_ATTRIBUTES = ("llm_gateway.request_id", "gen_ai.response.id")


def record(call: CallRecord) -> dict[str, Any]:
    attempts = [{name: getattr(a, name) for name in ATTEMPT_FIELDS} for a in call.attempts]
    for attempt in attempts:  # the upstream makes up a fresh id per reply
        attempt["response_id"] = (attempt["response_id"] or "")[:9]
    return {**{name: getattr(call, name) for name in CALL_FIELDS}, "attempts": attempts}


def calls(client: Any, is_async: bool) -> list[tuple[str, dict[str, str]]]:
    """Three chat calls, two embeddings: (reply text, gateway headers without the request id)."""

    async def run_async() -> list[Any]:
        out = [
            await client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=MESSAGES, temperature=0.5
            )
            for _ in range(3)
        ]
        for _ in range(2):
            out.append(
                await client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hi")
            )
        return out

    if is_async:
        raws = asyncio.run(run_async())
    else:
        raws = [
            client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=MESSAGES, temperature=0.5
            )
            for _ in range(3)
        ]
        raws += [
            client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hi")
            for _ in range(2)
        ]
    results = []
    for raw in raws:
        headers = {k: v for k, v in raw.headers.items() if k.startswith("x-llm-gateway-")}
        assert headers.pop("x-llm-gateway-request-id").startswith("gw-")
        parsed = raw.parse()
        text = parsed.choices[0].message.content if hasattr(parsed, "choices") else str(len(parsed.data))
        results.append((text, headers))
    return results


def serve(
    upstream: FakeUpstream,
    *,
    express: bool,
    is_async: bool,
    otel: Otel | None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if otel is not None:
        options = {"tracer_provider": otel.tracer_provider, "meter_provider": otel.meter_provider}
    gateway = Gateway({**(config or {}), "telemetry": {"enabled": otel is not None}}, **options)
    gateway.runtime.express = gateway.runtime.lane = express  # False: every call takes handle_call
    sdk = openai.AsyncOpenAI if is_async else openai.OpenAI
    client = gateway.wrap(sdk(api_key="test-key", base_url=upstream.openai_base_url))
    tally = UsageTally()
    token = push_call_context(user="u1", tenant="t1", tally=tally, http_route="/ask")
    try:
        replies = calls(client, is_async)
    finally:
        reset_call_context(token)
    runtime = gateway.runtime
    binding = client._client._transport.binding
    health = {
        name: (h.successes, h.failures, h.in_flight, h.latency is not None)
        for name, h in runtime._health.items()
    }
    spans: list[tuple[str, dict[str, Any]]] = []
    if otel is not None:
        assert gateway.flush_telemetry()
        for span in otel.spans_exporter.get_finished_spans():
            attributes = {k: v for k, v in (span.attributes or {}).items() if k not in VOLATILE_ATTRIBUTES}
            spans.append((span.name, attributes))
        otel.spans_exporter.clear()
    return {
        "replies": replies,
        "records": [record(call) for call in runtime.recent],
        "health": health,
        "tally": (tally.calls, tally.input_tokens, tally.output_tokens, round(tally.cost_usd, 12)),
        "spans": sorted(spans, key=repr),
        "express_models": sorted(binding.express),
    }
