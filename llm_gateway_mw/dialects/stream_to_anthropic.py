"""OpenAI ``chat.completion.chunk`` stream -> Anthropic Messages SSE stream.

The first chunk opens ``message_start`` (usage zero: OpenAI reports usage only at the
end). Text deltas go into a text block; each tool call opens a ``tool_use`` block whose
argument fragments become ``input_json_delta`` events; a change of kind closes the open
block. ``finish_reason`` closes the last block; ``message_delta`` (stop reason and usage)
and ``message_stop`` follow at ``[DONE]``, after the usage chunk that
``stream_options.include_usage`` brings. Without that chunk, usage is reported as zero.
Input usage therefore rides on ``message_delta``, which anthropic SDKs before
``MessageDeltaUsage.input_tokens`` existed ignore (they report input tokens as 0); the
translator's own ``usage`` is always complete. An OpenAI error chunk becomes an
Anthropic ``error`` event.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ..usage import Usage
from .errors import stream_error_event
from .reasons import stop_reason_for
from .sse import SSEEvent
from .wire_usage import anthropic_usage_payload, usage_from_openai_usage

__all__ = ["OpenAIToAnthropicStream"]


class OpenAIToAnthropicStream:
    """Translates one OpenAI stream, chunk by chunk, for an Anthropic client asking for ``model``."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.usage: Usage | None = None
        self.finish_reasons: list[str] = []
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.completed = False
        self._started = False
        self._refused = False
        self._open: int | None = None  # index of the open Anthropic block
        self._open_text = False
        self._blocks = 0
        self._tool_blocks: dict[int, int] = {}  # OpenAI tool call index -> Anthropic block index

    def feed(self, ev: SSEEvent) -> list[SSEEvent]:
        """Translate one upstream event into zero or more Anthropic events."""
        if self.completed:
            return []
        if ev.data.startswith("[DONE]"):
            self.completed = True
            return self._end()
        try:
            data = json.loads(ev.data)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return [_error(f"the upstream sent an event that is not JSON: {ev.data[:200]!r}", "api_error")]
        error = data.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            kind = error.get("type") if isinstance(error, dict) else None
            return [_error(str(message or "the upstream stream failed"), str(kind or "api_error"))]
        out: list[SSEEvent] = []
        if not self._started:
            self._start(data, out)
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_from_openai_usage(usage)
        for choice in data.get("choices") or []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, out)
        return out

    def finish(self) -> list[SSEEvent]:
        """Close an upstream stream that ended without ``[DONE]``: ``message_delta`` and ``message_stop``."""
        if self.completed or not self._started:
            return []
        return self._end()

    def _start(self, data: dict[str, Any], out: list[SSEEvent]) -> None:
        self._started = True
        self.response_id = data.get("id")
        self.response_model = data.get("model")
        message: dict[str, Any] = {
            "id": str(self.response_id or f"msg_{uuid.uuid4().hex}"),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        out.append(_event("message_start", {"type": "message_start", "message": message}))

    def _choice(self, choice: dict[str, Any], out: list[SSEEvent]) -> None:
        delta = _object(choice.get("delta"))
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                self._refused = self._refused or key == "refusal"
                self._text(text, out)
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                self._tool_call(call, out)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reasons = [reason]
            self._close(out)

    def _text(self, text: str, out: list[SSEEvent]) -> None:
        if self._open is None or not self._open_text:
            self._close(out)
            self._open_block({"type": "text", "text": ""}, out)
            self._open_text = True
        delta = {"type": "text_delta", "text": text}
        out.append(
            _event(
                "content_block_delta", {"type": "content_block_delta", "index": self._open, "delta": delta}
            )
        )

    def _tool_call(self, call: dict[str, Any], out: list[SSEEvent]) -> None:
        fn = _object(call.get("function"))
        position = int(call.get("index", 0))
        block = self._tool_blocks.get(position)
        if block is None:
            self._close(out)
            block = self._open_block(
                {
                    "type": "tool_use",
                    "id": str(call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}"),
                    "name": str(fn.get("name") or ""),
                    "input": {},
                },
                out,
            )
            self._tool_blocks[position] = block
        fragment = fn.get("arguments")
        if isinstance(fragment, str) and fragment:
            # A fragment for an earlier call (never seen from OpenAI) still goes to its own
            # block: the Anthropic SDKs accumulate by index.
            delta = {"type": "input_json_delta", "partial_json": fragment}
            out.append(
                _event("content_block_delta", {"type": "content_block_delta", "index": block, "delta": delta})
            )

    def _open_block(self, block: dict[str, Any], out: list[SSEEvent]) -> int:
        index = self._blocks
        self._blocks += 1
        self._open = index
        self._open_text = False
        out.append(
            _event(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            )
        )
        return index

    def _close(self, out: list[SSEEvent]) -> None:
        if self._open is not None:
            out.append(_event("content_block_stop", {"type": "content_block_stop", "index": self._open}))
            self._open = None
            self._open_text = False

    def _end(self) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        if not self._started:
            return out
        self._close(out)
        reason = self.finish_reasons[0] if self.finish_reasons else None
        stop_reason = "refusal" if self._refused else (stop_reason_for(reason) if reason else None)
        usage = anthropic_usage_payload(self.usage) if self.usage is not None else {"output_tokens": 0}
        delta = {"stop_reason": stop_reason, "stop_sequence": None}
        out.append(_event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        out.append(_event("message_stop", {"type": "message_stop"}))
        return out


def _event(name: str, payload: dict[str, Any]) -> SSEEvent:
    return SSEEvent(json.dumps(payload, separators=(",", ":")), name)


def _error(message: str, error_type: str) -> SSEEvent:
    return stream_error_event("anthropic", message=message, error_type=error_type)


def _object(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (events may omit fields)."""
    return value if isinstance(value, dict) else {}
