"""``Gateway``: the object applications hold. Load a config, wrap SDK clients, say who is calling."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from .config.loader import load_config, load_file
from .config.schema import GatewayConfig
from .context import CallContext, bind_call_context
from .records import AttemptRecord, CallRecord
from .routing.plan import Classifier
from .runtime import Runtime
from .wrapping import wrap_client

if TYPE_CHECKING:
    from .asgi.endpoint import GatewayEndpoint
    from .asgi.status import StatusApp, StatusGuard

__all__ = ["Gateway"]

ClientT = TypeVar("ClientT")


class _NoTelemetry:
    """Telemetry switched off in config: every hook is a no-op."""

    def start_call(self, call: CallRecord) -> None: ...
    def start_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None: ...
    def end_attempt(self, call: CallRecord, attempt: AttemptRecord) -> None: ...
    def end_call(self, call: CallRecord) -> None: ...
    def record_rejection(self, call: CallRecord, reason: str) -> None: ...
    def inject_traceparent(self, attempt: AttemptRecord, headers: MutableMapping[str, str]) -> None: ...
    def flush(self, timeout: float | None = 5.0) -> bool:
        return True


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
        self.tracer_provider = tracer_provider  # None: the application's global provider
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

    def wrap(self, client: ClientT, *, sdk_tracing: bool | None = None) -> ClientT:
        """The same kind of SDK client, with every call going through this gateway.

        The anthropic SDK's own call spans would duplicate the gateway's, so they are turned
        off on the wrapped copy while gateway telemetry is on (``sdk_tracing=True`` keeps them).
        """
        keep = sdk_tracing if sdk_tracing is not None else not self.config.telemetry.enabled
        return wrap_client(self._runtime, client, keep_sdk_tracing=keep)

    def flush_telemetry(self, timeout: float | None = 5.0) -> bool:
        """Hand finished spans and metric points to the OpenTelemetry SDK (span ends run off the hot path)."""
        return bool(self._runtime.telemetry.flush(timeout))

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

    def asgi_app(self, *, allow_anonymous: bool = False) -> GatewayEndpoint:
        """An ASGI app serving the OpenAI and Anthropic HTTP APIs through this gateway.

        Mount it (``app.mount("/llm", gateway.asgi_app())``) or serve it alone. Callers
        authenticate with a gateway key from ``[[keys]]``; with no keys configured it
        answers 401 unless ``allow_anonymous=True``.
        """
        from .asgi.endpoint import GatewayEndpoint

        return GatewayEndpoint(self, allow_anonymous=allow_anonymous)

    def status_app(self, *, allow: StatusGuard | None = None, public: bool = False) -> StatusApp:
        """A live status page to mount, e.g. ``app.mount("/llm-gateway", gateway.status_app(allow=...))``.

        Closed by default (403): pass ``public=True``, or ``allow(scope) -> bool`` to decide per request.
        """
        from .asgi.status import StatusApp

        return StatusApp(self._runtime, allow=allow, public=public)

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
        from .policy.engine import build_policy  # imports limits/redis only when something is configured

        return build_policy(self.config)
