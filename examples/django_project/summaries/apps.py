import os

from django.apps import AppConfig


class SummariesConfig(AppConfig):
    name = "summaries"

    def ready(self) -> None:
        # Tracing: spans to the console by default, OTEL_TRACES_EXPORTER=otlp for a collector.
        exporter = os.environ.get("OTEL_TRACES_EXPORTER", "console")
        if exporter != "none":
            from llm_gateway_mw import configure_telemetry

            configure_telemetry(service_name="meeting-notes", exporter=exporter, metrics=False)  # type: ignore[arg-type]
