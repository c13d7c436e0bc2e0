"""Turns the model name an application asked for into an ordered plan of deployments to try."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config.schema import GatewayConfig
from ..providers.deployment import Deployment

if TYPE_CHECKING:
    from .complexity import ComplexityDecision

__all__ = ["Plan", "PlanGroup", "make_plan"]

Classifier = Callable[[Mapping[str, Any], int], "ComplexityDecision"]
Orderer = Callable[[Sequence[Deployment], str], list[Deployment]]


@dataclass(slots=True)
class PlanGroup:
    """Deployments of one model name, in the order to try them."""

    name: str
    deployments: list[Deployment]
    fallback_from: str | None = None


@dataclass(slots=True)
class Plan:
    groups: list[PlanGroup] = field(default_factory=list)
    route: str | None = None
    strategy: str | None = None
    reason: str | None = None


def make_plan(
    config: GatewayConfig,
    deployments: Mapping[str, list[Deployment]],
    requested: str,
    body: Mapping[str, Any],
    order: Orderer,
    classify: Classifier,
) -> Plan:
    """Resolve routes, order deployments by strategy, then append the fallback chain."""
    plan = Plan()
    route = config.routes.get(requested)
    if route is not None:
        plan.route = requested
        plan.strategy = route.strategy
        if route.strategy == "complexity":
            decision = classify(body, len(route.targets))
            tier = min(max(decision.tier, 0), len(route.targets) - 1)
            plan.reason = decision.reason
            chosen = route.targets[tier]
            plan.groups.append(PlanGroup(chosen, order(deployments[chosen], config.routing.strategy)))
            # A failing cheap tier escalates to the stronger tiers, never down.
            for stronger in route.targets[tier + 1 :]:
                plan.groups.append(
                    PlanGroup(
                        stronger, order(deployments[stronger], config.routing.strategy), fallback_from=chosen
                    )
                )
        else:
            pool = [d for target in route.targets for d in deployments[target]]
            ordered = order(pool, route.strategy)
            plan.reason = f"{route.strategy} across {', '.join(route.targets)}"
            plan.groups.append(PlanGroup(ordered[0].name if ordered else requested, ordered))
    else:
        plan.strategy = config.routing.strategy
        plan.groups.append(
            PlanGroup(requested, order(deployments.get(requested, []), config.routing.strategy))
        )
        plan.reason = "explicit model"
    chain = config.fallbacks.get(requested)
    if chain is None:
        chain = config.fallbacks.get("*", ())
    seen = {g.name for g in plan.groups}
    first = plan.groups[0].name if plan.groups else requested
    for name in chain:
        if name in seen:
            continue
        seen.add(name)
        plan.groups.append(
            PlanGroup(name, order(deployments[name], config.routing.strategy), fallback_from=first)
        )
    return plan
