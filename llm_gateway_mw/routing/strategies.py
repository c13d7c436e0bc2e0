"""How deployments of one name share load: orderings the attempt loop walks in turn."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from ..providers.deployment import Deployment
from .health import DeploymentHealth

__all__ = ["order_deployments"]

PriceOf = Callable[[Deployment], float | None]


def order_deployments(
    deployments: Sequence[Deployment],
    strategy: str,
    health: Callable[[Deployment], DeploymentHealth],
    price_of: PriceOf,
    rng: random.Random,
) -> list[Deployment]:
    """Deployments in the order to try them; the first is the strategy's pick."""
    if len(deployments) <= 1:
        return list(deployments)
    if strategy == "ordered":
        return list(deployments)
    if strategy == "lowest-latency":
        # Unmeasured or stale deployments first (so each gets measured again), then by moving average.
        now = time.monotonic()
        return sorted(deployments, key=lambda d: (health(d).latency_for_routing(now), rng.random()))
    if strategy == "lowest-cost":
        return sorted(deployments, key=lambda d: (_cost_key(price_of(d)), rng.random()))
    if strategy == "least-busy":
        return sorted(deployments, key=lambda d: (health(d).in_flight, rng.random()))
    return _weighted_shuffle(deployments, rng)


def _cost_key(price: float | None) -> float:
    return price if price is not None else float("inf")


def _weighted_shuffle(deployments: Sequence[Deployment], rng: random.Random) -> list[Deployment]:
    """Efraimidis-Spirakis: sort by u^(1/w), so the first pick follows the weights exactly."""

    def key(d: Deployment) -> float:
        weight = d.model.weight if d.model is not None else 1.0
        return float(rng.random() ** (1.0 / weight))

    return sorted(deployments, key=key, reverse=True)
