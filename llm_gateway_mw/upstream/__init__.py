"""Upstreams the gateway sends to: real HTTP servers and the in-process mock."""

from __future__ import annotations

__all__: list[str] = []
