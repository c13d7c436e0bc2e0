"""``Gateway``: the object applications hold. Load a config, wrap SDK clients, say who is calling."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from .config.loader import load_config, load_file
from .config.schema import GatewayConfig
from .context import CallContext, bind_call_context
from .records import AttemptRecord, CallRecord
from .routing.plan import Classifier
from .runtime import Runtime
from .wrapping import wrap_client

__all__ = ["Gateway"]

ClientT = TypeVar("ClientT")


class _NoTelemetry:
    """Telemetry switched off in config: every hook is a no-op."""

    def start_call(self, call: CallRecord) -> None: ...
    def start_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None: ...
    def end_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None: ...
    def end_call(self, call: CallRecord) -> None: ...
    def record_rejection(self, call: CallRecord, reason: str) -> None: ...


class Gateway:
    """An in-process LLM gateway.

    ``Gateway()`` needs no config: wrapped clients keep calling their own provider, with
    telemetry. ``Gateway({...})`` or ``Gateway.from_file("gateway.toml")`` add providers,
    models, routes, fallbacks, limits, budgets and a cache.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | GatewayConfig | None = None,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        classifier: Classifier | None = None,
        redact: Callable[[str], str] | None = None,
        seed: int | None = None,
    ) -> None:
        self.config = config if isinstance(config, GatewayConfig) else load_config(config)
        self._runtime = Runtime(
            self.config,
            telemetry=self._telemetry(tracer_provider, meter_provider, redact),
            policy=self._policy(),
            classifier=classifier,
            seed=seed,
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **options: Any) -> Gateway:
        """Load a TOML config file (see the README for the schema)."""
        return cls(load_file(path), **options)

    def wrap(self, client: ClientT) -> ClientT:
        """The same kind of SDK client, with every call going through this gateway."""
        return wrap_client(self._runtime, client)

    def caller(
        self,
        *,
        user: str | None = None,
        tenant: str | None = None,
        key: str | None = None,
        request_id: str | None = None,
    ) -> AbstractContextManager[CallContext]:
        """Who is calling, for code outside a web request (the middleware sets this inside one)."""
        return bind_call_context(user=user, tenant=tenant, key=key, request_id=request_id)

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    def _telemetry(
        self, tracer_provider: Any, meter_provider: Any, redact: Callable[[str], str] | None
    ) -> Any:
        settings = self.config.telemetry
        if not settings.enabled:
            return _NoTelemetry()
        from .telemetry.recorder import Telemetry
        from .telemetry.settings import TelemetrySettings

        return Telemetry(
            TelemetrySettings(
                enabled=True,
                capture_content=settings.capture_content,
                redact=redact,
                record_user_ids=settings.record_user_ids,
                propagate_traceparent=settings.propagate_traceparent,
            ),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )

    def _policy(self) -> Any:
        from .policy.admission import Policy

        return Policy()
