"""``gateway.asgi_app()``: the OpenAI and Anthropic HTTP APIs, served by this gateway.

::

    app.mount("/llm", gateway.asgi_app())     # or: uvicorn app:endpoint

Routes: ``POST /v1/chat/completions``, ``/v1/embeddings``, ``/v1/responses`` and
``GET /v1/models`` (OpenAI dialect), ``POST /v1/messages`` (Anthropic dialect). Each call
goes through the same pipeline as a wrapped client, as the caller named by its gateway
key; streams are relayed as Server-Sent Events and settled even if the client leaves.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from ..binding import Binding
from ..dialects import Dialect
from ..drivers import call_async
from ..errors import ERROR_HEADER, GatewayRefusal
from ..inbound import Inbound, parse_body
from ..pipeline import Outcome
from ..translate import refusal_body
from .checks import ClientGone, authenticate, check_fields, check_model, read_body, refusal
from .core import MiddlewareCore, RequestSession
from .identity import Identity
from .keys import KeyRing
from .middleware import Receive, Scope, Send, request_info
from .sse import send_relay

if TYPE_CHECKING:
    from ..config.schema import KeyConfig
    from ..gateway import Gateway

__all__ = ["GatewayEndpoint"]

_OPERATIONS: dict[str, tuple[Dialect, str]] = {
    "/v1/chat/completions": ("openai", "chat"),
    "/v1/embeddings": ("openai", "embeddings"),
    "/v1/responses": ("openai", "responses"),
    "/v1/messages": ("anthropic", "chat"),
}
_SERVED = "POST /v1/chat/completions, /v1/embeddings, /v1/responses, /v1/messages; GET /v1/models"
# Request headers handed to the pipeline: API options only, never cookies or credentials.
_FORWARD_PREFIXES = ("openai-beta", "anthropic-", "x-stainless-", "x-llm-gateway-", "idempotency-key")
_DROP_REPLY_HEADERS = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "set-cookie"}
    | {"server", "date", "alt-svc"}
)


def _route_path(scope: Scope) -> str:
    """The path below the mount point (Starlette keeps ``path`` whole and extends ``root_path``)."""
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        path = path[len(root) :]
    return path or "/"


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def _send_json(send: Send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    headers = [*headers, ("content-length", str(len(body)))]
    await send({"type": "http.response.start", "status": status, "headers": _encode(headers)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class GatewayEndpoint:
    """A pure ASGI app serving the gateway over HTTP (see the module docstring)."""

    def __init__(self, gateway: Gateway, *, allow_anonymous: bool = False) -> None:
        import httpx2  # the current SDKs' HTTP library; reaches real providers

        self.gateway = gateway
        self.allow_anonymous = allow_anonymous
        self.keys = KeyRing.from_config(gateway.config)
        self.core = MiddlewareCore(gateway, usage_headers=False, map_errors=())
        self.max_body_bytes = gateway.config.endpoint.max_body_bytes
        self.created = int(time.time())
        self._bindings = {
            d: Binding(dialect=d, module=httpx2, passthrough=None, base_url="", strict=True)
            for d in ("openai", "anthropic")
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            if scope["type"] == "websocket":  # not served here: refuse the handshake
                await receive()
                await send({"type": "websocket.close", "code": 1003})
            return
        path, method = _route_path(scope), scope.get("method", "GET")
        dialect: Dialect = "anthropic" if path.startswith("/v1/messages") else "openai"
        session = self.core.open(request_info(scope, self._route(scope, path)))
        session.start()
        status: int | None = None
        error: Exception | None = None
        try:
            status = await self._serve(scope, receive, send, session, path, method, dialect)
        except GatewayRefusal as found:
            status = found.status
            headers = [
                ("content-type", "application/json"),
                (ERROR_HEADER, found.code),
                *found.headers.items(),
            ]
            headers.append(("x-llm-gateway-request-id", session.request_id))
            await _send_json(send, found.status, headers, refusal_body(found, dialect))
        except ClientGone:
            status = 499
        except Exception as exc:
            error = exc
            raise
        finally:
            session.finish(status, error)

    @staticmethod
    def _route(scope: Scope, path: str) -> str | None:
        """The route template for spans: known paths only (unknown ones would explode cardinality)."""
        if path in _OPERATIONS or path == "/v1/models":
            template = path
        elif path.startswith("/v1/models/"):
            template = "/v1/models/{model}"
        else:
            return None
        return str(scope.get("root_path", "")) + template

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        session: RequestSession,
        path: str,
        method: str,
        dialect: Dialect,
    ) -> int:
        if path == "/v1/models" or path.startswith("/v1/models/"):
            self._allow(method, "GET")
            key = self._authenticate(session)
            return await self._models(send, session, key, path[len("/v1/models/") :])
        target = _OPERATIONS.get(path)
        if target is None:
            raise refusal(404, "not_found", "not_found_error", f"no route {method} {path}; served: {_SERVED}")
        self._allow(method, "POST")
        key = self._authenticate(session)
        raw = await read_body(receive, session.info.headers, self.max_body_bytes)
        inbound = self._inbound(session, target, path, raw)
        check_fields(dialect, inbound.operation, inbound.body)
        check_model(self.gateway.config, key, inbound.model)
        outcome = await call_async(self.gateway.runtime, self._bindings[dialect], inbound)
        return await self._respond(send, receive, outcome, dialect)

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise refusal(
                405,
                "method_not_allowed",
                "invalid_request_error",
                f"{method} is not allowed here; use {allowed}",
                headers={"allow": allowed},
            )

    def _authenticate(self, session: RequestSession) -> KeyConfig | None:
        key = authenticate(self.keys, session.info.headers, self.allow_anonymous)
        if key is not None:
            session.identify(Identity(key=key.name, tenant=key.tenant))
        return key

    def _inbound(
        self, session: RequestSession, target: tuple[Dialect, str], path: str, raw: bytes
    ) -> Inbound:
        body, model, stream = parse_body(raw)
        headers = session.info.headers
        timeout: float | None = None
        with contextlib.suppress(ValueError):  # the SDKs announce their read timeout
            timeout = float(headers.get("x-stainless-timeout", "")) or None
        return Inbound(
            dialect=target[0],
            operation=target[1],
            method="POST",
            url=path,
            headers=[(k, v) for k, v in headers.items() if k.startswith(_FORWARD_PREFIXES)],
            raw_body=raw,
            parsed=body,
            model=model,
            stream=stream,
            timeout=timeout,
        )

    async def _respond(self, send: Send, receive: Receive, outcome: Outcome, dialect: Dialect) -> int:
        if outcome.raise_kind:
            status = 504 if outcome.raise_kind == "timeout" else 502
            found = refusal(status, f"upstream_{outcome.raise_kind}", "api_error", outcome.message)
            body = refusal_body(found, dialect)
            await _send_json(
                send, status, [("content-type", "application/json"), (ERROR_HEADER, found.code)], body
            )
            return status
        headers = [(k.lower(), v) for k, v in outcome.header_pairs() if k.lower() not in _DROP_REPLY_HEADERS]
        if outcome.relay is not None:
            headers += [("cache-control", "no-cache"), ("x-accel-buffering", "no")]
            await send_relay(send, receive, outcome.status, _encode(headers), outcome.relay)
        else:
            await _send_json(send, outcome.status, headers, outcome.body)
        return outcome.status

    # -- model listing ---------------------------------------------------------------------
    async def _models(self, send: Send, session: RequestSession, key: KeyConfig | None, wanted: str) -> int:
        config = self.gateway.config
        names = [n for n in config.model_names() if key is None or not key.models or n in key.models]
        anthropic = "anthropic-version" in session.info.headers
        owners = {m.name: m.provider for m in reversed(config.models)}
        if anthropic:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created))
            items: list[dict[str, Any]] = [
                {"type": "model", "id": n, "display_name": n, "created_at": stamp} for n in names
            ]
        else:
            items = [
                {
                    "id": n,
                    "object": "model",
                    "created": self.created,
                    "owned_by": owners.get(n, "llm-gateway-mw"),
                }
                for n in names
            ]
        if wanted:
            found = [item for item in items if item["id"] == wanted]
            if not found:
                raise refusal(404, "model_not_found", "not_found_error", f"model '{wanted}' is not available")
            payload: dict[str, Any] = found[0]
        elif anthropic:
            payload = {
                "data": items,
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            }
        else:
            payload = {"object": "list", "data": items}
        body = json.dumps(payload).encode()
        await _send_json(send, 200, [("content-type", "application/json")], body)
        return 200

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        """Served alone (``uvicorn module:endpoint``): nothing to start or stop."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
