"""Model prices and facts, and the cost of a call in USD.

The bundled table (``llm_gateway_mw/data/prices.json``) is JSON rather than TOML so that it
loads with the standard library on every supported Python (``tomllib`` only exists from
3.11 and the package supports 3.10). It is read lazily, on the first ``PriceTable.bundled()``
call, never at import. Users override or add models from their own config.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from ..errors import ConfigError
from ..usage import Usage

__all__ = [
    "CACHE_WRITE_MULTIPLIER",
    "ModelInfo",
    "Price",
    "PriceTable",
    "cost_usd",
    "worst_case_cost_usd",
]

#: Anthropic bills a 5-minute cache write at 1.25 x the input price; used when a price has none.
CACHE_WRITE_MULTIPLIER = 1.25

_PER_TOKEN = 1_000_000.0
_BUNDLED_FILE = "llm_gateway_mw/data/prices.json"
_PRICE_KEYS = frozenset({"input", "output", "cached_input", "cache_write"})
_MODEL_KEYS = _PRICE_KEYS | {
    "context_window",
    "max_output_tokens",
    "supports_tools",
    "supports_images",
    "aliases",
    "provider",
    "note",
}
# Version suffixes peeled off a model id, one at a time, from the end.
_DATE_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8})$")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_LATEST = "-latest"


def _number(data: Mapping[str, Any], key: str, path: str, file: str | None) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            "invalid price",
            path=f"{path}.{key}" if path else key,
            file=file,
            expected="a non-negative number of USD per 1M tokens",
            found=value,
        )
    return float(value)


def _count(data: Mapping[str, Any], key: str, path: str, file: str | None) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            "invalid token count",
            path=f"{path}.{key}",
            file=file,
            expected="a non-negative integer",
            found=value,
        )
    return value


def _flag(data: Mapping[str, Any], key: str, path: str, file: str | None) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ConfigError("invalid flag", path=f"{path}.{key}", file=file, expected="true or false", found=value)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens: uncached input, output, cache read and (Anthropic) cache write."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        path: str = "price",
        *,
        file: str | None = None,
        base: Price | None = None,
    ) -> Price:
        """Read the price keys of ``data`` (other keys are ignored); missing ones come from ``base``.

        ``path`` and ``file`` only name the place in error messages (``ConfigError``).
        """
        if not isinstance(data, Mapping):
            raise ConfigError("invalid price entry", path=path, file=file, expected="a table", found=data)
        values = {
            key: _number(data, key, path, file) for key in ("input", "output", "cached_input", "cache_write")
        }
        if base is not None:
            values = {key: getattr(base, key) if value is None else value for key, value in values.items()}
        input_price, output_price = values["input"], values["output"]
        if input_price is None or output_price is None:
            key = "input" if input_price is None else "output"
            raise ConfigError(
                f"missing '{key}' price", path=path, file=file, hint=f"set {key} = <USD per 1M tokens>"
            )
        return cls(input_price, output_price, values["cached_input"], values["cache_write"])


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the gateway knows of a model: its price, limits and capabilities (None = unknown)."""

    price: Price
    context_window: int | None = None
    max_output_tokens: int | None = None
    supports_tools: bool | None = None
    supports_images: bool | None = None
    name: str = ""
    provider: str | None = None

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        path: str,
        *,
        name: str = "",
        file: str | None = None,
        base: ModelInfo | None = None,
    ) -> ModelInfo:
        """Read one model entry; keys missing from ``data`` keep ``base``'s values (a partial override)."""
        if not isinstance(data, Mapping):
            raise ConfigError("invalid model entry", path=path, file=file, expected="a table", found=data)
        unknown = sorted(str(key) for key in data if key not in _MODEL_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown key(s) {', '.join(unknown)}",
                path=path,
                file=file,
                hint=f"known keys: {', '.join(sorted(_MODEL_KEYS))}",
            )
        price = Price.from_mapping(data, path, file=file, base=base.price if base else None)
        provider = data.get("provider")
        if provider is not None and not isinstance(provider, str):
            raise ConfigError(
                "invalid provider", path=f"{path}.provider", file=file, expected="a string", found=provider
            )
        facts: dict[str, Any] = {
            "context_window": _count(data, "context_window", path, file),
            "max_output_tokens": _count(data, "max_output_tokens", path, file),
            "supports_tools": _flag(data, "supports_tools", path, file),
            "supports_images": _flag(data, "supports_images", path, file),
            "provider": provider,
        }
        if base is not None:
            facts = {key: getattr(base, key) if value is None else value for key, value in facts.items()}
        return cls(price=price, name=name or (base.name if base else ""), **facts)


