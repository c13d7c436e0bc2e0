"""The gateway's own response headers (request id, deployment, attempts, cost, cache, route).

Built once per reply as (name, lowered name, value) bytes, the form httpx and httpx2 keep
headers in, so a reply handed back as the upstream's own response gets them appended with
no per-header normalising. Other replies take them as text pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .records import CallRecord

__all__ = ["RawHeader", "as_text", "gateway_header_pairs", "gateway_headers", "header_text"]

RawHeader = tuple[bytes, bytes, bytes]  # (name, lowered name, value), as httpx stores a header

_REQUEST_ID = b"x-llm-gateway-request-id"
_DEPLOYMENT = b"x-llm-gateway-deployment"
_ATTEMPTS = b"x-llm-gateway-attempts"
_COST = b"x-llm-gateway-cost-usd"
_CACHE = b"x-llm-gateway-cache"
_ROUTE = b"x-llm-gateway-route"


_ENCODED: dict[str, bytes] = {}  # deployment and route names as header bytes: a gateway has a handful


def _encoded(name: str) -> bytes:
    encoded = _ENCODED.get(name)
    if encoded is None:
        encoded = header_text(name).encode()
        if len(_ENCODED) < 1024:  # passthrough routes are the callers' model names: bound the cache
            _ENCODED[name] = encoded
    return encoded


def header_text(value: str) -> str:
    """``value`` as a header can carry it: ASCII as is, anything else percent-encoded (UTF-8).

    Deployment and route names come from the configuration or the caller's ``model``; HTTP
    header values are ASCII, and httpx refuses anything else when it builds a response.
    """
    return value if value.isascii() else quote(value, safe="")


def gateway_headers(call: CallRecord) -> list[RawHeader]:
    """The gateway's headers for ``call``'s reply, as httpx stores them (names are lower case)."""
    encoded = _ENCODED
    headers = [(_REQUEST_ID, _REQUEST_ID, call.request_id.encode())]  # the gateway's own ids are ASCII
    attempts = call.attempts
    if attempts:
        name = attempts[-1].deployment
        headers.append((_DEPLOYMENT, _DEPLOYMENT, encoded.get(name) or _encoded(name)))
        headers.append((_ATTEMPTS, _ATTEMPTS, b"%d" % len(attempts)))
    if call.cost_usd is not None:
        headers.append((_COST, _COST, b"%.8f" % call.cost_usd))
    headers.append((_CACHE, _CACHE, b"hit" if call.cache_hit else b"miss"))
    route = call.route
    if route:
        headers.append((_ROUTE, _ROUTE, encoded.get(route) or _encoded(route)))
    return headers


def as_text(headers: list[tuple[str, str]], raw: Sequence[RawHeader]) -> list[tuple[str, str]]:
    """``headers``, then ``raw`` decoded, as text pairs."""
    return [*headers, *((name.decode(), value.decode()) for name, _, value in raw)]


def gateway_header_pairs(call: CallRecord, upstream: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``upstream``'s headers, then the gateway's, as text pairs (for a reply the gateway builds)."""
    return as_text(upstream, gateway_headers(call))
