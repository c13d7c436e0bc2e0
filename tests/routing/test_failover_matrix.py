"""Issue 3's fault matrix: the exact outcome of each upstream failure, for sync and async clients.

Deployment ``primary`` (first upstream) falls back to ``backup`` (second upstream). Each
case scripts faults on the primary and asserts which upstreams were called, how often,
and what the application sees. Sync and async clients share one decision core, so every
case runs on both and must produce the same outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from llm_gateway_mw import Gateway
from tests.gateway_configs import KEY_ENV
from tests.upstreams import behaviours as b
from tests.upstreams.server import FakeUpstream

MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test-key")


def config(primary_url: str, backup_url: str, **retry: Any) -> dict[str, Any]:
    return {
        "providers": {
            "a": {"type": "openai-compatible", "base_url": primary_url, "api_key_env": KEY_ENV},
            "b": {"type": "openai-compatible", "base_url": backup_url, "api_key_env": KEY_ENV},
        },
        "models": [{"name": "primary", "provider": "a"}, {"name": "backup", "provider": "b"}],
        "fallbacks": {"primary": ["backup"]},
        "retry": {"attempts": 2, "backoff_initial": 0.01, "backoff_max": 0.05, "timeout": 5, **retry},
        "circuit_breaker": {"failures": 50, "cooldown": 30},
    }


@dataclass
class Case:
    faults: list[b.Behaviour]
    primary_calls: int
    backup_calls: int
    outcome: str  # "ok" | exception class name
    stream: bool = False
    text: str | None = None


CASES: dict[str, Case] = {
    "429 with Retry-After is retried after the wait": Case([b.rate_limited(retry_after=0.05)], 2, 0, "ok"),
    "429 asking to wait beyond backoff_max fails over at once": Case(
        [b.rate_limited(retry_after=30)], 1, 1, "ok"
    ),
    "429 without Retry-After: backoff, then fallback": Case(
        [b.rate_limited(retry_after=None, reset_requests=None)] * 2, 2, 1, "ok"
    ),
    "retry-after-ms is honoured": Case([b.rate_limited(retry_after=None, retry_after_ms=20)], 2, 0, "ok"),
    "a rate-limit reset header alone is honoured": Case(
        [b.rate_limited(retry_after=None, reset_requests=0.02)], 2, 0, "ok"
    ),
    "a reset header asking for too long fails over at once": Case(
        [b.rate_limited(retry_after=None, reset_requests=120)], 1, 1, "ok"
    ),
    "500 retried then fallback": Case([b.server_error(500)] * 2, 2, 1, "ok"),
    "502 retried then fallback": Case([b.server_error(502)] * 2, 2, 1, "ok"),
    "503 retried once then succeeds": Case([b.server_error(503)], 2, 0, "ok"),
    "529 overloaded retried then fallback": Case([b.overloaded()] * 2, 2, 1, "ok"),
    "connection reset mid-body": Case([b.reset_mid_body()] * 2, 2, 1, "ok"),
    "malformed JSON": Case([b.malformed_json()] * 2, 2, 1, "ok"),
    "400 is neither retried nor failed over": Case([b.http_error(400)], 1, 0, "BadRequestError"),
    "401 is neither retried nor failed over": Case([b.http_error(401)], 1, 0, "AuthenticationError"),
    "403 is neither retried nor failed over": Case([b.http_error(403)], 1, 0, "PermissionDeniedError"),
    "404 is neither retried nor failed over": Case([b.http_error(404)], 1, 0, "NotFoundError"),
    "422 is neither retried nor failed over": Case([b.http_error(422)], 1, 0, "UnprocessableEntityError"),
    "stream cut before the first event fails over transparently": Case(
        [b.stream_cut(0)] * 2, 2, 1, "ok", stream=True, text="Hello from backup"
    ),
    "stream error event before content fails over": Case(
        [b.stream_error(0)] * 2, 2, 1, "ok", stream=True, text="Hello from backup"
    ),
    "stream cut midway ends with a typed error, no replay": Case(
        [b.stream_cut(3, text="one two three four five six")], 1, 0, "APIError", stream=True
    ),
}


def run(client_kind: str, gateway: Gateway, stream: bool) -> tuple[str, str]:
    """Make one call; returns (outcome, streamed text)."""

    async def call_async() -> tuple[str, str]:
        client = gateway.wrap(openai.AsyncOpenAI(api_key="app", base_url="http://127.0.0.1:9/v1"))
        try:
            if stream:
                chunks = await client.chat.completions.create(model="primary", messages=MESSAGES, stream=True)
                parts: list[str] = []
                try:
                    async for c in chunks:
                        parts.extend(ch.delta.content or "" for ch in c.choices)
                except openai.APIError as err:
                    return type(err).__name__, "".join(parts)
                return "ok", "".join(parts)
            await client.chat.completions.create(model="primary", messages=MESSAGES)
            return "ok", ""
        except openai.APIError as err:
            return type(err).__name__, ""

    def call_sync() -> tuple[str, str]:
        client = gateway.wrap(openai.OpenAI(api_key="app", base_url="http://127.0.0.1:9/v1"))
        try:
            if stream:
                parts: list[str] = []
                try:
                    for c in client.chat.completions.create(model="primary", messages=MESSAGES, stream=True):
                        parts.extend(ch.delta.content or "" for ch in c.choices)
                except openai.APIError as err:
                    return type(err).__name__, "".join(parts)
                return "ok", "".join(parts)
            client.chat.completions.create(model="primary", messages=MESSAGES)
            return "ok", ""
        except openai.APIError as err:
            return type(err).__name__, ""

    return asyncio.run(call_async()) if client_kind == "async" else call_sync()


@pytest.mark.parametrize("client_kind", ["sync", "async"])
@pytest.mark.parametrize("name", list(CASES))
def test_fault_matrix(name: str, client_kind: str, upstream_factory: Callable[..., FakeUpstream]) -> None:
    case = CASES[name]
    primary, backup = upstream_factory("primary"), upstream_factory("backup")
    primary.enqueue(*case.faults)
    gateway = Gateway(config(primary.openai_base_url, backup.openai_base_url))
    outcome, text = run(client_kind, gateway, case.stream)
    assert outcome == case.outcome
    assert len(primary.requests) == case.primary_calls
    assert len(backup.requests) == case.backup_calls
    if case.text is not None:
        assert text == case.text
    if name.startswith("stream cut midway"):
        assert text and "one two three four five six".startswith(text)  # a prefix, never duplicated


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_connection_refused_fails_over(
    client_kind: str, refused_port: int, upstream_factory: Callable[..., FakeUpstream]
) -> None:
    backup = upstream_factory("backup")
    gateway = Gateway(config(f"http://127.0.0.1:{refused_port}/v1", backup.openai_base_url))
    assert run(client_kind, gateway, False) == ("ok", "")
    assert len(backup.requests) == 1
    call = gateway.runtime.recent[-1]
    assert [a.deployment for a in call.attempts] == ["primary", "primary", "backup"]
    assert call.attempts[0].error_type == "connection"


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_connect_and_read_timeouts_fail_over(
    client_kind: str, blackhole: Any, upstream_factory: Callable[..., FakeUpstream]
) -> None:
    backup = upstream_factory("backup")
    slow = upstream_factory("slow")
    slow.enqueue(b.slow_headers(3.0), b.slow_headers(3.0))
    for url in (f"http://127.0.0.1:{blackhole.port}/v1", slow.openai_base_url):
        gateway = Gateway(config(url, backup.openai_base_url, attempts=1))

        async def call_async(gateway: Gateway = gateway) -> str:
            client = gateway.wrap(
                openai.AsyncOpenAI(api_key="app", base_url="http://127.0.0.1:9/v1", timeout=0.4)
            )
            await client.chat.completions.create(model="primary", messages=MESSAGES)
            return "ok"

        if client_kind == "async":
            assert asyncio.run(call_async()) == "ok"
        else:
            client = gateway.wrap(openai.OpenAI(api_key="app", base_url="http://127.0.0.1:9/v1", timeout=0.4))
            client.chat.completions.create(model="primary", messages=MESSAGES)
        assert gateway.runtime.recent[-1].attempts[0].error_type == "timeout"
    assert len(backup.requests) == 2


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_slow_stream_beyond_deadline_ends_with_typed_error(
    client_kind: str, upstream_factory: Callable[..., FakeUpstream]
) -> None:
    primary, backup = upstream_factory("primary"), upstream_factory("backup")
    primary.enqueue(b.slow_stream(0.15, text="a b c d e f g h i j k l"))
    gateway = Gateway(config(primary.openai_base_url, backup.openai_base_url, timeout=0.6))
    outcome, text = run(client_kind, gateway, True)
    assert outcome == "APIError"
    assert text and "a b c d e f g h i j k l".startswith(text)
    assert len(backup.requests) == 0
    assert gateway.runtime.recent[-1].attempts[-1].finish_reasons == ["error"]


def test_every_attempt_failing_with_transport_errors_raises_connection_error(refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/v1"
    gateway = Gateway(config(url, url, attempts=1))
    client = gateway.wrap(openai.OpenAI(api_key="app", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="primary", messages=MESSAGES)


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_first_try_hands_its_failure_to_the_attempt_loop(
    client_kind: str, upstream_factory: Callable[..., FakeUpstream]
) -> None:
    """The common call's first request is sent before the attempt loop; a failed first reply is the
    loop's first try: recorded once, counted against health once, then retried and failed over."""
    primary, backup = upstream_factory("primary"), upstream_factory("backup")
    primary.enqueue(b.server_error(503), b.server_error(503))
    gateway = Gateway(config(primary.openai_base_url, backup.openai_base_url))
    assert run(client_kind, gateway, False) == ("ok", "")
    call = gateway.runtime.recent[-1]
    assert [(a.number, a.deployment, a.status) for a in call.attempts] == [
        (1, "primary", 503),
        (2, "primary", 503),
        (3, "backup", 200),
    ]
    assert all(a.ended is not None for a in call.attempts)
    health = {d.id: gateway.runtime.health(d) for ds in gateway.runtime.deployments.values() for d in ds}
    assert [(h.failures, h.successes, h.in_flight) for h in health.values()] == [(2, 0, 0), (0, 1, 0)]
    # The next call's first try succeeds at once: one attempt, nothing in flight afterwards.
    assert run(client_kind, gateway, False) == ("ok", "")
    assert [a.status for a in gateway.runtime.recent[-1].attempts] == [200]
    assert all(h.in_flight == 0 for h in health.values())


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_a_circuit_opened_while_the_first_try_is_in_flight_still_records_it(
    client_kind: str, upstream_factory: Callable[..., FakeUpstream]
) -> None:
    """Other calls' failures open the circuit while this call's first request is out: its failed
    reply is still the deployment's first attempt (recorded, ended, counted), then it fails over."""
    primary, backup = upstream_factory("primary"), upstream_factory("backup")
    primary.enqueue(b.server_error(503))
    gateway = Gateway(config(primary.openai_base_url, backup.openai_base_url, attempts=1))
    runtime = gateway.runtime
    first = runtime.deployments["primary"][0]
    health = runtime.health(first)
    real_upstream_for = runtime.upstream_for

    class OpensTheCircuitFirst:
        """The primary's upstream; as the request goes out, concurrent failures open the circuit."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def _open(self) -> None:
            for _ in range(50):  # circuit_breaker.failures
                health.record_failure(time.monotonic(), "a concurrent call failed")
            assert health.opened_at is not None

        def send_sync(self, request: Any) -> Any:
            self._open()
            return self.inner.send_sync(request)

        async def send_async(self, request: Any) -> Any:
            self._open()
            return await self.inner.send_async(request)

    def upstream_for(deployment: Any, binding: Any) -> Any:
        upstream = real_upstream_for(deployment, binding)
        return OpensTheCircuitFirst(upstream) if deployment is first else upstream

    runtime.upstream_for = upstream_for  # type: ignore[method-assign]
    assert run(client_kind, gateway, False) == ("ok", "")
    call = runtime.recent[-1]
    assert [(a.number, a.deployment, a.status, a.error_type) for a in call.attempts] == [
        (1, "primary", 503, "503"),
        (2, "backup", 200, None),
    ]
    assert all(a.ended is not None for a in call.attempts)
    assert (health.failures, health.in_flight) == (51, 0)  # 50 from the other calls, 1 from this one
    assert len(primary.requests) == 1 and len(backup.requests) == 1


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_an_open_circuit_leaves_the_first_try_to_the_attempt_loop(
    client_kind: str, upstream_factory: Callable[..., FakeUpstream]
) -> None:
    primary, backup = upstream_factory("primary"), upstream_factory("backup")
    gateway = Gateway(config(primary.openai_base_url, backup.openai_base_url))
    first = gateway.runtime.deployments["primary"][0]
    gateway.runtime.health(first).record_failure(0.0, "opened by the test")
    gateway.runtime.health(first).opened_at = float("inf")  # open, and not due for a probe
    assert run(client_kind, gateway, False) == ("ok", "")
    assert len(primary.requests) == 0 and len(backup.requests) == 1
    assert [a.deployment for a in gateway.runtime.recent[-1].attempts] == ["backup"]


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_a_policy_that_checks_deployments_is_asked_before_the_first_try(
    client_kind: str, upstream_factory: Callable[..., FakeUpstream]
) -> None:
    """A policy overriding only ``deployment_admit`` is still consulted: the first try waits for it."""
    from collections.abc import Generator

    from llm_gateway_mw.policy.admission import Policy

    class PrimaryIsFull(Policy):
        def deployment_admit(self, call: Any, inbound: Any, deployment: Any) -> Generator[Any, Any, bool]:
            return deployment.name != "primary"
            yield

    primary, backup = upstream_factory("primary"), upstream_factory("backup")
    gateway = Gateway(config(primary.openai_base_url, backup.openai_base_url))
    gateway.runtime.policy, gateway.runtime.policy_active = PrimaryIsFull(), True
    assert run(client_kind, gateway, False) == ("ok", "")
    assert len(primary.requests) == 0 and len(backup.requests) == 1
