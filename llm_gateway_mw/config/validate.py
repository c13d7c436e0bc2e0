"""Builds typed config dataclasses from plain mappings, with errors that name the key path.

One generic walker serves every section, so ``models[2].provder`` and
``rate_limits.rules[0].per`` get the same quality of message: the path, what was
expected, what was found and, for unknown keys, the closest known key.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from ..errors import ConfigError

__all__ = ["build", "join_path"]

T = TypeVar("T")

_HINT_CACHE: dict[type, dict[str, Any]] = {}


def join_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def build(cls: type[T], data: object, path: str) -> T:
    """Validate ``data`` against dataclass ``cls`` and return an instance."""
    if not isinstance(data, Mapping):
        raise ConfigError("must be a table", path=path, expected="a table of keys", found=data)
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    aliases: Mapping[str, str] = getattr(cls, "__config_aliases__", {})
    values: dict[str, Any] = {}
    for raw_key, raw_value in data.items():
        key = aliases.get(raw_key, raw_key)
        if key not in fields or key.startswith("_"):
            known = [k for k in fields if not k.startswith("_")]
            close = difflib.get_close_matches(str(raw_key), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            raise ConfigError(f"unknown key ({hint})", path=join_path(path, str(raw_key)))
        values[key] = convert(hints[key], raw_value, join_path(path, raw_key))
    for name, field in fields.items():
        if name in values or name.startswith("_"):
            continue
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError("required key is missing", path=join_path(path, name))
    try:
        return cls(**values)
    except ConfigError as err:
        if not err.path:
            raise ConfigError(err.detail, path=path, hint=err.hint) from None
        raise


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINT_CACHE.get(cls)
    if hints is None:
        hints = get_type_hints(cls)
        _HINT_CACHE[cls] = hints
    return hints


def convert(hint: Any, value: object, path: str) -> Any:
    """Convert one value to the type ``hint`` describes, or raise ConfigError."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin is Union or origin is types.UnionType:
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors: list[ConfigError] = []
        for option in options:
            if option is type(None):
                continue
            try:
                return convert(option, value, path)
            except ConfigError as err:
                errors.append(err)
        expected = " or ".join(_name(o) for o in options if o is not type(None))
        raise ConfigError("wrong type", path=path, expected=expected, found=value)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
            hint_text = f"did you mean '{close[0]}'?" if close else None
            raise ConfigError(
                "unsupported value",
                path=path,
                expected=" | ".join(map(str, allowed)),
                found=value,
                hint=hint_text,
            )
        return value
    if origin in (tuple, list):
        args = get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError("wrong type", path=path, expected="a list", found=value)
        item_hint = args[0] if args else Any
        return tuple(convert(item_hint, item, join_path(path, i)) for i, item in enumerate(value))
    if origin in (dict, Mapping, typing.Mapping) or hint is dict:
        args = get_args(hint)
        if not isinstance(value, Mapping):
            raise ConfigError("wrong type", path=path, expected="a table", found=value)
        value_hint = args[1] if len(args) == 2 else Any
        return {str(k): convert(value_hint, v, join_path(path, str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value, path)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError("wrong type", path=path, expected="true or false", found=value)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError("wrong type", path=path, expected="an integer", found=value)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError("wrong type", path=path, expected="a number", found=value)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError("wrong type", path=path, expected="a string", found=value)
        return value
    if callable(hint) and isinstance(value, hint):
        return value
    raise ConfigError("wrong type", path=path, expected=_name(hint), found=value)


def _name(hint: Any) -> str:
    origin = get_origin(hint)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(hint))
    if origin in (tuple, list):
        return "a list"
    if origin in (dict, Mapping):
        return "a table"
    if dataclasses.is_dataclass(hint):
        return "a table"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )
