"""What one wrapped SDK client brings, and where its passthrough models' calls go on the express lane."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from .dialects import Dialect
from .reply_headers import PassthroughHeaders, passthrough_headers

if TYPE_CHECKING:
    from .providers.deployment import Deployment
    from .routing.health import DeploymentHealth
    from .routing.plan import Plan
    from .upstream.http import HttpUpstream

__all__ = ["Binding", "LaneTarget"]


@dataclass(slots=True, frozen=True)
class LaneTarget:
    """Where the express lane sends a passthrough model's calls, and what each of them reuses.

    Everything here is fixed for the model once its plan is known, so the lane reads it off one
    object; the reply headers that never change are built here once (benchmarks/README.md,
    "Seventh round").
    """

    plan: Plan
    deployment: Deployment
    health: DeploymentHealth
    upstream: HttpUpstream
    headers: PassthroughHeaders  # the reply headers every such call carries, built once


@dataclass(slots=True)
class Binding:
    """What one wrapped SDK client brings: its dialect, HTTP library and its own upstream."""

    dialect: Dialect
    module: ModuleType
    passthrough: HttpUpstream | None
    base_url: str
    strict: bool = False  # the mounted endpoint has no "own upstream": undeclared models are 404
    express: dict[str, LaneTarget] = field(default_factory=dict)  # per model, for the express lane

    def remember(self, model: str, plan: Plan, deployment: Deployment, health: DeploymentHealth) -> None:
        """Keep where ``model``'s calls go when that is this client's own upstream (for the express lane)."""
        if deployment.passthrough and self.passthrough is not None and len(self.express) < 1000:
            headers = passthrough_headers(deployment.name, plan.route or model)  # route: as record_plan's
            self.express[model] = LaneTarget(plan, deployment, health, self.passthrough, headers)
