"""The gateway's error classes: each says what went wrong and how to fix it.

Refusals raised inside the pipeline (``GatewayRefusal`` subclasses) never escape to the
application as such: the transport renders them as an HTTP error response in the
dialect the application's SDK speaks, so the SDK raises its own typed exception
(``openai.RateLimitError``, ``anthropic.NotFoundError``...). The response carries the
``x-llm-gateway-error`` header with the refusal's ``code`` so middleware can recognise it.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "GatewayError",
    "GatewayRefusal",
    "InvalidRequestError",
    "MissingCredentialsError",
    "ModelNotAllowedError",
    "NoHealthyDeployment",
    "RateLimitExceeded",
    "StorageUnavailableError",
    "UnknownModelError",
    "UnsupportedParameterError",
    "UpstreamStreamError",
]

ERROR_HEADER = "x-llm-gateway-error"


class GatewayError(Exception):
    """Base class of every error raised by llm-gateway-mw."""


class ConfigError(GatewayError, ValueError):
    """A configuration is malformed; names the file, the key path, what was expected and found."""

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        file: str | None = None,
        expected: str | None = None,
        found: object = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.file = file
        self.expected = expected
        self.found = found
        self.hint = hint
        where = f"{file}: " if file else ""
        at = f"{path}: " if path else ""
        text = f"{where}{at}{message}"
        if expected is not None:
            text += f" (expected {expected}, found {_describe(found)})"
        if hint:
            text += f"; {hint}"
        self.detail = message
        super().__init__(text)


def _describe(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


class GatewayRefusal(GatewayError):
    """The gateway refused or could not serve a call; rendered as an HTTP error response."""

    status: int = 400
    code: str = "gateway_error"
    error_type: str = "invalid_request_error"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


class InvalidRequestError(GatewayRefusal):
    """The request body cannot be understood (not JSON, missing model, wrong field types)."""

    status = 400
    code = "invalid_request"


class UnsupportedParameterError(GatewayRefusal):
    """A request parameter cannot be translated to the target deployment's dialect."""

    status = 400
    code = "unsupported_parameter"

    def __init__(self, parameter: str, target: str, reason: str = "") -> None:
        self.parameter = parameter
        self.target = target
        why = f": {reason}" if reason else ""
        super().__init__(
            f"parameter '{parameter}' cannot be translated to {target}{why}. Remove it from the request, "
            f"or set drop_unsupported = true on the [[models]] entry to drop it silently."
        )


class UnknownModelError(GatewayRefusal):
    """The requested model is not declared (strict mode, or the mounted endpoint)."""

    status = 404
    code = "model_not_found"

    def __init__(self, model: str, declared: list[str]) -> None:
        self.model = model
        names = ", ".join(sorted(declared)) or "(none)"
        super().__init__(
            f"model '{model}' is not declared in the gateway config. Declared models and routes: {names}. "
            f"Add a [[models]] entry named '{model}', or ask for one of the declared names."
        )


class ModelNotAllowedError(GatewayRefusal):
    """A gateway key asked for a model outside its allowlist."""

    status = 403
    code = "model_not_allowed"
    error_type = "permission_error"


class MissingCredentialsError(GatewayRefusal):
    """A provider's API key variable is not set in the environment."""

    status = 401
    code = "missing_credentials"
    error_type = "authentication_error"

    def __init__(self, provider: str, variable: str) -> None:
        self.provider = provider
        self.variable = variable
        super().__init__(
            f"provider '{provider}' needs an API key but the environment variable {variable} is not set. "
            f"Export {variable}, or change api_key_env in [providers.{provider}]."
        )


class RateLimitExceeded(GatewayRefusal):
    """A rate-limit rule refused the call; carries Retry-After and x-ratelimit-* headers."""

    status = 429
    code = "rate_limit_exceeded"
    error_type = "rate_limit_error"

    def __init__(self, rule: str, *, limit: int, remaining: int, reset_after: float) -> None:
        self.rule = rule
        self.limit = limit
        self.remaining = remaining
        self.retry_after = max(0.0, reset_after)
        retry = max(1, int(self.retry_after + 0.999))
        super().__init__(
            f"rate limit exceeded for rule '{rule}': retry after {retry}s",
            headers={
                "retry-after": str(retry),
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(max(0, remaining)),
                "x-ratelimit-reset": str(retry),
            },
        )


class BudgetExceeded(GatewayRefusal):
    """A budget rule has no room for this call's worst-case cost."""

    status = 429
    code = "budget_exceeded"
    error_type = "rate_limit_error"

    def __init__(
        self, rule: str, *, budget_usd: float, spent_usd: float, needed_usd: float, reset_after: float
    ):
        self.rule = rule
        self.budget_usd = budget_usd
        self.spent_usd = spent_usd
        self.needed_usd = needed_usd
        self.retry_after = max(0.0, reset_after)
        retry = max(1, int(self.retry_after + 0.999))
        super().__init__(
            f"budget exceeded for rule '{rule}': ${spent_usd:.6f} of ${budget_usd:.6f} used or reserved, "
            f"this call may cost up to ${needed_usd:.6f}; the budget resets in {retry}s. Lower max_tokens "
            f"or raise the budget.",
            headers={"retry-after": str(retry)},
        )


class NoHealthyDeployment(GatewayRefusal):
    """Every candidate deployment is failing, cooling down or at its limit."""

    status = 503
    code = "no_healthy_deployment"
    error_type = "api_error"

    def __init__(self, model: str, detail: str, *, retry_after: float) -> None:
        self.model = model
        self.retry_after = max(0.0, retry_after)
        retry = max(1, int(self.retry_after + 0.999))
        super().__init__(
            f"no healthy deployment can serve '{model}': {detail}. Retry in {retry}s.",
            headers={"retry-after": str(retry)},
        )


class StorageUnavailableError(GatewayRefusal):
    """The limits/budget/cache storage is unreachable and the config says fail closed."""

    status = 503
    code = "storage_unavailable"
    error_type = "api_error"


class UpstreamStreamError(GatewayError):
    """An upstream stream failed after its first byte reached the application."""
