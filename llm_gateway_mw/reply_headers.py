"""The gateway's own response headers (request id, deployment, attempts, cost, cache, route).

Built once per reply as (name, lowered name, value) bytes, the form httpx and httpx2 keep
headers in, so a reply handed back as the upstream's own response gets them appended with
no per-header normalising. Other replies take them as text pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .headers import RawHeader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .records import CallRecord

__all__ = [
    "PassthroughHeaders",
    "RawHeader",
    "add_headers",
    "as_text",
    "gateway_header_pairs",
    "gateway_headers",
    "header_text",
    "lane_headers",
    "passthrough_headers",
]


_REQUEST_ID = b"x-llm-gateway-request-id"
_DEPLOYMENT = b"x-llm-gateway-deployment"
_ATTEMPTS = b"x-llm-gateway-attempts"
_COST = b"x-llm-gateway-cost-usd"
_CACHE = b"x-llm-gateway-cache"
_ROUTE = b"x-llm-gateway-route"
_HIT = (_CACHE, _CACHE, b"hit")
_MISS = (_CACHE, _CACHE, b"miss")


# Headers carrying a deployment or route name, built once per name (a gateway has a handful).
_DEPLOYMENTS: dict[str, RawHeader] = {}
_ROUTES: dict[str, RawHeader] = {}
_COUNTS = [(_ATTEMPTS, _ATTEMPTS, b"%d" % n) for n in range(10)]  # attempt counts a call usually has


def _named(built: dict[str, RawHeader], header: bytes, name: str) -> RawHeader:
    """``header`` carrying ``name``, kept in ``built`` for the next reply."""
    named = (header, header, header_text(name).encode())
    if len(built) < 1024:  # passthrough routes are the callers' model names: bound the cache
        built[name] = named
    return named


def header_text(value: str) -> str:
    """``value`` as a header can carry it: ASCII as is, anything else percent-encoded (UTF-8).

    Deployment and route names come from the configuration or the caller's ``model``; HTTP
    header values are ASCII, and httpx refuses anything else when it builds a response.
    """
    return value if value.isascii() else quote(value, safe="")


def gateway_headers(call: CallRecord) -> list[RawHeader]:
    """The gateway's headers for ``call``'s reply, as httpx stores them (names are lower case)."""
    headers = [(_REQUEST_ID, _REQUEST_ID, call.request_id.encode())]  # the gateway's own ids are ASCII
    attempts = call.attempts
    if attempts:
        count = len(attempts)
        name = attempts[-1].deployment
        headers.append(_DEPLOYMENTS.get(name) or _named(_DEPLOYMENTS, _DEPLOYMENT, name))
        headers.append(_COUNTS[count] if count < 10 else (_ATTEMPTS, _ATTEMPTS, b"%d" % count))
    if call.cost_usd is not None:
        headers.append((_COST, _COST, b"%.8f" % call.cost_usd))
    headers.append(_HIT if call.cache_hit else _MISS)
    route = call.route
    if route:
        headers.append(_ROUTES.get(route) or _named(_ROUTES, _ROUTE, route))
    return headers


PassthroughHeaders = tuple[RawHeader, RawHeader, RawHeader, RawHeader]
"""The headers fixed for an express-lane model: deployment, attempts (1), cache (miss), route."""


def passthrough_headers(deployment: str, route: str) -> PassthroughHeaders:
    """What every express-lane reply for one model carries, built once (``Binding.remember``)."""
    return (
        _DEPLOYMENTS.get(deployment) or _named(_DEPLOYMENTS, _DEPLOYMENT, deployment),
        _COUNTS[1],
        _MISS,
        _ROUTES.get(route) or _named(_ROUTES, _ROUTE, route),
    )


def lane_headers(request_id: str, cost: float | None, fixed: PassthroughHeaders) -> tuple[RawHeader, ...]:
    """An express-lane reply's headers, in ``gateway_headers``' order, from the model's ``fixed`` ones."""
    deployment, attempts, cache, route = fixed
    rid = (_REQUEST_ID, _REQUEST_ID, request_id.encode())
    if cost is None:
        return rid, deployment, attempts, cache, route
    return rid, deployment, attempts, (_COST, _COST, b"%.8f" % cost), cache, route


def add_headers(headers: Any, raw: Sequence[RawHeader]) -> None:
    """Append ``raw`` to an httpx ``Headers`` in place (stored as httpx keeps them: no re-normalising)."""
    stored = getattr(headers, "_list", None)
    if isinstance(stored, list):
        stored.extend(raw)
    else:  # not the httpx we know: let it normalise every header
        for name, _, value in raw:
            headers[name.decode()] = value.decode()


def as_text(headers: list[tuple[str, str]], raw: Sequence[RawHeader]) -> list[tuple[str, str]]:
    """``headers``, then ``raw`` decoded, as text pairs."""
    return [*headers, *((name.decode(), value.decode()) for name, _, value in raw)]


def gateway_header_pairs(call: CallRecord, upstream: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``upstream``'s headers, then the gateway's, as text pairs (for a reply the gateway builds)."""
    return as_text(upstream, gateway_headers(call))
