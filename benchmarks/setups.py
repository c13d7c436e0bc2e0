"""Builds the raw and the wrapped SDK clients of one benchmark variant, and probes features.

A variant is: upstream (``mock``: an in-process ``httpx2.MockTransport``; ``loopback``: the
HTTP server of ``upstream.py`` on 127.0.0.1), I/O style (sync/async), telemetry (off, or
an SDK ``TracerProvider`` with a ``BatchSpanProcessor`` and a ``MeterProvider``), and rate
limits (none, ``memory://`` or Redis).

With the mock upstream the wrapped client is a zero-config-style gateway: the model is not
declared, so the call goes to the client's own HTTP client (the same MockTransport the raw
client uses). With the loopback upstream the model is declared on an ``openai-compatible``
provider, so the call goes over the gateway's own HTTP client to the same server.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from .upstream import mock_transport

__all__ = [
    "MESSAGES",
    "MODEL",
    "REDIS_URL",
    "Telemetry",
    "Variant",
    "build_gateway",
    "limits_problem",
    "make_clients",
    "redis_problem",
    "telemetry_problem",
]

MODEL = "gpt-4o-mini"  # has a bundled price, so cost accounting runs on every call
MESSAGES: list[dict[str, str]] = [{"role": "user", "content": "Say hello to the benchmark, briefly."}]
KEY_ENV = "LLM_GATEWAY_BENCH_KEY"  # a dummy key: the upstreams are the benchmark's own
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class _DiscardSpans:
    """A span exporter that drops everything (the SDK's work up to export still runs)."""

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class Telemetry:
    """An SDK tracer provider with a batch processor, and a meter provider with a reader."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.exporter = _CountingExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.exporter))  # type: ignore[arg-type]
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def flush(self) -> None:
        self.tracer_provider.force_flush()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


class _CountingExporter(_DiscardSpans):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Any) -> Any:
        self.count += len(spans)
        return super().export(spans)


@dataclass(frozen=True)
class Variant:
    upstream: str  # "mock" | "loopback"
    mode: str  # "sync" | "async"
    telemetry: bool = False
    limits: str | None = None  # None | "memory" | "redis"
    prompt_kb: int = 0  # 0: the short default prompt; else a conversation of about this many KB

    @property
    def label(self) -> str:
        tel = "telemetry on" if self.telemetry else "telemetry off"
        lim = f"limits {self.limits}" if self.limits else "no limits"
        size = f", {self.prompt_kb} KB prompt" if self.prompt_kb else ""
        return f"{self.mode}, {self.upstream}, {tel}, {lim}{size}"

    @property
    def messages(self) -> list[dict[str, str]]:
        if not self.prompt_kb:
            return MESSAGES
        turn = "lorem ipsum dolor sit amet " * 40  # ~1 KB of JSON per message
        return [
            {"role": "user" if i % 2 == 0 else "assistant", "content": turn} for i in range(self.prompt_kb)
        ]


def gateway_config(
    *, base_url: str | None, telemetry: bool, limits: str | None, fallback: bool = False
) -> dict[str, Any]:
    config: dict[str, Any] = {"telemetry": {"enabled": telemetry}}
    if base_url is not None:
        os.environ.setdefault(KEY_ENV, "sk-bench")
        config["providers"] = {
            "p": {"type": "openai-compatible", "base_url": base_url, "api_key_env": KEY_ENV}
        }
        config["models"] = [{"name": MODEL, "provider": "p", "model": "bench-model"}]
        if fallback:
            config["providers"]["q"] = dict(config["providers"]["p"])
            config["models"].append({"name": "bench-fallback", "provider": "q", "model": "bench-model"})
            config["fallbacks"] = {MODEL: ["bench-fallback"]}
    if limits is not None:
        storage = "memory://" if limits == "memory" else REDIS_URL
        config["rate_limits"] = {"storage": storage, "rules": [{"per": "user", "limit": "1000000/minute"}]}
    return config


def build_gateway(config: dict[str, Any], telemetry: Telemetry | None) -> Any:
    from llm_gateway_mw import Gateway

    if telemetry is None:
        return Gateway(config)
    return Gateway(config, tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def inject_mock_upstreams(gateway: Any, providers: tuple[str, ...] = ("p", "q")) -> None:
    """Point declared providers at the in-process mock instead of HTTP (benchmark-only plumbing)."""
    from llm_gateway_mw.upstream.http import HttpUpstream

    for name in providers:
        gateway.runtime._upstreams[(name, "httpx2")] = HttpUpstream(
            httpx2,
            sync_client=httpx2.Client(transport=mock_transport(httpx2)),
            async_client=httpx2.AsyncClient(transport=mock_transport(httpx2)),
        )


def make_clients(variant: Variant, base_url: str | None, telemetry: Telemetry | None) -> tuple[Any, Any, Any]:
    """(raw client, wrapped client, gateway) for one variant."""
    is_async = variant.mode == "async"

    def sdk() -> Any:
        url = "http://127.0.0.1:9/v1"  # never dialled when the mock transport answers
        transport = mock_transport(httpx2) if variant.upstream == "mock" else None
        if variant.upstream != "mock":
            assert base_url is not None
            url = base_url
        if is_async:
            return openai.AsyncOpenAI(
                api_key="sk-bench",
                base_url=url,
                http_client=httpx2.AsyncClient(transport=transport),
                max_retries=0,
            )
        return openai.OpenAI(
            api_key="sk-bench", base_url=url, http_client=httpx2.Client(transport=transport), max_retries=0
        )

    declared = base_url if variant.upstream == "loopback" else None
    config = gateway_config(base_url=declared, telemetry=variant.telemetry, limits=variant.limits)
    gateway = build_gateway(config, telemetry if variant.telemetry else None)
    return sdk(), gateway.wrap(sdk()), gateway


@contextlib.contextmanager
def caller(gateway: Any) -> Iterator[None]:
    with gateway.caller(user="bench-user", tenant="bench-tenant"):
        yield


def redis_problem() -> str | None:
    """Why Redis cannot be used, or None."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:
        return f"no Redis at {REDIS_URL} ({type(exc).__name__}: {exc})"
    return None


def limits_problem(storage: str) -> str | None:
    """None when rate limits work with ``storage`` ("memory"/"redis"); else why the variant is skipped.

    Probes behaviour, not names: a 1/minute rule must refuse a second call from the same user.
    """
    if storage == "redis":
        why = redis_problem()
        if why:
            return why
    try:
        config = gateway_config(base_url=None, telemetry=False, limits=storage)
        config["rate_limits"]["rules"] = [{"per": "user", "limit": "1/minute"}]
        gateway = build_gateway(config, None)
        client = gateway.wrap(
            openai.OpenAI(
                api_key="k",
                base_url="http://127.0.0.1:9/v1",
                http_client=httpx2.Client(transport=mock_transport(httpx2)),
                max_retries=0,
            )
        )
        with gateway.caller(user=f"probe-{uuid.uuid4().hex}"):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
            try:
                client.chat.completions.create(model=MODEL, messages=MESSAGES)
            except openai.RateLimitError:
                return None
    except Exception as exc:
        return f"rate limits ({storage}) raised {type(exc).__name__}: {exc}"
    return f"rate limits ({storage}) are not enforced yet (a 1/minute rule let a second call through)"


def telemetry_problem() -> str | None:
    """None when a call through a gateway with SDK providers produces spans; else why not."""
    try:
        telemetry = Telemetry()
        gateway = build_gateway(gateway_config(base_url=None, telemetry=True, limits=None), telemetry)
        client = gateway.wrap(
            openai.OpenAI(
                api_key="k",
                base_url="http://127.0.0.1:9/v1",
                http_client=httpx2.Client(transport=mock_transport(httpx2)),
                max_retries=0,
            )
        )
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
        flush_gateway(gateway)
        telemetry.flush()
        count = telemetry.exporter.count
        telemetry.shutdown()
    except Exception as exc:
        return f"telemetry raised {type(exc).__name__}: {exc}"
    return None if count >= 2 else f"telemetry produced {count} spans for one call (expected 2)"


def flush_gateway(gateway: Any) -> None:
    """Wait for the gateway's deferred telemetry work, if it has any."""
    flush = getattr(gateway.runtime.telemetry, "flush", None)
    if flush is not None:
        flush()
