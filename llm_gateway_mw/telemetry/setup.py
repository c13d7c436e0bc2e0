"""``configure_telemetry()``: install an OpenTelemetry SDK for apps that have none.

Optional: the gateway records to whatever providers the application installed. Exporters
and the SDK are imported inside the function, so importing the gateway stays light.
Standard ``OTEL_*`` variables are honoured; explicit arguments win over them, and they
win over a preset's defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["ExportPlan", "TelemetryHandle", "configure_telemetry", "plan_export"]

Exporter = Literal["otlp", "console", "none"]
Protocol = Literal["http/protobuf", "grpc"]
Preset = Literal["jaeger", "honeycomb"]

_PRESET_ENDPOINTS: dict[str, dict[str, str]] = {
    "jaeger": {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"},
    "honeycomb": {"http/protobuf": "https://api.honeycomb.io", "grpc": "https://api.honeycomb.io:443"},
}
_SIGNAL_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics"}


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """Where and how each signal is exported; resolved from arguments, env and preset."""

    traces: tuple[Exporter, ...]
    metrics: tuple[Exporter, ...]
    protocol: Protocol
    endpoint: str | None  # base URL; None lets the exporters read OTEL_EXPORTER_OTLP_*ENDPOINT
    trace_headers: dict[str, str] | None  # None lets the exporters read OTEL_EXPORTER_OTLP_*HEADERS
    metric_headers: dict[str, str] | None

    def signal_endpoint(self, signal: Literal["traces", "metrics"]) -> str | None:
        """The endpoint to give the exporter of one signal (OTLP/HTTP wants the full path)."""
        if self.endpoint is None or self.protocol == "grpc":
            return self.endpoint
        return self.endpoint.rstrip("/") + _SIGNAL_PATHS[signal]


@dataclass(slots=True)
class TelemetryHandle:
    """The providers ``configure_telemetry`` built, and their exporters."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider | None
    span_exporters: list[Any]
    metric_exporters: list[Any]

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything recorded so far (queued span ends included); False on a timeout."""
        from .worker import DEFERRED

        ok = DEFERRED.flush(timeout_millis / 1000)
        ok = self.tracer_provider.force_flush(timeout_millis) and ok
        if self.meter_provider is not None:
            ok = self.meter_provider.force_flush(timeout_millis) and ok
        return ok

    def shutdown(self) -> None:
        """Flush and stop the providers (call once, at exit)."""
        self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def plan_export(
    *,
    service_name: str,
    exporter: Exporter | None = None,
    preset: Preset | None = None,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    protocol: Protocol | None = None,
    honeycomb_dataset: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ExportPlan:
    """Resolve the export plan without building anything (no network, no SDK import)."""
    if preset is not None and preset not in _PRESET_ENDPOINTS:
        raise ConfigError(
            f"unknown telemetry preset {preset!r}", expected="'jaeger' or 'honeycomb'", found=preset
        )
    if preset is not None:
        exporter = "otlp"
    traces = _exporters(exporter, "OTEL_TRACES_EXPORTER", environ)
    metrics = _exporters(exporter, "OTEL_METRICS_EXPORTER", environ)

    chosen = protocol or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip() or "http/protobuf"
    if chosen not in ("http/protobuf", "grpc"):
        raise ConfigError(
            "unsupported OTLP protocol",
            path="OTEL_EXPORTER_OTLP_PROTOCOL" if protocol is None else "protocol",
            expected="'http/protobuf' or 'grpc'",
            found=chosen,
        )
    resolved_protocol: Protocol = "grpc" if chosen == "grpc" else "http/protobuf"

    if endpoint is None and preset is not None and not environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        endpoint = _PRESET_ENDPOINTS[preset][resolved_protocol]

    extra: dict[str, str] = {}
    metric_extra: dict[str, str] = {}
    if preset == "honeycomb":
        env_headers = _env_headers("OTEL_EXPORTER_OTLP_HEADERS", environ)
        given = {k.lower() for k in (headers or {})}
        if "x-honeycomb-team" not in given and "x-honeycomb-team" not in env_headers:
            key = environ.get("HONEYCOMB_API_KEY", "").strip()
            if not key:
                raise ConfigError(
                    "preset 'honeycomb' needs an ingest key, but the environment variable "
                    "HONEYCOMB_API_KEY is not set",
                    hint="export HONEYCOMB_API_KEY=<ingest key>, or pass headers={'x-honeycomb-team': ...}",
                )
            extra["x-honeycomb-team"] = key
        dataset = (
            honeycomb_dataset or environ.get("HONEYCOMB_DATASET", "").strip() or f"{service_name}-metrics"
        )
        metric_extra["x-honeycomb-dataset"] = dataset

    return ExportPlan(
        traces=traces,
        metrics=metrics,
        protocol=resolved_protocol,
        endpoint=endpoint,
        trace_headers=_headers("TRACES", extra, headers, environ),
        metric_headers=_headers("METRICS", {**extra, **metric_extra}, headers, environ),
    )


def _exporters(explicit: Exporter | None, variable: str, environ: Mapping[str, str]) -> tuple[Exporter, ...]:
    names: list[str]
    if explicit is not None:
        names = [explicit]
    else:
        names = [v.strip().lower() for v in environ.get(variable, "otlp").split(",") if v.strip()] or ["otlp"]
    out: list[Exporter] = []
    for name in names:
        if name not in ("otlp", "console", "none"):
            raise ConfigError(
                "unsupported exporter",
                path="exporter" if explicit is not None else variable,
                expected="'otlp', 'console' or 'none'",
                found=name,
            )
        if name != "none":
            out.append("otlp" if name == "otlp" else "console")
    return tuple(out)


def _env_headers(variable: str, environ: Mapping[str, str]) -> dict[str, str]:
    from opentelemetry.util.re import parse_env_headers

    return {k.lower(): v for k, v in parse_env_headers(environ.get(variable, ""), liberal=True).items()}


def _headers(
    signal: str, preset: Mapping[str, str], given: Mapping[str, str] | None, environ: Mapping[str, str]
) -> dict[str, str] | None:
    """Env headers, then the preset's, then the caller's; None when there is nothing to add."""
    if not preset and not given:
        return None
    merged = _env_headers("OTEL_EXPORTER_OTLP_HEADERS", environ)
    merged.update(_env_headers(f"OTEL_EXPORTER_OTLP_{signal}_HEADERS", environ))
    merged.update(preset)
    merged.update({k.lower(): v for k, v in (given or {}).items()})
    return merged


def configure_telemetry(
    *,
    service_name: str | None = None,
    exporter: Exporter | None = None,
    preset: Preset | None = None,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    protocol: Protocol | None = None,
    metrics: bool = True,
    set_global: bool = True,
    honeycomb_dataset: str | None = None,
) -> TelemetryHandle:
    """Build a TracerProvider (BatchSpanProcessor) and a MeterProvider (periodic reader).

    ``preset="jaeger"`` sends OTLP/HTTP to ``http://localhost:4318``; ``preset="honeycomb"``
    sends to ``https://api.honeycomb.io`` with ``HONEYCOMB_API_KEY`` and a metrics dataset
    (``honeycomb_dataset``, ``HONEYCOMB_DATASET``, or ``<service>-metrics``). With
    ``set_global`` the providers become the process-wide ones (unless some are installed).
    """
    from opentelemetry import metrics as metrics_api
    from opentelemetry import trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
    plan = plan_export(
        service_name=str(resource.attributes.get(SERVICE_NAME, "unknown_service")),
        exporter=exporter,
        preset=preset,
        endpoint=endpoint,
        headers=headers,
        protocol=protocol,
        honeycomb_dataset=honeycomb_dataset,
    )

    tracer_provider = TracerProvider(resource=resource)
    span_exporters = [_span_exporter(kind, plan) for kind in plan.traces]
    for span_exporter in span_exporters:
        tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))

    meter_provider = None
    metric_exporters: list[Any] = []
    if metrics:
        metric_exporters = [_metric_exporter(kind, plan) for kind in plan.metrics]
        readers = [PeriodicExportingMetricReader(e) for e in metric_exporters]
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    if set_global:  # the API refuses (with a warning) to replace providers already installed
        trace.set_tracer_provider(tracer_provider)
        if meter_provider is not None:
            metrics_api.set_meter_provider(meter_provider)
    return TelemetryHandle(tracer_provider, meter_provider, span_exporters, metric_exporters)


def _span_exporter(kind: Exporter, plan: ExportPlan) -> Any:
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if plan.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        return GrpcSpanExporter(endpoint=plan.signal_endpoint("traces"), headers=plan.trace_headers)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=plan.signal_endpoint("traces"), headers=plan.trace_headers)


def _metric_exporter(kind: Exporter, plan: ExportPlan) -> Any:
    if kind == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter()
    if plan.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter

        return GrpcExporter(endpoint=plan.signal_endpoint("metrics"), headers=plan.metric_headers)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(endpoint=plan.signal_endpoint("metrics"), headers=plan.metric_headers)
