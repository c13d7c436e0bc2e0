"""What the pipeline records about a call and its attempts, for accounting and telemetry.

The pipeline fills these plain objects; telemetry, the status page and response headers
read them. Keeping them free of I/O lets every stage be tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .dialects import Dialect
from .usage import Usage

__all__ = ["NO_PARAMS", "AttemptRecord", "CallRecord", "Caller", "PendingReply", "RequestParams"]


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


NO_PARAMS = RequestParams()
"""A call's parameters until telemetry parses them, on its worker, from the request body."""


class PendingReply:
    """A reply body handed back unchanged: its id, model and finish reasons are read only when asked.

    The hot path reads just the usage of a same-dialect reply; telemetry (on its worker thread)
    or the status page reads the rest, and only then is the whole body parsed.
    """

    __slots__ = ("body", "dialect")

    def __init__(self, body: bytes | dict[str, Any], dialect: Dialect) -> None:
        self.body = body  # as received, or already parsed
        self.dialect = dialect

    def facts(self) -> tuple[str | None, str | None, list[str]]:
        """(response id, response model, finish reasons); empty when the body is not a JSON object."""
        from .inbound import loads_json
        from .translate import summarize_reply

        parsed = self.body
        if not isinstance(parsed, dict):
            try:
                parsed = loads_json(parsed)
            except ValueError:
                return None, None, []
            if not isinstance(parsed, dict):
                return None, None, []
        summary = summarize_reply(parsed, self.dialect)
        return summary.response_id, summary.response_model, summary.finish_reasons


@dataclass(slots=True)
class AttemptRecord:
    """One physical request to one deployment.

    ``response_id``, ``response_model`` and ``finish_reasons`` are filled from ``pending``
    on first read when the reply was not parsed on the request path.
    """

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
    usage: Usage | None = None
    span: Any = None
    pending: PendingReply | None = None
    _response_id: str | None = None
    _response_model: str | None = None
    _finish_reasons: list[str] | None = None

    def _resolve(self) -> None:
        pending = self.pending
        if pending is not None:
            self._response_id, self._response_model, self._finish_reasons = pending.facts()
            self.pending = None  # cleared last: a concurrent reader at worst parses twice

    @property
    def response_id(self) -> str | None:
        if self.pending is not None:
            self._resolve()
        return self._response_id

    @response_id.setter
    def response_id(self, value: str | None) -> None:
        self._response_id = value

    @property
    def response_model(self) -> str | None:
        if self.pending is not None:
            self._resolve()
        return self._response_model

    @response_model.setter
    def response_model(self, value: str | None) -> None:
        self._response_model = value

    @property
    def finish_reasons(self) -> list[str]:
        if self.pending is not None:
            self._resolve()
        if self._finish_reasons is None:
            self._finish_reasons = []
        return self._finish_reasons

    @finish_reasons.setter
    def finish_reasons(self, value: list[str]) -> None:
        self._finish_reasons = value


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
