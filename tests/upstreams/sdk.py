"""Real SDK clients pointed at a fake upstream (or any 127.0.0.1 URL), without retries."""

from __future__ import annotations

from typing import Any

import anthropic
import openai

from .server import FakeUpstream

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-sonnet-4-6"
USER_HI: list[Any] = [{"role": "user", "content": "hi"}]
OPENAI_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
ANTHROPIC_TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


def _key(target: FakeUpstream | str, api_key: str | None) -> str:
    if api_key is not None:
        return api_key
    return (target.api_key if isinstance(target, FakeUpstream) else None) or "test-key"


def _root(target: FakeUpstream | str) -> str:
    return target.url if isinstance(target, FakeUpstream) else target


def openai_client(target: FakeUpstream | str, *, api_key: str | None = None, **kwargs: Any) -> openai.OpenAI:
    """``openai.OpenAI`` on ``<target>/v1`` with ``max_retries=0`` unless given."""
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=f"{_root(target)}/v1", api_key=_key(target, api_key), **kwargs)


def async_openai_client(
    target: FakeUpstream | str, *, api_key: str | None = None, **kwargs: Any
) -> openai.AsyncOpenAI:
    """``openai.AsyncOpenAI`` on ``<target>/v1``."""
    kwargs.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=f"{_root(target)}/v1", api_key=_key(target, api_key), **kwargs)


def anthropic_client(
    target: FakeUpstream | str, *, api_key: str | None = None, **kwargs: Any
) -> anthropic.Anthropic:
    """``anthropic.Anthropic`` on ``<target>``."""
    kwargs.setdefault("max_retries", 0)
    return anthropic.Anthropic(base_url=_root(target), api_key=_key(target, api_key), **kwargs)


def async_anthropic_client(
    target: FakeUpstream | str, *, api_key: str | None = None, **kwargs: Any
) -> anthropic.AsyncAnthropic:
    """``anthropic.AsyncAnthropic`` on ``<target>``."""
    kwargs.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(base_url=_root(target), api_key=_key(target, api_key), **kwargs)
