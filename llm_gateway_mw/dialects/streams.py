"""Stream translators and observers: one interface for every upstream/client dialect pair.

The transport feeds each upstream :class:`SSEEvent` to a :class:`StreamTranslator`, sends
what it returns to the application, calls ``finish()`` when the upstream closes cleanly,
and then reads what was observed (usage, finish reasons, id, model, completion).

Same-dialect streams use the passthrough observers, which run per chunk on the hot
path: they forward events untouched and parse JSON only for the few events that carry
what they record, found by cheap substring or event-name checks.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..usage import Usage
from .sse import SSEEvent
from .stream_to_anthropic import OpenAIToAnthropicStream
from .stream_to_openai import DONE_EVENT, AnthropicToOpenAIStream
from .wire_usage import usage_from_anthropic_usage, usage_from_openai_usage

__all__ = [
    "DONE_EVENT",
    "AnthropicPassthroughObserver",
    "AnthropicToOpenAIStream",
    "OpenAIPassthroughObserver",
    "OpenAIToAnthropicStream",
    "StreamTranslator",
]


class StreamTranslator(Protocol):
    """Turns upstream events into client events and records what the stream said."""

    usage: Usage | None
    finish_reasons: list[str]
    response_id: str | None
    response_model: str | None
    completed: bool
    """True once the upstream's final event (``[DONE]`` / ``message_stop``) was seen."""

    def feed(self, ev: SSEEvent) -> list[SSEEvent]:
        """The client events for one upstream event."""
        ...

    def finish(self) -> list[SSEEvent]:
        """Events that close the client stream when the upstream ended without its terminator."""
        ...


def _loads(data: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class OpenAIPassthroughObserver:
    """Forwards an OpenAI stream unchanged, observing it.

    With ``strip_usage_chunk`` the usage-only chunk (``choices: []``) is withheld: the
    gateway adds ``include_usage`` upstream for accounting even when the application did
    not ask for it, and an application that did not ask must not receive that chunk.
    """

    def __init__(self, strip_usage_chunk: bool) -> None:
        self.strip_usage_chunk = strip_usage_chunk
        self.usage: Usage | None = None
        self.finish_reasons: list[str] = []
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.completed = False
        self._first = True
        self._reasons: dict[Any, str] = {}

    def feed(self, ev: SSEEvent) -> list[SSEEvent]:
        """Record what ``ev`` carries and return it (or nothing, for a stripped usage chunk)."""
        data = ev.data
        if data.startswith("[DONE]"):
            self.completed = True
            return [ev]
        parsed: dict[str, Any] | None = None
        if self._first:
            self._first = False
            parsed = _loads(data)
            if parsed is not None:
                self.response_id = parsed.get("id")
                self.response_model = parsed.get("model")
        if '"usage":{' in data or '"usage": {' in data:
            parsed = parsed or _loads(data) or {}
            usage = parsed.get("usage")
            if isinstance(usage, dict):
                self.usage = usage_from_openai_usage(usage)
                if self.strip_usage_chunk and not parsed.get("choices"):
                    return []
        if '"finish_reason":"' in data or '"finish_reason": "' in data:
            parsed = parsed or _loads(data)
            for choice in (parsed or {}).get("choices") or []:
                reason = choice.get("finish_reason") if isinstance(choice, dict) else None
                if isinstance(reason, str):
                    # One per choice, even from servers that repeat it on a later chunk.
                    self._reasons[choice.get("index", 0)] = reason
                    self.finish_reasons = list(self._reasons.values())
        return [ev]

    def finish(self) -> list[SSEEvent]:
        """Nothing to add: OpenAI clients accept a stream that ends without ``[DONE]``."""
        return []


class AnthropicPassthroughObserver:
    """Forwards an Anthropic stream unchanged, parsing only ``message_start`` and ``message_delta``."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.finish_reasons: list[str] = []
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.completed = False
        self._raw_usage: dict[str, Any] = {}

    def feed(self, ev: SSEEvent) -> list[SSEEvent]:
        """Record what ``ev`` carries and return it."""
        name = ev.event
        if name is None and '"type":"message_' in ev.data:  # a relay that dropped event names
            name = str((_loads(ev.data) or {}).get("type"))
        if name == "message_start":
            message = (_loads(ev.data) or {}).get("message")
            if isinstance(message, dict):
                self.response_id = message.get("id")
                self.response_model = message.get("model")
                self._merge_usage(message.get("usage"))
        elif name == "message_delta":
            parsed = _loads(ev.data) or {}
            delta = parsed.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if isinstance(reason, str):
                self.finish_reasons = [reason]
            self._merge_usage(parsed.get("usage"))
        elif name == "message_stop":
            self.completed = True
        return [ev]

    def finish(self) -> list[SSEEvent]:
        """Nothing to add: the events forwarded so far are all the upstream said."""
        return []

    def _merge_usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            self._raw_usage.update({k: v for k, v in usage.items() if v is not None})
            self.usage = usage_from_anthropic_usage(self._raw_usage)
