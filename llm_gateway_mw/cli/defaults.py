"""The built-in configs the commands fall back to: mock models with real models' prices.

The mock provider answers offline in both dialects; the model ids are real ones so the
bundled price table prices them, which makes costs and savings read like real traffic.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ADD_PROVIDERS_HINT", "CHEAP_MODEL", "DEFAULT_ROUTE", "STRONG_MODEL", "default_config"]

CHEAP_MODEL = "gpt-4o-mini"
STRONG_MODEL = "gpt-4o"
DEFAULT_ROUTE = "auto"

ADD_PROVIDERS_HINT = """\
To use real providers, write a gateway.toml such as:

    [providers.openai]
    type = "openai"                 # the key comes from $OPENAI_API_KEY

    [[models]]
    name = "gpt-4o-mini"
    provider = "openai"

    [[models]]
    name = "gpt-4o"
    provider = "openai"

    [routes.auto]
    targets = ["gpt-4o-mini", "gpt-4o"]   # cheapest first: complexity routing picks the tier

then check it with `llm-gateway-mw check gateway.toml` and pass --config gateway.toml."""


def default_config(*, latency_ms: float = 0.0) -> dict[str, Any]:
    """Mock deployments of two OpenAI and two Anthropic models, and an ``auto`` complexity route."""
    return {
        "providers": {"mock": {"type": "mock", "latency_ms": latency_ms}},
        "models": [
            {"name": CHEAP_MODEL, "provider": "mock"},
            {"name": STRONG_MODEL, "provider": "mock"},
            {"name": "claude-haiku-4-5", "provider": "mock"},
            {"name": "claude-sonnet-4-5", "provider": "mock"},
        ],
        "routes": {DEFAULT_ROUTE: {"targets": [CHEAP_MODEL, STRONG_MODEL]}},
    }
