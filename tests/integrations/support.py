"""Shared by the web-integration and endpoint tests: configs, span capture, real server processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_gateway_mw import Gateway
from llm_gateway_mw.asgi.keys import hash_key

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
MESSAGES = [{"role": "user", "content": "Say hello to the gateway please"}]
TEAM_KEY = "gw_test_team_key"
OTHER_KEY = "gw_test_other_key"


def config(**overrides: Any) -> dict[str, Any]:
    """Mock models (one priced, one that always fails) and two gateway keys."""
    base: dict[str, Any] = {
        "providers": {
            "mock": {"type": "mock"},
            "broken": {"type": "mock", "failure_rate": 1.0, "failure_status": 503},
        },
        "models": [
            {
                "name": "gpt-4o",
                "provider": "mock",
                "model": "mock-large",
                "price": {"input": 1.0, "output": 2.0},
            },
            {"name": "claude-sonnet", "provider": "mock", "model": "mock-large"},
            {"name": "text-embedding-3-small", "provider": "mock"},
            {"name": "down", "provider": "broken", "model": "mock-down"},
        ],
        "retry": {"attempts": 1, "timeout": 5.0},
        "circuit_breaker": {"failures": 1, "cooldown": 300.0},
        "keys": [
            {"name": "team", "hash": hash_key(TEAM_KEY), "tenant": "acme"},
            {"name": "other", "hash": hash_key(OTHER_KEY), "tenant": "globex", "models": ["gpt-4o"]},
        ],
    }
    base.update(overrides)
    return base


RATE_LIMITED = {"rate_limits": {"rules": [{"per": "user", "limit": "1/minute"}]}}
TINY_BUDGET = {"budgets": {"rules": [{"per": "tenant", "usd": 0.000001}]}}


@dataclass
class Traced:
    """A gateway recording spans in memory."""

    gateway: Gateway
    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        self.gateway.runtime.telemetry.flush()
        return list(self.exporter.get_finished_spans())


def traced_gateway(**overrides: Any) -> Traced:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Traced(Gateway(config(**overrides), tracer_provider=provider), provider, exporter)


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


# -- real server processes ------------------------------------------------------------------------
@dataclass
class ServerProcess:
    """A server started on an inherited, already listening socket (ephemeral port, no race)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        """Stop gracefully (SIGTERM), kill if it hangs; returns everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output()


def server_env(example: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "OTEL_"))}
    env.update(PYTHONUNBUFFERED="1", OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none")
    if example is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(example), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def serve(
    argv: Sequence[str], fd_args: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path
) -> ServerProcess:
    """Start ``python -m <argv> <fd_args with {fd}>`` serving a socket this process bound to port 0."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    fd = sock.fileno()
    command = [sys.executable, "-m", *argv, *(a.format(fd=fd) for a in fd_args)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, pass_fds=(fd,), stdout=out, stderr=subprocess.STDOUT
        )
    sock.close()  # the server holds its own copy; connections wait in the backlog until it accepts
    return ServerProcess(process, f"http://127.0.0.1:{port}", log)
