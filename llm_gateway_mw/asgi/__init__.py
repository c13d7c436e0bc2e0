"""The mountable endpoint, the ASGI middleware and the status page."""

from __future__ import annotations

__all__: list[str] = []
