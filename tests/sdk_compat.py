"""Small shims so the same tests run on both SDK generations (openai 1.x/anthropic 0.x and current)."""

from __future__ import annotations

from typing import Any


def chat_stream(client: Any) -> Any:
    """``chat.completions.stream`` (current SDKs) or ``beta.chat.completions.stream`` (older 1.x)."""
    completions = client.chat.completions
    return completions.stream if hasattr(completions, "stream") else client.beta.chat.completions.stream