class PriceTable:
    """Known models by id, with lookup tolerant of dates, ``-latest`` and provider prefixes."""

    __slots__ = ("_aliases", "_models", "as_of", "sources")

    def __init__(
        self,
        models: Mapping[str, ModelInfo],
        *,
        as_of: str | None = None,
        sources: Sequence[str] = (),
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self._models: dict[str, ModelInfo] = {}
        for name, info in models.items():
            key = name.strip().lower()
            self._models[key] = info if info.name == key else replace(info, name=key)
        self._aliases: dict[str, str] = {
            alias.strip().lower(): target.strip().lower()
            for alias, target in (aliases or {}).items()
            if target.strip().lower() in self._models
        }
        self.as_of = as_of
        self.sources: tuple[str, ...] = tuple(sources)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], path: str = "", *, file: str | None = None) -> PriceTable:
        """Build a table from the JSON layout: ``{"as_of", "sources", "models": {id: entry}}``."""
        if not isinstance(data, Mapping):
            raise ConfigError("invalid price table", path=path, file=file, expected="a table", found=data)
        models_path = f"{path}.models" if path else "models"
        raw_models = data.get("models", {})
        if not isinstance(raw_models, Mapping):
            raise ConfigError(
                "invalid models", path=models_path, file=file, expected="a table", found=raw_models
            )
        models: dict[str, ModelInfo] = {}
        aliases: dict[str, str] = {}
        for name, entry in raw_models.items():
            entry_path = f"{models_path}.{name}"
            models[name] = ModelInfo.from_mapping(entry, entry_path, name=name, file=file)
            names = entry.get("aliases", [])
            if not isinstance(names, list) or not all(isinstance(alias, str) for alias in names):
                raise ConfigError(
                    "invalid aliases",
                    path=f"{entry_path}.aliases",
                    file=file,
                    expected="a list of strings",
                    found=names,
                )
            aliases.update((alias, name) for alias in names)
        as_of = data.get("as_of")
        sources = data.get("sources", [])
        if as_of is not None and not isinstance(as_of, str):
            raise ConfigError(
                "invalid as_of", path="as_of", file=file, expected="a YYYY-MM-DD date", found=as_of
            )
        if not isinstance(sources, list) or not all(isinstance(url, str) for url in sources):
            raise ConfigError(
                "invalid sources", path="sources", file=file, expected="a list of URLs", found=sources
            )
        return cls(models, as_of=as_of, sources=sources, aliases=aliases)

    @classmethod
    def bundled(cls) -> PriceTable:
        """The table shipped with the package, read once on first use (not at import)."""
        return _bundled()

    def with_overrides(self, models: Mapping[str, ModelInfo]) -> PriceTable:
        """A new table where ``models`` replace or add entries (config overrides); ``self`` is unchanged."""
        merged = dict(self._models)
        merged.update({name.strip().lower(): info for name, info in models.items()})
        table = PriceTable(merged, as_of=self.as_of, sources=self.sources)
        table._aliases = {alias: target for alias, target in self._aliases.items() if alias not in merged}
        return table

    def resolve(self, model: str) -> str | None:
        """The known id that ``model`` names, or None.

        Tries, in order: the id as given; without a provider prefix (``openai/gpt-4o``,
        ``us.anthropic.claude-...``) or Vertex ``@date``; then peels version suffixes
        (``-2024-08-06``, ``-20250929``, ``-latest``, Bedrock ``-v1:0``) from the end one at
        a time. Peeling from the end means the longest known name wins, and a different
        model (``gpt-4o-mini``, ``o1-pro``) never falls back to a shorter one's price.
        """
        name = model.strip().lower()
        if not name:
            return None
        found = self._known(name)
        if found is not None:
            return found
        name = name.rsplit("/", 1)[-1].split("@", 1)[0]
        dot = name.find("anthropic.")
        if dot >= 0 and (dot == 0 or name[dot - 1] == "."):
            name = name[dot + len("anthropic.") :]
        while name:
            found = self._known(name)
            if found is not None:
                return found
            stripped = _peel(name)
            if stripped == name:
                return None
            name = stripped
        return None

    def lookup(self, model: str) -> ModelInfo | None:
        """The model's info (see ``resolve`` for the matching rules), or None if unknown."""
        name = self.resolve(model)
        return None if name is None else self._models[name]

    def names(self) -> list[str]:
        """Known model ids, sorted (aliases excluded)."""
        return sorted(self._models)

    def _known(self, name: str) -> str | None:
        if name in self._models:
            return name
        return self._aliases.get(name)

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.resolve(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"PriceTable({len(self._models)} models, as_of={self.as_of!r})"


def _peel(name: str) -> str:
    if name.endswith(_LATEST):
        return name[: -len(_LATEST)]
    for pattern in (_DATE_SUFFIX, _BEDROCK_VERSION):
        match = pattern.search(name)
        if match:
            return name[: match.start()]
    return name


_bundled_lock = threading.Lock()
_bundled_table: PriceTable | None = None


def _bundled() -> PriceTable:
    global _bundled_table
    table = _bundled_table
    if table is not None:
        return table
    with _bundled_lock:
        if _bundled_table is None:
            text = (resources.files("llm_gateway_mw") / "data" / "prices.json").read_text(encoding="utf-8")
            _bundled_table = PriceTable.from_mapping(json.loads(text), file=_BUNDLED_FILE)
        return _bundled_table


def cost_usd(usage: Usage, price: Price) -> float:
    """What a call cost: uncached input, cache reads, cache writes and output (reasoning included).

    ``usage.input_tokens`` counts every input token, so cache reads and writes are taken
    out of it before the uncached rest is billed at ``price.input``. Reads fall back to the
    input price and writes to 1.25 x input when the price does not say.
    """
    cache_read = usage.cache_read_tokens
    cache_write = usage.cache_write_tokens
    output = usage.output_tokens
    if not cache_read and not cache_write:  # the common case: one input price, one output price
        inputs = usage.input_tokens if usage.input_tokens > 0 else 0
        return (inputs * price.input + (output if output > 0 else 0) * price.output) / _PER_TOKEN
    cache_read = max(0, cache_read)
    cache_write = max(0, cache_write)
    uncached = max(0, usage.input_tokens - cache_read - cache_write)
    read_price = price.input if price.cached_input is None else price.cached_input
    write_price = price.input * CACHE_WRITE_MULTIPLIER if price.cache_write is None else price.cache_write
    total = (
        uncached * price.input
        + cache_read * read_price
        + cache_write * write_price
        + max(0, output) * price.output
    )
    return total / _PER_TOKEN


def worst_case_cost_usd(estimated_input_tokens: int, max_output_tokens: int, price: Price) -> float:
    """An upper bound to reserve against a budget: all input uncached, every allowed output token."""
    return (
        max(0, estimated_input_tokens) * price.input + max(0, max_output_tokens) * price.output
    ) / _PER_TOKEN
