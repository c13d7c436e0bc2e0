"""``demo``: the README's main command, end to end, offline, well within its time budget."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llm_gateway_mw import Gateway
from llm_gateway_mw.cli import demo_app, main
from llm_gateway_mw.cli.demo import Progress
from llm_gateway_mw.cli.demo_app import plan_traffic
from tests.cli.conftest import REPO, cli_env, one_line_error, run_cli


def test_demo_runs_offline_and_tells_the_story() -> None:
    env = cli_env()
    env.update(
        HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", ALL_PROXY="http://127.0.0.1:9"
    )
    env.pop("NO_PROXY", None)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "llm_gateway_mw.cli", "demo"],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO, check=False,
    )  # fmt: skip
    took = time.perf_counter() - started
    out = result.stdout
    assert result.returncode == 0, result.stderr + out
    assert took < 60  # the budget is 20 s; loose here so a loaded CI machine does not flake
    assert "sent 60/60 requests (100%)" in out  # not a terminal: quarter lines instead of a bar
    assert "Sent 60 requests to the FastAPI app" in out
    # routing decisions with reasons
    simple = re.search(r"^\s+(\d+) simple  → gpt-4o-mini$", out, re.M)
    complex_ = re.search(r"^\s+(\d+) complex → gpt-4o$", out, re.M)
    assert simple and complex_ and int(simple.group(1)) > 0 and int(complex_.group(1)) > 0
    assert re.search(r"simple: .+\(score 0\.\d\d < 0\.25\)", out)
    assert re.search(r"complex: .+\(score 0\.\d\d ≥ 0\.25\)", out)
    # the failover away from the deployment that is down, and its circuit breaker
    assert re.search(r"gpt-4o-mini@us-east → HTTP 503, then gpt-4o-mini@eu-west → HTTP 200", out)
    assert "circuit breaker opened (open)" in out
    # rate-limit refusals (the limits policy is in this build)
    assert re.search(r"batch-bot: \d+ of 20 requests refused with HTTP 429", out)
    # cost against always-the-strongest
    saved = re.search(r"saved\s+\$[\d.]+\s+\((\d+)%\)", out)
    assert saved and 10 < int(saved.group(1)) < 95
    # the span tree of one request: server span → gateway span → two attempts
    assert re.search(r"^  POST /tickets/\{ticket_id\}/draft \[SERVER\] \d+ ms", out, re.M)
    assert re.search(r"^  └─ gateway auto \[INTERNAL\]", out, re.M)
    assert re.search(r"├─ chat gpt-4o-mini \[CLIENT\] \d+ ms   provider us-east · error.type=503", out)
    assert re.search(r"└─ chat gpt-4o-mini \[CLIENT\] \d+ ms   provider eu-west · tokens \d+ in", out)
    assert "gateway.status_app() at /llm-gateway/: 60 calls" in out


def test_demo_in_process_with_fewer_requests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--requests", "9", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "Sent 9 requests" in out and "Span tree of request demo-" in out


def test_demo_rejects_bad_counts() -> None:
    assert "--requests must be between 1 and 200, not 201" in one_line_error(
        run_cli("demo", "--requests", "201")
    )


def test_traffic_plan_is_seeded_and_mixed() -> None:
    from llm_gateway_mw.examples.fastapi_app.support_api import AGENTS, TICKETS

    first, again = plan_traffic(60, 7), plan_traffic(60, 7)
    assert [(r.user, r.ticket, r.tone) for r in first] == [(r.user, r.ticket, r.tone) for r in again]
    assert sum(r.user == "batch-bot" for r in first) == 20
    assert [r.request_id for r in first[:2]] == ["demo-0001", "demo-0002"]
    # the example's own agents, each drafting replies to its own company's tickets
    for request in first:
        agent = AGENTS[request.token]
        assert agent.username == request.user
        assert TICKETS[agent.company][request.ticket] == request.prompt
    assert {AGENTS[r.token].company for r in first} == set(TICKETS)  # every tenant sends traffic


def test_the_demo_serves_the_fastapi_example() -> None:
    """One copy of the app: the demo hands its gateway to the example's create_app."""
    from llm_gateway_mw.examples.fastapi_app import support_api

    assert demo_app.create_app is support_api.create_app
    assert Path(support_api.__file__).resolve() == REPO / "examples" / "fastapi_app" / "support_api.py"
    gateway = Gateway(demo_app.demo_config())
    app: Any = demo_app.build_app(gateway)
    assert app.state.gateway is gateway
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/tickets/{ticket_id}/draft", "/tickets/{ticket_id}/summary", "/llm", "/llm-gateway"} <= paths
    assert not hasattr(demo_app, "FastAPI")  # no app of its own


def test_progress_bar_on_a_terminal_and_off() -> None:
    tty = io.StringIO()
    bar = Progress(4, tty, tty=True, width=8)
    for i in range(4):
        bar.step(f"user{i}")
    text = tty.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n")
    assert "████████   4/4  user3" in text and "██░░░░░░   1/4" in text
    plain = io.StringIO()
    quiet = Progress(8, plain, tty=False)
    for _ in range(8):
        quiet.step("x")
    assert "\r" not in plain.getvalue()
    assert plain.getvalue().splitlines() == [f"  sent {n}/8 requests ({n * 100 // 8}%)" for n in (2, 4, 6, 8)]
