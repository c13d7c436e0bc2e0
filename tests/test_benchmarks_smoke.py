"""Smoke test of the benchmark harness: correctness only, no timing assertions (< 10 s).

Runs the cheapest pieces of ``python -m benchmarks --quick`` with tiny budgets and checks
that the report has every section and every target; LiteLLM is skipped here.
"""

from __future__ import annotations

import json
import os

import httpx2
import pytest

from benchmarks.common import Comparison, Samples, Section, interleave_sync, median, percentile
from benchmarks.latency import Budget, Probes, measure
from benchmarks.litellm_compare import _side_by_side
from benchmarks.report import check_targets, render
from benchmarks.run import SECTIONS
from benchmarks.setups import Variant
from benchmarks.streaming import stream_row
from benchmarks.upstream import COMPLETION, LoopbackServer, chunk_events, mock_transport, reply_for

TINY = Budget(rounds=2, per_round=2, warmup=1)
STREAM = Budget(rounds=2, per_round=1, warmup=0)


def test_statistics() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert percentile(list(map(float, range(1, 101))), 99) == 99.0


def test_interleaving_alternates_and_counts() -> None:
    order: list[str] = []
    a, b = interleave_sync(
        lambda: order.append("a"), lambda: order.append("b"), rounds=2, per_round=4, warmup=1
    )
    assert a.calls == b.calls == 8
    assert order[2:6] == ["a", "b", "b", "a"]  # after the warm-up pair: AB, BA, ...
    comparison = Comparison("x", a, b)
    assert set(comparison.as_dict()) >= {
        "added_median_us",
        "added_p99_us",
        "ratio",
        "noise_us",
        "added_cpu_us",
    }


def test_upstream_replies() -> None:
    assert reply_for(b'{"model":"m"}') == (200, "application/json", COMPLETION)
    assert reply_for(b'{"model":"bench-fail-x"}')[0] == 503
    status, kind, events = reply_for(b'{"model":"m","stream":true,"max_tokens":1005}')
    assert status == 200 and kind == "text/event-stream" and events == chunk_events(5)
    client = httpx2.Client(transport=mock_transport(httpx2))
    response = client.post("http://127.0.0.1:9/v1/chat/completions", content=b'{"model":"m","stream":true}')
    assert response.read().count(b"data: ") == 202  # 200 chunks, usage, [DONE]


def test_loopback_upstream_answers() -> None:
    with LoopbackServer() as server:
        client = httpx2.Client()
        reply = client.post(f"{server.base_url}/chat/completions", content=b'{"model":"m"}')
        assert reply.status_code == 200 and json.loads(reply.content)["object"] == "chat.completion"
        streamed = client.post(f"{server.base_url}/chat/completions", content=b'{"model":"m","stream":true}')
        assert streamed.content.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_measure_plain_and_stream(mode: str) -> None:
    plain = measure(Variant("mock", mode), None, TINY)
    assert plain.wrapped.calls == 4 and all(v > 0 for v in plain.wrapped.flat())
    stream = stream_row(measure(Variant("mock", mode), None, STREAM, stream_chunks=200), 201)
    assert stream["raw_ttfc_us"] > 0 and "added_per_chunk_us" in stream


def test_report_has_every_section_and_target(tmp_path: object) -> None:
    latency = Section("Added latency per call (non-streaming)")
    latency.rows.append(measure(Variant("mock", "sync"), None, TINY).as_dict())
    latency.rows.append({"label": "sync, mock, telemetry on, limits memory", "skipped": "not yet"})
    sections = {name: Section(name, skipped="skipped in the smoke test") for name in SECTIONS}
    sections["latency"] = latency
    text = render(sections, ["- smoke"])
    for name in SECTIONS:
        assert f"## {name}" in text or name == "latency"
    assert "## Added latency per call" in text
    targets = check_targets(sections)
    assert len(targets) == 7
    assert {t.verdict for t in targets} <= {"PASS", "FAIL", "SKIP"}


def test_probes_do_not_raise() -> None:
    probes = Probes.run()
    for value in (probes.telemetry, probes.memory, probes.redis):
        assert value is None or isinstance(value, str)


def test_command_is_documented() -> None:
    readme = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "README.md")
    with open(readme) as f:
        assert "python -m benchmarks" in f.read()


class _Blocks:
    """Stands in for the LiteLLM process's answers: records which blocks were asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int, int]] = []

    def block(self, upstream: str, name: str, per_round: int, warmup: int) -> tuple[Samples, Samples]:
        self.asked.append((upstream, name, per_round, warmup))
        return Samples(total=[[1.0] * per_round], cpu=[[0.5] * per_round], calls=per_round), Samples(
            total=[[3.0] * per_round], cpu=[[0.5] * per_round], calls=per_round
        )


def test_the_litellm_comparison_alternates_blocks_in_rotating_order() -> None:
    """Gateway, completion and Router take turns block by block; each side's blocks are merged as rounds."""
    blocks = _Blocks()
    merged = _side_by_side(blocks, "mock", None, Budget(rounds=3, per_round=2, warmup=1))  # type: ignore[arg-type]
    # blocks in turn: gateway, completion, router; completion, router, gateway; router, gateway, completion
    expected = ["completion", "router", "completion", "router", "router", "completion"]
    assert [name for _, name, _, _ in blocks.asked] == expected
    assert [warmup for *_, warmup in blocks.asked] == [1, 1, 10, 10, 10, 10]  # warm again after the others
    raw, router = merged["router"]
    assert (len(raw.total), raw.calls, router.calls) == (3, 6, 6)
    assert Comparison("router", raw, router).added() == 2.0
    gateway_raw, gateway = merged["gateway"]  # the real wrapped client, on the in-process mock
    assert len(gateway_raw.total) == len(gateway.total) == 3 and gateway.calls == 6
