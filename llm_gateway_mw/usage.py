"""Token usage of one call, in one shape whatever the provider's dialect."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage"]


@dataclass(slots=True)
class Usage:
    """Tokens a call consumed.

    ``input_tokens`` counts every input token, cached ones included (OpenAI's
    ``prompt_tokens``; Anthropic's ``input_tokens + cache_read + cache_creation``), so it
    matches ``gen_ai.usage.input_tokens``. ``output_tokens`` includes reasoning tokens.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens
