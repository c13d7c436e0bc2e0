"""``llm-gateway-mw savings log.jsonl``: what auto-routing would have saved on a request log, offline.

Each line is an OpenAI-style request body. The route's real routing decision (``make_plan``
with the configured classifier) picks a tier for it; no upstream is called. Tokens are
estimated from the text, and each request is costed at its tier's price and at the
strongest tier's price.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.loader import load_config
from ..config.schema import GatewayConfig
from ..policy.pricing import Price, worst_case_cost_usd
from ..policy.tokens import estimate_prompt_tokens, requested_output_tokens
from ..routing.plan import make_plan
from ..runtime import Runtime
from . import CliError
from .tables import money, table, tokens

__all__ = ["SavingsReport", "TierTotals", "choose_route", "replay", "run", "write_chart"]

_MAX_SKIPPED_SHOWN = 20


@dataclass(slots=True)
class TierTotals:
    """Requests routed to one tier, with their estimated tokens and costs."""

    tier: int
    model: str
    price: Price
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_routed: float = 0.0
    cost_strongest: float = 0.0


@dataclass(slots=True)
class SavingsReport:
    route: str
    tiers: list[TierTotals]
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(t.requests for t in self.tiers)

    @property
    def cost_routed(self) -> float:
        return sum(t.cost_routed for t in self.tiers)

    @property
    def cost_strongest(self) -> float:
        return sum(t.cost_strongest for t in self.tiers)

    @property
    def saved(self) -> float:
        return self.cost_strongest - self.cost_routed

    @property
    def saved_share(self) -> float:
        return self.saved / self.cost_strongest if self.cost_strongest else 0.0


def choose_route(config: GatewayConfig, wanted: str | None) -> str:
    """The complexity route to replay: the one asked for, else ``auto``, else the only one."""
    complexity = [name for name, r in config.routes.items() if r.strategy == "complexity"]
    if wanted is not None:
        if wanted not in config.routes:
            known = ", ".join(config.routes) or "none declared"
            raise CliError(f"no route named '{wanted}' in the config (routes: {known})")
        if wanted not in complexity:
            raise CliError(
                f"route '{wanted}' uses strategy '{config.routes[wanted].strategy}', not complexity"
            )
        return wanted
    if "auto" in complexity:
        return "auto"
    if len(complexity) == 1:
        return complexity[0]
    if not complexity:
        raise CliError(
            'the config has no complexity route; add one, e.g. [routes.auto] targets = ["cheap", "strong"]'
        )
    raise CliError(f"several complexity routes ({', '.join(complexity)}): pick one with --route")


def _body(line: str) -> tuple[Mapping[str, Any] | None, str]:
    """A request body from one log line, or None and why not."""
    try:
        value = json.loads(line.strip())
    except json.JSONDecodeError as err:
        return None, f"not valid JSON ({err.msg} at column {err.colno})"
    if not isinstance(value, dict):
        return None, f"not a JSON object (found {type(value).__name__})"
    for wrapper in ("body", "request"):  # logs that wrap the body with metadata
        inner = value.get(wrapper)
        if "messages" not in value and isinstance(inner, dict):
            value = inner
    if isinstance(value.get("messages"), list) and value["messages"]:
        return value, ""
    if isinstance(value.get("input"), (str, list)) and value["input"]:
        return value, ""
    return None, "no 'messages' list (expected an OpenAI chat request body)"


def replay(lines: Iterable[str], config: GatewayConfig, route: str, output_tokens: int) -> SavingsReport:
    """Decide and cost every request body; malformed lines are recorded and skipped."""
    runtime = Runtime(config, telemetry=None)
    targets = config.routes[route].targets
    tiers = []
    for i, target in enumerate(targets):
        price = runtime.price(runtime.deployments[target][0])
        if price is None:
            raise CliError(
                f"no price known for model '{target}': add price = {{ input = ..., output = ... }} "
                "(USD per 1M tokens) to its [[models]] entry"
            )
        tiers.append(TierTotals(i, target, price))
    strongest = tiers[-1].price
    report = SavingsReport(route, tiers)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        body, why = _body(line)
        if body is None:
            report.skipped.append((number, why))
            continue
        plan = make_plan(config, runtime.deployments, route, body, runtime.order, runtime.classify)
        tier = tiers[targets.index(plan.groups[0].name)]
        prompt = estimate_prompt_tokens(body)
        reply = min(output_tokens, requested_output_tokens(body, default=output_tokens))
        tier.requests += 1
        tier.input_tokens += prompt
        tier.output_tokens += reply
        tier.cost_routed += worst_case_cost_usd(prompt, reply, tier.price)
        tier.cost_strongest += worst_case_cost_usd(prompt, reply, strongest)
    return report


def render(report: SavingsReport, source: str, output_tokens: int) -> str:
    total = report.requests
    targets = " → ".join(t.model for t in report.tiers)
    strongest = report.tiers[-1].model
    out = [f"Replayed {total} requests from {source} through route '{report.route}' ({targets}), offline."]
    if report.skipped:
        out.append(f"Skipped {len(report.skipped)} malformed line(s):")
        for number, why in report.skipped[:_MAX_SKIPPED_SHOWN]:
            out.append(f"  line {number}: {why}")
        if len(report.skipped) > _MAX_SKIPPED_SHOWN:
            out.append(f"  ... and {len(report.skipped) - _MAX_SKIPPED_SHOWN} more")
    out.append("")
    rows: list[list[object]] = [
        [
            t.tier,
            t.model,
            t.requests,
            f"{t.requests / total:.0%}" if total else "-",
            tokens(t.input_tokens),
            tokens(t.output_tokens),
            money(t.cost_routed),
            money(t.cost_strongest),
        ]
        for t in report.tiers
    ]
    rows.append(
        [
            "all",
            "",
            total,
            "100%",
            tokens(sum(t.input_tokens for t in report.tiers)),
            tokens(sum(t.output_tokens for t in report.tiers)),
            money(report.cost_routed),
            money(report.cost_strongest),
        ]
    )
    headers = [
        "TIER",
        "MODEL",
        "REQUESTS",
        "SHARE",
        "INPUT TOK",
        "OUTPUT TOK",
        "COST AUTO",
        f"COST ALL {strongest}",
    ]
    out.append(table(headers, rows))
    out.append("")
    out.append(
        f"Auto-routing: {money(report.cost_routed)} instead of {money(report.cost_strongest)} with every "
        f"request on {strongest}: {money(report.saved)} saved ({report.saved_share:.1%})."
    )
    if total:
        per_k = report.saved / total * 1000
        out.append(f"That is about {money(per_k)} saved per 1,000 requests like these.")
    prices = ", ".join(f"{t.model} ${t.price.input:g}/${t.price.output:g}" for t in report.tiers)
    out.append(
        f"Estimates: input tokens from the text (~4 characters a token); replies of {output_tokens} tokens, "
        f"capped by each request's max_tokens; prices in/out per 1M tokens: {prices}."
    )
    return "\n".join(out)


def write_chart(report: SavingsReport, path: str) -> None:
    """A PNG bar chart: per tier and in total, the cost with auto-routing and all on the strongest."""
    from .chart import BarGroup, Series, bar_chart

    strongest = report.tiers[-1].model
    groups = [
        BarGroup(f"tier {t.tier}: {t.model}\n{t.requests} requests", (t.cost_routed, t.cost_strongest))
        for t in report.tiers
    ]
    groups.append(BarGroup(f"total\n{report.requests} requests", (report.cost_routed, report.cost_strongest)))
    series = [Series("with auto-routing", (37, 99, 235)), Series(f"all on {strongest}", (156, 163, 175))]
    title = f"estimated cost, route {report.route}: {report.saved_share:.0%} saved"
    canvas = bar_chart(title, groups, series, value_label=_short_money)
    try:
        canvas.save(path)
    except OSError as err:
        raise CliError(f"cannot write the chart to {path}: {err.strerror}") from None


def _short_money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.3g}"


def run(args: argparse.Namespace) -> int:
    if args.output_tokens < 1:
        raise CliError("--output-tokens must be at least 1")
    if args.chart is not None and not args.chart.lower().endswith(".png"):
        raise CliError(f"--chart {args.chart}: the chart is a PNG; give a path ending in .png")
    if args.config is not None:
        from .check import load_checked

        config, _ = load_checked(args.config)
    else:
        from .defaults import default_config

        config = load_config(default_config())
    route = choose_route(config, args.route)
    path = Path(args.log)
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            report = replay(lines, config, route, args.output_tokens)
    except OSError as err:
        raise CliError(f"cannot read {args.log}: {err.strerror}") from None
    if not report.requests:
        raise CliError(f"{args.log}: no request bodies to replay ({len(report.skipped)} malformed line(s))")
    print(render(report, args.log, args.output_tokens))
    if args.chart:
        write_chart(report, args.chart)
        print(f"Chart written to {args.chart}")
    return 0
