"""Fake OpenAI/Anthropic upstream servers and network-fault helpers for tests.

Quick start (fixtures come from ``tests.upstreams.fixtures``)::

    from tests.upstreams import Usage, rate_limited, success, tool_call

    def test_failover(upstream_factory):
        primary = upstream_factory("primary", api_key="sk-a")
        backup = upstream_factory("backup", api_key="sk-b")
        primary.enqueue(rate_limited(retry_after=1))
        backup.enqueue(success("from backup", usage=Usage(input_tokens=10, output_tokens=3)))
        ...  # point the gateway at primary.openai_base_url / backup.anthropic_base_url
        assert [r.status for r in primary.requests] == [429]
        assert backup.last_request.body["model"] == "claude-sonnet-4-6"

Every server listens on an ephemeral 127.0.0.1 port (safe under pytest-xdist).
"""

from __future__ import annotations

from .behaviours import (
    Behaviour,
    HttpError,
    MalformedJson,
    Reply,
    ResetMidBody,
    ToolCall,
    Usage,
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
    tool_call,
    with_latency,
)
from .netfaults import Blackhole, RefusedPort, refused_port
from .recording import RecordedRequest
from .server import FakeUpstream

__all__ = [
    "Behaviour",
    "Blackhole",
    "FakeUpstream",
    "HttpError",
    "MalformedJson",
    "RecordedRequest",
    "RefusedPort",
    "Reply",
    "ResetMidBody",
    "ToolCall",
    "Usage",
    "http_error",
    "malformed_json",
    "overloaded",
    "rate_limited",
    "refused_port",
    "reset_mid_body",
    "server_error",
    "slow_headers",
    "slow_stream",
    "stream_cut",
    "stream_error",
    "success",
    "tool_call",
    "with_latency",
]
