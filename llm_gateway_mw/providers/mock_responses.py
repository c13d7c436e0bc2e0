"""The mock provider's answers for OpenAI's Responses API (``client.responses.create``)."""

from __future__ import annotations

import json
import time
from typing import Any

from ..effects import UpstreamReply

__all__ = ["responses_reply"]


def _response(ident: str, model: str, text: str, n_in: int, n_out: int, status: str) -> dict[str, Any]:
    output = (
        []
        if status != "completed"
        else [
            {
                "type": "message",
                "id": f"msg_{ident}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
    )
    return {
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "status": status,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": None
        if status != "completed"
        else {
            "input_tokens": n_in,
            "output_tokens": n_out,
            "total_tokens": n_in + n_out,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def responses_reply(
    ident: str, model: str, text: str, n_in: int, n_out: int, stream: bool, delay: float
) -> UpstreamReply:
    """A Responses API reply, whole or as its SSE event stream."""
    if not stream:
        body = json.dumps(_response(ident, model, text, n_in, n_out, "completed")).encode()
        return UpstreamReply(200, [("content-type", "application/json")], body=body)
    from .mock import MockStream

    def event(kind: str, sequence: int, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": sequence, **fields}
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()

    events = [event("response.created", 0, response=_response(ident, model, "", n_in, 0, "in_progress"))]
    for i, word in enumerate(text.split(" ")):
        events.append(
            event(
                "response.output_text.delta",
                i + 1,
                item_id=f"msg_{ident}",
                output_index=0,
                content_index=0,
                delta=word if i == 0 else " " + word,
                logprobs=[],
            )
        )
    events.append(
        event(
            "response.completed",
            len(events),
            response=_response(ident, model, text, n_in, n_out, "completed"),
        )
    )
    return UpstreamReply(200, [("content-type", "text/event-stream")], stream=MockStream(events, delay))
