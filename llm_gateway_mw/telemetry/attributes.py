"""Adding optional span attributes: only the values a call actually has (None and empty are left out)."""

from __future__ import annotations

from typing import Any

__all__ = ["put_present"]


def put_present(attributes: dict[str, Any], *pairs: tuple[str, Any]) -> None:
    """Set each (name, value) whose value is not None, "" or an empty sequence (0 and False are kept)."""
    for name, value in pairs:
        if value is None or value == "" or value == () or value == []:
            continue
        attributes[name] = value
