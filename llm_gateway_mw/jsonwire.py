"""JSON on the request path: CPython's C scanner and encoder, called without ``json``'s per-call setup.

``json.loads`` sniffs the encoding and runs whitespace regexes; ``json.dumps`` with any argument
builds a new encoder object per call. Both cost more than the work for the small bodies of LLM
calls, which the gateway decodes and encodes on every call.
"""

from __future__ import annotations

import json
import json.scanner
from json.encoder import JSONEncoder, encode_basestring_ascii
from typing import Any

__all__ = ["dumps_compact", "loads_json"]

_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def loads_json(raw: bytes) -> Any:
    """``json.loads`` for bytes, minus its encoding sniffing and whitespace regexes in the common case.

    A UTF-8 body that starts with its value is decoded by the C scanner directly; anything
    else (other encodings, a BOM, leading whitespace, an error) goes through ``json.loads``,
    so results and errors (``ValueError``) are exactly ``json.loads``'s.
    """
    try:
        text = raw.decode()
        value, end = _scan_once(text, 0)
    except (ValueError, StopIteration):
        return json.loads(raw)
    if end != len(text) and not text[end:].isspace():
        return json.loads(raw)  # raises "Extra data"
    return value


def _make_compact_encoder() -> Any:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python implementation): json.dumps does the work
        encode = JSONEncoder(separators=(",", ":")).encode
        return lambda value, _level: (encode(value),)
    # No circular-reference markers: the bodies encoded here were decoded from JSON or built as trees.
    return make(None, JSONEncoder().default, encode_basestring_ascii, None, ":", ",", False, False, True)


_compact = _make_compact_encoder()


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, the same text, without building an encoder per call."""
    return "".join(_compact(value, 0))
