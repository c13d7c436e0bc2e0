"""Joins a web request's trace: a SERVER span from the incoming ``traceparent`` when none is current.

When OpenTelemetry's own ASGI/Django/WSGI instrumentation is active, its server span is
already current and nothing is created here: the gateway's spans become its children.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = ["ServerSpan", "ServerTracing"]

_TRACER_NAME = "llm_gateway_mw.web"


@dataclass(slots=True)
class ServerSpan:
    """The span this request started, and the OpenTelemetry context holding it."""

    span: trace.Span
    context: otel_context.Context
    ended: bool = False

    def rename(self, method: str, route: str | None) -> None:
        if route:
            self.span.update_name(f"{method} {route}")
            self.span.set_attribute("http.route", route)

    def end(self, status: int | None, error: BaseException | None) -> None:
        """End the span once, with the response status or the escaped exception."""
        if self.ended:
            return
        self.ended = True
        span = self.span
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if error is not None:
            span.record_exception(error)
            span.set_attribute("error.type", type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        elif status is not None and status >= 500:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
        span.end()


class ServerTracing:
    """Starts SERVER spans for requests that arrive untraced (lazy tracer: providers may come later)."""

    __slots__ = ("_provider", "_tracer")

    def __init__(self, tracer_provider: Any = None) -> None:
        self._provider = tracer_provider
        self._tracer: trace.Tracer | None = None

    def start(
        self,
        *,
        method: str,
        scheme: str,
        path: str,
        route: str | None,
        headers: Mapping[str, str],
    ) -> ServerSpan | None:
        """A new SERVER span made current, or None when a span is already current."""
        if trace.get_current_span().get_span_context().is_valid:
            return None
        if self._tracer is None:
            self._tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=self._provider)
        parent = propagate.extract(headers)
        attributes: dict[str, str] = {"http.request.method": method, "url.path": path, "url.scheme": scheme}
        if route:
            attributes["http.route"] = route
        agent = headers.get("user-agent")
        if agent:
            attributes["user_agent.original"] = agent
        span = self._tracer.start_span(
            f"{method} {route}" if route else method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        return ServerSpan(span, trace.set_span_in_context(span, parent))
