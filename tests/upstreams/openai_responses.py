"""Successful OpenAI Responses API replies (``POST /v1/responses``), JSON and SSE."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .behaviours import Usage
from .ids import call_id, output_item_id, response_id
from .wire import Context, Payload, SseEvent, estimate_tokens, split_json, split_text


def _usage(usage: Usage, inp: int, out: int) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_creation_tokens,
        },
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": inp + out,
    }


def _tools(body: Mapping[str, Any]) -> list[Any]:
    tools = []
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping) and tool.get("type") == "function":
            tools.append(
                {
                    "type": "function",
                    "name": tool.get("name"),
                    "description": tool.get("description"),
                    "parameters": tool.get("parameters"),
                    "strict": tool.get("strict", True),
                }
            )
        else:
            tools.append(tool)
    return tools


def _envelope(ctx: Context, rid: str, created: float, status: str) -> dict[str, Any]:
    body = ctx.body
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": ctx.model,
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools(body),
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _items(ctx: Context) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    calls = ctx.reply.tool_calls if ctx.has_tools else ()
    if ctx.text or not calls:
        part = {"type": "output_text", "text": ctx.text, "annotations": [], "logprobs": []}
        items.append(
            {
                "id": output_item_id("msg"),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for call in calls:
        items.append(
            {
                "id": output_item_id("fc"),
                "type": "function_call",
                "status": "completed",
                "call_id": call.id or call_id(),
                "name": call.name,
                "arguments": call.arguments_json,
            }
        )
    return items


def stream_error_event(error_type: str, message: str, sequence_number: int = 0) -> SseEvent:
    """The Responses API's ``error`` stream event."""
    code = "server_error" if error_type == "overloaded_error" else error_type
    data = {
        "type": "error",
        "code": code,
        "message": message,
        "param": None,
        "sequence_number": sequence_number,
    }
    return SseEvent.json(data, event="error")


def create_response(ctx: Context) -> Payload:
    """``POST /v1/responses``: a ``response`` object or its event stream."""
    items = _items(ctx)
    extra = sum(estimate_tokens(i["arguments"]) for i in items if i["type"] == "function_call")
    usage, inp, out = ctx.usage(output_extra=extra)
    rid, created = response_id(), float(int(time.time()))
    final = _envelope(ctx, rid, created, "completed")
    final["output"] = items
    final["usage"] = _usage(usage, inp, out)
    final["completed_at"] = created
    if not ctx.stream:
        return Payload(body=final)
    return Payload(events=_stream(ctx, rid, created, items, final))


def _stream(
    ctx: Context, rid: str, created: float, items: list[dict[str, Any]], final: dict[str, Any]
) -> list[SseEvent]:
    events: list[SseEvent] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append(SseEvent.json({"type": kind, "sequence_number": len(events), **fields}, event=kind))

    emit("response.created", response=_envelope(ctx, rid, created, "in_progress"))
    emit("response.in_progress", response=_envelope(ctx, rid, created, "in_progress"))
    for idx, item in enumerate(items):
        if item["type"] == "message":
            part = item["content"][0]
            emit(
                "response.output_item.added",
                output_index=idx,
                item={**item, "status": "in_progress", "content": []},
            )
            empty = {**part, "text": ""}
            emit(
                "response.content_part.added",
                item_id=item["id"],
                output_index=idx,
                content_index=0,
                part=empty,
            )
            for piece in split_text(part["text"]):
                emit(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=idx,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            emit(
                "response.output_text.done",
                item_id=item["id"],
                output_index=idx,
                content_index=0,
                text=part["text"],
                logprobs=[],
            )
            emit(
                "response.content_part.done", item_id=item["id"], output_index=idx, content_index=0, part=part
            )
        else:
            emit(
                "response.output_item.added",
                output_index=idx,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for frag in split_json(item["arguments"]):
                emit(
                    "response.function_call_arguments.delta", item_id=item["id"], output_index=idx, delta=frag
                )
            emit(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=idx,
                name=item["name"],
                arguments=item["arguments"],
            )
        emit("response.output_item.done", output_index=idx, item=item)
    emit("response.completed", response=final)
    return events
