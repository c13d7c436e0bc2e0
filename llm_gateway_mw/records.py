"""What the pipeline records about a call and its attempts, for accounting and telemetry.

The pipeline fills these plain objects; telemetry, the status page and response headers
read them. Keeping them free of I/O lets every stage be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .dialects import Dialect
from .usage import Usage

__all__ = ["AttemptRecord", "CallRecord", "Caller", "RequestParams"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: set by the middleware or ``gateway.caller(...)``; ``anonymous`` otherwise."""

    user: str | None = None
    tenant: str | None = None
    key: str | None = None

    def scope_value(self, per: str) -> str:
        """The identity a rule or cache scope keys on (``anonymous`` when unidentified)."""
        if per == "global":
            return "global"
        value = getattr(self, per, None) if per in ("user", "tenant", "key") else None
        return value if value else "anonymous"


@dataclass(frozen=True, slots=True)
class RequestParams:
    """Sampling parameters of a request, normalised across dialects (telemetry reads these)."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    choice_count: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


@dataclass(slots=True)
class AttemptRecord:
    """One physical request to one deployment."""

    number: int
    deployment: str
    provider: str
    provider_kind: str
    upstream_model: str
    operation: str
    server_address: str | None = None
    server_port: int | None = None
    fallback_from: str | None = None
    started: float = 0.0
    first_chunk_at: float | None = None
    ended: float | None = None
    status: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    usage: Usage | None = None
    span: Any = None


@dataclass(slots=True)
class CallRecord:
    """One logical call the application made, across every retry and fallback."""

    request_id: str
    operation: str
    requested_model: str
    inbound_dialect: Dialect
    stream: bool
    params: RequestParams
    caller: Caller
    started: float = 0.0
    ended: float | None = None
    route: str | None = None
    strategy: str | None = None
    decision_reason: str | None = None
    cache_hit: bool = False
    cost_usd: float | None = None
    rate_limit_remaining: int | None = None
    budget_remaining_usd: float | None = None
    storage_degraded: bool = False
    error_type: str | None = None
    error_message: str | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)
    request_body: Any = None
    response_body: Any = None
    http_route: str | None = None
    parent_context: Any = None
    span: Any = None

    @property
    def final_attempt(self) -> AttemptRecord | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def usage(self) -> Usage | None:
        last = self.final_attempt
        return last.usage if last is not None else None
