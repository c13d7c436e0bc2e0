"""The web glue every adapter shares: identity → call context → tracing → error mapping → usage headers.

``MiddlewareCore`` holds one application's settings; ``RequestSession`` is one request's
state. The ASGI middleware, the mounted endpoint and the Django and Flask adapters only
translate their framework's request and response to and from these objects.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context

from ..context import CallContext, UsageTally, current_call_context, push_call_context, reset_call_context
from .errors import DEFAULT_MAPPED_CODES, ErrorMapper, ErrorResponse
from .identity import Identity
from .keys import KeyRing
from .tracing import ServerSpan, ServerTracing

if TYPE_CHECKING:
    from ..gateway import Gateway

__all__ = ["MiddlewareCore", "RequestInfo", "RequestSession", "active_session"]

logger = logging.getLogger("llm_gateway_mw.web")

_ACTIVE: ContextVar[RequestSession | None] = ContextVar("llm_gateway_web_request", default=None)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def active_session() -> RequestSession | None:
    """The session of the request being served, if an adapter opened one (nested adapters pass through)."""
    return _ACTIVE.get()


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What an adapter tells the core about one request (header names lowercase)."""

    method: str
    scheme: str
    path: str
    headers: Mapping[str, str]
    route: str | None = None


class MiddlewareCore:
    """One application's web settings, shared by all its requests (holds no per-request state)."""

    __slots__ = ("errors", "gateway", "keys", "tracing", "usage_headers")

    def __init__(
        self,
        gateway: Gateway,
        *,
        usage_headers: bool | None = None,
        budget_status: int | None = None,
        map_errors: Collection[str] | None = None,
        map_upstream_errors: bool = False,
        trace: bool = True,
    ) -> None:
        config = gateway.config
        self.gateway = gateway
        self.keys = KeyRing.from_config(config)
        status = config.middleware.budget_status if budget_status is None else budget_status
        if status not in (402, 429):
            raise ValueError(f"budget_status must be 429 or 402, not {status!r}")
        self.errors = ErrorMapper(
            codes=DEFAULT_MAPPED_CODES if map_errors is None else map_errors,
            budget_status=status,
            upstream=map_upstream_errors,
        )
        self.usage_headers = config.middleware.usage_headers if usage_headers is None else usage_headers
        enabled = trace and config.telemetry.enabled
        self.tracing = ServerTracing(gateway.tracer_provider) if enabled else None

    def open(self, info: RequestInfo) -> RequestSession:
        """A session for one request; call ``start()`` on it where the request begins."""
        return RequestSession(self, info)

    def key_identity(self, headers: Mapping[str, str]) -> Identity:
        """The caller a valid gateway key names (key and tenant), else nobody."""
        if not self.keys:
            return Identity()
        entry, _ = self.keys.match_any(headers)
        return Identity(key=entry.name, tenant=entry.tenant) if entry is not None else Identity()

    def map_error(self, exc: BaseException) -> ErrorResponse | None:
        """The JSON response for a gateway refusal that escaped the handler, or None to re-raise."""
        response = self.errors.response_for(exc)
        if response is not None:
            logger.info(
                "llm-gateway-mw: %s escaped the handler; answered HTTP %d",
                type(exc).__name__,
                response.status,
            )
        return response


