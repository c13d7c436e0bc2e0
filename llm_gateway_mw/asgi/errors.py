"""Gateway refusals escaping a web handler, turned into JSON responses (shared by every adapter).

A wrapped SDK call the gateway refused raises the SDK's own typed error (e.g.
``openai.RateLimitError``) whose response carries ``x-llm-gateway-error: <code>``; that
header is how a refusal is recognised without importing either SDK. Upstream errors
stay the application's business unless ``map_upstream_errors`` is set.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..dialects.errors import error_body, error_type_for_status
from ..errors import ERROR_HEADER, GatewayRefusal

__all__ = [
    "DEFAULT_MAPPED_CODES",
    "ErrorMapper",
    "ErrorResponse",
    "Recognised",
    "recognise_refusal",
    "recognise_upstream",
]

DEFAULT_MAPPED_CODES = frozenset({"rate_limit_exceeded", "budget_exceeded", "no_healthy_deployment"})
"""Refusal codes the middleware answers by default (429, 429/402, 503)."""

_KEPT_HEADERS = ("retry-after", "x-llm-gateway-request-id")
_GROUP: type[BaseException] | None = getattr(builtins, "BaseExceptionGroup", None)  # Python 3.11+


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A framework-neutral HTTP response: status, headers (lowercase names) and JSON body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Recognised:
    """A gateway refusal or upstream error found in an exception."""

    code: str
    status: int
    message: str
    error_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


def _leaf(exc: BaseException) -> BaseException:
    """Unwrap single-member exception groups (anyio task groups wrap handler errors)."""
    while _GROUP is not None and isinstance(exc, _GROUP):
        members: tuple[BaseException, ...] = getattr(exc, "exceptions", ())
        if len(members) != 1:
            break
        exc = members[0]
    return exc


def _body_error(response: Any) -> Mapping[str, Any]:
    try:
        parsed = json.loads(response.content)
    except Exception:  # not read, not JSON: keep the exception's own message
        return {}
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else {}


def _sdk_family(exc: BaseException) -> bool:
    """Whether ``exc`` is an ``openai``/``anthropic`` SDK ``APIError`` (any version, httpx or httpx2)."""
    for cls in type(exc).__mro__:
        if cls.__name__ == "APIError" and cls.__module__.split(".", 1)[0] in ("openai", "anthropic"):
            return True
    return False


def recognise_refusal(exc: BaseException) -> Recognised | None:
    """The refusal behind ``exc``: a ``GatewayRefusal``, or an SDK error carrying ``x-llm-gateway-error``."""
    exc = _leaf(exc)
    if isinstance(exc, GatewayRefusal):
        return Recognised(exc.code, exc.status, exc.message, exc.error_type, dict(exc.headers))
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    code = headers.get(ERROR_HEADER) if headers is not None and hasattr(headers, "get") else None
    if not code or headers is None or not _sdk_family(exc):
        return None
    error = _body_error(response)
    message = error.get("message")
    error_type = error.get("type")
    status = getattr(response, "status_code", 500)
    return Recognised(
        code=str(code),
        status=int(status),
        message=message if isinstance(message, str) else str(exc),
        error_type=error_type if isinstance(error_type, str) else error_type_for_status(int(status)),
        headers={k.lower(): v for k, v in headers.items()},
    )


def recognise_upstream(exc: BaseException) -> Recognised | None:
    """An SDK error that did not come from the gateway: upstream status, timeout or connection error."""
    exc = _leaf(exc)
    if not _sdk_family(exc):
        return None
    response = getattr(exc, "response", None)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if response is not None and hasattr(response, "status_code"):
        status = int(response.status_code)
        message = _body_error(response).get("message") or str(exc)
        return Recognised(
            "upstream_error", 502, f"the model provider answered HTTP {status}: {message}", "api_error"
        )
    if "APITimeoutError" in names:
        return Recognised(
            "upstream_timeout", 504, "the model provider did not answer in time", "timeout_error"
        )
    return Recognised("upstream_unreachable", 502, "the model provider could not be reached", "api_error")


class ErrorMapper:
    """Decides which escaped exceptions become JSON responses, and renders them."""

    __slots__ = ("budget_status", "codes", "upstream")

    def __init__(
        self,
        *,
        codes: Collection[str] = DEFAULT_MAPPED_CODES,
        budget_status: int = 429,
        upstream: bool = False,
    ) -> None:
        self.codes = frozenset(codes)
        self.budget_status = budget_status
        self.upstream = upstream

    def recognise(self, exc: BaseException) -> Recognised | None:
        """What to answer for ``exc``, or None to let it propagate untouched."""
        found = recognise_refusal(exc)
        if found is not None:
            return found if found.code in self.codes else None
        return recognise_upstream(exc) if self.upstream else None

    def response_for(self, exc: BaseException) -> ErrorResponse | None:
        found = self.recognise(exc)
        return None if found is None else self.render(found)

    def render(self, found: Recognised) -> ErrorResponse:
        status = found.status
        if found.code == "budget_exceeded":
            status = self.budget_status
        error_type = found.error_type if status == found.status else error_type_for_status(status)
        body = error_body("openai", message=found.message, error_type=error_type, code=found.code)
        headers = [("content-type", "application/json"), (ERROR_HEADER, found.code)]
        for name, value in found.headers.items():
            lowered = name.lower()
            if lowered in _KEPT_HEADERS or lowered.startswith("x-ratelimit-"):
                headers.append((lowered, value))
        return ErrorResponse(status, headers, json.dumps(body).encode())
