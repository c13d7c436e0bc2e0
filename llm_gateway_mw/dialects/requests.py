"""Request bodies between OpenAI Chat Completions and Anthropic Messages (pure, no I/O).

Each direction lives in its own module; see their docstrings for the normalisations
applied and the parameters that are refused rather than translated.
"""

from __future__ import annotations

from .request_to_anthropic import PLACEHOLDER_USER_TEXT, openai_chat_to_anthropic
from .request_to_openai import TOOL_ERROR_PREFIX, anthropic_to_openai_chat

__all__ = [
    "PLACEHOLDER_USER_TEXT",
    "TOOL_ERROR_PREFIX",
    "anthropic_to_openai_chat",
    "openai_chat_to_anthropic",
]
