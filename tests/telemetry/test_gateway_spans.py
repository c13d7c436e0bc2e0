"""Spans from real wrapped SDK calls: nesting, failover, duplicates with other instrumentations, and secrets.

Duplicate-span policy (documented in the README): while gateway telemetry is on, ``wrap()``
turns off the anthropic SDK's own call span on the wrapped copy (the gateway's spans
describe the same call, with the deployment really used and every attempt). When
``opentelemetry-instrumentation-openai-v2`` is active, its span is the application's view
of the call (the model it asked for); the gateway's INTERNAL span and per-attempt CLIENT
spans nest under it, once each.
"""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from llm_gateway_mw import Gateway
from llm_gateway_mw.telemetry.setup import configure_telemetry
from tests.gateway_configs import KEY_ENV, two_dialects
from tests.sdk_compat import anthropic_has_sdk_tracing
from tests.telemetry.otlp_receiver import OtlpReceiver
from tests.upstreams import behaviours as b
from tests.upstreams.server import FakeUpstream

MESSAGES = [{"role": "user", "content": "Tell me about the weather in Paris"}]
CONFIG: dict[str, Any] = {
    "providers": {"bad": {"type": "mock", "failure_rate": 1.0}, "good": {"type": "mock"}},
    "models": [
        {"name": "gpt-4o", "provider": "bad", "model": "gpt-4o"},
        {"name": "gpt-4o-mini", "provider": "good", "model": "gpt-4o-mini"},
    ],
    "fallbacks": {"gpt-4o": ["gpt-4o-mini"]},
    "retry": {"attempts": 1},
}


@pytest.fixture
def tracing() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_failover_spans_nest_under_the_current_span(
    tracing: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = tracing
    gateway = Gateway(CONFIG, tracer_provider=provider)
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    with provider.get_tracer("app").start_as_current_span("POST /chat") as request_span:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=0.3)
    assert gateway.flush_telemetry()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    gateway_span, failed, served = spans["gateway gpt-4o"], spans["chat gpt-4o"], spans["chat gpt-4o-mini"]
    assert gateway_span.kind == SpanKind.INTERNAL
    assert gateway_span.parent.span_id == request_span.get_span_context().span_id
    assert failed.parent.span_id == served.parent.span_id == gateway_span.context.span_id
    assert failed.kind == served.kind == SpanKind.CLIENT
    assert failed.attributes["error.type"] == "503" and "error.type" not in served.attributes
    assert served.attributes["llm_gateway.fallback.from"] == "gpt-4o"
    assert served.attributes["gen_ai.request.temperature"] == 0.3
    assert served.attributes["gen_ai.usage.output_tokens"] > 0
    assert gateway_span.status.status_code.name != "ERROR"  # a fallback that succeeded is no error
    for span in spans.values():
        assert not any(
            k in ("gen_ai.system", "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens")
            for k in span.attributes
        )


def test_stream_span_ends_with_the_stream(tracing: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = tracing
    gateway = Gateway(
        {**CONFIG, "providers": {**CONFIG["providers"], "good": {"type": "mock", "chunk_delay_ms": 5}}},
        tracer_provider=provider,
    )
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    first = next(iter(stream))
    assert first is not None
    gateway.flush_telemetry()
    assert not [s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o-mini"]  # still open
    stream.close()  # closed early: the span ends now, as cut short
    gateway.flush_telemetry()
    span = next(s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o-mini")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert span.end_time - span.start_time > 0


@pytest.mark.parametrize("propagate", [False, True])
def test_traceparent_sent_upstream_is_the_exported_attempt_span(
    upstream: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tracing: tuple[TracerProvider, InMemorySpanExporter],
    propagate: bool,
) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")
    provider, exporter = tracing
    gateway = Gateway(
        two_dialects(upstream, telemetry={"propagate_traceparent": propagate}), tracer_provider=provider
    )
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=0.3)
    assert gateway.flush_telemetry()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    attempt, gateway_span = spans["chat gpt-4o-2024-08-06"], spans["gateway gpt-4o"]
    assert attempt.parent is not None and attempt.parent.span_id == gateway_span.context.span_id
    # created inline or on the worker, the attempt span carries the same attributes
    assert attempt.attributes is not None
    assert attempt.attributes["gen_ai.request.temperature"] == 0.3
    assert attempt.attributes["llm_gateway.deployment"] == "gpt-4o"
    assert attempt.attributes["gen_ai.usage.output_tokens"] > 0
    headers = {k.lower(): v for k, v in upstream.last_request.headers.items()}
    if not propagate:
        assert "traceparent" not in headers
    else:
        span_id = headers["traceparent"].split("-")[2]
        assert span_id == format(attempt.context.span_id, "016x")


def test_anthropic_sdk_tracing_is_not_duplicated(
    upstream: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
    tracing: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    if not anthropic_has_sdk_tracing():
        pytest.skip("this anthropic SDK generation has no tracing of its own: nothing to duplicate")
    monkeypatch.setenv(KEY_ENV, "test-key")
    provider, exporter = tracing
    gateway = Gateway(two_dialects(upstream), tracer_provider=provider)
    sdk_client = anthropic.Anthropic(
        api_key="k", base_url="http://127.0.0.1:9", open_telemetry={"tracer_provider": provider}
    )
    gateway.wrap(sdk_client).messages.create(model="claude-sonnet", max_tokens=20, messages=MESSAGES)
    gateway.flush_telemetry()
    scopes = [s.instrumentation_scope.name for s in exporter.get_finished_spans()]
    assert "com.anthropic.sdk.python" not in scopes
    assert len(exporter.get_finished_spans()) == 2  # gateway span + one attempt
    exporter.clear()
    gateway.wrap(sdk_client, sdk_tracing=True).messages.create(
        model="claude-sonnet", max_tokens=20, messages=MESSAGES
    )
    gateway.flush_telemetry()
    spans = exporter.get_finished_spans()
    sdk_span = next(s for s in spans if s.instrumentation_scope.name == "com.anthropic.sdk.python")
    ours = next(s for s in spans if s.name == "gateway claude-sonnet")
    assert ours.parent.span_id == sdk_span.context.span_id  # kept on request: ours nest under it, once


def test_openai_v2_instrumentation_nests_without_duplicates(
    tracing: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    instrumentation = pytest.importorskip("opentelemetry.instrumentation.openai_v2")
    provider, exporter = tracing
    instrumentor = instrumentation.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        gateway = Gateway(CONFIG, tracer_provider=provider)
        client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    gateway.flush_telemetry()
    spans = exporter.get_finished_spans()
    theirs = [s for s in spans if "openai_v2" in s.instrumentation_scope.name]
    ours = [s for s in spans if s.instrumentation_scope.name.startswith("llm_gateway_mw")]
    assert len(theirs) == 1 and len(ours) == 2
    gateway_span = next(s for s in ours if s.kind == SpanKind.INTERNAL)
    assert gateway_span.parent.span_id == theirs[0].context.span_id


def test_no_secret_reaches_any_exported_byte_or_log(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    provider_key = "sk-upstream-SECRET-4242"
    app_key = "sk-app-SECRET-1717"
    gateway_key = "gw_SECRET_gateway_key_9999"
    upstream.api_key = provider_key
    monkeypatch.setenv(KEY_ENV, provider_key)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_AND_EVENT")
    caplog.set_level(logging.DEBUG)
    upstream.enqueue(b.server_error(500, message=f"upstream echoed Authorization: Bearer {provider_key}"))
    with OtlpReceiver() as receiver:
        handle = configure_telemetry(
            exporter="otlp",
            endpoint=receiver.endpoint,
            protocol="http/protobuf",
            set_global=False,
            service_name="secrets-test",
        )
        config = two_dialects(upstream, fallbacks={"gpt-4o": ["claude-sonnet"]})
        gateway = Gateway(
            config, tracer_provider=handle.tracer_provider, meter_provider=handle.meter_provider
        )
        client = gateway.wrap(openai.OpenAI(api_key=app_key, base_url="http://127.0.0.1:9/v1"))
        with gateway.caller(user="u1", tenant="t1", key=gateway_key):
            client.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,
                extra_headers={"x-api-key": app_key, "Authorization": f"Bearer {app_key}"},
            )
        gateway.flush_telemetry()
        assert handle.force_flush()
        handle.shutdown()
        exported = b"".join(r.SerializeToString() for r in receiver.traces + receiver.metrics)
    assert receiver.spans() and receiver.metric_list()
    assert b"Tell me about the weather" in exported  # content capture was on, so the scan is meaningful
    # Every log line but the vendor SDKs' own debug logging of the request the app built (older openai
    # versions log an app-supplied x-api-key header themselves; that is the app's SDK, not this library).
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("openai", "anthropic")))
    for secret in (provider_key, app_key, gateway_key):
        assert secret.encode() not in exported
        assert secret not in ours


def test_abandoned_stream_span_ends_on_garbage_collection(
    tracing: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    import gc

    provider, exporter = tracing
    gateway = Gateway(CONFIG, tracer_provider=provider)
    client = gateway.wrap(openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    gateway.flush_telemetry()
    span = next(s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o-mini")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert any(s.name == "gateway gpt-4o-mini" for s in exporter.get_finished_spans())


async def test_stream_closed_from_another_task_has_no_context_errors(
    tracing: tuple[TracerProvider, InMemorySpanExporter], caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    provider, exporter = tracing
    gateway = Gateway(CONFIG, tracer_provider=provider)
    client = gateway.wrap(openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1"))

    async def open_stream() -> Any:
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        await stream.__anext__()
        return stream

    stream = await asyncio.create_task(open_stream())
    await asyncio.create_task(stream.close())  # closed from a different task than the one that opened it
    gateway.flush_telemetry()
    assert "different Context" not in caplog.text
    span = next(s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o-mini")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
