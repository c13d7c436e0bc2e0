"""Reading headers that are either (name, value) pairs or an httpx/httpx2 ``Headers`` object.

The hot path keeps the HTTP library's own header objects and decodes them only when a
value is actually read; tests and the endpoint hand over plain pairs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RawHeader", "header_pairs", "header_value", "raw_header"]

RawHeader = tuple[bytes, bytes, bytes]  # (name, lowered name, value), as httpx stores a header


def header_value(headers: Any, name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), or None."""
    if not isinstance(headers, list):
        value = headers.get(name)
        return value if isinstance(value, str) else None
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return str(value)
    return None


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Every header as (name, value) pairs."""
    return headers if isinstance(headers, list) else list(headers.multi_items())


def raw_header(name: str, value: str) -> RawHeader:
    """A header as httpx stores it; ASCII, as httpx requires (a non-ASCII value fails as it would there)."""
    encoded = name.encode("ascii")
    return encoded, encoded.lower(), value.encode("ascii")
