"""Why a generation stopped, between OpenAI ``finish_reason`` and Anthropic ``stop_reason``.

OpenAI does not say which stop sequence matched, so ``stop`` becomes ``end_turn``;
``pause_turn`` (server tools only) becomes ``stop``; ``refusal`` and ``content_filter``
correspond; a full context window reads as ``length``.
"""

from __future__ import annotations

__all__ = ["finish_reason_for", "stop_reason_for"]

_FINISH_BY_STOP: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_STOP_BY_FINISH: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def finish_reason_for(stop_reason: str | None) -> str:
    """The OpenAI ``finish_reason`` for an Anthropic ``stop_reason`` (``stop`` when unknown)."""
    return _FINISH_BY_STOP.get(stop_reason or "", "stop")


def stop_reason_for(finish_reason: str | None) -> str:
    """The Anthropic ``stop_reason`` for an OpenAI ``finish_reason`` (``end_turn`` when unknown)."""
    return _STOP_BY_FINISH.get(finish_reason or "", "end_turn")
