"""Message content capture: opt-in modes, the conventions' JSON shape, redaction, length limits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_gateway_mw.telemetry import names as n
from llm_gateway_mw.telemetry.recorder import Telemetry
from llm_gateway_mw.telemetry.settings import TelemetrySettings, resolve_capture

from .conftest import Otel, Record, make_call

SECRET = "sk-live-51HcQ2EXAMPLEexampleEXAMPLE"

OPENAI_REQUEST: dict[str, Any] = {
    "model": "smart",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": f"My key is {SECRET}, what is the weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "weather",
                        "arguments": json.dumps({"city": "Paris", "key": SECRET}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "rainy, 57F"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {"name": "weather", "description": "Weather", "parameters": {"type": "object"}},
        }
    ],
}
OPENAI_RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Rainy."}, "finish_reason": "stop"}],
}
ANTHROPIC_REQUEST: dict[str, Any] = {
    "model": "smart",
    "system": [{"type": "text", "text": "You are terse."}],
    "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "call the tool"},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "rainy"}]},
    ],
    "tools": [{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}],
}
ANTHROPIC_RESPONSE: dict[str, Any] = {
    "id": "msg_1",
    "role": "assistant",
    "content": [{"type": "text", "text": "Rainy."}],
    "stop_reason": "end_turn",
}


def _redact(text: str) -> str:
    return re.sub(r"sk-[A-Za-z0-9_-]+", "[KEY]", text)


@pytest.mark.parametrize(
    ("value", "on_span", "as_event"),
    [
        ("", False, False),
        ("NO_CONTENT", False, False),
        ("SPAN_ONLY", True, False),
        ("span_only", True, False),
        ("EVENT_ONLY", False, True),
        ("SPAN_AND_EVENT", True, True),
        ("true", True, True),
        ("TRUE", True, True),
        ("bogus", False, False),
    ],
)
def test_env_variable_selects_the_mode(
    monkeypatch: pytest.MonkeyPatch, value: str, on_span: bool, as_event: bool
) -> None:
    monkeypatch.setenv(n.CAPTURE_CONTENT_ENV, value)
    assert resolve_capture(TelemetrySettings()) == (on_span, as_event)


def test_config_wins_over_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(n.CAPTURE_CONTENT_ENV, "SPAN_AND_EVENT")
    assert resolve_capture(TelemetrySettings(capture_content="off")) == (False, False)
    monkeypatch.setenv(n.CAPTURE_CONTENT_ENV, "NO_CONTENT")
    assert resolve_capture(TelemetrySettings(capture_content="span")) == (True, False)


def _capture(
    otel: Otel, record_call: Record, telemetry: Telemetry, **call: Any
) -> tuple[dict[str, Any], Any]:
    record_call(telemetry, make_call(**call))
    span = otel.span(telemetry, "gateway smart")
    return dict(span.attributes or {}), span.events


def test_off_by_default(monkeypatch: pytest.MonkeyPatch, otel: Otel, record_call: Record) -> None:
    monkeypatch.delenv(n.CAPTURE_CONTENT_ENV, raising=False)
    attrs, events = _capture(
        otel, record_call, otel.telemetry(), request_body=OPENAI_REQUEST, response_body=OPENAI_RESPONSE
    )
    assert not [k for k in attrs if k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system"))]
    assert list(events) == []


def test_env_span_and_event(monkeypatch: pytest.MonkeyPatch, otel: Otel, record_call: Record) -> None:
    monkeypatch.setenv(n.CAPTURE_CONTENT_ENV, "SPAN_AND_EVENT")
    attrs, events = _capture(
        otel, record_call, otel.telemetry(), request_body=OPENAI_REQUEST, response_body=OPENAI_RESPONSE
    )
    assert n.INPUT_MESSAGES in attrs and n.OUTPUT_MESSAGES in attrs
    [event] = events
    assert event.name == n.CONTENT_EVENT_NAME
    assert event.attributes[n.INPUT_MESSAGES] == attrs[n.INPUT_MESSAGES]
    assert event.attributes[n.OPERATION_NAME] == "chat"


def test_event_only(otel: Otel, record_call: Record) -> None:
    attrs, events = _capture(
        otel,
        record_call,
        otel.telemetry(capture_content="event"),
        request_body=OPENAI_REQUEST,
        response_body=OPENAI_RESPONSE,
    )
    assert n.INPUT_MESSAGES not in attrs
    assert [e.name for e in events] == [n.CONTENT_EVENT_NAME]


def test_openai_messages_in_the_conventions_shape(otel: Otel, record_call: Record) -> None:
    attrs, _ = _capture(
        otel,
        record_call,
        otel.telemetry(capture_content="span"),
        request_body=OPENAI_REQUEST,
        response_body=OPENAI_RESPONSE,
    )
    messages = json.loads(attrs[n.INPUT_MESSAGES])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[0]["parts"] == [{"type": "text", "content": "You are terse."}]
    assert messages[2]["parts"][0]["type"] == "tool_call"
    assert messages[2]["parts"][0]["name"] == "weather"
    assert messages[3]["parts"] == [{"type": "tool_call_response", "id": "call_1", "response": "rainy, 57F"}]
    assert json.loads(attrs[n.OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Rainy."}], "finish_reason": "stop"}
    ]
    assert json.loads(attrs[n.TOOL_DEFINITIONS])[0]["name"] == "weather"
    assert n.SYSTEM_INSTRUCTIONS not in attrs  # OpenAI keeps system messages in the history


def test_anthropic_messages_in_the_conventions_shape(otel: Otel, record_call: Record) -> None:
    attrs, _ = _capture(
        otel,
        record_call,
        otel.telemetry(capture_content="span"),
        inbound_dialect="anthropic",
        request_body=ANTHROPIC_REQUEST,
        response_body=json.dumps(ANTHROPIC_RESPONSE).encode(),  # raw bytes are read too
    )
    assert json.loads(attrs[n.SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "You are terse."}]
    messages = json.loads(attrs[n.INPUT_MESSAGES])
    assert messages[1]["parts"] == [
        {"type": "reasoning", "content": "call the tool"},
        {"type": "tool_call", "id": "toolu_1", "name": "weather", "arguments": {"city": "Paris"}},
    ]
    assert messages[2]["parts"][0]["type"] == "tool_call_response"
    assert json.loads(attrs[n.OUTPUT_MESSAGES])[0]["finish_reason"] == "end_turn"
    assert json.loads(attrs[n.TOOL_DEFINITIONS])[0]["parameters"] == {"type": "object"}


def test_redaction_removes_the_secret_from_text_and_tool_arguments(otel: Otel, record_call: Record) -> None:
    attrs, events = _capture(
        otel,
        record_call,
        otel.telemetry(capture_content="span_and_event", redact=_redact),
        request_body=OPENAI_REQUEST,
        response_body=OPENAI_RESPONSE,
    )
    captured = attrs[n.INPUT_MESSAGES] + json.dumps(dict(events[0].attributes))
    assert SECRET not in captured
    assert "[KEY]" in attrs[n.INPUT_MESSAGES]


def test_bodies_dropped_right_after_end_call_are_still_captured(otel: Otel, record_call: Record) -> None:
    telemetry = otel.telemetry(capture_content="span")
    call = make_call(request_body=OPENAI_REQUEST, response_body=OPENAI_RESPONSE)
    record_call(telemetry, call)
    call.request_body = call.response_body = None  # what the pipeline does after end_call
    assert n.INPUT_MESSAGES in (otel.span(telemetry, "gateway smart").attributes or {})


def test_attribute_value_length_limit_is_respected(
    monkeypatch: pytest.MonkeyPatch, record_call: Record
) -> None:
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(TelemetrySettings(capture_content="span_and_event"), tracer_provider=provider)
    long_text = "x" * 10_000
    record_call(telemetry, make_call(request_body={"messages": [{"role": "user", "content": long_text}]}))
    assert telemetry.flush()
    [gateway] = [s for s in exporter.get_finished_spans() if s.name == "gateway smart"]
    captured = (gateway.attributes or {})[n.INPUT_MESSAGES]
    event_captured = (gateway.events[0].attributes or {})[n.INPUT_MESSAGES]
    assert isinstance(captured, str) and len(captured) == 64
    assert isinstance(event_captured, str) and len(event_captured) == 64


def test_unreadable_bodies_capture_nothing(otel: Otel, record_call: Record) -> None:
    attrs, _ = _capture(
        otel,
        record_call,
        otel.telemetry(capture_content="span"),
        request_body=b"\x00not json",
        response_body=42,
    )
    assert n.INPUT_MESSAGES not in attrs and n.OUTPUT_MESSAGES not in attrs
