"""OpenTelemetry for the gateway: GenAI spans and metrics, and an optional SDK setup.

The gateway records to the tracer and meter providers the application installed; it
installs none itself unless ``configure_telemetry()`` is called. Attribute and metric
names live in ``names``. Attributes are loaded lazily so that importing this package
does not import the OpenTelemetry SDK or any exporter.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .recorder import Telemetry
    from .settings import TelemetrySettings
    from .setup import TelemetryHandle, configure_telemetry

__all__ = ["Telemetry", "TelemetryHandle", "TelemetrySettings", "configure_telemetry"]

_WHERE = {
    "Telemetry": ".recorder",
    "TelemetrySettings": ".settings",
    "TelemetryHandle": ".setup",
    "configure_telemetry": ".setup",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(where, __name__), name)
    globals()[name] = value
    return value
