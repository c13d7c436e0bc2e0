"""Routing: strategies, complexity tiers, retries, circuit breaking and failover plans."""

from __future__ import annotations

__all__: list[str] = []
