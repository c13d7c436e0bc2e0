"""Loads a config from TOML or a dict and checks what types alone cannot: references between sections."""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .schema import GatewayConfig
from .validate import build

__all__ = ["ConfigWarning", "load_config", "load_file"]


class ConfigWarning(UserWarning):
    """A config that works but is risky (e.g. a literal API key in a file)."""


def load_file(path: str | os.PathLike[str]) -> GatewayConfig:
    """Read and validate a TOML config file."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read the config file: {err.strerror}", file=str(file)) from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"not valid TOML: {err}", file=str(file)) from None
    return load_config(data, file=str(file))


def load_config(data: Mapping[str, Any] | None, *, file: str | None = None) -> GatewayConfig:
    """Validate a config mapping (the same schema as the TOML file)."""
    try:
        config = build(GatewayConfig, dict(data or {}), "")
        config = _name_providers(config)
        _check_references(config)
        _check_limits(config)
    except ConfigError as err:
        if file and not err.file:
            raise ConfigError(
                err.detail, path=err.path, file=file, expected=err.expected, found=err.found, hint=err.hint
            ) from None
        raise
    for name, provider in config.providers.items():
        if provider.api_key:
            warnings.warn(
                f"providers.{name}.api_key holds a literal secret; "
                "prefer api_key_env so keys stay out of files",
                ConfigWarning,
                stacklevel=3,
            )
    return config


def _name_providers(config: GatewayConfig) -> GatewayConfig:
    named = {name: dataclasses.replace(p, name=name) for name, p in config.providers.items()}
    return dataclasses.replace(config, providers=named)


def _check_references(config: GatewayConfig) -> None:
    for i, model in enumerate(config.models):
        if model.provider not in config.providers:
            known = ", ".join(config.providers) or "(none declared)"
            raise ConfigError(
                f"provider '{model.provider}' is not declared",
                path=f"models[{i}].provider",
                hint=f"declare [providers.{model.provider}] or use one of: {known}",
            )
    model_names = {m.name for m in config.models}
    for route, spec in config.routes.items():
        if route in model_names:
            raise ConfigError("a route cannot share its name with a model", path=f"routes.{route}")
        for j, target in enumerate(spec.targets):
            if target not in model_names:
                raise ConfigError(
                    f"target '{target}' is not a declared model",
                    path=f"routes.{route}.targets[{j}]",
                    hint=f"declared models: {', '.join(sorted(model_names)) or '(none)'}",
                )
    callable_names = model_names | set(config.routes)
    for source, chain in config.fallbacks.items():
        if source != "*" and source not in callable_names:
            raise ConfigError(f"'{source}' is not a declared model or route", path=f"fallbacks.{source}")
        for j, target in enumerate(chain):
            if target not in model_names:
                raise ConfigError(
                    f"fallback '{target}' is not a declared model",
                    path=f"fallbacks.{source}[{j}]",
                    hint=f"declared models: {', '.join(sorted(model_names)) or '(none)'}",
                )
    for i, key in enumerate(config.keys):
        for j, allowed in enumerate(key.models):
            if allowed not in callable_names:
                raise ConfigError(
                    f"'{allowed}' is not a declared model or route", path=f"keys[{i}].models[{j}]"
                )


def _check_limits(config: GatewayConfig) -> None:
    texts = [r.limit for r in config.rate_limits.rules] + [t for m in config.models for t in m.limits]
    if not texts and not any(k.rate_limits for k in config.keys):
        return  # importing `limits` costs ~100 ms: only pay it when there is something to check
    from limits import parse_many

    def check(text: str, path: str) -> None:
        try:
            parse_many(text.replace(" tokens", "").replace(" requests", ""))
        except ValueError:
            raise ConfigError(
                "not a rate limit", path=path, expected="the limits notation, e.g. '60/minute'", found=text
            ) from None

    for i, rule in enumerate(config.rate_limits.rules):
        check(rule.limit, f"rate_limits.rules[{i}].limit")
    for i, model in enumerate(config.models):
        for j, text in enumerate(model.limits):
            check(text, f"models[{i}].limits[{j}]")
    for i, key in enumerate(config.keys):
        for j, text in enumerate(key.rate_limits):
            check(text, f"keys[{i}].rate_limits[{j}]")
