"""Shared fixtures: real upstream servers on 127.0.0.1, Redis, in-memory telemetry."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.telemetry.conftest import Otel

pytest_plugins = ["tests.upstreams.fixtures"]


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A reachable Redis URL; skips when none answers, except under CI=true where Redis is required."""
    url = redis_url()
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception as err:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"CI=true but Redis at {url} is not reachable ({err}); start redis-server or set REDIS_URL"
            )
        pytest.skip(
            f"no Redis reachable at {url} ({err}); start redis-server or set REDIS_URL to run this test"
        )
    yield url


@pytest.fixture
def otel() -> Iterator[Otel]:
    """In-memory span and metric providers, and a factory of Telemetry bound to them."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(tracer_provider, meter_provider, exporter, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never use real provider keys, and never reach the internet with them."""
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
