"""Renders the sections as Markdown, with every target checked as PASS / FAIL / SKIP."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .common import Section

__all__ = ["Target", "check_targets", "render"]


def _f(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "∞"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Target:
    """One target: what it demands, what was measured, and the verdict."""

    def __init__(self, name: str, demand: str, measured: str, verdict: str) -> None:
        self.name, self.demand, self.measured, self.verdict = name, demand, measured, verdict


def _find(section: Section | None, **match: Any) -> list[dict[str, Any]]:
    if section is None:
        return []
    return [r for r in section.rows if all(r.get(k) == v for k, v in match.items())]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _latency_target(
    section: Section | None, labels: Iterable[str], limit: float, name: str, demand: str
) -> Target:
    rows = [r for label in labels for r in _find(section, label=label)]
    measured = [r for r in rows if "added_median_us" in r]
    if not measured:
        why = "; ".join(r.get("skipped", "") for r in rows) or "not measured"
        return Target(name, demand, why, "SKIP")
    text = "; ".join(
        f"{r['label'].split(',')[0]}: {_f(r['added_median_us'])} µs (noise ±{_f(r['noise_us'])}, "
        f"CPU +{_f(r['added_cpu_us'])} µs)"
        for r in measured
    )
    if len(measured) < len(rows):
        text += " — some variants skipped: " + "; ".join(r["skipped"] for r in rows if "skipped" in r)
    return Target(name, demand, text, _verdict(all(r["added_median_us"] <= limit for r in measured)))


def check_targets(sections: dict[str, Section]) -> list[Target]:
    lat = sections.get("latency")
    targets = []
    full = [f"{m}, mock, telemetry on, limits memory" for m in ("sync", "async")]
    target = _latency_target(
        lat, full, 75, "Added median, telemetry + in-memory limits", "≤ 75 µs per non-streaming call"
    )
    if target.verdict == "SKIP":
        fallback = _latency_target(
            lat, [f"{m}, mock, telemetry on, no limits" for m in ("sync", "async")], 75, "", ""
        )
        target.measured += f" | without limits (telemetry only): {fallback.measured} → {fallback.verdict}"
    targets.append(target)
    targets.append(
        _latency_target(
            lat,
            [f"{m}, mock, telemetry off, no limits" for m in ("sync", "async")],
            25,
            "Added median, telemetry off",
            "≤ 25 µs per non-streaming call",
        )
    )
    stream_rows = [
        r
        for r in _find(sections.get("streaming"))
        if "telemetry off" in r.get("label", "") and "mock" in r.get("label", "")
    ]
    if any("added_per_chunk_us" in r for r in stream_rows):
        ok = all(r["added_per_chunk_us"] <= 1.0 for r in stream_rows if "added_per_chunk_us" in r)
        text = "; ".join(
            f"{r['label'].split(',')[0]}: {_f(r['added_per_chunk_us'], 2)} µs/chunk "
            f"(noise ±{_f(r['per_chunk_noise_us'], 2)}, CPU +{_f(r['added_cpu_per_chunk_us'], 2)})"
            for r in stream_rows
            if "added_per_chunk_us" in r
        )
        targets.append(Target("Added per streamed chunk", "≤ 1 µs per chunk", text, _verdict(ok)))
    else:
        targets.append(Target("Added per streamed chunk", "≤ 1 µs per chunk", "not measured", "SKIP"))
    lit = sections.get("litellm")
    routers = [r for r in _find(lit) if r.get("label", "").startswith("litellm.router")]
    if routers:
        text = "; ".join(
            f"{r['upstream']}: Router adds {_f(r['added_median_us'])} µs = {_f(r['vs_gateway'])}x "
            "the gateway's"
            for r in routers
        )
        ok = all(r["vs_gateway"] >= 50 for r in routers)
        targets.append(Target("Less added latency than litellm.Router", "≥ 50x", text, _verdict(ok)))
    else:
        why = lit.skipped if lit is not None and lit.skipped else "not measured"
        targets.append(Target("Less added latency than litellm.Router", "≥ 50x", why, "SKIP"))
    imp = _find(sections.get("import_time"), label="import llm_gateway_mw")
    if imp:
        targets.append(
            Target(
                "`import llm_gateway_mw`",
                "≤ 150 ms",
                f"{_f(imp[0]['median_ms'])} ms",
                _verdict(imp[0]["median_ms"] <= 150),
            )
        )
    else:
        targets.append(Target("`import llm_gateway_mw`", "≤ 150 ms", "not measured", "SKIP"))
    thr = _find(sections.get("throughput"), label="endpoint, in-process mock upstream")
    if thr and "rps" in thr[0]:
        t = thr[0]
        targets.append(
            Target(
                "Endpoint throughput, one worker",
                "≥ 2,000 req/s on one core",
                f"{_f(t['rps_per_core'], 0)} req/s per core ({_f(t['rps'], 0)} req/s using "
                f"{_f(t['server_cores'], 2)} cores; p50 {_f(t['p50_us'] / 1000, 2)} ms, "
                f"{t['errors']} errors)",
                _verdict(t["rps_per_core"] >= 2000 and not t["errors"]),
            )
        )
    else:
        why = thr[0].get("skipped", "not measured") if thr else "not measured"
        targets.append(Target("Endpoint throughput, one worker", "≥ 2,000 req/s", why, "SKIP"))
    mem = _find(sections.get("memory"))
    if mem:
        m = mem[0]
        ok = (
            m["rss_growth_mb"] < 5
            and m["threads_end"] <= m["threads_after_warmup"]
            and m["tasks_end"] <= m["tasks_after_warmup"]
        )
        text = (
            f"{_f(m['calls'], 0)} calls: RSS {_f(m['rss_growth_mb'], 2)} MB, threads "
            f"{m['threads_after_warmup']}→{m['threads_end']}, tasks {m['tasks_after_warmup']}→{m['tasks_end']}"
        )
        targets.append(Target("Memory soak", "RSS growth < 5 MB, no thread/task growth", text, _verdict(ok)))
    else:
        targets.append(Target("Memory soak", "RSS growth < 5 MB", "not measured", "SKIP"))
    return targets


_LATENCY_COLS = [
    ("label", "variant", 0),
    ("raw_median_us", "raw p50 µs", 1),
    ("wrapped_median_us", "wrapped p50 µs", 1),
    ("added_median_us", "added p50 µs", 1),
    ("added_p99_us", "added p99 µs", 1),
    ("ratio", "ratio", 3),
    ("noise_us", "noise ± µs", 1),
    ("added_cpu_us", "added CPU µs", 1),
    ("deferred_cpu_us", "deferred CPU µs", 1),
    ("calls_per_side", "calls/side", 0),
]
_STREAM_COLS = [
    ("label", "variant", 0),
    ("raw_ttfc_us", "raw TTFC µs", 1),
    ("added_ttfc_us", "added TTFC p50 µs", 1),
    ("added_ttfc_p99_us", "added TTFC p99 µs", 1),
    ("ttfc_noise_us", "TTFC noise ±", 1),
    ("raw_median_us", "raw stream µs", 0),
    ("added_per_chunk_us", "added µs/chunk", 2),
    ("per_chunk_noise_us", "noise ± µs/chunk", 2),
    ("added_cpu_per_chunk_us", "added CPU µs/chunk", 2),
    ("deferred_cpu_us", "deferred CPU µs/stream", 1),
    ("calls_per_side", "streams/side", 0),
]
_LITELLM_COLS = [
    ("label", "what", 0),
    ("upstream", "upstream", 0),
    ("raw_median_us", "raw SDK p50 µs", 1),
    ("added_median_us", "added p50 µs", 1),
    ("added_p99_us", "added p99 µs", 1),
    ("noise_us", "noise ± µs", 1),
    ("added_cpu_us", "added CPU µs", 1),
    ("vs_gateway", "x gateway's added", 1),
]
_THROUGHPUT_COLS = [
    ("label", "server", 0),
    ("rps", "req/s", 0),
    ("server_cores", "server cores used", 2),
    ("rps_per_core", "req/s per core", 0),
    ("p50_us", "p50 µs", 0),
    ("p99_us", "p99 µs", 0),
    ("errors", "errors", 0),
    ("error_statuses", "error statuses", 0),
    ("connections", "connections", 0),
]
_IMPORT_COLS = [
    ("label", "statement", 0),
    ("median_ms", "median ms", 1),
    ("min_ms", "min ms", 1),
    ("max_ms", "max ms", 1),
    ("runs", "runs", 0),
]
_MEMORY_COLS = [
    ("calls", "calls", 0),
    ("warmup", "warm-up", 0),
    ("rss_after_warmup_mb", "RSS after warm-up MB", 2),
    ("rss_end_mb", "RSS end MB", 2),
    ("rss_growth_mb", "growth MB", 2),
    ("threads_after_warmup", "threads", 0),
    ("threads_end", "threads end", 0),
    ("tasks_after_warmup", "tasks", 0),
    ("tasks_end", "tasks end", 0),
    ("failed_calls", "failed calls", 0),
    ("seconds", "seconds", 1),
]
COLUMNS = {
    "latency": _LATENCY_COLS,
    "streaming": _STREAM_COLS,
    "litellm": _LITELLM_COLS,
    "throughput": _THROUGHPUT_COLS,
    "import_time": _IMPORT_COLS,
    "memory": _MEMORY_COLS,
}


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str, int]]) -> list[str]:
    out = ["| " + " | ".join(title for _, title, _ in cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        if "skipped" in row:
            out.append(f"| {row.get('label', '')} | SKIPPED: {row['skipped']} |" + " |" * (len(cols) - 2))
            continue
        out.append("| " + " | ".join(_f(row.get(key, ""), digits) for key, _, digits in cols) + " |")
    return out


def _profile_lines(section: Section) -> list[str]:
    out = []
    for row in section.rows:
        out.append(
            f"**{row['name']}** ({row['calls']} calls): raw {_f(row['raw_us_per_call'])} µs/call, "
            f"wrapped {_f(row['wrapped_us_per_call'])} µs/call under cProfile; added "
            f"{_f(row['added_us_per_call'])} µs/call, of which own time in llm_gateway_mw "
            f"{_f(row['gateway_own_us_per_call'])} µs. Listing: `{row['listing']}`"
        )
        out.append("")
        out.append("| function (own time, wrapped - raw) | µs/call | extra calls/call |")
        out.append("|---|---|---|")
        out += [f"| `{name}` | {_f(us)} | {_f(n, 1)} |" for name, us, n in row["top"]]
        out.append("")
    return out


def render(sections: dict[str, Section], header: list[str]) -> str:
    lines = ["# llm-gateway-mw benchmark report", "", *header, "", "## Targets", ""]
    lines += ["| target | demand | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {t.name} | {t.demand} | {t.measured} | **{t.verdict}** |" for t in check_targets(sections)]
    for key, section in sections.items():
        lines += ["", f"## {section.title}", ""]
        if section.skipped:
            lines += [f"SKIPPED: {section.skipped}", ""]
            continue
        if key == "profile":
            lines += _profile_lines(section)
        elif key in COLUMNS:
            lines += _table(section.rows, COLUMNS[key])
        if key == "memory" and section.rows:
            lines += [
                "",
                "RSS trend (calls after warm-up, MB): "
                + ", ".join(f"{n:,}: {mb}" for n, mb in section.rows[0].get("trend", [])),
            ]
        lines += [""] + [f"- {note}" for note in section.notes]
        lines.append(f"- Section time: {section.seconds:.1f} s")
    return "\n".join(lines) + "\n"
