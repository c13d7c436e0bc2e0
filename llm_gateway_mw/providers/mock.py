"""The built-in ``mock`` provider: answers in both dialects, streams, adds latency, fails on demand.

Everything offline (examples, the demo, tests) runs on it. Answers are deterministic
for a given prompt, usage is estimated from the text, and failures are injected either
by ``failure_rate`` (seeded, so runs repeat) or by a ``[[mock:fail:503]]`` marker in the
last user message.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..config.schema import ProviderConfig
from ..effects import UpstreamReply, UpstreamRequest

__all__ = ["MockUpstream"]

_FAIL_MARKER = re.compile(r"\[\[mock:fail:(\d{3})\]\]")
_JSON = [("content-type", "application/json")]
_SSE = [("content-type", "text/event-stream")]


@dataclass(slots=True)
class MockStream:
    """Pre-rendered SSE chunks released with an optional delay between them."""

    chunks: list[bytes]
    delay: float
    _next: int = 0

    def read_sync(self) -> bytes:
        if self._next >= len(self.chunks):
            return b""
        if self.delay and self._next:
            time.sleep(self.delay)
        self._next += 1
        return self.chunks[self._next - 1]

    async def read_async(self) -> bytes:
        if self._next >= len(self.chunks):
            return b""
        if self.delay and self._next:
            import asyncio

            await asyncio.sleep(self.delay)
        self._next += 1
        return self.chunks[self._next - 1]

    def close_sync(self) -> None:
        self._next = len(self.chunks)

    async def close_async(self) -> None:
        self._next = len(self.chunks)


@dataclass
class MockUpstream:
    """An in-process upstream speaking the dialect of each request's URL."""

    config: ProviderConfig
    seed: int = 7
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def send_sync(self, request: UpstreamRequest) -> UpstreamReply:
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        return self.respond(request)

    async def send_async(self, request: UpstreamRequest) -> UpstreamReply:
        if self.config.latency_ms:
            import asyncio

            await asyncio.sleep(self.config.latency_ms / 1000)
        return self.respond(request)

    def respond(self, request: UpstreamRequest) -> UpstreamReply:
        """Build the whole reply for one request (pure apart from the seeded failure draw)."""
        body = request.json_body if isinstance(request.json_body, dict) else json.loads(request.body or b"{}")
        anthropic = request.url.endswith("/v1/messages")
        status = self._failure_status(body)
        if status:
            return _error(status, anthropic)
        model = str(body.get("model", "mock"))
        if request.url.endswith("/embeddings"):
            return UpstreamReply(200, list(_JSON), body=json.dumps(_embeddings(body, model)).encode())
        text, tool = _answer(body)
        input_tokens = max(1, len(json.dumps(body.get("messages", body.get("input", "")))) // 4)
        output_tokens = max(1, len(text) // 4) if text else 12
        ident = "mock-" + hashlib.sha1(request.body).hexdigest()[:16]
        if request.url.endswith("/responses"):
            from .mock_responses import responses_reply

            return responses_reply(
                ident,
                model,
                text,
                input_tokens,
                output_tokens,
                request.stream,
                self.config.chunk_delay_ms / 1000,
            )
        if request.stream:
            events = (
                _anthropic_events(ident, model, text, tool, input_tokens, output_tokens)
                if anthropic
                else _openai_chunks(ident, model, text, tool, input_tokens, output_tokens, body)
            )
            delay = self.config.chunk_delay_ms / 1000
            return UpstreamReply(200, list(_SSE), stream=MockStream(events, delay))
        payload = (
            _anthropic_message(ident, model, text, tool, input_tokens, output_tokens)
            if anthropic
            else _openai_completion(ident, model, text, tool, input_tokens, output_tokens)
        )
        return UpstreamReply(200, list(_JSON), body=json.dumps(payload).encode())

    def _failure_status(self, body: dict[str, Any]) -> int:
        marker = _FAIL_MARKER.search(_last_user_text(body))
        if marker:
            return int(marker.group(1))
        if self.config.failure_rate and self._rng.random() < self.config.failure_rate:
            return self.config.failure_status
        return 0


def _last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list):
        value = body.get("input")
        return value if isinstance(value, str) else ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _answer(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    wants_tool = (
        tools and choice not in ("none", {"type": "none"}) and "tool" in _last_user_text(body).lower()
    )
    if isinstance(tools, list) and tools and (wants_tool or choice in ("required", {"type": "any"})):
        first = tools[0]
        name = first.get("function", {}).get("name") if "function" in first else first.get("name")
        return "", {"id": "call_mock1", "name": str(name), "arguments": {"query": _last_user_text(body)[:40]}}
    prompt = " ".join(_last_user_text(body).split()[:12])
    return f"[mock {body.get('model')}] You said: {prompt}", None


def _error(status: int, anthropic: bool) -> UpstreamReply:
    message = f"mock provider injected failure {status}"
    if anthropic:
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        payload = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    headers = [*_JSON, ("retry-after", "0")] if status in (429, 503, 529) else list(_JSON)
    return UpstreamReply(status, headers, body=json.dumps(payload).encode())


def _embeddings(body: dict[str, Any], model: str) -> dict[str, Any]:
    inputs = body.get("input")
    items = inputs if isinstance(inputs, list) else [inputs]
    data = []
    for index, item in enumerate(items):
        digest = hashlib.sha256(json.dumps(item).encode()).digest()
        data.append({"object": "embedding", "index": index, "embedding": [b / 255 for b in digest[:8]]})
    tokens = sum(max(1, len(json.dumps(i)) // 4) for i in items)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _openai_completion(
    ident: str, model: str, text: str, tool: dict[str, Any] | None, n_in: int, n_out: int
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    if tool:
        message["tool_calls"] = [
            {
                "id": tool["id"],
                "type": "function",
                "function": {"name": tool["name"], "arguments": json.dumps(tool["arguments"])},
            }
        ]
    return {
        "id": f"chatcmpl-{ident}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if tool else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": n_in,
            "completion_tokens": n_out,
            "total_tokens": n_in + n_out,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data) if not isinstance(data, str) else data}\n\n".encode()


def _openai_chunks(
    ident: str,
    model: str,
    text: str,
    tool: dict[str, Any] | None,
    n_in: int,
    n_out: int,
    body: dict[str, Any],
) -> list[bytes]:
    base = {
        "id": f"chatcmpl-{ident}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse(
            {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        )

    out = [chunk({"role": "assistant", "content": ""})]
    if tool:
        out.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": tool["id"],
                            "type": "function",
                            "function": {"name": tool["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        out.append(
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": json.dumps(tool["arguments"])}}]})
        )
    else:
        out.extend(chunk({"content": piece}) for piece in _pieces(text))
    out.append(chunk({}, "tool_calls" if tool else "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}
        out.append(_sse({**base, "choices": [], "usage": usage}))
    out.append(_sse("[DONE]"))
    return out


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _anthropic_message(
    ident: str, model: str, text: str, tool: dict[str, Any] | None, n_in: int, n_out: int
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    if tool:
        content.append(
            {
                "type": "tool_use",
                "id": tool["id"].replace("call", "toolu"),
                "name": tool["name"],
                "input": tool["arguments"],
            }
        )
    return {
        "id": f"msg_{ident}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": n_in,
            "output_tokens": n_out,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }


def _anthropic_events(
    ident: str, model: str, text: str, tool: dict[str, Any] | None, n_in: int, n_out: int
) -> list[bytes]:
    start = _anthropic_message(ident, model, "", None, n_in, 1)
    start["stop_reason"] = None
    out = [_sse({"type": "message_start", "message": start}, "message_start"), _sse({"type": "ping"}, "ping")]
    if tool:
        block = {
            "type": "tool_use",
            "id": tool["id"].replace("call", "toolu"),
            "name": tool["name"],
            "input": {},
        }
        out.append(
            _sse({"type": "content_block_start", "index": 0, "content_block": block}, "content_block_start")
        )
        json_delta = {"type": "input_json_delta", "partial_json": json.dumps(tool["arguments"])}
        out.append(
            _sse({"type": "content_block_delta", "index": 0, "delta": json_delta}, "content_block_delta")
        )
    else:
        out.append(
            _sse(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start",
            )
        )
        for piece in _pieces(text):
            out.append(
                _sse(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                    "content_block_delta",
                )
            )
    out.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    delta: dict[str, Any] = {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None}
    out.append(
        _sse({"type": "message_delta", "delta": delta, "usage": {"output_tokens": n_out}}, "message_delta")
    )
    out.append(_sse({"type": "message_stop"}, "message_stop"))
    return out
