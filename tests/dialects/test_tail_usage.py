"""The hot path's cheap reads: usage from a reply's tail, JSON without the sniffing, lazy reply facts."""

from __future__ import annotations

import json
import random

import pytest

from llm_gateway_mw.dialects.wire_usage import (
    _PLAIN_OPENAI_USAGE,
    UNREADABLE,
    decoded_tail_usage,
    tail_usage,
    usage_of,
)
from llm_gateway_mw.inbound import loads_json
from llm_gateway_mw.records import AttemptRecord, PendingReply
from llm_gateway_mw.usage import Usage

OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": 'a "usage": {"prompt_tokens": 99}'},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 30,
        "completion_tokens": 7,
        "total_tokens": 37,
        "prompt_tokens_details": {"cached_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 2},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_1",
}
ANTHROPIC_REPLY = {
    "id": "msg_1",
    "type": "message",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 5, "output_tokens": 3, "cache_read_input_tokens": 4},
}


@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
@pytest.mark.parametrize(("reply", "dialect"), [(OPENAI_REPLY, "openai"), (ANTHROPIC_REPLY, "anthropic")])
def test_tail_usage_equals_the_whole_body_parse(
    reply: dict, dialect: str, separators: tuple[str, str]
) -> None:
    body = json.dumps(reply, separators=separators).encode()
    assert tail_usage(body, dialect) == usage_of(reply, dialect)
    assert tail_usage(body + b"\n", dialect) == usage_of(reply, dialect)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":{"usage":{"prompt_tokens":1},"b":1},"c":2}',  # nested, more keys after
        b'{"usage":{"prompt_tokens":1},"meta":{"usage":{"prompt_tokens":9}}}',  # the last one is nested
        b'{"a":[{"usage":{"prompt_tokens":1}}]}',  # inside an array
        b'{"a":{"b":1,"usage":{"prompt_tokens":1}}}',  # the last key of a nested object
        b'{"id": "broken", "usage": {"prompt_tok',  # cut short
        b'{"usage":null}',  # not an object
        b'{"usage":{"prompt_tokens":1}} trailing',  # not one object
        b'{"usage" : {"prompt_tokens":1}}',  # a spelling the fast path does not expect
        b'{"id":"x"}',  # no usage at all
        b"<html>bad gateway</html>",
        b"",
    ],
)
def test_tail_usage_gives_up_when_unsure(body: bytes) -> None:
    assert tail_usage(body, "openai") is UNREADABLE


@pytest.mark.parametrize(
    "raw",
    [b'{"a":1}', b' {"a": [1, 2]}\n', '{"é":"ü"}'.encode(), b"\xef\xbb\xbf{}", '{"a":1}'.encode("utf-16")],
)
def test_loads_json_matches_json_loads(raw: bytes) -> None:
    assert loads_json(raw) == json.loads(raw)


@pytest.mark.parametrize("raw", [b'{"a":', b'{"a":1} x', b"", b"\xff"])
def test_loads_json_raises_what_json_loads_raises(raw: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        loads_json(raw)
    with pytest.raises(ValueError) as theirs:
        json.loads(raw)
    assert type(ours.value) is type(theirs.value)


@pytest.mark.parametrize("as_bytes", [True, False])
def test_pending_reply_facts_are_read_on_first_access(as_bytes: bool) -> None:
    attempt = AttemptRecord(1, "d", "p", "openai", "gpt-4o", "chat")
    body = json.dumps(OPENAI_REPLY).encode() if as_bytes else OPENAI_REPLY
    attempt.pending = PendingReply(body, "openai")
    assert attempt.response_id == "chatcmpl-1"
    assert attempt.pending is None
    assert attempt.response_model == "gpt-4o-2024-08-06"
    assert attempt.finish_reasons == ["stop"]


def test_pending_reply_that_is_not_json_has_no_facts() -> None:
    attempt = AttemptRecord(1, "d", "p", "openai", "gpt-4o", "chat")
    attempt.pending = PendingReply(b"not json", "openai")
    assert (attempt.response_id, attempt.response_model, attempt.finish_reasons) == (None, None, [])
    attempt.usage = Usage(1, 2)
    attempt.finish_reasons = ["stop"]
    assert attempt.finish_reasons == ["stop"]


def _random_tail(rng: random.Random) -> bytes:
    """A reply body ending in a usage object and members of many shapes, plain and not."""

    def number() -> bytes:
        return rng.choice(
            [b"0", b"7", b"1234", b"-3", b"012", b"1.5", b"2e3", b"-0", b"99999999999999999999"]
        )

    def string() -> bytes:
        return rng.choice(
            [
                b'"fp_1"',
                b'"default"',
                b'""',
                b'"a\\"b"',
                b'"\\u00e9"',
                '"é"'.encode(),
                b'"\x01"',
                b'"a\tb"',
                b'"\xff"',
                b'"tab\\t"',
                b'"~ !#[]{}"',
            ]
        )

    def value() -> bytes:
        kind = rng.randrange(6)
        if kind == 0:
            return number()
        if kind == 1:
            return string()
        if kind == 2:
            return rng.choice([b"null", b"true", b"false", b"nul", b"True"])
        if kind == 3:
            return b'{"k":' + number() + b"}"
        if kind == 4:
            return b"[" + number() + b"]"
        return string()

    counts = [number() if rng.random() < 0.1 else b"%d" % rng.randrange(100000) for _ in range(3)]
    usage = b'{"prompt_tokens":%s,"completion_tokens":%s,"total_tokens":%s' % tuple(counts)
    if rng.random() < 0.2:
        usage += b',"prompt_tokens_details":{"cached_tokens":' + number() + b"}"
    usage += b"}"
    if rng.random() < 0.1:
        usage = usage.replace(b":", b": ")
    members = b"".join(
        b',"' + rng.choice([b"system_fingerprint", b"service_tier", b"x", b"", b"a b"]) + b'":' + value()
        for _ in range(rng.choice([0, 0, 1, 2, 3]))
    )
    ending = rng.choice([b"}", b"}", b"}", b"}\n", b"} \r\n", b"}\x0b", b"}}", b"} x", b""])
    head = rng.choice([b'{"id":"c1","choices":[]', b'{"id":"c1"', b'{"a":{"b":1', b"{"])
    separator = b"" if head == b"{" else b","
    return head + separator + b'"usage":' + usage + members + ending


def test_the_plain_usage_match_reads_what_the_decoding_reads() -> None:
    """Over generated bodies: wherever the one-match read applies, it agrees with decoding the tail."""
    rng = random.Random(8)
    matched = 0
    for _ in range(5000):
        body = _random_tail(rng)
        at = body.rfind(b'"usage":')
        expected = decoded_tail_usage(body, at, "openai")
        assert tail_usage(body, "openai") == expected, body
        if _PLAIN_OPENAI_USAGE.match(body, at) is not None:
            matched += 1
            assert expected is not UNREADABLE, body
    assert 500 < matched < 4500  # both roads were taken, many times
