"""configure_telemetry: env handling, presets, exporter construction (no network), lazy imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from llm_gateway_mw.errors import ConfigError
from llm_gateway_mw.telemetry.setup import TelemetryHandle, configure_telemetry, plan_export

OTEL_VARS = [
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "HONEYCOMB_API_KEY",
    "HONEYCOMB_DATASET",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)


@contextmanager
def _closing(handle: TelemetryHandle) -> Iterator[TelemetryHandle]:
    """Shut exporters down first, so the providers' shutdown sends nothing anywhere."""
    try:
        yield handle
    finally:
        for exporter in handle.span_exporters + handle.metric_exporters:
            exporter.shutdown()
        handle.shutdown()


def test_defaults_let_the_exporters_read_the_environment() -> None:
    plan = plan_export(service_name="svc", environ={})
    assert plan.traces == ("otlp",) and plan.metrics == ("otlp",)
    assert plan.protocol == "http/protobuf"
    assert plan.endpoint is None and plan.trace_headers is None and plan.metric_headers is None


def test_standard_variables() -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    }
    plan = plan_export(service_name="svc", environ=env)
    assert plan.traces == ("console",) and plan.metrics == ()
    assert plan.protocol == "grpc"
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        plan_export(service_name="svc", environ={"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER"):
        plan_export(service_name="svc", environ={"OTEL_TRACES_EXPORTER": "zipkin"})


def test_explicit_endpoint_gets_signal_paths_for_http() -> None:
    plan = plan_export(service_name="svc", endpoint="http://collector:4318/", environ={})
    assert plan.signal_endpoint("traces") == "http://collector:4318/v1/traces"
    assert plan.signal_endpoint("metrics") == "http://collector:4318/v1/metrics"
    grpc = plan_export(service_name="svc", endpoint="http://collector:4317", protocol="grpc", environ={})
    assert grpc.signal_endpoint("traces") == "http://collector:4317"


def test_jaeger_preset_and_env_override() -> None:
    plan = plan_export(service_name="svc", preset="jaeger", environ={})
    assert plan.endpoint == "http://localhost:4318" and plan.protocol == "http/protobuf"
    plan = plan_export(
        service_name="svc", preset="jaeger", environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://j:4318"}
    )
    assert plan.endpoint is None  # the exporter reads the variable


def test_honeycomb_without_a_key_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="HONEYCOMB_API_KEY"):
        plan_export(service_name="svc", preset="honeycomb", environ={})


def test_honeycomb_headers_and_dataset() -> None:
    plan = plan_export(service_name="shop", preset="honeycomb", environ={"HONEYCOMB_API_KEY": "hc-key"})
    assert plan.endpoint == "https://api.honeycomb.io"
    assert plan.trace_headers == {"x-honeycomb-team": "hc-key"}
    assert plan.metric_headers == {"x-honeycomb-team": "hc-key", "x-honeycomb-dataset": "shop-metrics"}
    env = {"HONEYCOMB_API_KEY": "hc-key", "HONEYCOMB_DATASET": "from-env"}
    assert plan_export(service_name="shop", preset="honeycomb", environ=env).metric_headers == {
        "x-honeycomb-team": "hc-key",
        "x-honeycomb-dataset": "from-env",
    }
    explicit = plan_export(service_name="shop", preset="honeycomb", honeycomb_dataset="mine", environ=env)
    assert explicit.metric_headers is not None and explicit.metric_headers["x-honeycomb-dataset"] == "mine"


def test_configure_honeycomb_without_key_raises() -> None:
    with pytest.raises(ConfigError, match="HONEYCOMB_API_KEY"):
        configure_telemetry(preset="honeycomb", set_global=False)


def test_configure_honeycomb_builds_exporters_with_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HONEYCOMB_API_KEY", "hc-test-key")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
    handle = configure_telemetry(service_name="shop", preset="honeycomb", set_global=False)
    with _closing(handle) as h:
        [span_exporter] = h.span_exporters
        [metric_exporter] = h.metric_exporters
        assert span_exporter._endpoint == "https://api.honeycomb.io/v1/traces"
        assert metric_exporter._endpoint == "https://api.honeycomb.io/v1/metrics"
        assert span_exporter._client._headers["x-honeycomb-team"] == "hc-test-key"
        assert "x-honeycomb-dataset" not in span_exporter._client._headers
        assert metric_exporter._client._headers["x-honeycomb-dataset"] == "shop-metrics"
        assert h.tracer_provider.resource.attributes["service.name"] == "shop"


def test_service_name_from_env_and_no_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    handle = configure_telemetry(exporter="none", metrics=False, set_global=False)
    with _closing(handle) as h:
        assert h.meter_provider is None and h.span_exporters == []
        assert h.tracer_provider.resource.attributes["service.name"] == "from-env"
        assert h.force_flush(1000)


def test_importing_the_package_stays_light() -> None:
    code = textwrap.dedent(
        """
        import sys
        import llm_gateway_mw.telemetry
        from llm_gateway_mw.telemetry import Telemetry, TelemetrySettings, configure_telemetry
        heavy = [m for m in sys.modules if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter"))]
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
