"""Rules shared by the request translators: refusing what the target cannot express, checking shapes.

A translator never drops a parameter on its own: it calls :meth:`ParameterPolicy.refuse`,
which raises :class:`~llm_gateway_mw.errors.UnsupportedParameterError` unless the model
entry allows dropping (``drop_unsupported``), in which case the caller leaves it out.
Malformed bodies raise :class:`~llm_gateway_mw.errors.InvalidRequestError` naming the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError, UnsupportedParameterError
from . import Dialect

__all__ = ["ParameterPolicy", "expect_list", "expect_mapping", "expect_str", "is_neutral"]


@dataclass(frozen=True, slots=True)
class ParameterPolicy:
    """What to do with a parameter the ``target`` dialect cannot express."""

    target: Dialect
    drop_unsupported: bool = False

    def refuse(self, parameter: str, reason: str) -> None:
        """Raise for ``parameter``, or return so the caller drops it when dropping is allowed."""
        if not self.drop_unsupported:
            raise UnsupportedParameterError(parameter, self.target, reason)


def is_neutral(value: object, *neutral: object) -> bool:
    """True when ``value`` is absent (``None``) or one of the values equal to leaving it out."""
    if value is None:
        return True
    return any(value == n and isinstance(value, bool) == isinstance(n, bool) for n in neutral)


def expect_mapping(value: object, where: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or InvalidRequestError naming ``where``."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError(
            f"'{where}' must be a JSON object, got {_kind(value)}. Fix the request body."
        )
    return value


def expect_list(value: object, where: str) -> list[Any]:
    """``value`` as a JSON array, or InvalidRequestError naming ``where``."""
    if not isinstance(value, list | tuple):
        raise InvalidRequestError(
            f"'{where}' must be a JSON array, got {_kind(value)}. Fix the request body."
        )
    return list(value)


def expect_str(value: object, where: str) -> str:
    """``value`` as a string, or InvalidRequestError naming ``where``."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"'{where}' must be a string, got {_kind(value)}. Fix the request body.")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__
