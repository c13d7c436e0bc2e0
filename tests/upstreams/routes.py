"""Endpoints of the fake upstream and the request-level checks (route, auth, headers, body, model)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import anthropic_replies, openai_replies, openai_responses
from .anthropic_validate import validate_count_tokens, validate_messages
from .errors import ANTHROPIC, OPENAI, ApiError
from .http11 import HttpRequest
from .openai_validate import validate_chat, validate_embeddings, validate_responses
from .wire import Context, Payload, SseEvent

OPENAI_JSON_HINT = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)
OPENAI_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if "
    "you're accessing the API from your browser and are prompted for a username. You can obtain an API key "
    "from https://platform.openai.com/account/api-keys."
)


@dataclass(frozen=True)
class Route:
    """An endpoint: dialect, body validator, reply builder, in-band stream error, JSON body or not."""

    dialect: str
    validate: Callable[[Mapping[str, Any]], None]
    build: Callable[[Context], Payload]
    stream_error: Callable[[str, str], SseEvent]
    has_body: bool = True


def _no_body(_body: Mapping[str, Any]) -> None:
    """GET routes take no JSON body."""


def _no_stream(error_type: str, message: str) -> SseEvent:
    raise AssertionError("GET routes never stream")


ROUTES: dict[str, Route] = {
    "/v1/chat/completions": Route(
        OPENAI, validate_chat, openai_replies.chat_completion, openai_replies.stream_error_event
    ),
    "/v1/embeddings": Route(
        OPENAI, validate_embeddings, openai_replies.embeddings, openai_replies.stream_error_event
    ),
    "/v1/responses": Route(
        OPENAI, validate_responses, openai_responses.create_response, openai_responses.stream_error_event
    ),
    "/v1/messages": Route(
        ANTHROPIC, validate_messages, anthropic_replies.create_message, anthropic_replies.stream_error_event
    ),
    "/v1/messages/count_tokens": Route(
        ANTHROPIC, validate_count_tokens, anthropic_replies.count_tokens, anthropic_replies.stream_error_event
    ),
}


def _mask(key: str) -> str:
    return key if len(key) < 8 else f"{key[:3]}{'*' * 10}{key[-4:]}"


def route_for(req: HttpRequest, models: Sequence[str] | None) -> Route | None:
    """The endpoint serving ``req`` (``GET /v1/models`` is Anthropic-shaped with ``anthropic-version``)."""
    if req.method == "POST":
        return ROUTES.get(req.path)
    if req.method == "GET" and req.path == "/v1/models":
        if "anthropic-version" in req.headers:
            ant_names = tuple(models or anthropic_replies.DEFAULT_MODELS)
            return Route(
                ANTHROPIC, _no_body, lambda _ctx: anthropic_replies.models(ant_names), _no_stream, False
            )
        oai_names = tuple(models or openai_replies.DEFAULT_MODELS)
        return Route(OPENAI, _no_body, lambda _ctx: openai_replies.models(oai_names), _no_stream, False)
    return None


def dialect_of(req: HttpRequest, route: Route | None) -> str:
    """The dialect used to answer ``req`` (also for unknown routes)."""
    if route is not None:
        return route.dialect
    anthropic_shaped = req.path.startswith("/v1/messages") or "anthropic-version" in req.headers
    return ANTHROPIC if anthropic_shaped else OPENAI


def check_request(
    req: HttpRequest,
    route: Route | None,
    body: Any,
    parsed: bool,
    *,
    api_key: str | None,
    models: Sequence[str] | None,
) -> Route:
    """Raise :class:`ApiError` like the real API would; return the route otherwise.

    Order: route (404), auth (401), ``anthropic-version`` (400), JSON body (400),
    parameter validation (400), model allow-list (404).
    """
    dialect = dialect_of(req, route)
    if route is None:
        if dialect == OPENAI:
            raise ApiError(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error")
        raise ApiError(404, "Not Found", "not_found_error")
    check_auth(dialect, req.headers, api_key)
    if dialect == ANTHROPIC and not req.headers.get("anthropic-version"):
        raise ApiError(400, "anthropic-version: header is required", "invalid_request_error")
    if not route.has_body:
        return route
    if not parsed or not isinstance(body, dict):
        message = (
            OPENAI_JSON_HINT
            if dialect == OPENAI
            else "There was an issue with your request body: the body must be a JSON object."
        )
        raise ApiError(400, message, "invalid_request_error")
    route.validate(body)
    if models is not None and body["model"] not in models:
        if dialect == OPENAI:
            raise ApiError(
                404,
                f"The model `{body['model']}` does not exist or you do not have access to it.",
                "invalid_request_error",
                None,
                "model_not_found",
            )
        raise ApiError(404, f"model: {body['model']}", "not_found_error")
    return route


def check_auth(dialect: str, headers: Mapping[str, str], api_key: str | None) -> None:
    """OpenAI: ``Authorization: Bearer``; Anthropic: ``x-api-key`` or Bearer. ``api_key=None``: any key."""
    auth = headers.get("authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if dialect == OPENAI:
        if not bearer:
            raise ApiError(401, OPENAI_NO_KEY, "invalid_request_error")
        if api_key is not None and bearer != api_key:
            raise ApiError(
                401,
                f"Incorrect API key provided: {_mask(bearer)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                None,
                "invalid_api_key",
            )
        return
    key = headers.get("x-api-key") or bearer
    if not key:
        raise ApiError(401, "x-api-key header is required", "authentication_error")
    if api_key is not None and key != api_key:
        raise ApiError(401, "invalid x-api-key", "authentication_error")
