"""``llm-gateway-mw check gateway.toml``: validate a config and print the resolved routing table."""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

from ..config.loader import load_file
from ..config.schema import GatewayConfig, ProviderConfig
from ..errors import ConfigError
from ..runtime import Runtime
from . import CliError
from .tables import table

__all__ = ["describe", "load_checked", "run"]


def load_checked(path: str) -> tuple[GatewayConfig, list[str]]:
    """Load and validate a config file; returns it with its warnings, or raises CliError (one line)."""
    if not Path(path).is_file():
        raise CliError(f"{path}: no such file (pass the path of a TOML gateway config)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            config = load_file(path)
        except ConfigError as err:
            raise CliError(str(err)) from None
    return config, [str(w.message) for w in caught]


def run(args: argparse.Namespace) -> int:
    config, notes = load_checked(args.config)
    print(f"{args.config}: valid")
    for note in notes:
        print(f"  warning: {note}")
    print()
    print(describe(config))
    return 0


def describe(config: GatewayConfig) -> str:
    """The resolved routing table: what each name an application may call will do."""
    runtime = Runtime(config, telemetry=None)
    out: list[str] = []
    out.append("Providers")
    out.append(
        table(
            ["NAME", "TYPE", "ENDPOINT", "CREDENTIALS"],
            [[name, p.type, _endpoint(p), _credentials(p)] for name, p in config.providers.items()],
        )
        if config.providers
        else "  (none: wrapped clients call their own provider; telemetry only)"
    )
    out.append("")
    out.append(f"Models (default strategy across a model's deployments: {config.routing.strategy})")
    rows = []
    for name, deployments in runtime.deployments.items():
        for deployment in deployments:
            model = deployment.model
            assert model is not None
            price = runtime.price(deployment)
            source = "config" if model.price is not None else "bundled"
            price_text = "unknown" if price is None else f"${price.input:g} / ${price.output:g} ({source})"
            window = runtime.context_window(deployment)
            rows.append(
                [
                    name,
                    deployment.id,
                    f"{model.weight:g}",
                    price_text,
                    f"{window:,}" if window else "?",
                    ", ".join(model.limits) or "-",
                ]
            )
    out.append(
        table(["NAME", "DEPLOYMENT", "WEIGHT", "PRICE IN/OUT PER 1M", "CONTEXT", "LIMITS"], rows)
        if rows
        else "  (none)"
    )
    out.append("")
    out.append("Routes")
    if config.routes:
        out.extend(_routes(config))
    else:
        out.append("  (none)")
    out.append("")
    out.append("Resolution (tried in order; ⇒ marks the fallback chain)")
    out.extend(_resolution(config, runtime))
    out.append("")
    out.extend(_limits(config))
    return "\n".join(out)


def _endpoint(provider: ProviderConfig) -> str:
    if provider.type == "mock":
        extras = []
        if provider.latency_ms:
            extras.append(f"{provider.latency_ms:g} ms")
        if provider.failure_rate:
            extras.append(f"fails {provider.failure_rate:.0%} with {provider.failure_status}")
        return "built-in mock" + (f" ({', '.join(extras)})" if extras else "")
    if provider.base_url:
        return provider.base_url
    return {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}.get(provider.type, "?")


def _credentials(provider: ProviderConfig) -> str:
    if provider.type == "mock":
        return "none needed"
    if provider.api_key:
        return "literal api_key in the file"
    variable = provider.key_variable
    if variable is None:
        return "none"
    state = "set" if os.environ.get(variable) else "NOT SET"
    return f"${variable} ({state})"


def _routes(config: GatewayConfig) -> list[str]:
    from ..routing.complexity import tier_thresholds

    lines = []
    for name, route in config.routes.items():
        if route.strategy == "complexity":
            cuts = tier_thresholds(len(route.targets))
            tiers = []
            for i, target in enumerate(route.targets):
                low = f"score ≥ {cuts[i - 1]:.2f}" if i else f"score < {cuts[0]:.2f}" if cuts else "always"
                tiers.append(f"tier {i} {target} ({low})")
            lines.append(f"  {name}: complexity routing: " + ", ".join(tiers))
            if len(route.targets) > 1:
                lines.append("    a failing tier escalates to the stronger tiers, never down")
        else:
            lines.append(f"  {name}: {route.strategy} across {', '.join(route.targets)}")
    return lines


def _resolution(config: GatewayConfig, runtime: Runtime) -> list[str]:
    lines = []
    for name in config.model_names():
        route = config.routes.get(name)
        if route is not None and route.strategy == "complexity":
            steps = [f"[tier {i}] {target}" for i, target in enumerate(route.targets)]
            first = " → ".join(steps)
        elif route is not None:
            first = _ordering(route.strategy, [d.id for t in route.targets for d in runtime.deployments[t]])
        else:
            first = _ordering(config.routing.strategy, [d.id for d in runtime.deployments[name]])
        chain = config.fallbacks.get(name, config.fallbacks.get("*", ()))
        chain = tuple(c for c in chain if c != name)
        tail = f"  ⇒ {' → '.join(chain)}" if chain else ""
        lines.append(f"  {name}: {first}{tail}")
    if not lines:
        lines.append("  (nothing declared: every model passes through to the wrapped client's provider)")
    else:
        lines.append("  undeclared models: " + _undeclared(config))
    return lines


def _ordering(strategy: str, ids: list[str]) -> str:
    if strategy == "ordered" or len(ids) == 1:
        return " → ".join(ids)
    return f"{strategy} order of " + " | ".join(ids)


def _undeclared(config: GatewayConfig) -> str:
    if config.strict:
        return "refused (strict = true)"
    return "wrapped clients call their own provider; the mounted endpoint refuses them (404)"


def _limits(config: GatewayConfig) -> list[str]:
    limits = config.rate_limits
    lines = [f"Rate limits ({limits.strategy}, storage {limits.storage}, fail_open={limits.fail_open})"]
    rules = [[f"per {r.per}", r.limit, r.unit, ", ".join(r.models) or "all models"] for r in limits.rules]
    lines.append(table(["SCOPE", "LIMIT", "UNIT", "MODELS"], rules) if rules else "  (none)")
    budgets = config.budgets
    lines.append("")
    lines.append(f"Budgets (storage {budgets.storage}, fail_open={budgets.fail_open})")
    rows = [[f"per {b.per}", f"${b.usd:g}", f"per {b.period}"] for b in budgets.rules]
    lines.append(table(["SCOPE", "USD", "PERIOD"], rows) if rows else "  (none)")
    lines.append("")
    lines.append("Keys (mounted endpoint)")
    keys = [
        [
            k.name,
            k.tenant or "-",
            ", ".join(k.models) or "all",
            ", ".join(k.rate_limits) or "-",
            f"${k.budget_usd:g}/{k.budget_period}" if k.budget_usd is not None else "-",
        ]
        for k in config.keys
    ]
    lines.append(
        table(["NAME", "TENANT", "MODELS", "RATE LIMITS", "BUDGET"], keys)
        if keys
        else "  (none: `llm-gateway-mw keys new` makes one)"
    )
    lines.append("")
    cache = config.cache
    lines.append(
        f"Cache: on ({cache.storage}, ttl {cache.ttl:g} s, scope {cache.scope})"
        if cache.enabled
        else "Cache: off"
    )
    retry, breaker = config.retry, config.circuit_breaker
    lines.append(
        f"Retry: {retry.attempts} attempt(s) per deployment on {', '.join(map(str, retry.retry_on))}; "
        f"timeout {retry.timeout:g} s"
    )
    lines.append(
        f"Circuit breaker: opens after {breaker.failures} failures, probes after {breaker.cooldown:g} s"
    )
    return lines
