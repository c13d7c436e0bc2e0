"""``llm-gateway-mw serve``: the mountable endpoint as a standalone server, with the status page.

Binds the socket itself (so ``--port 0`` can print the port the OS picked) and hands it
to uvicorn. Without ``--config`` it serves built-in mock models that need no key.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import CliError

if TYPE_CHECKING:
    from ..asgi.middleware import Receive, Scope, Send
    from ..config.schema import GatewayConfig

__all__ = ["StatusMount", "is_loopback", "listen", "run"]

STATUS_PREFIX = "/llm-gateway"


def is_loopback(scope: Mapping[str, Any]) -> bool:
    """Whether the request comes from this machine (the status page's default guard here)."""
    client = scope.get("client")
    host = str(client[0]) if client else ""
    return host == "::1" or host.startswith("127.") or host == "localhost"


class StatusMount:
    """Routes ``/llm-gateway/...`` to the status page and everything else to the endpoint."""

    def __init__(self, endpoint: Any, status: Any, prefix: str = STATUS_PREFIX) -> None:
        self.endpoint, self.status, self.prefix = endpoint, status, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            root = str(scope.get("root_path", ""))
            await self.status({**scope, "root_path": root + self.prefix}, receive, send)
            return
        await self.endpoint(scope, receive, send)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port), or a one-line CliError."""
    if not 0 <= port <= 65535:
        raise CliError(f"--port must be between 0 and 65535, not {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as err:
        raise CliError(f"cannot resolve --host {host!r}: {err}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise CliError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _config(path: str | None) -> tuple[GatewayConfig, bool]:
    from ..config.loader import load_config
    from .defaults import default_config

    if path is None:
        return load_config(default_config(latency_ms=150)), True
    from .check import load_checked

    config, notes = load_checked(path)
    for note in notes:
        print(f"warning: {note}")
    return config, False


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be between 0 and 65535, not {args.port}")
    try:
        import uvicorn
    except ImportError:
        raise CliError("serve needs uvicorn: pip install 'llm-gateway-mw[server]'") from None
    config, built_in = _config(args.config)
    from ..gateway import Gateway

    gateway = Gateway(config)
    if not hasattr(gateway, "asgi_app"):
        raise CliError("this build has no gateway.asgi_app() endpoint to serve yet")
    anonymous = built_in or args.allow_anonymous
    endpoint = gateway.asgi_app(allow_anonymous=anonymous)
    app: Any = endpoint
    if args.status != "off":
        guard = None if args.status == "public" else is_loopback
        app = StatusMount(endpoint, gateway.status_app(allow=guard, public=args.status == "public"))
    sock = listen(args.host, args.port)
    port = sock.getsockname()[1]
    base = _url(args.host, port)
    try:
        _banner(gateway, base, args.status, built_in, anonymous)
        server = uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="on", server_header=False))
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised Ctrl-C: a normal stop
        pass
    finally:
        sock.close()
    return 0


def _banner(gateway: Any, base: str, status: str, built_in: bool, anonymous: bool) -> None:
    config = gateway.config
    print(f"Serving the gateway on {base}", flush=True)
    key = '"any-key"' if anonymous else "<gateway key>"
    print(f'  OpenAI SDKs      OpenAI(base_url="{base}/v1", api_key={key})')
    print(f'  Anthropic SDKs   Anthropic(base_url="{base}", api_key={key})')
    print(f"  models           {', '.join(config.model_names()) or '(none declared)'}")
    if status != "off":
        who = "anyone who can reach it" if status == "public" else "loopback clients only"
        print(f"  status page      {base}{STATUS_PREFIX}/ ({who})")
    if built_in:
        from .defaults import ADD_PROVIDERS_HINT

        print()
        print(
            "No --config: these are built-in mock models (canned answers, no provider called, no key needed)."
        )
        print(ADD_PROVIDERS_HINT)
    elif not config.keys and not anonymous:
        print()
        print("warning: the config has no [[keys]]: every call will be refused with 401. Add one with")
        print("  `llm-gateway-mw keys new`, or pass --allow-anonymous (trusted networks only).")
    elif anonymous and not built_in:
        print("  auth             none (--allow-anonymous): anyone reaching this port can spend your budget")
    print()
    print("Press Ctrl-C to stop.", flush=True)
