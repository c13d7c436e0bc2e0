"""pytest fixtures for the fake upstreams (registered via ``pytest_plugins``).

* ``upstream``: a started :class:`FakeUpstream` named ``"upstream"``.
* ``upstream_factory``: ``make(name=None, **kwargs) -> FakeUpstream`` starting more
  servers (e.g. two providers); all are stopped at teardown.
* ``refused_port``: an ``int`` port that refuses connections (reserved for the test).
* ``blackhole``: a :class:`Blackhole` (``.port``/``.url``) where connects time out.

Teardown fails the test if a server hit an internal error (a bug in the fake)
or left a thread running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .netfaults import Blackhole, RefusedPort
from .server import FakeUpstream

UpstreamFactory = Callable[..., FakeUpstream]


def _stop_and_check(servers: list[FakeUpstream]) -> None:
    problems: list[str] = []
    for server in servers:
        server.stop()
        alive = server.alive_threads()
        if alive:
            problems.append(f"{server!r} left threads running: {[t.name for t in alive]}")
        problems += [f"{server!r} internal error:\n{tb}" for tb in server.server_errors]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A started fake OpenAI + Anthropic upstream on 127.0.0.1 (api key ``"test-key"``)."""
    server = FakeUpstream("upstream").start()
    try:
        yield server
    finally:
        _stop_and_check([server])


@pytest.fixture
def upstream_factory() -> Iterator[UpstreamFactory]:
    """Start further fake upstreams: ``upstream_factory("openai-b", api_key="k2", models=[...])``."""
    servers: list[FakeUpstream] = []

    def make(name: str | None = None, **kwargs: Any) -> FakeUpstream:
        server = FakeUpstream(name or f"upstream-{len(servers) + 1}", **kwargs).start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        _stop_and_check(servers)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port where connections are refused (kept reserved during the test)."""
    with RefusedPort() as reserved:
        yield reserved.port


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    """A 127.0.0.1 port where TCP connects hang (→ connect timeouts)."""
    with Blackhole() as hole:
        yield hole
