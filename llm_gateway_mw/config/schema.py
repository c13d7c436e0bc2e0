"""The config schema as typed dataclasses: one class per TOML table.

Field names are the config keys. Defaults are what a demanding user expects with no
config at all: every call passes through, telemetry follows the app's providers,
nothing is limited or cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import ConfigError

__all__ = [
    "BudgetRule",
    "BudgetsConfig",
    "CacheConfig",
    "CircuitBreakerConfig",
    "EndpointConfig",
    "GatewayConfig",
    "KeyConfig",
    "MiddlewareConfig",
    "ModelConfig",
    "PriceConfig",
    "ProviderConfig",
    "ProviderType",
    "RateLimitRule",
    "RateLimitsConfig",
    "RetryConfig",
    "RouteConfig",
    "RoutingConfig",
    "TelemetryConfig",
]

ProviderType = Literal["openai", "anthropic", "openai-compatible", "azure-openai", "mock"]
Strategy = Literal["weighted", "ordered", "lowest-latency", "lowest-cost", "least-busy"]
RouteStrategy = Literal["complexity", "weighted", "ordered", "lowest-latency", "lowest-cost", "least-busy"]
Scope = Literal["user", "tenant", "key", "model", "global"]
CacheScope = Literal["tenant", "user", "key", "global"]
Period = Literal["hour", "day", "week", "month"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Where and how to reach one upstream; secrets come from the environment."""

    type: ProviderType
    api_key_env: str | None = None
    api_key: str | None = None
    base_url: str | None = None
    api_version: str | None = None
    organization: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # mock provider only: simulated latency, streaming pace and injected failures
    latency_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    failure_rate: float = 0.0
    failure_status: int = 503
    name: str = ""

    def __post_init__(self) -> None:
        if self.type in ("openai-compatible", "azure-openai") and not self.base_url:
            raise ConfigError(
                f"type '{self.type}' needs base_url", hint="set base_url to the server's API root"
            )
        if self.type == "azure-openai" and not self.api_version:
            raise ConfigError("type 'azure-openai' needs api_version", hint='e.g. api_version = "2024-10-21"')
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ConfigError("failure_rate must be between 0 and 1", hint="0.1 fails one call in ten")

    @property
    def key_variable(self) -> str | None:
        """The environment variable holding this provider's key (a sensible default per type)."""
        if self.api_key_env:
            return self.api_key_env
        return {
            "openai": "OPENAI_API_KEY",
            "anthropic": "ANTHROPIC_API_KEY",
            "azure-openai": "AZURE_OPENAI_API_KEY",
        }.get(self.type)


@dataclass(frozen=True, slots=True)
class PriceConfig:
    """USD per 1M tokens; overrides the bundled price table for one model."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """One deployment; entries sharing a ``name`` are deployments of one model."""

    name: str
    provider: str
    model: str = ""
    weight: float = 1.0
    price: PriceConfig | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    limits: tuple[str, ...] = ()
    supports_tools: bool | None = None
    supports_images: bool | None = None
    drop_unsupported: bool = False
    default_max_tokens: int | None = None

    def __post_init__(self) -> None:
        if not self.model:
            object.__setattr__(self, "model", self.name)
        if self.weight <= 0:
            raise ConfigError("weight must be positive", hint="use a number like 1 or 2")

    @property
    def deployment_id(self) -> str:
        return f"{self.name}@{self.provider}/{self.model}"


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    strategy: Strategy = "weighted"


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """A virtual model name resolved across targets by a strategy."""

    targets: tuple[str, ...]
    strategy: RouteStrategy = "complexity"
    thresholds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError(
                "a route needs at least one target", hint='targets = ["cheap-model", "strong-model"]'
            )


@dataclass(frozen=True, slots=True)
class RetryConfig:
    attempts: int = 2
    backoff_initial: float = 0.2
    backoff_max: float = 8.0
    retry_on: tuple[int | str, ...] = (408, 409, 429, 500, 502, 503, 504, 529, "timeout", "connection")
    timeout: float = 600.0
    failover_on: tuple[int | str, ...] = ()

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError("attempts must be at least 1", hint="1 means no retry on the same deployment")
        for item in self.retry_on:
            if isinstance(item, str) and item not in ("timeout", "connection"):
                raise ConfigError(
                    f"unknown retry_on entry '{item}'", hint="use status codes or 'timeout'/'connection'"
                )


@dataclass(frozen=True, slots=True)
class CircuitBreakerConfig:
    failures: int = 5
    cooldown: float = 30.0


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    per: Scope
    limit: str
    unit: Literal["requests", "tokens"] = "requests"
    models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RateLimitsConfig:
    storage: str = "memory://"
    strategy: Literal["fixed-window", "moving-window", "sliding-window-counter"] = "moving-window"
    rules: tuple[RateLimitRule, ...] = ()
    fail_open: bool = True
    storage_timeout: float = 0.5
    key_prefix: str = "llm-gateway"


@dataclass(frozen=True, slots=True)
class BudgetRule:
    per: Scope
    usd: float
    period: Period = "day"

    def __post_init__(self) -> None:
        if self.usd < 0:
            raise ConfigError("usd must not be negative")


@dataclass(frozen=True, slots=True)
class BudgetsConfig:
    storage: str = "memory://"
    rules: tuple[BudgetRule, ...] = ()
    fail_open: bool = True
    storage_timeout: float = 0.5
    key_prefix: str = "llm-gateway"


@dataclass(frozen=True, slots=True)
class CacheConfig:
    enabled: bool = False
    storage: str = "memory://"
    ttl: float = 600.0
    max_entries: int = 10000
    scope: CacheScope = "tenant"
    max_temperature: float | None = None
    storage_timeout: float = 0.5
    key_prefix: str = "llm-gateway"


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """A gateway key for the mounted endpoint; only its hash is stored."""

    name: str
    hash: str
    models: tuple[str, ...] = ()
    tenant: str | None = None
    rate_limits: tuple[str, ...] = ()
    budget_usd: float | None = None
    budget_period: Period = "day"

    def __post_init__(self) -> None:
        algo, _, digest = self.hash.partition(":")
        if algo != "sha256" or len(digest) != 64:
            raise ConfigError(
                "hash must look like 'sha256:<64 hex digits>'",
                hint="`llm-gateway-mw keys new` prints a key and its hash line",
            )


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    enabled: bool = True
    capture_content: Literal["off", "span", "event", "span_and_event"] | None = None
    record_user_ids: bool = False
    propagate_traceparent: bool = False


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    max_body_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class MiddlewareConfig:
    budget_status: Literal[429, 402] = 429
    usage_headers: bool = False


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The whole gateway configuration (``Gateway({...})`` or a TOML file)."""

    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    models: tuple[ModelConfig, ...] = ()
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    routes: dict[str, RouteConfig] = field(default_factory=dict)
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    retry: RetryConfig = field(default_factory=RetryConfig)
    circuit_breaker: CircuitBreakerConfig = field(default_factory=CircuitBreakerConfig)
    rate_limits: RateLimitsConfig = field(default_factory=RateLimitsConfig)
    budgets: BudgetsConfig = field(default_factory=BudgetsConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    keys: tuple[KeyConfig, ...] = ()
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    middleware: MiddlewareConfig = field(default_factory=MiddlewareConfig)
    strict: bool = False
    default_max_tokens: int = 4096

    def model_names(self) -> list[str]:
        """Every name an application may ask for: models and routes."""
        names = dict.fromkeys(m.name for m in self.models)
        names.update(dict.fromkeys(self.routes))
        return list(names)
