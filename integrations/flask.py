"""Flask: every LLM call a view makes runs in the web request's context.

::

    from llm_gateway_mw.integrations.flask import LLMGateway
    LLMGateway(app, gateway)            # or LLMGateway().init_app(app) with LLM_GATEWAY_CONFIG

Works under any WSGI server and under an ASGI server through asgiref's ``WsgiToAsgi``:
each request runs in its own copy of the context, so threads that serve request after
request never mix callers. The caller is read just before the view runs (after your
``before_request`` hooks): Flask-Login's ``current_user`` when Flask-Login is set up,
else ``flask.g.user``, plus a valid gateway key. Thin glue over ``llm_gateway_mw.asgi``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from typing import Any

try:
    from asgiref.sync import async_to_sync
    from flask import Flask, Request, Response, current_app, g, request
except ImportError as err:  # pragma: no cover - exercised without Flask installed
    raise ImportError(
        "llm_gateway_mw.integrations.flask needs Flask: pip install 'llm-gateway-mw[flask]'"
    ) from err

from llm_gateway_mw.asgi.core import MiddlewareCore, RequestSession
from llm_gateway_mw.asgi.identity import Identify, IdentifyResult, identity_from, user_id_of
from llm_gateway_mw.asgi.wsgi import SESSION_ENVIRON_KEY, WSGIGlue
from llm_gateway_mw.gateway import Gateway

__all__ = ["LLMGateway", "default_identify"]

EXTENSION_KEY = "llm_gateway"


def default_identify(req: Request) -> IdentifyResult:
    """Flask-Login's ``current_user`` (when the app has a login manager), else ``flask.g.user``."""
    user: str | None = None
    if getattr(current_app, "login_manager", None) is not None:
        from flask_login import current_user  # type: ignore[import-not-found, import-untyped, unused-ignore]

        user = user_id_of(current_user)
    if user is None:
        user = user_id_of(g.get("user"))
    return {"user": user} if user is not None else None


async def _awaited(value: Awaitable[IdentifyResult]) -> IdentifyResult:
    return await value


@dataclass(frozen=True, slots=True)
class _State:
    """One app's extension state (``app.extensions["llm_gateway"]``)."""

    gateway: Gateway
    core: MiddlewareCore
    identify: Identify


class LLMGateway:
    """The Flask extension; one instance may serve several apps (``init_app``)."""

    def __init__(
        self,
        app: Flask | None = None,
        gateway: Gateway | None = None,
        *,
        identify: Identify | None = None,
        usage_headers: bool | None = None,
        budget_status: int | None = None,
        map_errors: Collection[str] | None = None,
        map_upstream_errors: bool = False,
        trace: bool = True,
    ) -> None:
        self._gateway = gateway
        self._identify = identify
        self._options: dict[str, Any] = {
            "usage_headers": usage_headers,
            "budget_status": budget_status,
            "map_errors": map_errors,
            "map_upstream_errors": map_upstream_errors,
            "trace": trace,
        }
        if app is not None:
            self.init_app(app)

    @property
    def gateway(self) -> Gateway:
        """The gateway of the current app (or the one given to the constructor)."""
        if self._gateway is not None:
            return self._gateway
        state: _State = current_app.extensions[EXTENSION_KEY]
        return state.gateway

    def init_app(self, app: Flask, gateway: Gateway | None = None) -> None:
        """Install the glue on ``app``: a WSGI wrapper, the caller before each view, refusal mapping."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("LLMGateway is already set up on this app")
        gateway = gateway or self._gateway
        if gateway is None:
            path = app.config.get("LLM_GATEWAY_CONFIG")
            if not path:
                raise RuntimeError(
                    "LLMGateway needs a gateway: LLMGateway(app, gateway), or set "
                    "app.config['LLM_GATEWAY_CONFIG'] to the path of gateway.toml"
                )
            gateway = Gateway.from_file(path)
        core = MiddlewareCore(gateway, **self._options)
        state = _State(gateway, core, self._identify or default_identify)
        app.extensions[EXTENSION_KEY] = state
        app.wsgi_app = WSGIGlue(  # type: ignore[method-assign]
            app.wsgi_app,
            core,
            traced_elsewhere=lambda: bool(getattr(app, "_is_instrumented_by_opentelemetry", False)),
        )
        _hook_dispatch(app, state)
        _hook_exceptions(app, core)


def _identify_now(identify: Identify) -> IdentifyResult:
    result = identify(request)
    if isinstance(result, Awaitable):
        result = async_to_sync(_awaited)(result)
    return result


def _hook_dispatch(app: Flask, state: _State) -> None:
    """Bind the route and caller right before the view: after every ``before_request`` hook."""
    dispatch = app.dispatch_request

    def dispatch_request() -> Any:
        session = request.environ.get(SESSION_ENVIRON_KEY)
        if isinstance(session, RequestSession) and session.core is state.core:
            rule = request.url_rule
            session.set_route(rule.rule if rule is not None else None)
            session.identify(identity_from(_identify_now(state.identify)))
        return dispatch()

    app.dispatch_request = dispatch_request  # type: ignore[method-assign]


def _hook_exceptions(app: Flask, core: MiddlewareCore) -> None:
    """A refusal no error handler caught becomes its JSON response instead of a 500."""
    handle = app.handle_exception

    def handle_exception(e: Exception) -> Response:
        mapped = core.map_error(e)
        if mapped is None:
            return handle(e)
        response = app.response_class(mapped.body, status=mapped.status, headers=mapped.headers)
        return app.finalize_request(response, from_error_handler=True)

    app.handle_exception = handle_exception  # type: ignore[method-assign]
