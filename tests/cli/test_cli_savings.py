"""``savings``: replaying a request log through the routing decision offline, with a PNG chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_gateway_mw.cli import main
from llm_gateway_mw.cli.savings import replay
from llm_gateway_mw.config import load_config
from llm_gateway_mw.routing.complexity import classify
from tests.cli.conftest import TRAFFIC, one_line_error, run_cli, run_main
from tests.cli.pngread import read_png

SIMPLE = {"model": "auto", "messages": [{"role": "user", "content": "Translate 'thank you' into Italian."}]}
COMPLEX = {
    "model": "auto",
    "messages": [
        {
            "role": "user",
            "content": "Design a sharded Postgres architecture for our payments API, compare the tradeoffs "
            "of each replication strategy step by step, and explain the failure modes during a partition.",
        }
    ],
}
CONFIG = """
[providers.p]
type = "mock"
[[models]]
name = "small"
provider = "p"
price = { input = 1.0, output = 2.0 }
[[models]]
name = "big"
provider = "p"
price = { input = 10.0, output = 20.0 }
[routes.smart]
targets = ["small", "big"]
[routes.pool]
targets = ["small", "big"]
strategy = "ordered"
"""


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def test_sample_log_report_and_chart(tmp_path: Path) -> None:
    lines = TRAFFIC.read_text().splitlines()
    assert 95 <= len(lines) <= 110
    chart = tmp_path / "savings.png"
    result = run_cli("savings", str(TRAFFIC), "--chart", str(chart))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Replayed 98 requests" in out and "route 'auto' (gpt-4o-mini → gpt-4o)" in out
    # the two malformed lines, by line number, skipped but not fatal
    bad = [i for i, line in enumerate(lines, start=1) if not _parses(line)]
    assert len(bad) == 2
    for number in bad:
        assert f"  line {number}: not valid JSON" in out
    assert "TIER" in out and "gpt-4o-mini" in out and "COST ALL gpt-4o" in out
    assert "saved (" in out and f"Chart written to {chart}" in out
    image = read_png(chart.read_bytes())
    assert (image.width, image.height) == (960, 540)
    assert image.count((37, 99, 235)) > 1000 and image.count((156, 163, 175)) > 1000


def test_replay_matches_the_live_routing_decision() -> None:
    config = load_config(
        {
            "providers": {"p": {"type": "mock"}},
            "models": [{"name": "gpt-4o-mini", "provider": "p"}, {"name": "gpt-4o", "provider": "p"}],
            "routes": {"auto": {"targets": ["gpt-4o-mini", "gpt-4o"]}},
        }
    )
    bodies = [SIMPLE, COMPLEX, SIMPLE, {**SIMPLE, "max_tokens": 50}]
    report = replay([json.dumps(b) for b in bodies], config, "auto", output_tokens=300)
    cheap, strong = report.tiers
    assert classify(SIMPLE).tier == 0 and classify(COMPLEX).tier == 1
    assert (cheap.requests, strong.requests) == (3, 1)
    assert cheap.output_tokens == 300 + 300 + 50  # replies capped by the request's max_tokens
    assert strong.cost_routed == pytest.approx(strong.cost_strongest)
    assert cheap.cost_strongest > cheap.cost_routed > 0
    # gpt-4o costs 2.5/10 per 1M against 0.15/0.6
    assert report.cost_strongest == pytest.approx(
        (cheap.input_tokens + strong.input_tokens) * 2.5e-6 + 950 * 10e-6
    )
    assert report.saved > 0 and 0 < report.saved_share < 1


def test_malformed_lines_are_reported_never_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        "\n".join(
            [
                json.dumps(SIMPLE),
                "{not json",
                "",
                "[1, 2]",
                json.dumps({"model": "auto"}),
                json.dumps({"body": COMPLEX, "ts": 1}),  # wrapped bodies are unwrapped
                "\x00\xff garbage",
            ]
        )
    )
    assert main(["savings", str(log)]) == 0
    out = capsys.readouterr().out
    assert "Replayed 2 requests" in out and "Skipped 4 malformed line(s):" in out
    assert "  line 2: not valid JSON" in out
    assert "  line 4: not a JSON object (found list)" in out
    assert "  line 5: no 'messages' list" in out
    assert "  line 7: not valid JSON" in out


def test_config_route_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG)
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(SIMPLE) + "\n" + json.dumps(COMPLEX) + "\n")
    assert main(["savings", str(log), "--config", str(config)]) == 0  # the only complexity route
    out = capsys.readouterr().out
    assert "route 'smart' (small → big)" in out and "small $1/$2, big $10/$20" in out
    cases = {
        ("--route", "nope"): "no route named 'nope' in the config (routes: smart, pool)",
        ("--route", "pool"): "route 'pool' uses strategy 'ordered', not complexity",
        ("--chart", str(tmp_path / "chart.svg")): "give a path ending in .png",
        ("--chart", str(tmp_path / "missing" / "c.png")): "cannot write the chart",
        ("--output-tokens", "0"): "--output-tokens must be at least 1",
    }
    for extra, message in cases.items():
        code, _, err = run_main("savings", str(log), "--config", str(config), *extra)
        assert code == 1 and len(err.splitlines()) == 1 and message in err, err


def test_a_log_with_nothing_to_replay_fails(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("nope\n{}\n")
    assert "no request bodies to replay (2 malformed line(s))" in one_line_error(run_cli("savings", str(log)))


def test_config_without_a_complexity_route(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[providers.p]\ntype = "mock"\n[[models]]\nname = "m"\nprovider = "p"\n')
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(SIMPLE))
    code, _, err = run_main("savings", str(log), "--config", str(config))
    assert code == 1 and "the config has no complexity route" in err
