"""Wire dialects the gateway speaks: OpenAI Chat Completions and Anthropic Messages."""

from __future__ import annotations

from typing import Literal

__all__ = ["Dialect"]

Dialect = Literal["openai", "anthropic"]
