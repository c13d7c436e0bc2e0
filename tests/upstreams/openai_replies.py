"""Successful OpenAI replies: chat completions (JSON and SSE), embeddings, models."""

from __future__ import annotations

import base64
import hashlib
import random
import struct
import time
from collections.abc import Sequence
from typing import Any

from .behaviours import ToolCall, Usage
from .ids import call_id, chatcmpl_id, fingerprint
from .wire import Context, Payload, SseEvent, estimate_tokens, split_json, split_text

DEFAULT_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini", "text-embedding-3-small")
EMBEDDING_DIMENSIONS = 1536


def chat_usage(usage: Usage, inp: int, out: int) -> dict[str, Any]:
    """A ``CompletionUsage`` object (``cache_write_tokens`` only when scripted)."""
    prompt_details: dict[str, int] = {"cached_tokens": usage.cached_tokens, "audio_tokens": 0}
    if usage.cache_creation_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_creation_tokens
    return {
        "prompt_tokens": inp,
        "completion_tokens": out,
        "total_tokens": inp + out,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def stream_error_event(error_type: str, message: str) -> SseEvent:
    """OpenAI's in-band stream error: a ``data:`` line holding ``{"error": …}``."""
    etype = "server_error" if error_type == "overloaded_error" else error_type
    return SseEvent.json({"error": {"message": message, "type": etype, "param": None, "code": None}})


def _calls(ctx: Context) -> list[tuple[ToolCall, str]]:
    if not ctx.has_tools:
        return []
    return [(call, call.id or call_id()) for call in ctx.reply.tool_calls]


def _finish_reason(ctx: Context, calls: Sequence[object]) -> str:
    return ctx.reply.stop_reason or ("tool_calls" if calls else "stop")


def _content(ctx: Context, calls: Sequence[object]) -> str | None:
    return None if calls and not ctx.text else ctx.text


def chat_completion(ctx: Context) -> Payload:
    """``POST /v1/chat/completions``: a ``chat.completion`` or a chunk stream."""
    calls = _calls(ctx)
    extra = sum(estimate_tokens(c.arguments_json) + 3 for c, _ in calls)
    usage, inp, out = ctx.usage(output_extra=extra)
    n = int(ctx.body.get("n") or 1)
    if ctx.stream:
        return Payload(events=_chat_stream(ctx, calls, chat_usage(usage, inp, out), n))
    choices = []
    for i in range(n):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": _content(ctx, calls),
            "refusal": None,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                for c, cid in calls
            ]
        choices.append(
            {"index": i, "message": message, "logprobs": None, "finish_reason": _finish_reason(ctx, calls)}
        )
    body = {
        "id": chatcmpl_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": ctx.model,
        "choices": choices,
        "usage": chat_usage(usage, inp, out),
        "service_tier": "default",
        "system_fingerprint": fingerprint(),
    }
    return Payload(body=body)


def _chat_stream(
    ctx: Context, calls: list[tuple[ToolCall, str]], usage: dict[str, Any], n: int
) -> list[SseEvent]:
    opts = ctx.body.get("stream_options") or {}
    include_usage = bool(opts.get("include_usage"))
    base = {
        "id": chatcmpl_id(),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": ctx.model,
        "service_tier": "default",
        "system_fingerprint": fingerprint(),
    }

    def chunk(choices: list[dict[str, Any]], usage_value: dict[str, Any] | None = None) -> SseEvent:
        obj: dict[str, Any] = {**base, "choices": choices}
        if include_usage:
            obj["usage"] = usage_value
        return SseEvent.json(obj)

    def choice(i: int, delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}]

    events: list[SseEvent] = []
    content = _content(ctx, calls)
    for i in range(n):
        events.append(
            chunk(choice(i, {"role": "assistant", "content": "" if content else None, "refusal": None}))
        )
        events += [chunk(choice(i, {"content": piece})) for piece in split_text(content or "")]
        for k, (call, cid) in enumerate(calls):
            head = {
                "index": k,
                "id": cid,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            events.append(chunk(choice(i, {"tool_calls": [head]})))
            events += [
                chunk(choice(i, {"tool_calls": [{"index": k, "function": {"arguments": frag}}]}))
                for frag in split_json(call.arguments_json)
            ]
        events.append(chunk(choice(i, {}, _finish_reason(ctx, calls))))
    if include_usage:
        events.append(chunk([], usage))
    events.append(SseEvent(data="[DONE]"))
    return events


def _embedding_inputs(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [value]
    return list(value)


def _vector(item: Any, dims: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(repr(item).encode()).digest()[:8], "big")
    rng = random.Random(seed)
    raw = [rng.uniform(-1.0, 1.0) for _ in range(dims)]
    norm = sum(x * x for x in raw) ** 0.5 or 1.0
    return [x / norm for x in raw]


def embeddings(ctx: Context) -> Payload:
    """``POST /v1/embeddings``: deterministic unit vectors (float or base64)."""
    inputs = _embedding_inputs(ctx.body["input"])
    dims = int(ctx.body.get("dimensions") or EMBEDDING_DIMENSIONS)
    as_b64 = ctx.body.get("encoding_format") == "base64"
    data = []
    for i, item in enumerate(inputs):
        vec = _vector(item, dims)
        value: Any = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode() if as_b64 else vec
        data.append({"object": "embedding", "index": i, "embedding": value})
    usage = ctx.reply.usage or Usage()
    tokens = usage.input_tokens if usage.input_tokens is not None else sum(estimate_tokens(x) for x in inputs)
    body = {
        "object": "list",
        "data": data,
        "model": ctx.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return Payload(body=body)


def models(names: Sequence[str]) -> Payload:
    """``GET /v1/models``."""
    data = [{"id": name, "object": "model", "created": 1715367049, "owned_by": "system"} for name in names]
    return Payload(body={"object": "list", "data": data})
