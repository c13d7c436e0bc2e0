"""The same request glue for WSGI apps (the Flask adapter wraps ``app.wsgi_app`` in it).

Each request runs in a fresh copy of the caller's context, so whatever the request binds
(call context, current span, the framework's own context variables) stays with it: a
thread that serves request after request never carries a caller over. The response body
is iterated inside that same context, so a streamed body's LLM calls keep their caller;
the bindings are undone there when the body is closed or exhausted.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .core import MiddlewareCore, RequestInfo, RequestSession, active_session

__all__ = ["SESSION_ENVIRON_KEY", "WSGIGlue", "wsgi_request_info"]

SESSION_ENVIRON_KEY = "llm_gateway_mw.session"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def wsgi_request_info(environ: dict[str, Any]) -> RequestInfo:
    """The core's view of a WSGI environ (headers from ``HTTP_*`` keys, lowercase, dashed)."""
    headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    return RequestInfo(
        method=str(environ.get("REQUEST_METHOD", "GET")),
        scheme=str(environ.get("wsgi.url_scheme", "http")),
        path=str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")),
        headers=headers,
    )


class _Body:
    """The app's response iterable, iterated and closed inside the request's context."""

    __slots__ = ("_closed", "_context", "_result", "_session", "_status")

    def __init__(
        self,
        result: Iterable[bytes],
        context: contextvars.Context,
        session: RequestSession,
        status: list[int],
    ) -> None:
        self._result = result
        self._context = context
        self._session = session
        self._status = status
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        run = self._context.run
        try:
            chunks = run(iter, self._result)
            while True:
                try:
                    chunk = run(next, chunks)
                except StopIteration:
                    return
                yield chunk
        finally:
            self.close()  # asgiref's WsgiToAsgi never calls close(): do it on exhaustion too

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                self._context.run(close)
        finally:
            self._context.run(self._session.unbind)  # the tokens were made in this context
            self._session.end(self._status[0] if self._status else None)


class WSGIGlue:
    """WSGI middleware: opens a request session in a fresh context around the app."""

    def __init__(
        self,
        app: WSGIApp,
        core: MiddlewareCore,
        *,
        traced_elsewhere: Callable[[], bool] = lambda: False,
    ) -> None:
        self.app = app
        self.core = core
        self.traced_elsewhere = traced_elsewhere  # e.g. FlaskInstrumentor starts its span later

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        context = contextvars.copy_context()
        return context.run(self._call, context, environ, start_response)

    def _call(
        self, context: contextvars.Context, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if active_session() is not None:
            return self.app(environ, start_response)
        session = self.core.open(wsgi_request_info(environ))
        session.start(trace=not self.traced_elsewhere())
        environ[SESSION_ENVIRON_KEY] = session
        status: list[int] = []

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[:] = [int(status_line.split(" ", 1)[0])]
            present = {name.lower() for name, _ in headers}
            extra = [(k, v) for k, v in session.usage_headers() if k not in present]
            return start_response(status_line, [*headers, *extra], exc_info)

        try:
            result = self.app(environ, start)
        except Exception as exc:
            session.finish(None, exc)
            raise
        return _Body(result, context, session, status)
