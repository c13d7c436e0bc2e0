"""Config builders for tests that point a Gateway at fake upstreams on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from tests.upstreams.server import FakeUpstream

KEY_ENV = "LLM_GW_TEST_UPSTREAM_KEY"


def openai_provider(upstream: FakeUpstream) -> dict[str, Any]:
    return {"type": "openai-compatible", "base_url": upstream.openai_base_url, "api_key_env": KEY_ENV}


def anthropic_provider(upstream: FakeUpstream) -> dict[str, Any]:
    return {"type": "anthropic", "base_url": upstream.anthropic_base_url, "api_key_env": KEY_ENV}


def two_dialects(upstream: FakeUpstream, **extra: Any) -> dict[str, Any]:
    """gpt-4o served by an OpenAI-dialect upstream, claude-sonnet by an Anthropic one."""
    config: dict[str, Any] = {
        "providers": {"oai": openai_provider(upstream), "ant": anthropic_provider(upstream)},
        "models": [
            {"name": "gpt-4o", "provider": "oai", "model": "gpt-4o-2024-08-06"},
            {"name": "claude-sonnet", "provider": "ant", "model": "claude-sonnet-4-5"},
        ],
        "retry": {"attempts": 1, "backoff_initial": 0.01},
    }
    config.update(extra)
    return config
