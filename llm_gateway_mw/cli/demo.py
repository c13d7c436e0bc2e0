"""``llm-gateway-mw demo``: the FastAPI example on the mock provider, a burst of traffic, and what happened.

Runs the support-desk example (``examples/fastapi_app``) in-process (httpx's ASGITransport,
no socket, no network, no API key): routing by complexity, a failover away from a
deployment that is down, rate-limit refusals, the cost against sending everything to the
strongest model, and the span tree of a request.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from . import CliError
from .defaults import CHEAP_MODEL, DEFAULT_ROUTE, STRONG_MODEL

if TYPE_CHECKING:
    from ..gateway import Gateway
    from .demo_app import ASGIApp, DemoRequest

__all__ = ["DemoResult", "Progress", "run", "run_demo"]

MAX_REQUESTS = 200  # the runtime keeps the last 200 call records
CONCURRENCY = 8


@dataclass
class Progress:
    """A progress bar on a terminal; on anything else, a line at each quarter."""

    total: int
    stream: IO[str]
    tty: bool
    width: int = 32
    done: int = 0
    _quarter: int = field(default=0, repr=False)

    def step(self, note: str) -> None:
        self.done += 1
        if self.tty:
            filled = self.width * self.done // self.total
            bar = "█" * filled + "░" * (self.width - filled)
            self.stream.write(f"\r  {bar} {self.done:>3}/{self.total}  {note[:28]:<28}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            quarter = 4 * self.done // self.total
            if quarter > self._quarter:
                self._quarter = quarter
                self.stream.write(f"  sent {self.done}/{self.total} requests ({quarter * 25}%)\n")
        self.stream.flush()


@dataclass
class DemoResult:
    """What the demo sent and what the gateway recorded."""

    gateway: Gateway
    requests: list[DemoRequest]
    spans: list[Any]
    seconds: float
    status_page: dict[str, Any] | None


async def _drive(app: ASGIApp, requests: list[DemoRequest], progress: Progress) -> dict[str, Any] | None:
    import httpx

    limit = asyncio.Semaphore(CONCURRENCY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.local", timeout=30) as http:

        async def send(request: DemoRequest) -> None:
            async with limit:
                response = await http.post(
                    f"/tickets/{request.ticket}/draft",
                    json={"tone": request.tone},
                    headers={"authorization": f"Bearer {request.token}", "x-request-id": request.request_id},
                )
            request.status = response.status_code
            if response.status_code == 200:
                request.deployment = response.json().get("model")
            progress.step(f"{request.user}: HTTP {response.status_code}")

        await asyncio.gather(*(send(r) for r in requests))
        page = await http.get("/llm-gateway/status.json")  # the example opens it to this machine
        return page.json() if page.status_code == 200 else None


def run_demo(total: int, seed: int, out: IO[str]) -> DemoResult:
    """Build the gateway and app, send the traffic, and collect records and spans."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from ..gateway import Gateway
    from .demo_app import build_app, demo_config, plan_traffic

    started = time.perf_counter()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    gateway = Gateway(demo_config(), tracer_provider=provider, seed=seed)
    app = build_app(gateway)
    requests = plan_traffic(total, seed)
    progress = Progress(total, out, tty=out.isatty())
    status_page = asyncio.run(_drive(app, requests, progress))
    flush = getattr(gateway.runtime.telemetry, "flush", None)
    if callable(flush):
        flush()
    provider.force_flush()
    spans = list(exporter.get_finished_spans())
    provider.shutdown()
    return DemoResult(gateway, requests, spans, time.perf_counter() - started, status_page)


def run(args: argparse.Namespace) -> int:
    total: int = args.requests
    if not 1 <= total <= MAX_REQUESTS:
        raise CliError(f"--requests must be between 1 and {MAX_REQUESTS}, not {total}")
    for package in ("openai", "fastapi"):  # the example app is a FastAPI app using the OpenAI SDK
        try:
            __import__(package)
        except ImportError:
            raise CliError(f"the demo needs {package}: pip install 'llm-gateway-mw[demo]'") from None
    from .demo_app import BURSTY_USER, FAILING_PROVIDER, RATE_LIMIT, USERS, company_of
    from .demo_report import report

    out = sys.stdout
    print("llm-gateway-mw demo: the FastAPI example (examples/fastapi_app), a support desk whose")
    print("handlers call gateway.wrap(openai.AsyncOpenAI()), served in-process on the built-in mock")
    print("provider (no network, no API key).")
    print()
    by_company: dict[str, list[str]] = {}
    for user in USERS:
        by_company.setdefault(company_of(user), []).append(user)
    agents = ", ".join(f"{', '.join(users)} ({company})" for company, users in by_company.items())
    print(f"  route '{DEFAULT_ROUTE}'   complexity routing: simple → {CHEAP_MODEL}, complex → {STRONG_MODEL}")
    print(f"  outage        {CHEAP_MODEL}@{FAILING_PROVIDER} answers every call with HTTP 503")
    print(f"  rate limit    {RATE_LIMIT} requests/minute per user")
    print(f"  traffic       {total} ticket reply drafts from agents {agents}")
    bot = f"{BURSTY_USER} ({company_of(BURSTY_USER)})"
    print(f"                and {bot}, which drafts a whole queue in one burst")
    print()
    out.flush()
    result = run_demo(total, args.seed, out)
    if not any(r.status == 200 for r in result.requests):
        codes = sorted({r.status for r in result.requests})
        raise CliError(f"the demo app answered no request (HTTP {', '.join(map(str, codes))})")
    print()
    print(report(result))
    return 0