class RequestSession:
    """One request: its id, caller, usage tally and server span, bound while the app runs."""

    __slots__ = ("_undo", "core", "identity", "info", "request_id", "server_span", "tally")

    def __init__(self, core: MiddlewareCore, info: RequestInfo) -> None:
        self.core = core
        self.info = info
        self.tally = UsageTally()
        self.identity = Identity()
        self.request_id = ""
        self.server_span: ServerSpan | None = None
        self._undo: list[Callable[[], None]] = []

    # -- binding ---------------------------------------------------------------------------
    def start(self, *, trace: bool = True) -> None:
        """Join the trace, read the gateway key and bind the call context (undone by ``unbind``)."""
        info = self.info
        outer_session = _ACTIVE.get()
        if outer_session is not None:  # e.g. the endpoint mounted under the middleware: one tally
            self.tally = outer_session.tally
        outer = current_call_context().request_id
        given = info.headers.get("x-request-id", "")
        self.request_id = outer or (
            given if _SANE_REQUEST_ID.fullmatch(given) else "req-" + os.urandom(8).hex()
        )
        if trace and self.core.tracing is not None:
            self.server_span = self.core.tracing.start(
                method=info.method, scheme=info.scheme, path=info.path, route=info.route, headers=info.headers
            )
        if self.server_span is not None:
            token = otel_context.attach(self.server_span.context)
            self._undo.append(lambda: otel_context.detach(token))
        self.identity = self.core.key_identity(info.headers)
        active = _ACTIVE.set(self)
        self._undo.append(lambda: _ACTIVE.reset(active))
        self._bind()

    def identify(self, identity: Identity) -> None:
        """Add what the application's ``identify`` said (it wins over the key's fields)."""
        self.identity = identity.over(self.identity)
        self._bind()

    def set_route(self, route: str | None) -> None:
        """The route template, once the framework has matched it."""
        if route and route != self.info.route:
            self.info = replace(self.info, route=route)
            if self.server_span is not None:
                self.server_span.rename(self.info.method, route)
            self._bind()

    def _push(self) -> Token[CallContext]:
        who = self.identity
        return push_call_context(
            user=who.user,
            tenant=who.tenant,
            key=who.key,
            request_id=self.request_id,
            http_route=self.info.route,
            tally=self.tally,
        )

    def _bind(self) -> None:
        token = self._push()
        self._undo.append(lambda: reset_call_context(token))

    def unbind(self) -> None:
        """Undo every binding, newest first, in the context that made them."""
        undo, self._undo = self._undo, []
        for step in reversed(undo):
            step()

    @contextmanager
    def activated(self) -> Iterator[None]:
        """Re-bind briefly (one step of a streamed body that runs after the handler returned)."""
        token = otel_context.attach(self.server_span.context) if self.server_span is not None else None
        active = _ACTIVE.set(self)
        bound = self._push()
        try:
            yield
        finally:
            reset_call_context(bound)
            _ACTIVE.reset(active)
            if token is not None:
                otel_context.detach(token)

    # -- ending ----------------------------------------------------------------------------
    def end(self, status: int | None, error: BaseException | None = None) -> None:
        if self.server_span is not None:
            self.server_span.end(status, error)

    def finish(self, status: int | None, error: BaseException | None = None) -> None:
        self.unbind()
        self.end(status, error)

    # -- responses -------------------------------------------------------------------------
    def usage_headers(self) -> list[tuple[str, str]]:
        """The request's LLM usage so far, as response headers (empty when switched off)."""
        if not self.core.usage_headers:
            return []
        tally = self.tally
        return [
            ("x-llm-gateway-calls", str(tally.calls)),
            ("x-llm-gateway-tokens", str(tally.tokens)),
            ("x-llm-gateway-cost-usd", f"{tally.cost_usd:.6f}"),
            ("x-llm-gateway-request-id", self.request_id),
        ]

    def stream(self, chunks: Iterator[bytes], status: int | None) -> Iterator[bytes]:
        """A streamed body, each step run inside this request's context; ends the span when done."""
        error: BaseException | None = None
        try:
            while True:
                with self.activated():
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        return
                yield chunk
        except BaseException as exc:
            error = exc
            raise
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                with self.activated():
                    close()
            self.end(status, error if isinstance(error, Exception) else None)

    async def astream(self, chunks: AsyncIterator[bytes], status: int | None) -> AsyncIterator[bytes]:
        """The async twin of :meth:`stream`."""
        error: BaseException | None = None
        try:
            while True:
                with self.activated():
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        return
                yield chunk
        except BaseException as exc:
            error = exc
            raise
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with self.activated():
                    await aclose()
            self.end(status, error if isinstance(error, Exception) else None)
