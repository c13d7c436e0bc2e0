"""Providers: deployments, how to address them, and the built-in mock."""

from __future__ import annotations

__all__: list[str] = []
