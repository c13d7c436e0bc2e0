"""Error bodies and headers in the shape each real API sends them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from .behaviours import HttpError
from .http11 import reason
from .ids import anthropic_request_id, openai_request_id

OPENAI = "openai"
ANTHROPIC = "anthropic"

OPENAI_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1. "
        "Please try again in 1s.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}

ANTHROPIC_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    408: ("timeout_error", "Request timed out."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    502: ("api_error", "Bad gateway"),
    503: ("api_error", "Service unavailable"),
    504: ("timeout_error", "Gateway timeout"),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass
class ApiError(Exception):
    """A request rejected by validation; rendered in the request's dialect."""

    status: int
    message: str
    error_type: str | None = None
    param: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def openai_error_body(
    status: int, message: str | None, error_type: str | None, param: str | None, code: str | None
) -> dict[str, object]:
    """``{"error": {"message", "type", "param", "code"}}``."""
    d_type, d_code, d_message = OPENAI_DEFAULTS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"{reason(status)}.")
    )
    return {
        "error": {
            "message": message if message is not None else d_message,
            "type": error_type or d_type,
            "param": param,
            "code": code if code is not None or error_type is not None else d_code,
        }
    }


def anthropic_error_body(
    status: int, message: str | None, error_type: str | None, request_id: str
) -> dict[str, object]:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    d_type, d_message = ANTHROPIC_DEFAULTS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", f"{reason(status)}.")
    )
    return {
        "type": "error",
        "error": {"type": error_type or d_type, "message": message if message is not None else d_message},
        "request_id": request_id,
    }


def openai_duration(seconds: float) -> str:
    """Format a duration like OpenAI's reset headers: ``"20ms"``, ``"1.5s"``, ``"6m0s"``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    rest_s = f"{rest:.3f}".rstrip("0").rstrip(".")
    return f"{int(minutes)}m{rest_s}s" if minutes else f"{rest_s}s"


def rfc3339_in(seconds: float) -> str:
    """An RFC 3339 UTC timestamp ``seconds`` from now, like Anthropic's reset headers."""
    moment = datetime.fromtimestamp(time.time() + seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def error_headers(dialect: str, err: HttpError) -> list[tuple[str, str]]:
    """``Retry-After``/``retry-after-ms`` and rate-limit headers of an error."""
    headers: list[tuple[str, str]] = []
    if err.retry_after is not None:
        headers.append(("retry-after", _fmt_seconds(err.retry_after)))
    if err.retry_after_ms is not None:
        headers.append(("retry-after-ms", str(err.retry_after_ms)))
    is_429 = err.status == 429
    if dialect == OPENAI:
        if is_429 or err.reset_requests is not None:
            headers += [("x-ratelimit-limit-requests", "500"), ("x-ratelimit-remaining-requests", "0")]
        if err.reset_requests is not None:
            headers.append(("x-ratelimit-reset-requests", openai_duration(err.reset_requests)))
        if err.reset_tokens is not None:
            headers += [
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-reset-tokens", openai_duration(err.reset_tokens)),
            ]
    else:
        if is_429 or err.reset_requests is not None:
            headers += [
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "0"),
            ]
        if err.reset_requests is not None:
            headers.append(("anthropic-ratelimit-requests-reset", rfc3339_in(err.reset_requests)))
        if err.reset_tokens is not None:
            headers += [
                ("anthropic-ratelimit-tokens-remaining", "0"),
                ("anthropic-ratelimit-tokens-reset", rfc3339_in(err.reset_tokens)),
            ]
    headers += list(err.headers)
    return headers


def request_id_header(dialect: str) -> tuple[str, str]:
    """The per-response request id header of ``dialect``."""
    if dialect == OPENAI:
        return ("x-request-id", openai_request_id())
    return ("request-id", anthropic_request_id())


def render_error(
    dialect: str,
    status: int,
    *,
    message: str | None = None,
    error_type: str | None = None,
    param: str | None = None,
    code: str | None = None,
    extra_headers: list[tuple[str, str]] | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and JSON body of an error in ``dialect``."""
    rid_name, rid = request_id_header(dialect)
    if dialect == OPENAI:
        body: dict[str, object] = openai_error_body(status, message, error_type, param, code)
    else:
        body = anthropic_error_body(status, message, error_type, rid)
    headers = [("content-type", "application/json"), (rid_name, rid), *(extra_headers or [])]
    return status, headers, json.dumps(body).encode()


def render_api_error(dialect: str, err: ApiError) -> tuple[int, list[tuple[str, str]], bytes]:
    """Render a validation failure."""
    return render_error(
        dialect, err.status, message=err.message, error_type=err.error_type, param=err.param, code=err.code
    )


def render_http_error(dialect: str, err: HttpError) -> tuple[int, list[tuple[str, str]], bytes]:
    """Render a scripted :class:`HttpError`."""
    return render_error(
        dialect,
        err.status,
        message=err.message,
        error_type=err.error_type,
        code=err.code,
        extra_headers=error_headers(dialect, err),
    )
