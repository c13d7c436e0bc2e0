"""Telemetry settings, and how message-content capture is resolved from them and the env."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from .names import CAPTURE_CONTENT_ENV

__all__ = ["CaptureContent", "TelemetrySettings", "resolve_capture"]

CaptureContent = Literal["off", "span", "event", "span_and_event"]

_ENV_VALUES: dict[str, CaptureContent] = {
    "no_content": "off",
    "span_only": "span",
    "event_only": "event",
    "span_and_event": "span_and_event",
    # legacy boolean values of the contrib instrumentations
    "true": "span_and_event",
    "false": "off",
    "": "off",
}


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """How the gateway reports calls to OpenTelemetry.

    ``capture_content=None`` reads ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
    (``NO_CONTENT``, ``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``; legacy ``true``).
    ``redact`` is applied to every captured message text, tool argument and tool result,
    and to error messages put in span statuses.
    User, tenant and key ids are hashed (truncated sha256) unless ``record_user_ids``;
    gateway keys are always hashed. ``propagate_traceparent`` lets the pipeline send a
    W3C ``traceparent`` header upstream (see ``Telemetry.inject_traceparent``).
    """

    enabled: bool = True
    capture_content: CaptureContent | None = None
    redact: Callable[[str], str] | None = None
    record_user_ids: bool = False
    propagate_traceparent: bool = False


def resolve_capture(
    settings: TelemetrySettings, environ: Mapping[str, str] = os.environ
) -> tuple[bool, bool]:
    """Return ``(on_span, as_event)`` for content capture; unknown env values mean off."""
    mode = settings.capture_content
    if mode is None:
        mode = _ENV_VALUES.get(environ.get(CAPTURE_CONTENT_ENV, "").strip().lower(), "off")
    return mode in ("span", "span_and_event"), mode in ("event", "span_and_event")
