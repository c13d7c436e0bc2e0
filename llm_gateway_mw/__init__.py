"""llm-gateway-mw: an LLM gateway inside your web app.

Wrap the official ``openai``/``anthropic`` clients and every call is routed, limited,
budgeted, retried and failed over, cached, costed and traced, with no proxy hop::

    gateway = Gateway.from_file("gateway.toml")
    client = gateway.wrap(openai.OpenAI())

Importing this package is cheap: the SDKs, frameworks, Redis and exporters load only
when something needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    BudgetExceeded,
    ConfigError,
    GatewayError,
    GatewayRefusal,
    NoHealthyDeployment,
    RateLimitExceeded,
    UnsupportedParameterError,
)

if TYPE_CHECKING:
    from .asgi.middleware import LLMGatewayMiddleware
    from .gateway import Gateway
    from .telemetry.setup import configure_telemetry

__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "Gateway",
    "GatewayError",
    "GatewayRefusal",
    "LLMGatewayMiddleware",
    "NoHealthyDeployment",
    "RateLimitExceeded",
    "UnsupportedParameterError",
    "configure_telemetry",
]

__version__ = "0.1.0"

_LAZY = {
    "Gateway": ("llm_gateway_mw.gateway", "Gateway"),
    "LLMGatewayMiddleware": ("llm_gateway_mw.asgi.middleware", "LLMGatewayMiddleware"),
    "configure_telemetry": ("llm_gateway_mw.telemetry.setup", "configure_telemetry"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'llm_gateway_mw' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(target[0]), target[1])
    globals()[name] = value
    return value
