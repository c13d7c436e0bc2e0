"""OpenAI chat messages -> Anthropic ``system`` plus alternating user/assistant turns.

* ``system`` and ``developer`` messages, wherever they stand, become the top-level
  ``system`` (a string for one plain message, otherwise a list of text blocks, in order).
* Consecutive messages of the same role merge into one message with several blocks;
  ``tool`` messages become ``tool_result`` blocks of a user message (consecutive results,
  as after parallel tool calls, share one message) and go before other blocks of that turn.
* If the first turn is the assistant's, or there is no turn at all, a minimal user turn
  (:data:`PLACEHOLDER_USER_TEXT`) is put first, since Anthropic requires one.
* Empty text parts are left out, as Anthropic rejects empty text blocks; a message left
  with no content at all is skipped.
* ``cache_control`` on a content part (an Anthropic extension some OpenAI clients send)
  is carried over; image ``detail`` is not (see :func:`openai_image_to_anthropic`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from .images import openai_image_to_anthropic
from .request_rules import ParameterPolicy, expect_list, expect_mapping, expect_str

__all__ = ["PLACEHOLDER_USER_TEXT", "OpenAIConversation"]

PLACEHOLDER_USER_TEXT = "."
"""Text of the user turn inserted when an OpenAI conversation does not start with one."""


class OpenAIConversation:
    """Turns OpenAI messages into Anthropic's system + alternating user/assistant turns."""

    def __init__(self, policy: ParameterPolicy) -> None:
        self.policy = policy
        self.system: list[dict[str, Any]] = []
        self.system_is_plain = True
        self.turns: list[dict[str, Any]] = []

    def convert(self, messages: list[Any]) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
        """``(system, messages)`` for an Anthropic request; ``system`` is None when there is none."""
        for i, raw in enumerate(messages):
            where = f"messages[{i}]"
            message = expect_mapping(raw, where)
            role = message.get("role")
            if role in ("system", "developer"):
                self._check_keys(message, where, ("role", "content"))
                self.system.extend(self._text_blocks(message.get("content"), where))
            elif role == "user":
                self._check_keys(message, where, ("role", "content"))
                self._add("user", self._user_blocks(message.get("content"), where))
            elif role == "assistant":
                self._check_keys(message, where, ("role", "content", "tool_calls", "refusal"))
                self._add("assistant", self._assistant_blocks(message, where))
            elif role == "tool":
                self._check_keys(message, where, ("role", "content", "tool_call_id"))
                self._add("user", [self._tool_result(message, where)])
            elif role == "function":
                self.policy.refuse(where, "legacy function messages are not translated; use tool messages")
            else:
                raise InvalidRequestError(
                    f"'{where}.role' must be system, developer, user, assistant or tool, got {role!r}."
                )
        if not self.turns or self.turns[0]["role"] != "user":
            self.turns.insert(
                0, {"role": "user", "content": [{"type": "text", "text": PLACEHOLDER_USER_TEXT}]}
            )
        for turn in self.turns:
            _finish_turn(turn)
        return self._system(), self.turns

    def _system(self) -> str | list[dict[str, Any]] | None:
        if not self.system:
            return None
        if len(self.system) == 1 and self.system_is_plain and set(self.system[0]) == {"type", "text"}:
            return str(self.system[0]["text"])
        return self.system

    def _check_keys(self, message: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key, value in message.items():
            if key not in allowed and value is not None:
                self.policy.refuse(f"{where}.{key}", "Anthropic messages have no such field")

    def _add(self, role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if self.turns and self.turns[-1]["role"] == role:
            self.turns[-1]["content"].extend(blocks)
        else:
            self.turns.append({"role": role, "content": blocks})

    def _text_blocks(self, content: Any, where: str) -> list[dict[str, Any]]:
        """System content: a string or text parts."""
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        self.system_is_plain = False
        blocks: list[dict[str, Any]] = []
        for k, raw in enumerate(expect_list(content, f"{where}.content")):
            part = expect_mapping(raw, f"{where}.content[{k}]")
            if part.get("type") != "text":
                self.policy.refuse(f"{where}.content[{k}]", "Anthropic system prompts hold text only")
                continue
            block = self._text(part, f"{where}.content[{k}]")
            if block is not None:
                blocks.append(block)
        return blocks

    def _text(self, part: Mapping[str, Any], where: str, key: str = "text") -> dict[str, Any] | None:
        text = expect_str(part.get(key), f"{where}.{key}")
        if not text:
            return None
        block: dict[str, Any] = {"type": "text", "text": text}
        self._extras(part, block, where, ("type", key))
        return block

    def _extras(
        self, part: Mapping[str, Any], block: dict[str, Any], where: str, known: tuple[str, ...]
    ) -> None:
        """Carry ``cache_control`` (an Anthropic extension some OpenAI clients send); refuse the rest."""
        for extra, value in part.items():
            if extra == "cache_control" and value is not None:
                block["cache_control"] = value
            elif extra not in known and value is not None:
                self.policy.refuse(f"{where}.{extra}", "Anthropic content blocks have no such field")

    def _user_blocks(self, content: Any, where: str) -> list[dict[str, Any]]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        blocks: list[dict[str, Any]] = []
        for k, raw in enumerate(expect_list(content, f"{where}.content")):
            part_where = f"{where}.content[{k}]"
            part = expect_mapping(raw, part_where)
            kind = part.get("type")
            block: dict[str, Any] | None = None
            if kind == "text":
                block = self._text(part, part_where)
            elif kind == "image_url":
                block = openai_image_to_anthropic(part, part_where, self.policy)
                if block is not None:
                    self._extras(part, block, part_where, ("type", "image_url"))
            else:
                self.policy.refuse(part_where, f"content type {kind!r} has no Anthropic equivalent here")
            if block is not None:
                blocks.append(block)
        return blocks

    def _assistant_blocks(self, message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        content = message.get("content")
        if isinstance(content, str):
            if content:
                blocks.append({"type": "text", "text": content})
        elif content is not None:
            for k, raw in enumerate(expect_list(content, f"{where}.content")):
                part = expect_mapping(raw, f"{where}.content[{k}]")
                kind = part.get("type")
                if kind in ("text", "refusal"):
                    block = self._text(part, f"{where}.content[{k}]", str(kind))
                    if block is not None:
                        blocks.append(block)
                else:
                    self.policy.refuse(
                        f"{where}.content[{k}]", f"assistant content type {kind!r} is not text"
                    )
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal:
            blocks.append({"type": "text", "text": refusal})
        for j, raw in enumerate(expect_list(message.get("tool_calls") or [], f"{where}.tool_calls")):
            block = self._tool_use(
                expect_mapping(raw, f"{where}.tool_calls[{j}]"), f"{where}.tool_calls[{j}]"
            )
            if block is not None:
                blocks.append(block)
        return blocks

    def _tool_use(self, call: Mapping[str, Any], where: str) -> dict[str, Any] | None:
        if call.get("type", "function") != "function":
            self.policy.refuse(where, f"tool call type {call.get('type')!r} has no Anthropic equivalent")
            return None
        fn = expect_mapping(call.get("function"), f"{where}.function")
        arguments = fn.get("arguments") or "{}"
        try:
            parsed = json.loads(expect_str(arguments, f"{where}.function.arguments"))
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidRequestError(
                f"'{where}.function.arguments' must be a JSON object in a string, "
                f"got {str(arguments)[:100]!r}; Anthropic needs tool inputs as objects."
            )
        return {
            "type": "tool_use",
            "id": expect_str(call.get("id"), f"{where}.id"),
            "name": expect_str(fn.get("name"), f"{where}.function.name"),
            "input": parsed,
        }

    def _tool_result(self, message: Mapping[str, Any], where: str) -> dict[str, Any]:
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": expect_str(message.get("tool_call_id"), f"{where}.tool_call_id"),
        }
        content = message.get("content")
        if isinstance(content, str):
            if content:
                block["content"] = content
        elif content is not None:
            parts = []
            for k, raw in enumerate(expect_list(content, f"{where}.content")):
                part = expect_mapping(raw, f"{where}.content[{k}]")
                if part.get("type") != "text":
                    self.policy.refuse(f"{where}.content[{k}]", "OpenAI tool results hold text only")
                    continue
                text = self._text(part, f"{where}.content[{k}]")
                if text is not None:
                    parts.append(text)
            if parts:
                block["content"] = parts
        return block


def _finish_turn(turn: dict[str, Any]) -> None:
    """Put tool results first in a user turn, and collapse a lone plain text block to a string."""
    blocks: list[dict[str, Any]] = turn["content"]
    if turn["role"] == "user" and any(b["type"] == "tool_result" for b in blocks):
        blocks.sort(key=lambda b: b["type"] != "tool_result")  # stable: keeps each group's order
    if len(blocks) == 1 and set(blocks[0]) == {"type", "text"}:
        turn["content"] = blocks[0]["text"]
