"""The tracer and metric instruments the gateway records to, created once per Telemetry."""

from __future__ import annotations

from importlib import metadata

from opentelemetry.metrics import Counter, Histogram, MeterProvider
from opentelemetry.trace import TracerProvider

from . import names as n

__all__ = ["Instruments"]


class Instruments:
    """The tracer and metric instruments, created once."""

    __slots__ = ("cache_hits", "cost", "duration", "fallbacks", "rejections", "tokens", "tracer", "ttfc")

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
        try:
            version = metadata.version("llm-gateway-mw")
        except metadata.PackageNotFoundError:
            version = "0.0.0"
        self.tracer = tracer_provider.get_tracer(n.INSTRUMENTATION_NAME, version, schema_url=n.SCHEMA_URL)
        meter = meter_provider.get_meter(n.INSTRUMENTATION_NAME, version, schema_url=n.SCHEMA_URL)
        self.duration: Histogram = meter.create_histogram(
            n.METRIC_OPERATION_DURATION,
            n.UNIT_SECONDS,
            "Duration of GenAI client operations, to the end of the stream.",
            explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS,
        )
        self.tokens: Histogram = meter.create_histogram(
            n.METRIC_TOKEN_USAGE,
            n.UNIT_TOKENS,
            "Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=n.TOKEN_BUCKETS,
        )
        self.ttfc: Histogram = meter.create_histogram(
            n.METRIC_TIME_TO_FIRST_CHUNK,
            n.UNIT_SECONDS,
            "Time from the request to the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS,
        )
        self.cost: Counter = meter.create_counter(n.METRIC_COST, n.UNIT_COST, "Cost of calls in US dollars.")
        self.rejections: Counter = meter.create_counter(
            n.METRIC_REJECTIONS, n.UNIT_REJECTIONS, "Calls refused by the gateway, by reason."
        )
        self.fallbacks: Counter = meter.create_counter(
            n.METRIC_FALLBACKS, n.UNIT_FALLBACKS, "Attempts sent to another deployment than the first."
        )
        self.cache_hits: Counter = meter.create_counter(
            n.METRIC_CACHE_HITS, n.UNIT_HITS, "Calls answered from the gateway's cache."
        )
