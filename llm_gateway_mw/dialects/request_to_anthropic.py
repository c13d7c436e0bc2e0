"""OpenAI Chat Completions request body -> Anthropic Messages request body.

The conversation itself is reshaped by :class:`OpenAIConversation` (system prompt
hoisted, same-role turns merged, tool results grouped, a user turn first). Here:

* ``max_tokens`` is required: ``max_completion_tokens``, else ``max_tokens``, else
  ``default_max_tokens``.
* ``temperature`` above 1 (Anthropic's maximum) is refused, or clamped to 1 when
  ``drop_unsupported`` is set.
* ``response_format`` ``json_schema`` and ``reasoning_effort`` (low to max) become
  ``output_config.format`` / ``output_config.effort``; ``user`` (or ``safety_identifier``)
  becomes ``metadata.user_id``; ``parallel_tool_calls: false`` becomes
  ``tool_choice.disable_parallel_tool_use``.

A parameter Anthropic cannot express is refused (see :class:`ParameterPolicy`), never
dropped unasked; a value equal to leaving it out (``n=1``, ``presence_penalty=0``...)
is simply omitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidRequestError
from .messages_to_anthropic import PLACEHOLDER_USER_TEXT, OpenAIConversation
from .request_rules import ParameterPolicy, expect_list, expect_mapping, expect_str, is_neutral

__all__ = ["PLACEHOLDER_USER_TEXT", "openai_chat_to_anthropic"]

_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_REFUSED_REASONS: dict[str, str] = {
    "seed": "Anthropic has no seeded sampling",
    "audio": "Anthropic models do not produce audio",
    "prediction": "Anthropic has no predicted outputs",
    "verbosity": "Anthropic has no verbosity setting",
    "web_search_options": "Anthropic's web search is a server tool, not a request option",
    "functions": "legacy function calling is not translated; use tools",
    "function_call": "legacy function calling is not translated; use tool_choice",
    "moderation": "Anthropic has no moderation option",
    "prompt_cache_key": "Anthropic has no prompt cache key; mark blocks with cache_control instead",
    "prompt_cache_retention": "Anthropic sets cache lifetime per block with cache_control",
    "prompt_cache_options": "Anthropic sets caching per block with cache_control",
}


def openai_chat_to_anthropic(
    body: Mapping[str, Any],
    *,
    model: str,
    default_max_tokens: int = 4096,
    drop_unsupported: bool = False,
) -> dict[str, Any]:
    """Translate a Chat Completions request to a Messages request for ``model``."""
    return _ToAnthropic(ParameterPolicy("anthropic", drop_unsupported)).translate(
        expect_mapping(body, "request body"), model, default_max_tokens
    )


class _ToAnthropic:
    """One translation: the policy and the pieces gathered from several parameters."""

    def __init__(self, policy: ParameterPolicy) -> None:
        self.policy = policy
        self.output_config: dict[str, Any] = {}
        self.handlers: dict[str, Callable[[Any, dict[str, Any]], None]] = {
            "temperature": self._temperature,
            "top_p": self._copy("top_p"),
            "stop": self._stop,
            "stream": self._copy("stream"),
            "stream_options": self._stream_options,
            "response_format": self._response_format,
            "reasoning_effort": self._reasoning_effort,
            "service_tier": self._service_tier,
            "n": self._neutral("n", "Anthropic returns one choice per request", 1),
            "logprobs": self._neutral("logprobs", "Anthropic does not return log probabilities", False),
            "top_logprobs": self._neutral("top_logprobs", "Anthropic does not return log probabilities", 0),
            "presence_penalty": self._neutral("presence_penalty", "Anthropic has no presence penalty", 0),
            "frequency_penalty": self._neutral("frequency_penalty", "Anthropic has no frequency penalty", 0),
            "logit_bias": self._neutral("logit_bias", "Anthropic has no logit bias", {}),
            "modalities": self._neutral("modalities", "Anthropic produces text only", ["text"]),
            "store": self._neutral("store", "Anthropic does not store completions", False),
            "metadata": self._neutral("metadata", "Anthropic metadata holds only user_id (send user)", {}),
        }
        for name, reason in _REFUSED_REASONS.items():
            self.handlers[name] = self._neutral(name, reason)

    def translate(self, body: Mapping[str, Any], model: str, default_max_tokens: int) -> dict[str, Any]:
        system, messages = OpenAIConversation(self.policy).convert(
            expect_list(body.get("messages"), "messages")
        )
        out: dict[str, Any] = {"model": model, "max_tokens": _max_tokens(body, default_max_tokens)}
        if system is not None:
            out["system"] = system
        out["messages"] = messages
        joint = {"model", "messages", "max_tokens", "max_completion_tokens", "user", "safety_identifier"}
        joint |= {"tools", "tool_choice", "parallel_tool_calls"}
        for key, value in body.items():
            if key in joint or value is None:
                continue
            handler = self.handlers.get(key)
            if handler is None:
                self.policy.refuse(key, "it is not a Chat Completions parameter the gateway can translate")
            else:
                handler(value, out)
        self._tools(body, out)
        self._user(body, out)
        if self.output_config:
            out["output_config"] = self.output_config
        return out

    def _user(self, body: Mapping[str, Any], out: dict[str, Any]) -> None:
        """``user`` and its successor ``safety_identifier`` share Anthropic's one ``metadata.user_id``."""
        user, safety = body.get("user"), body.get("safety_identifier")
        if user is not None and safety is not None and user != safety:
            self.policy.refuse("user", "Anthropic has one metadata.user_id and safety_identifier differs")
            user = None
        chosen = safety if safety is not None else user
        if chosen is not None:
            out["metadata"] = {"user_id": expect_str(chosen, "safety_identifier" if safety else "user")}

    def _copy(self, key: str) -> Callable[[Any, dict[str, Any]], None]:
        def handler(value: Any, out: dict[str, Any]) -> None:
            out[key] = value

        return handler

    def _neutral(self, key: str, reason: str, *neutral: object) -> Callable[[Any, dict[str, Any]], None]:
        def handler(value: Any, out: dict[str, Any]) -> None:
            if not is_neutral(value, *neutral):
                self.policy.refuse(key, reason)

        return handler

    def _temperature(self, value: Any, out: dict[str, Any]) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidRequestError("'temperature' must be a number between 0 and 2.")
        if value > 1:
            self.policy.refuse("temperature", f"Anthropic accepts 0 to 1, got {value}")
            value = 1.0  # only reached with drop_unsupported: clamp rather than drop
        out["temperature"] = value

    def _stop(self, value: Any, out: dict[str, Any]) -> None:
        stops = [value] if isinstance(value, str) else expect_list(value, "stop")
        if stops:
            out["stop_sequences"] = [expect_str(s, "stop[]") for s in stops]

    def _stream_options(self, value: Any, out: dict[str, Any]) -> None:
        # Anthropic streams always report usage, so include_usage needs no counterpart.
        for key in expect_mapping(value, "stream_options"):
            if key not in ("include_usage", "include_obfuscation"):
                self.policy.refuse(f"stream_options.{key}", "Anthropic has no such stream option")

    def _response_format(self, value: Any, out: dict[str, Any]) -> None:
        fmt = expect_mapping(value, "response_format")
        kind = fmt.get("type")
        if kind == "text":
            return
        if kind == "json_schema":
            spec = expect_mapping(fmt.get("json_schema"), "response_format.json_schema")
            schema = expect_mapping(spec.get("schema"), "response_format.json_schema.schema")
            self.output_config["format"] = {"type": "json_schema", "schema": dict(schema)}
            return
        self.policy.refuse("response_format", f"Anthropic has no {kind!r} response format; use json_schema")

    def _reasoning_effort(self, value: Any, out: dict[str, Any]) -> None:
        if value in _EFFORTS:
            self.output_config["effort"] = value
        else:
            self.policy.refuse("reasoning_effort", f"Anthropic effort is one of {', '.join(_EFFORTS)}")

    def _service_tier(self, value: Any, out: dict[str, Any]) -> None:
        tier = {"auto": "auto", "default": "standard_only"}.get(value)
        if tier is None:
            self.policy.refuse("service_tier", "Anthropic offers only 'auto' and 'default' (standard_only)")
        else:
            out["service_tier"] = tier

    def _tools(self, body: Mapping[str, Any], out: dict[str, Any]) -> None:
        tools: list[dict[str, Any]] = []
        for j, raw in enumerate(expect_list(body.get("tools") or [], "tools")):
            tool = self._tool(expect_mapping(raw, f"tools[{j}]"), f"tools[{j}]")
            if tool is not None:
                tools.append(tool)
        if tools:
            out["tools"] = tools
        choice = self._tool_choice(body.get("tool_choice"))
        if body.get("parallel_tool_calls") is False and tools and (choice or {}).get("type") != "none":
            choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
        elif not is_neutral(body.get("parallel_tool_calls"), True, False):
            raise InvalidRequestError("'parallel_tool_calls' must be true or false.")
        if choice is not None and (tools or choice["type"] not in ("auto", "none")):
            out["tool_choice"] = choice  # without tools, auto and none say nothing

    def _tool(self, tool: Mapping[str, Any], where: str) -> dict[str, Any] | None:
        if tool.get("type", "function") != "function":
            self.policy.refuse(where, f"tool type {tool.get('type')!r} has no Anthropic equivalent")
            return None
        fn = expect_mapping(tool.get("function"), f"{where}.function")
        out: dict[str, Any] = {"name": expect_str(fn.get("name"), f"{where}.function.name")}
        if fn.get("description") is not None:
            out["description"] = expect_str(fn["description"], f"{where}.function.description")
        parameters = fn.get("parameters")
        out["input_schema"] = (
            dict(expect_mapping(parameters, f"{where}.function.parameters"))
            if parameters is not None
            else {"type": "object", "properties": {}}
        )
        if fn.get("strict") is not None:
            out["strict"] = bool(fn["strict"])
        for key in fn:
            if key not in ("name", "description", "parameters", "strict"):
                self.policy.refuse(f"{where}.function.{key}", "Anthropic tools have no such field")
        return out

    def _tool_choice(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        simple = {"auto": "auto", "none": "none", "required": "any"}
        if isinstance(value, str):
            if value not in simple:
                raise InvalidRequestError("'tool_choice' must be auto, none, required or a named function.")
            return {"type": simple[value]}
        choice = expect_mapping(value, "tool_choice")
        if choice.get("type") == "function":
            fn = expect_mapping(choice.get("function"), "tool_choice.function")
            return {"type": "tool", "name": expect_str(fn.get("name"), "tool_choice.function.name")}
        self.policy.refuse(
            "tool_choice", f"tool_choice type {choice.get('type')!r} has no Anthropic equivalent"
        )
        return None


def _max_tokens(body: Mapping[str, Any], default: int) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidRequestError(f"'{key}' must be a non-negative integer.")
            return value
    return default
