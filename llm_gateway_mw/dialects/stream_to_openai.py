"""Anthropic Messages SSE stream -> OpenAI ``chat.completion.chunk`` stream.

Anthropic sends ``message_start``, then per content block ``content_block_start`` /
``_delta`` / ``_stop``, then ``message_delta`` (stop reason, final usage) and
``message_stop``. The OpenAI side gets a first chunk with ``role: assistant``, a chunk
per text delta, tool calls as ``tool_calls`` deltas (index, id, type and name first,
then argument fragments), a chunk with ``finish_reason``, a usage chunk with
``choices: []`` when the client asked for ``include_usage``, and ``data: [DONE]``.
Thinking blocks are skipped; an upstream ``error`` event becomes an OpenAI error event.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..usage import Usage
from .errors import stream_error_event
from .reasons import finish_reason_for
from .sse import SSEEvent
from .wire_usage import openai_usage_payload, usage_from_anthropic_usage

__all__ = ["DONE_EVENT", "AnthropicToOpenAIStream"]

DONE_EVENT = SSEEvent("[DONE]")
"""The terminator of an OpenAI stream."""


class AnthropicToOpenAIStream:
    """Translates one Anthropic stream, event by event, for an OpenAI client asking for ``model``."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.usage: Usage | None = None
        self.finish_reasons: list[str] = []
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.completed = False
        self._created = int(time.time())
        self._chunk_id = ""
        self._started = False
        self._finish_sent = False
        self._raw_usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool call index

    def feed(self, ev: SSEEvent) -> list[SSEEvent]:
        """Translate one upstream event into zero or more OpenAI events."""
        if self.completed:
            return []
        try:
            data = json.loads(ev.data)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return [_error(f"the upstream sent an event that is not JSON: {ev.data[:200]!r}")]
        kind = data.get("type") or ev.event
        if kind == "content_block_delta":
            return self._delta(data)
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "message_start":
            return self._message_start(data)
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "message_stop":
            self.completed = True
            return self._end()
        if kind == "error":
            error = _object(data.get("error"))
            message = str(error.get("message") or "the upstream stream failed")
            return [
                stream_error_event(
                    "openai", message=message, error_type=str(error.get("type") or "api_error")
                )
            ]
        return []  # ping, content_block_stop, and event types added later

    def finish(self) -> list[SSEEvent]:
        """Close an upstream stream that ended without ``message_stop``: usage chunk and ``[DONE]``."""
        if self.completed or not self._started:
            return []
        return self._end()

    def _message_start(self, data: dict[str, Any]) -> list[SSEEvent]:
        message = _object(data.get("message"))
        self.response_id = message.get("id")
        self.response_model = message.get("model")
        self._chunk_id = str(self.response_id or f"chatcmpl-{self._created}")
        self._merge_usage(message.get("usage"))
        self._started = True
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, data: dict[str, Any]) -> list[SSEEvent]:
        block = _object(data.get("content_block"))
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if kind == "tool_use":
            index = len(self._tool_index)
            self._tool_index[int(data.get("index", 0))] = index
            call = {
                "index": index,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        return []  # thinking and server-tool blocks have no Chat Completions form

    def _delta(self, data: dict[str, Any]) -> list[SSEEvent]:
        delta = _object(data.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            return [self._chunk({"content": text})] if text else []
        if kind == "input_json_delta":
            index = self._tool_index.get(int(data.get("index", 0)))
            fragment = delta.get("partial_json")
            if index is None or not fragment:
                return []
            return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})]
        return []  # thinking, signature and citation deltas

    def _message_delta(self, data: dict[str, Any]) -> list[SSEEvent]:
        self._merge_usage(data.get("usage"))
        delta = _object(data.get("delta"))
        reason = delta.get("stop_reason")
        if not isinstance(reason, str):
            return []
        self.finish_reasons = [reason]
        self._finish_sent = True
        return [self._chunk({}, finish_reason_for(reason))]

    def _end(self) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if self._started and not self._finish_sent and self.completed:
            self._finish_sent = True
            events.append(self._chunk({}, "stop"))
        if self.include_usage and self.usage is not None:
            events.append(self._encode({"choices": [], "usage": openai_usage_payload(self.usage)}))
        events.append(DONE_EVENT)
        return events

    def _merge_usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            # message_delta counts are cumulative and omit what did not change.
            self._raw_usage.update({k: v for k, v in usage.items() if v is not None})
            self.usage = usage_from_anthropic_usage(self._raw_usage)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> SSEEvent:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._encode({"choices": [choice]})

    def _encode(self, fields: dict[str, Any]) -> SSEEvent:
        chunk = {
            "id": self._chunk_id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self.model,
            **fields,
        }
        return SSEEvent(json.dumps(chunk, separators=(",", ":")))


def _error(message: str) -> SSEEvent:
    return stream_error_event("openai", message=message, error_type="api_error")


def _object(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (events may omit fields)."""
    return value if isinstance(value, dict) else {}
