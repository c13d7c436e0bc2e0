"""``LLMGatewayMiddleware``: a pure ASGI middleware putting every LLM call of a request in context.

::

    app.add_middleware(LLMGatewayMiddleware, gateway=gateway)

For each HTTP request it binds the caller (who, which tenant, which gateway key), the
request id and the route for wrapped clients, joins the request's trace, answers gateway
refusals that escape a handler with JSON (429 / 402 / 503 with ``Retry-After``), and can
add usage headers. Bodies pass through untouched: streaming responses are never buffered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import TYPE_CHECKING, Any

from .core import MiddlewareCore, RequestInfo, RequestSession, active_session
from .errors import ErrorResponse
from .identity import Identify, resolve_identity, scope_user

if TYPE_CHECKING:
    from ..gateway import Gateway

__all__ = ["LLMGatewayMiddleware", "Message", "Receive", "Scope", "Send", "request_info", "starlette_route"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def starlette_route(scope: Scope, routes: Any = None, depth: int = 0) -> str | None:
    """The route template a Starlette/FastAPI app will match (``/tickets/{ticket_id}``), or None."""
    if routes is None:
        routes = getattr(scope.get("app"), "routes", None)
    for route in routes or ():
        try:
            match, child = route.matches(scope)
        except Exception:  # a route type we do not know how to ask
            continue
        if getattr(match, "name", "") != "FULL":
            continue
        path = getattr(route, "path", None)
        inner_routes = getattr(route, "routes", None)
        if inner_routes and depth < 4 and isinstance(path, str):
            inner = starlette_route({**scope, **child}, inner_routes, depth + 1)
            return path + inner if inner else path
        return path if isinstance(path, str) else None
    return None


def request_info(scope: Scope, route: str | None = None) -> RequestInfo:
    """The core's view of an ASGI HTTP scope."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
    return RequestInfo(
        method=scope.get("method", "GET"),
        scheme=scope.get("scheme", "http"),
        path=scope.get("path", "/"),
        headers=headers,
        route=route,
    )


async def send_error(send: Send, response: ErrorResponse, extra: list[tuple[str, str]] = []) -> None:  # noqa: B006
    """Send a whole JSON error response."""
    headers = [*response.headers, *extra, ("content-length", str(len(response.body)))]
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


class _Responder:
    """Per-request ``send`` wrapper: notes the status and appends usage headers at response start."""

    __slots__ = ("_send", "session", "started", "status")

    def __init__(self, session: RequestSession, send: Send) -> None:
        self._send = send
        self.session = session
        self.started = False
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = int(message["status"])
            extra = self.session.usage_headers()
            if extra:
                headers = list(message.get("headers", ()))
                present = {bytes(k).lower() for k, _ in headers}
                for name, value in extra:  # a header the app (or the endpoint) set wins
                    if name.encode("latin-1") not in present:
                        headers.append((name.encode("latin-1"), value.encode("latin-1")))
                message = dict(message)
                message["headers"] = headers
        await self._send(message)


class LLMGatewayMiddleware:
    """Pure ASGI middleware: the web request's context for every wrapped LLM call.

    ``identify(scope)`` (sync or async) returns any of ``user``/``tenant``/``key``; the
    default reads ``scope["user"]`` (Starlette's AuthenticationMiddleware, which must be
    added after this middleware so it runs first) and a valid gateway key. Options
    default to the config's ``[middleware]`` table.
    """

    def __init__(
        self,
        app: ASGIApp,
        gateway: Gateway,
        *,
        identify: Identify | None = None,
        usage_headers: bool | None = None,
        budget_status: int | None = None,
        map_errors: Collection[str] | None = None,
        map_upstream_errors: bool = False,
        trace: bool = True,
    ) -> None:
        self.app = app
        self.identify: Identify = identify or scope_user
        self.core = MiddlewareCore(
            gateway,
            usage_headers=usage_headers,
            budget_status=budget_status,
            map_errors=map_errors,
            map_upstream_errors=map_upstream_errors,
            trace=trace,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or active_session() is not None:
            await self.app(scope, receive, send)  # lifespan, websockets, or an outer adapter already did it
            return
        session = self.core.open(request_info(scope, starlette_route(scope)))
        session.start()
        status: int | None = None
        error: BaseException | None = None
        try:
            session.identify(await resolve_identity(self.identify, scope))
            responder = _Responder(session, send)
            try:
                await self.app(scope, receive, responder.send)
            except Exception as exc:
                mapped = None if responder.started else self.core.map_error(exc)
                if mapped is None:
                    raise
                await send_error(responder.send, mapped)
            status = responder.status
        except Exception as exc:
            error = exc
            raise
        finally:
            session.finish(status, error)
