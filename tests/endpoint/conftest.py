"""Fixtures for the mounted endpoint: a gateway with two keys, its ASGI app, an in-process client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.asgi.endpoint import GatewayEndpoint

from ..integrations.support import OTHER_KEY, TEAM_KEY, config

__all__ = ["OTHER_KEY", "TEAM_KEY"]


@pytest.fixture
def gateway() -> Gateway:
    return Gateway(config())


@pytest.fixture
def endpoint(gateway: Gateway) -> GatewayEndpoint:
    return gateway.asgi_app()


def asgi_client(app: Any, key: str | None = TEAM_KEY) -> httpx2.AsyncClient:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://gw", headers=headers)


@pytest.fixture
async def client(endpoint: GatewayEndpoint) -> AsyncIterator[httpx2.AsyncClient]:
    async with asgi_client(endpoint) as http:
        yield http


class ThreadedServer:
    """uvicorn serving an app from a thread, on a socket bound to an ephemeral port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # readiness, not a timing assertion
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture(scope="module")
def served_gateway() -> Iterator[tuple[Gateway, str]]:
    """One real uvicorn server per module (the per-key rate limit lives on this gateway)."""
    gateway = Gateway(
        config(
            keys=[
                {"name": "team", "hash": _hash(TEAM_KEY), "tenant": "acme"},
                {
                    "name": "other",
                    "hash": _hash(OTHER_KEY),
                    "tenant": "globex",
                    "models": ["gpt-4o"],
                    "rate_limits": ["1/minute"],
                },
            ]
        )
    )
    with ThreadedServer(gateway.asgi_app()) as server:
        yield gateway, server.url


def _hash(key: str) -> str:
    from llm_gateway_mw.asgi.keys import hash_key

    return hash_key(key)
