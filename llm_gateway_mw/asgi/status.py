"""``gateway.status_app()``: a live status page to mount in the app, e.g. at ``/llm-gateway/``.

Shows deployments (circuit state, latency, in flight), rate-limit usage, spend against
budgets and the recent calls, as metadata only (never prompts or replies). The page is
plain HTML and CSS shipped with the package; a small inline script re-reads
``status.json`` every two seconds. It is closed by default: pass ``public=True`` or an
``allow(scope) -> bool`` guard (sync or async) to open it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Union

from .status_data import status_snapshot

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .middleware import Receive, Scope, Send

__all__ = ["StatusApp", "StatusGuard", "status_app"]

StatusGuard = Callable[[Mapping[str, Any]], Union[bool, Awaitable[bool]]]  # noqa: UP007 - runtime alias

CLOSED_MESSAGE = (
    "403 Forbidden: the llm-gateway-mw status page is closed by default.\n"
    "Open it for anyone who can reach this path with gateway.status_app(public=True), or decide per "
    "request with gateway.status_app(allow=lambda scope: ...) (e.g. an admin session, or "
    "scope['client'][0] == '127.0.0.1').\n"
)
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_COMMON_HEADERS = [
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
]


@cache
def _asset(name: str) -> bytes:
    return (resources.files("llm_gateway_mw") / "data" / name).read_bytes()


@cache
def _page_policy() -> str:
    """A Content-Security-Policy that allows the page's own inline script (by hash) and nothing remote."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _SCRIPT.findall(_asset("status.html").decode())
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _sub_path(scope: Scope) -> str:
    """The path below the mount point (Starlette keeps ``path`` whole and extends ``root_path``)."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        path = path[len(root) :]
    return path


class StatusApp:
    """A pure ASGI app: ``/`` the page, ``/status.json`` the data, ``/status.css`` the style."""

    def __init__(self, runtime: Runtime, *, allow: StatusGuard | None = None, public: bool = False) -> None:
        if allow is not None and not callable(allow):
            raise TypeError("allow must be a callable taking the ASGI scope and returning a bool")
        self.runtime = runtime
        self.allow = allow
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1003})
            return
        if not await self._allowed(scope):
            await _send(send, 403, "text/plain; charset=utf-8", CLOSED_MESSAGE.encode())
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _send(send, 405, "text/plain; charset=utf-8", b"405: use GET\n", [("allow", "GET, HEAD")])
            return
        path = _sub_path(scope)
        head = method == "HEAD"
        if path == "":  # mounted at /llm-gateway and asked for /llm-gateway: relative URLs need the slash
            target = str(scope.get("root_path", "")) + "/"
            query = scope.get("query_string", b"")
            if query:
                target += "?" + query.decode("latin-1")
            await _send(send, 307, "text/plain; charset=utf-8", b"", [("location", target)])
        elif path in ("/", "/index.html"):
            policy = ("content-security-policy", _page_policy())
            await _send(send, 200, "text/html; charset=utf-8", _asset("status.html"), [policy], head=head)
        elif path == "/status.css":
            await _send(send, 200, "text/css; charset=utf-8", _asset("status.css"), head=head)
        elif path == "/status.json":
            data = await asyncio.to_thread(status_snapshot, self.runtime)  # policy reads may do I/O
            body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
            await _send(send, 200, "application/json", body, head=head)
        else:
            await _send(
                send, 404, "text/plain; charset=utf-8", b"404: the status page serves /, /status.json\n"
            )

    async def _allowed(self, scope: Scope) -> bool:
        if self.public:
            return True
        if self.allow is None:
            return False
        verdict = self.allow(scope)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        return verdict is True


async def _send(
    send: Send,
    status: int,
    content_type: str,
    body: bytes,
    extra: list[tuple[str, str]] | None = None,
    *,
    head: bool = False,
) -> None:
    headers = [("content-type", content_type), ("content-length", str(len(body))), *_COMMON_HEADERS]
    headers += extra or []
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body, "more_body": False})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def status_app(runtime: Runtime, *, allow: StatusGuard | None = None, public: bool = False) -> StatusApp:
    """The status page of ``runtime``'s gateway; closed unless ``public`` or ``allow(scope)`` says so."""
    return StatusApp(runtime, allow=allow, public=public)
