"""Self-tests of fault injection: each fault seen through the real SDKs (and httpx2)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import anthropic
import httpx2
import openai
import pytest

from .behaviours import (
    http_error,
    malformed_json,
    overloaded,
    rate_limited,
    reset_mid_body,
    server_error,
    slow_headers,
    slow_stream,
    stream_cut,
    stream_error,
    success,
)
from .fixtures import UpstreamFactory
from .netfaults import Blackhole
from .sdk import (
    ANTHROPIC_MODEL,
    OPENAI_MODEL,
    USER_HI,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    openai_client,
)
from .server import FakeUpstream


def test_openai_429_exposes_retry_and_reset_headers(upstream: FakeUpstream) -> None:
    upstream.enqueue(rate_limited(retry_after=2, retry_after_ms=1500, reset_requests=1.5, reset_tokens=65))
    with openai_client(upstream) as client, pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
    headers = caught.value.response.headers
    assert headers["retry-after"] == "2" and headers["retry-after-ms"] == "1500"
    assert headers["x-ratelimit-reset-requests"] == "1.5s" and headers["x-ratelimit-reset-tokens"] == "1m5s"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert caught.value.code == "rate_limit_exceeded" and caught.value.type == "requests"
    assert caught.value.request_id and caught.value.request_id.startswith("req_")


async def test_anthropic_429_async_with_rfc3339_reset(upstream: FakeUpstream) -> None:
    upstream.enqueue(rate_limited(retry_after=3, reset_requests=30))
    async with async_anthropic_client(upstream) as client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)
    headers = caught.value.response.headers
    assert headers["retry-after"] == "3"
    reset = datetime.strptime(headers["anthropic-ratelimit-requests-reset"], "%Y-%m-%dT%H:%M:%SZ")
    delta = reset.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    assert 20 < delta.total_seconds() <= 31
    assert caught.value.type == "rate_limit_error" and caught.value.request_id


def test_anthropic_529_is_overloaded_error(upstream: FakeUpstream) -> None:
    upstream.enqueue(overloaded(), overloaded())
    with anthropic_client(upstream) as client:
        with pytest.raises(anthropic.OverloadedError) as caught:
            client.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)
        assert caught.value.status_code == 529 and caught.value.type == "overloaded_error"
        with (
            pytest.raises(anthropic.OverloadedError),
            client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI) as stream,
        ):
            stream.get_final_message()
    assert [r.status for r in upstream.requests] == [529, 529]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, anthropic.InternalServerError),
        (503, anthropic.ServiceUnavailableError),
        (400, anthropic.BadRequestError),
    ],
)
def test_anthropic_status_mapping(upstream: FakeUpstream, status: int, expected: type[Exception]) -> None:
    upstream.enqueue(http_error(status))
    with anthropic_client(upstream) as client, pytest.raises(expected):
        client.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)


def test_openai_5xx_and_sdk_retry_honours_retry_after_ms(upstream: FakeUpstream) -> None:
    upstream.enqueue(
        server_error(503), rate_limited(retry_after=None, retry_after_ms=10), success("third time")
    )
    with openai_client(upstream) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
        assert caught.value.status_code == 503 and caught.value.type == "server_error"
        reply = client.with_options(max_retries=1).chat.completions.create(
            model=OPENAI_MODEL, messages=USER_HI
        )
    assert reply.choices[0].message.content == "third time"
    assert [r.status for r in upstream.requests] == [503, 429, 200]
    assert upstream.requests[2].headers["x-stainless-retry-count"] == "1"


def test_reset_mid_body_is_a_connection_error(upstream: FakeUpstream) -> None:
    upstream.enqueue(reset_mid_body(), reset_mid_body())
    with openai_client(upstream) as oai, anthropic_client(upstream) as ant:
        with pytest.raises(openai.APIConnectionError) as caught:
            oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
        assert isinstance(caught.value.__cause__, httpx2.ReadError)
        with pytest.raises(anthropic.APIConnectionError):
            ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)
    assert [r.status for r in upstream.requests] == [200, 200]  # the status line did go out


async def test_reset_mid_stream_async(upstream: FakeUpstream) -> None:
    upstream.enqueue(reset_mid_body(0.6), reset_mid_body(0.6))
    async with async_openai_client(upstream) as oai, async_anthropic_client(upstream) as ant:
        stream = await oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, stream=True)
        with pytest.raises(openai.APIConnectionError):
            [chunk async for chunk in stream]
        # anthropic-python 2.x does not wrap transport errors raised while iterating a stream
        events = await ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI, stream=True)
        with pytest.raises(httpx2.ReadError):
            [event async for event in events]


def test_malformed_json_surfaces_as_decode_error(upstream: FakeUpstream) -> None:
    upstream.enqueue(malformed_json(), malformed_json())
    with openai_client(upstream) as oai, anthropic_client(upstream) as ant:
        with pytest.raises(json.JSONDecodeError):
            oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
        with pytest.raises(json.JSONDecodeError):
            ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)


def test_stream_cut_before_first_event(upstream: FakeUpstream) -> None:
    upstream.enqueue(stream_cut(0), stream_cut(0))
    with openai_client(upstream) as oai, anthropic_client(upstream) as ant:
        stream = oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, stream=True)
        with pytest.raises(openai.APIConnectionError):
            list(stream)
        with (
            pytest.raises(httpx2.RemoteProtocolError),
            ant.messages.stream(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI) as events,
        ):
            list(events)


def test_stream_cut_midway_delivers_a_prefix(upstream: FakeUpstream) -> None:
    upstream.enqueue(stream_cut(3, text="a b c d e"), stream_cut(5, rst=True, text="a b c d e"))
    received: list[str] = []
    with openai_client(upstream) as oai, anthropic_client(upstream) as ant:
        with pytest.raises(openai.APIConnectionError):
            for chunk in oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, stream=True):
                received.append(chunk.choices[0].delta.content or "")
        assert received == ["", "a", " b"]  # role chunk + two deltas, then the connection closed
        kinds: list[str] = []
        with pytest.raises(httpx2.ReadError):
            for event in ant.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI, stream=True
            ):
                kinds.append(event.type)
        # message_start, content_block_start, (ping: skipped by the SDK), 2 deltas → then RST
        assert kinds == ["message_start", "content_block_start", "content_block_delta", "content_block_delta"]


def test_in_band_stream_error_event(upstream: FakeUpstream) -> None:
    upstream.enqueue(stream_error(2), stream_error(3, error_type="overloaded_error"))
    with openai_client(upstream) as oai, anthropic_client(upstream) as ant:
        with pytest.raises(openai.APIError) as oai_err:
            list(oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, stream=True))
        assert oai_err.value.message == "Overloaded"
        with (
            pytest.raises(anthropic.APIStatusError) as ant_err,
            ant.messages.stream(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI) as stream,
        ):
            stream.get_final_message()
        assert ant_err.value.type == "overloaded_error"


def test_slow_stream_spaces_events(upstream: FakeUpstream) -> None:
    upstream.enqueue(slow_stream(0.1, text="one two three"))
    arrivals: list[float] = []
    with openai_client(upstream) as client:
        started = time.monotonic()
        for _ in client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, stream=True):
            arrivals.append(time.monotonic() - started)
    # 5 chunk events (role, 3 deltas, finish) + [DONE]: 5 gaps of 100 ms, the first chunk comes at once
    assert len(arrivals) == 5 and arrivals[-1] >= 0.4
    assert arrivals[-1] - arrivals[0] >= 0.25


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_slow_headers_trigger_read_timeout(upstream: FakeUpstream, sdk: str) -> None:
    upstream.enqueue(slow_headers(5.0))
    timeout = httpx2.Timeout(0.3, connect=1.0)
    started = time.monotonic()
    if sdk == "openai":
        with openai_client(upstream, timeout=timeout) as oai, pytest.raises(openai.APITimeoutError):
            oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
    else:
        with anthropic_client(upstream, timeout=timeout) as ant, pytest.raises(anthropic.APITimeoutError):
            ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)
    assert 0.25 < time.monotonic() - started < 4
    # The server thread records the request as it reads it, which on a loaded machine can be after
    # the client gave up: wait for the record rather than race it.
    (recorded,) = upstream.wait_for_requests(1)
    assert recorded.status is None  # nothing was sent before the client gave up


def test_latency_delays_the_response(upstream: FakeUpstream) -> None:
    upstream.enqueue(success("late", latency=0.2))
    with openai_client(upstream) as client:
        started = time.monotonic()
        client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
    assert time.monotonic() - started >= 0.2


def test_refused_port_fails_fast(refused_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{refused_port}/v1/models", timeout=2)
    with (
        openai_client(f"http://127.0.0.1:{refused_port}") as client,
        pytest.raises(openai.APIConnectionError) as err,
    ):
        client.models.list()
    assert not isinstance(err.value, openai.APITimeoutError)
    assert time.monotonic() - started < 2


def test_blackhole_produces_connect_timeouts(blackhole: Blackhole) -> None:
    started = time.monotonic()
    with (
        httpx2.Client(timeout=httpx2.Timeout(1.0, connect=0.3)) as client,
        pytest.raises(httpx2.ConnectTimeout),
    ):
        client.get(f"{blackhole.url}/v1/models")
    assert 0.25 < time.monotonic() - started < 2.5  # the exception type is the proof; this catches hangs
    timeout = httpx2.Timeout(1.0, connect=0.2)
    with (
        openai_client(blackhole.url, timeout=timeout) as oai,
        pytest.raises(openai.APITimeoutError) as caught,
    ):
        oai.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)
    assert isinstance(caught.value.__cause__, httpx2.ConnectTimeout)
    with anthropic_client(blackhole.url, timeout=timeout) as ant, pytest.raises(anthropic.APITimeoutError):
        ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=8, messages=USER_HI)


async def test_blackhole_async_connect_timeout(blackhole: Blackhole) -> None:
    async with async_openai_client(blackhole.url, timeout=httpx2.Timeout(1.0, connect=0.2)) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI)


def test_stop_interrupts_slow_behaviours(upstream_factory: UpstreamFactory) -> None:
    server = upstream_factory("slow")
    server.enqueue(slow_stream(10.0))
    with openai_client(server, timeout=httpx2.Timeout(30.0)) as client:
        stream = client.chat.completions.create(model=OPENAI_MODEL, messages=USER_HI, stream=True)
        next(iter(stream))
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
        assert server.alive_threads() == []
        with pytest.raises(openai.APIConnectionError):
            list(stream)
