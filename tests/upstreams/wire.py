"""Dialect-neutral pieces of a reply: SSE events, payloads, text splitting, token estimates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .behaviours import Reply, Usage


@dataclass
class SseEvent:
    """One server-sent event."""

    data: str
    event: str | None = None

    def encode(self) -> bytes:
        """Wire bytes: optional ``event:`` line, ``data:`` line, blank line."""
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {self.data}\n\n".encode()

    @classmethod
    def json(cls, obj: Any, event: str | None = None) -> SseEvent:
        """An event whose data is ``obj`` as compact JSON."""
        return cls(data=json.dumps(obj, separators=(",", ":")), event=event)


@dataclass
class Payload:
    """A successful reply: a JSON body, or SSE events when streaming."""

    body: Any = None
    events: list[SseEvent] | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    status: int = 200


@dataclass
class Context:
    """What a dialect needs to build a reply."""

    body: dict[str, Any]
    reply: Reply
    upstream_name: str

    @property
    def model(self) -> str:
        """The model to report: the override, else the requested one."""
        return self.reply.model or str(self.body.get("model", ""))

    @property
    def text(self) -> str:
        """The scripted text, or a default naming the upstream."""
        return self.reply.text if self.reply.text is not None else f"Hello from {self.upstream_name}"

    @property
    def stream(self) -> bool:
        """Whether the request asked for SSE."""
        return self.body.get("stream") is True

    @property
    def has_tools(self) -> bool:
        """Whether the request declares tools (scripted tool calls need them)."""
        return bool(self.body.get("tools"))

    def usage(self, *, output_extra: int = 0) -> tuple[Usage, int, int]:
        """The usage plus resolved input/output token counts."""
        usage = self.reply.usage or Usage()
        prompt = {
            k: v
            for k, v in self.body.items()
            if k in ("messages", "system", "input", "instructions", "tools")
        }
        inp = usage.input_tokens if usage.input_tokens is not None else estimate_tokens(prompt)
        out = (
            usage.output_tokens
            if usage.output_tokens is not None
            else max(1, estimate_tokens(self.text) + output_extra)
        )
        return usage, inp, out


def estimate_tokens(value: Any) -> int:
    """A rough token count (4 characters per token)."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return (len(text) + 3) // 4


def split_text(text: str) -> list[str]:
    """Split ``text`` into word-sized deltas, as models stream them."""
    pieces = re.findall(r"\s*\S+|\s+$", text)
    return pieces or ([text] if text else [])


def split_json(text: str, size: int = 12) -> list[str]:
    """Split a JSON string into fragments of ``size`` characters."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
