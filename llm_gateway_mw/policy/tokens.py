"""Fast prompt-size estimates for limits and budget reservations, with no tokenizer download.

An estimate only has to be close enough to reserve tokens and dollars before a call; the
provider's real usage settles the account afterwards. The rules, kept deliberately simple:

* text: about 4 characters per token, rounded up. Non-ASCII characters weigh more (each
  extra UTF-8 byte adds 1.5 characters' worth), so CJK text counts about one token per
  character instead of a quarter, which is what real tokenizers do.
* every message or Responses input item adds ``MESSAGE_OVERHEAD_TOKENS`` (role and
  separators), and a conversation adds ``REPLY_PRIMING_TOKENS`` once.
* an image costs a flat ``IMAGE_TOKENS`` (1,000): OpenAI bills a 1024x1024 high-detail
  image 765 tokens and Anthropic about (width x height) / 750, up to ~1,600; OpenAI's
  ``detail: "low"`` images cost ``LOW_DETAIL_IMAGE_TOKENS`` (85). Binary documents, files
  and audio cost a flat ``FILE_TOKENS``; text documents count as their text.
* tool definitions and JSON schemas (``response_format``, ``text.format``) count by the
  length of their compact JSON; tool call arguments count as text.
* embeddings: each string is counted on its own; token-id inputs count one per id.

Speed: a single walk over the body, using ``len()``, ``str.isascii()`` and ``str.encode()``
(all C-speed), never a regex over the text. Measured with ``timeit`` (CPython 3.11, 2-core
dev machine): about 4 us for a chat body with one 10 kB ASCII user message, 10 us for 10 kB
of mixed Latin/CJK text, and 65 us for a 50-message, 10 kB conversation with two tools.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CHARS_PER_TOKEN",
    "FILE_TOKENS",
    "IMAGE_TOKENS",
    "LOW_DETAIL_IMAGE_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "estimate_prompt_tokens",
    "estimate_text_tokens",
    "requested_output_tokens",
]

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMING_TOKENS = 3
IMAGE_TOKENS = 1_000
LOW_DETAIL_IMAGE_TOKENS = 85
FILE_TOKENS = 2_000

_NUMBER_UNITS = 3  # a bare number inside a tool call or tool result: a token or so
_IMAGE_TYPES = frozenset({"image", "image_url", "input_image"})
_FILE_TYPES = frozenset({"document", "file", "input_file", "input_audio", "audio"})
_TOOL_USE_TYPES = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
# Keys whose values are identifiers, markers or opaque blobs rather than prompt text.
_SKIP_KEYS = frozenset(
    {
        "type",
        "role",
        "id",
        "call_id",
        "tool_call_id",
        "tool_use_id",
        "cache_control",
        "signature",
        "encrypted_content",
        "data",
        "status",
        "detail",
        "media_type",
        "citations",
    }
)
_OUTPUT_KEYS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def _text_units(text: str) -> int:
    """Characters, with each extra UTF-8 byte of a non-ASCII character worth 1.5 more."""
    if text.isascii():
        return len(text)
    extra = len(text.encode("utf-8", "surrogatepass")) - len(text)
    return len(text) + (extra * 3 + 1) // 2


def _ceil_tokens(units: int) -> int:
    return -(-units // CHARS_PER_TOKEN)


def _json_units(value: object) -> int:
    try:
        return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))
    except (TypeError, ValueError):  # circular or otherwise odd: count its repr instead
        return len(repr(value))


def _image_tokens(block: Mapping[str, Any]) -> int:
    detail = block.get("detail")
    inner = block.get("image_url")
    if isinstance(inner, Mapping):
        detail = inner.get("detail", detail)
    return LOW_DETAIL_IMAGE_TOKENS if detail == "low" else IMAGE_TOKENS


def _walk(root: object) -> tuple[int, int]:
    """(text units, fixed tokens) of a message, block or any JSON-like tree; iterative."""
    units = 0
    fixed = 0
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            units += _text_units(node)
        elif isinstance(node, Mapping):
            kind = node.get("type")
            if kind in _IMAGE_TYPES:
                fixed += _image_tokens(node)
            elif kind in _FILE_TYPES:
                source = node.get("source")
                if isinstance(source, Mapping) and source.get("type") == "text":
                    stack.append(source.get("data"))
                elif isinstance(source, Mapping) and source.get("type") == "content":
                    stack.append(source.get("content"))
                else:
                    fixed += FILE_TOKENS
            elif kind in _TOOL_USE_TYPES:
                stack.append(node.get("name"))
                units += _json_units(node.get("input"))
            else:
                stack.extend(value for key, value in node.items() if key not in _SKIP_KEYS)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            units += _NUMBER_UNITS
    return units, fixed


def estimate_text_tokens(text: str) -> int:
    """Estimated tokens of one plain text (no message overhead)."""
    return _ceil_tokens(_text_units(text))


def _schema_units(body: Mapping[str, Any]) -> int:
    units = 0
    for key in ("tools", "functions"):
        tools = body.get(key)
        if tools:
            units += _json_units(tools)
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        units += _json_units(response_format.get("json_schema"))
    text = body.get("text")
    if isinstance(text, Mapping):
        fmt = text.get("format")
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
            units += _json_units(fmt)
    return units


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    """Estimated input tokens of a chat, messages, embeddings or Responses request body.

    Reads ``messages`` (OpenAI chat, Anthropic messages), ``system`` (Anthropic, string or
    blocks), ``instructions`` and ``input`` (Responses: string or items; embeddings: a
    string, strings or token-id lists), plus ``tools``/``functions`` and JSON schemas.
    """
    units = 0
    fixed = 0
    messages = 0
    conversation = False
    raw_messages = body.get("messages")
    if isinstance(raw_messages, list):
        conversation = True
        for message in raw_messages:
            messages += 1
            message_units, message_fixed = _walk(message)
            units += message_units
            fixed += message_fixed
    for key in ("system", "instructions"):
        preamble = body.get(key)
        if preamble:
            messages += 1
            preamble_units, preamble_fixed = _walk(preamble)
            units += preamble_units
            fixed += preamble_fixed
    raw_input = body.get("input")
    if isinstance(raw_input, str):
        units += _text_units(raw_input)
    elif isinstance(raw_input, list):
        for item in raw_input:
            if isinstance(item, str):  # embeddings: each input is tokenized on its own
                fixed += _ceil_tokens(_text_units(item))
            elif isinstance(item, bool):
                continue
            elif isinstance(item, int):  # embeddings: one input given as token ids
                fixed += 1
            elif isinstance(item, list):  # embeddings: several inputs given as token ids
                fixed += len(item)
            elif isinstance(item, Mapping):  # Responses input item
                conversation = True
                messages += 1
                item_units, item_fixed = _walk(item)
                units += item_units
                fixed += item_fixed
    units += _schema_units(body)
    priming = REPLY_PRIMING_TOKENS if conversation else 0
    return _ceil_tokens(units) + fixed + messages * MESSAGE_OVERHEAD_TOKENS + priming


def requested_output_tokens(body: Mapping[str, Any], *, default: int) -> int:
    """Most output tokens the request allows: its token cap times ``n`` choices.

    Reads ``max_completion_tokens`` and ``max_tokens`` (chat, messages) and
    ``max_output_tokens`` (Responses), taking the largest when several are set. Without
    one, ``default`` applies: pass the model's max output (``ModelInfo.max_output_tokens``)
    for generation, and 0 for embeddings, which produce no output tokens.
    """
    caps = [
        value
        for key in _OUTPUT_KEYS
        if isinstance(value := body.get(key), int) and not isinstance(value, bool) and value >= 0
    ]
    per_choice = max(caps) if caps else max(0, default)
    choices = body.get("n")
    if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1:
        return per_choice * choices
    return per_choice
