"""Realistic-looking identifiers for both dialects."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.ascii_letters + string.digits


def _b62(n: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(n))


def chatcmpl_id() -> str:
    """``chatcmpl-…`` (29 base62 chars)."""
    return f"chatcmpl-{_b62(29)}"


def call_id() -> str:
    """``call_…`` tool call id."""
    return f"call_{_b62(24)}"


def fingerprint() -> str:
    """``fp_…`` system fingerprint."""
    return f"fp_{secrets.token_hex(5)}"


def response_id() -> str:
    """``resp_…`` Responses API id."""
    return f"resp_{secrets.token_hex(24)}"


def output_item_id(prefix: str) -> str:
    """``msg_…``/``fc_…`` Responses API output item id."""
    return f"{prefix}_{secrets.token_hex(24)}"


def openai_request_id() -> str:
    """``x-request-id`` value."""
    return f"req_{secrets.token_hex(16)}"


def message_id() -> str:
    """Anthropic ``msg_01…``."""
    return f"msg_01{_b62(22)}"


def toolu_id() -> str:
    """Anthropic ``toolu_01…``."""
    return f"toolu_01{_b62(22)}"


def anthropic_request_id() -> str:
    """Anthropic ``request-id`` value (``req_011C…``)."""
    return f"req_011C{_b62(20)}"
