"""Django: every LLM call a view makes runs in the web request's context.

::

    # settings.py
    MIDDLEWARE = [
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "llm_gateway_mw.integrations.django.LLMGatewayMiddleware",
    ]
    LLM_GATEWAY = {"config": BASE_DIR / "gateway.toml"}

    # views.py
    from llm_gateway_mw.integrations.django import get_gateway
    client = get_gateway().wrap(openai.OpenAI())

``LLM_GATEWAY`` keys: ``config`` (a TOML path) or ``gateway`` (a ``Gateway`` or the dotted
path of one), and optionally ``identify`` (a callable or dotted path taking the request),
``usage_headers``, ``budget_status``, ``map_errors``, ``map_upstream_errors``, ``trace``.
The middleware is sync and async capable: WSGI (runserver, gunicorn) and ASGI (uvicorn,
daphne) alike. Thin glue: the work happens in ``llm_gateway_mw.asgi.core``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

try:
    from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
    from django.conf import settings  # type: ignore[import-untyped]
    from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
    from django.core.signals import setting_changed  # type: ignore[import-untyped]
    from django.http import FileResponse, HttpRequest, HttpResponse  # type: ignore[import-untyped]
    from django.urls import Resolver404, resolve  # type: ignore[import-untyped]
    from django.utils.functional import LazyObject, empty  # type: ignore[import-untyped]
    from django.utils.module_loading import import_string  # type: ignore[import-untyped]
except ImportError as err:  # pragma: no cover - exercised without Django installed
    raise ImportError(
        "llm_gateway_mw.integrations.django needs Django: pip install 'llm-gateway-mw[django]'"
    ) from err

from llm_gateway_mw.asgi.core import MiddlewareCore, RequestInfo, RequestSession, active_session
from llm_gateway_mw.asgi.identity import Identify, IdentifyResult, identity_from, user_id_of
from llm_gateway_mw.gateway import Gateway

__all__ = ["LLMGatewayMiddleware", "default_identify", "get_gateway"]

_OPTIONS: tuple[str, ...] = ("config", "gateway", "identify", "usage_headers", "budget_status")
_OPTIONS += ("map_errors", "map_upstream_errors", "trace")


@dataclass(frozen=True, slots=True)
class _Configured:
    gateway: Gateway
    core: MiddlewareCore
    identify: Identify | None


_lock = threading.Lock()
_configured: _Configured | None = None


def _build() -> _Configured:
    options: Any = getattr(settings, "LLM_GATEWAY", None)
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(
            'llm-gateway-mw: add LLM_GATEWAY = {"config": BASE_DIR / "gateway.toml"} to your settings'
        )
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ImproperlyConfigured(f"LLM_GATEWAY has unknown keys {unknown}; known: {', '.join(_OPTIONS)}")
    gateway = options.get("gateway")
    if isinstance(gateway, str):
        gateway = import_string(gateway)
    if gateway is None:
        if "config" not in options:
            raise ImproperlyConfigured('LLM_GATEWAY needs "config" (a TOML path) or "gateway" (a Gateway)')
        gateway = Gateway.from_file(options["config"])
    if not isinstance(gateway, Gateway):
        raise ImproperlyConfigured(f'LLM_GATEWAY["gateway"] must be a Gateway, not {type(gateway).__name__}')
    identify = options.get("identify")
    if isinstance(identify, str):
        identify = import_string(identify)
    core = MiddlewareCore(
        gateway,
        usage_headers=options.get("usage_headers"),
        budget_status=options.get("budget_status"),
        map_errors=options.get("map_errors"),
        map_upstream_errors=bool(options.get("map_upstream_errors", False)),
        trace=bool(options.get("trace", True)),
    )
    return _Configured(gateway, core, identify)


def _settings() -> _Configured:
    global _configured
    state = _configured
    if state is None:
        with _lock:
            if _configured is None:
                _configured = _build()
            state = _configured
    return state


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _configured
    if setting == "LLM_GATEWAY":
        with _lock:
            _configured = None


setting_changed.connect(_reset, dispatch_uid="llm_gateway_mw.integrations.django")


def get_gateway() -> Gateway:
    """The process's ``Gateway``, built once from ``settings.LLM_GATEWAY``: wrap clients with it."""
    return _settings().gateway


def default_identify(request: HttpRequest) -> IdentifyResult:
    """``request.user`` when authenticated (AuthenticationMiddleware must come before ours)."""
    user = user_id_of(getattr(request, "user", None))
    return {"user": user} if user is not None else None


async def _adefault_identify(request: HttpRequest) -> IdentifyResult:
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject) and user._wrapped is empty:  # would hit the session store
        auser: Callable[[], Awaitable[Any]] | None = getattr(request, "auser", None)  # Django 5.0+
        if auser is None:
            result: IdentifyResult = await sync_to_async(default_identify)(request)
            return result
        user = await auser()
    found = user_id_of(user)
    return {"user": found} if found is not None else None


def _route(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    route = getattr(match, "route", None)
    return str(route) if route else None


def _info(request: HttpRequest) -> RequestInfo:
    return RequestInfo(
        method=request.method or "GET",
        scheme=request.scheme or "http",
        path=request.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        route=_route(request),
    )


def _decorate(session: RequestSession, response: HttpResponse) -> bool:
    """Add usage headers; keep a streamed body in the request's context. True if the span ends later."""
    for name, value in session.usage_headers():
        if not response.has_header(name):  # a header the view set wins
            response[name] = value
    if not getattr(response, "streaming", False) or isinstance(response, FileResponse):
        return False
    content = response.streaming_content
    status = response.status_code
    if getattr(response, "is_async", False):
        response.streaming_content = session.astream(content, status)
    else:
        response.streaming_content = session.stream(iter(content), status)
    return True


class LLMGatewayMiddleware:
    """Django middleware (sync and async): caller, request id, route and trace for LLM calls."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        state = _settings()
        self.core = state.core
        self.identify = state.identify

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if active_session() is not None:
            return self.get_response(request)
        session = self.core.open(_info(request))
        session.start()
        deferred, status, error = False, None, None
        try:
            identify = self.identify or default_identify
            result = identify(request)
            if isinstance(result, Awaitable):
                result = async_to_sync(_awaited)(result)
            session.identify(identity_from(result))
            response = self.get_response(request)
            status = response.status_code
            deferred = _decorate(session, response)
            return response
        except Exception as exc:
            error = exc
            raise
        finally:
            session.unbind()
            if not deferred:
                session.end(status, error)

    async def __acall__(self, request: HttpRequest) -> Any:
        if active_session() is not None:
            return await self.get_response(request)
        session = self.core.open(_info(request))
        session.start()
        deferred, status, error = False, None, None
        try:
            if self.identify is None:
                identity = identity_from(await _adefault_identify(request))
            else:
                result = self.identify(request)
                identity = identity_from(await result if isinstance(result, Awaitable) else result)
            session.identify(identity)
            response = await self.get_response(request)
            status = response.status_code
            deferred = _decorate(session, response)
            return response
        except Exception as exc:
            error = exc
            raise
        finally:
            session.unbind()
            if not deferred:
                session.end(status, error)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A gateway refusal no view caught becomes its JSON response (429 / 402 / 503)."""
        mapped = self.core.map_error(exception)
        if mapped is None:
            return None
        response = HttpResponse(mapped.body, status=mapped.status, content_type="application/json")
        for name, value in mapped.headers:
            if name != "content-type":
                response[name] = value
        return response


async def _awaited(value: Awaitable[IdentifyResult]) -> IdentifyResult:
    return await value
