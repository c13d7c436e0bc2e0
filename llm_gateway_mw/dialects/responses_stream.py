"""Observes an OpenAI Responses API event stream passing through unchanged.

Responses streams end with ``response.completed`` (or ``.failed``/``.incomplete``)
rather than ``[DONE]``; usage rides on that final event's ``response`` object.
"""

from __future__ import annotations

import json

from ..usage import Usage
from .sse import SSEEvent

__all__ = ["ResponsesPassthroughObserver"]

_FINAL = frozenset({"response.completed", "response.failed", "response.incomplete"})


class ResponsesPassthroughObserver:
    """Passes Responses API events through, noting id, model, usage and how the response ended."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.finish_reasons: list[str] = []
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.completed = False

    def feed(self, ev: SSEEvent) -> list[SSEEvent]:
        kind = ev.event
        if kind == "response.created" or kind in _FINAL:
            self._read(ev, final=kind in _FINAL)
        return [ev]

    def finish(self) -> list[SSEEvent]:
        return []

    def _read(self, ev: SSEEvent, *, final: bool) -> None:
        try:
            response = json.loads(ev.data).get("response") or {}
        except (ValueError, AttributeError):
            return
        if isinstance(response.get("id"), str):
            self.response_id = response["id"]
        if isinstance(response.get("model"), str):
            self.response_model = response["model"]
        if final:
            self.completed = True
            status = response.get("status")
            self.finish_reasons = [status] if isinstance(status, str) else []
            usage = response.get("usage")
            if isinstance(usage, dict):
                details = usage.get("input_tokens_details") or {}
                out_details = usage.get("output_tokens_details") or {}
                self.usage = Usage(
                    input_tokens=int(usage.get("input_tokens") or 0),
                    output_tokens=int(usage.get("output_tokens") or 0),
                    cache_read_tokens=int(details.get("cached_tokens") or 0),
                    reasoning_tokens=int(out_details.get("reasoning_tokens") or 0),
                )
