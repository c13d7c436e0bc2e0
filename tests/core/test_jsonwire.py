"""The request path's JSON helpers give exactly what ``json`` gives."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from llm_gateway_mw.jsonwire import dumps_compact, loads_json

VALUES: list[Any] = [
    {"model": "m", "messages": [{"role": "user", "content": 'héllo \u2603 "quoted" \\ \n'}], "n": 1},
    {"temperature": 0.1, "top_p": 1e-7, "big": 10**30, "neg": -3, "flag": True, "none": None},
    {"nested": {"list": [[], {}, [1, [2, [3]]]], "empty": ""}, "emoji": "\U0001f600"},
    [1, 2.5, "x"],
    "just a string",
    {"nan": math.nan, "inf": math.inf},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_compact_is_json_dumps_with_compact_separators(value: Any) -> None:
    assert dumps_compact(value) == json.dumps(value, separators=(",", ":"))


def test_dumps_compact_rejects_what_json_rejects() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_compact({"when": object()})


@pytest.mark.parametrize(
    "raw", [b'{"a": 1}', b'  {"a": [1, 2]}  ', b"\xef\xbb\xbf{}", '{"k": "\u00e9"}'.encode("utf-16"), b"[]"]
)
def test_loads_json_matches_json_loads(raw: bytes) -> None:
    assert loads_json(raw) == json.loads(raw)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": 1} x', b"\xff"])
def test_loads_json_raises_what_json_loads_raises(raw: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(raw)
    with pytest.raises(ValueError):
        loads_json(raw)
