"""Per-deployment health: circuit breaker, latency moving average and in-flight count.

Pure state with the clock passed in, so the breaker's transitions are testable without
sleeping: closed → open after N consecutive failures → one half-open probe after the
cooldown → closed on success, open again on failure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["DeploymentHealth"]

_EWMA_ALPHA = 0.2


@dataclass(slots=True)
class DeploymentHealth:
    """Health of one deployment, shared by every call in this process."""

    failures_to_open: int = 5
    cooldown: float = 30.0
    consecutive_failures: int = 0
    opened_at: float | None = None
    probe_in_flight: bool = False
    latency: float | None = None
    measured_at: float | None = None
    in_flight: int = 0
    successes: int = 0
    failures: int = 0
    last_error: str | None = None

    def state(self, now: float) -> str:
        if self.opened_at is None:
            return "closed"
        if now - self.opened_at >= self.cooldown:
            return "half-open"
        return "open"

    def available(self, now: float) -> bool:
        """May a call go to this deployment now? Claims the half-open probe slot when it is free."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half-open" and not self.probe_in_flight:
            self.probe_in_flight = True
            return True
        return False

    def reopens_in(self, now: float) -> float:
        """Seconds until the circuit lets a probe through (0 when available)."""
        if self.opened_at is None:
            return 0.0
        if self.probe_in_flight:
            return self.cooldown
        return max(0.0, self.opened_at + self.cooldown - now)

    def latency_for_routing(self, now: float, max_age: float = 30.0) -> float:
        """The moving average, or 0 when unmeasured or stale, so such a deployment is (re)measured first."""
        if self.latency is None or self.measured_at is None or now - self.measured_at > max_age:
            return 0.0
        return self.latency

    def record_success(self, latency: float | None) -> None:
        self.consecutive_failures = 0
        self.opened_at = None
        self.probe_in_flight = False
        self.successes += 1
        if latency is not None:
            self.measured_at = time.monotonic()
            self.latency = (
                latency
                if self.latency is None
                else (_EWMA_ALPHA * latency + (1 - _EWMA_ALPHA) * self.latency)
            )

    def record_failure(self, now: float, error: str) -> None:
        self.consecutive_failures += 1
        self.failures += 1
        self.last_error = error
        if self.probe_in_flight or self.consecutive_failures >= self.failures_to_open:
            self.opened_at = now
        self.probe_in_flight = False

    def release_probe(self) -> None:
        """A probe ended without a verdict on the deployment (e.g. a 400 from the caller's input)."""
        self.probe_in_flight = False
