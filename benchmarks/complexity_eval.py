"""Evaluate the complexity router on the labeled prompt set: routing quality, cost saved, latency.

Usage: ``python benchmarks/complexity_eval.py [--markdown] [--errors dev|holdout|all]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from llm_gateway_mw.routing.complexity import STRONG_THRESHOLD, classify  # noqa: E402

__all__ = [
    "CHEAP",
    "DATASET",
    "OUTPUT_TOKENS",
    "STRONG",
    "Latency",
    "Prices",
    "Row",
    "SplitReport",
    "classify_all",
    "composition",
    "evaluate",
    "load",
    "main",
    "measure_latency",
]

DATASET = ROOT / "tests" / "data" / "complexity_prompts.jsonl"
_META_KEYS = frozenset({"id", "label", "split"})
OUTPUT_TOKENS = {"simple": 300, "complex": 800}
"""Assumed completion length per label (tokens)."""


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per 1M tokens."""

    name: str
    input: float
    output: float

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


CHEAP = Prices("gpt-4o-mini", 0.15, 0.60)
STRONG = Prices("gpt-4o", 2.50, 10.00)


@dataclass(frozen=True, slots=True)
class Row:
    """One labeled prompt and the router's decision."""

    id: str
    label: str
    split: str
    tier: int
    score: float
    reason: str
    input_tokens: float


@dataclass(frozen=True, slots=True)
class SplitReport:
    """Aggregate metrics for a set of rows."""

    name: str
    n: int
    n_simple: int
    n_complex: int
    complex_recall: float
    simple_cheap: float
    accuracy: float
    cost_routed: float
    cost_strong: float
    cost_oracle: float

    @property
    def saved(self) -> float:
        return 1 - self.cost_routed / self.cost_strong if self.cost_strong else 0.0

    @property
    def oracle_saved(self) -> float:
        return 1 - self.cost_oracle / self.cost_strong if self.cost_strong else 0.0


def _text_chars(value: Any) -> int:
    """Characters of text in a content value, system value or message list."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_chars(item) for item in value)
    if isinstance(value, Mapping):
        return sum(_text_chars(value.get(key)) for key in ("content", "text"))
    return 0


def _input_tokens(body: Mapping[str, Any]) -> float:
    chars = _text_chars(body.get("messages")) + _text_chars(body.get("system"))
    if body.get("tools"):
        chars += len(json.dumps(body["tools"]))
    return chars / 4


def load(path: Path = DATASET) -> list[dict[str, Any]]:
    """Read the JSONL dataset."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _body(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in _META_KEYS}


def classify_all(records: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Route every record with the 2-tier classifier."""
    rows = []
    for record in records:
        body = _body(record)
        decision = classify(body, tiers=2)
        rows.append(
            Row(
                record["id"], record["label"], record["split"], decision.tier, decision.score,
                decision.reason, _input_tokens(body),
            )
        )  # fmt: skip
    return rows


def evaluate(name: str, rows: Sequence[Row]) -> SplitReport:
    """Recall, cheap rate, accuracy and costs for ``rows``."""
    simple = [r for r in rows if r.label == "simple"]
    complex_ = [r for r in rows if r.label == "complex"]
    correct = sum(1 for r in simple if r.tier == 0) + sum(1 for r in complex_ if r.tier == 1)

    def cost(row: Row, tier: int) -> float:
        return (STRONG if tier else CHEAP).cost(row.input_tokens, OUTPUT_TOKENS[row.label])

    return SplitReport(
        name=name,
        n=len(rows),
        n_simple=len(simple),
        n_complex=len(complex_),
        complex_recall=sum(1 for r in complex_ if r.tier == 1) / max(1, len(complex_)),
        simple_cheap=sum(1 for r in simple if r.tier == 0) / max(1, len(simple)),
        accuracy=correct / max(1, len(rows)),
        cost_routed=sum(cost(r, r.tier) for r in rows),
        cost_strong=sum(cost(r, 1) for r in rows),
        cost_oracle=sum(cost(r, int(r.label == "complex")) for r in rows),
    )


@dataclass(frozen=True, slots=True)
class Latency:
    """classify() latency in µs: per call across all runs, and per prompt (median of its runs)."""

    call_median: float
    call_p99: float
    prompt_p99: float
    prompt_max: float


def _pct_of(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def measure_latency(bodies: Sequence[Mapping[str, Any]], repeats: int = 200) -> Latency:
    """Time classify() with perf_counter_ns, ``repeats`` runs per body after one warm-up call."""
    calls: list[float] = []
    prompts: list[float] = []
    for body in bodies:
        classify(body)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter_ns()
            classify(body)
            runs.append((time.perf_counter_ns() - start) / 1000)
        calls.extend(runs)
        prompts.append(statistics.median(runs))
    calls.sort()
    prompts.sort()
    return Latency(statistics.median(calls), _pct_of(calls, 0.99), _pct_of(prompts, 0.99), prompts[-1])


def _huge_body(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A ~1 MB prompt built from the dataset, to show the scan cap keeps latency flat."""
    filler = "\n\n".join(str(r["messages"][-1].get("content") or "") for r in records)
    text = (filler * (1_000_000 // max(1, len(filler)) + 1))[:1_000_000]
    return {"messages": [{"role": "user", "content": text + "\n\nSummarize the above."}]}


ASSUMPTIONS = (
    f"Threshold {STRONG_THRESHOLD:.2f}, tiers=2 ({CHEAP.name} cheap, {STRONG.name} strong). "
    f"Prices USD/1M tokens: {CHEAP.name} {CHEAP.input:.2f} in / {CHEAP.output:.2f} out, "
    f"{STRONG.name} {STRONG.input:.2f} in / {STRONG.output:.2f} out. Input tokens = characters of message, "
    f"system and tool-schema text / 4; output tokens assumed {OUTPUT_TOKENS['simple']} (simple) / "
    f"{OUTPUT_TOKENS['complex']} (complex). "
    "'Saved' is against sending everything to the strong model; 'oracle' is perfect routing."
)


def composition(records: Sequence[Mapping[str, Any]]) -> str:
    """One line describing the dataset: sizes, splits, and how many prompts have each feature."""
    labels = [r["label"] for r in records]
    dev = sum(1 for r in records if r["split"] == "dev")
    multi_turn = sum(1 for r in records if sum(m.get("role") == "user" for m in r["messages"]) > 1)
    tools = sum(1 for r in records if r.get("tools"))
    system = sum(
        1 for r in records if r.get("system") or any(m.get("role") == "system" for m in r["messages"])
    )
    return (
        f"Dataset: {len(records)} prompts ({labels.count('simple')} simple / {labels.count('complex')} complex), "
        f"{dev} dev / {len(records) - dev} holdout (odd id number -> dev); {multi_turn} multi-turn, "
        f"{tools} with tools, {system} with a system prompt."
    )


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _report_rows(reports: Sequence[SplitReport]) -> list[list[str]]:
    return [
        [
            r.name, str(r.n), f"{r.n_simple}/{r.n_complex}", _pct(r.complex_recall), _pct(r.simple_cheap),
            _pct(r.accuracy), f"${r.cost_routed:.4f}", f"${r.cost_strong:.4f}", _pct(r.saved), _pct(r.oracle_saved),
        ]
        for r in reports
    ]  # fmt: skip


HEADERS = [
    "split", "prompts", "simple/complex", "complex→strong", "simple→cheap", "accuracy",
    "routed cost", "always-strong cost", "saved", "oracle saved",
]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Print the evaluation as plain text or Markdown."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table for the README")
    parser.add_argument(
        "--errors", choices=["dev", "holdout", "all"], help="list misrouted prompts of a split"
    )
    parser.add_argument("--repeats", type=int, default=200, help="classify() calls per prompt for latency")
    args = parser.parse_args(argv)

    records = load()
    rows = classify_all(records)
    reports = [evaluate(split, [r for r in rows if r.split == split]) for split in ("dev", "holdout")]
    reports.append(evaluate("all", rows))
    bodies = [_body(r) for r in records]
    lat = measure_latency(bodies, args.repeats)
    huge = measure_latency([_huge_body(records)], args.repeats).call_median
    load_1m = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    latency = (
        f"classify() latency, {len(bodies)} prompts x {args.repeats} runs (time.perf_counter_ns, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_1m:.1f}): per call median "
        f"{lat.call_median:.1f} µs, p99 {lat.call_p99:.1f} µs; per prompt (median of its runs) p99 "
        f"{lat.prompt_p99:.1f} µs, max {lat.prompt_max:.1f} µs; a 1 MB prompt {huge:.1f} µs (median)."
    )
    table = _report_rows(reports)
    if args.markdown:
        print("| " + " | ".join(HEADERS) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(HEADERS))) + "|")
        for line in table:
            print("| " + " | ".join(line) + " |")
        print(f"\n{composition(records)}\n\n{latency}\n\n{ASSUMPTIONS}")
    else:
        widths = [max(len(h), *(len(line[i]) for line in table)) for i, h in enumerate(HEADERS)]
        print("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)))
        for line in table:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
        print(f"\n{composition(records)}\n{latency}\n{ASSUMPTIONS}")
    if args.errors:
        print("\nMisrouted:")
        for row in rows:
            if (args.errors in ("all", row.split)) and (row.tier == 1) != (row.label == "complex"):
                print(f"  {row.id} [{row.split}] {row.label:7} -> tier {row.tier}: {row.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
