"""Where limits, budgets and cached replies live: in memory or in Redis, behind one failure policy.

Each store is the target of ``StoreCall`` effects and has two faces: ``.sync`` (used by
the sync driver, for ``openai.OpenAI``/``anthropic.Anthropic``) and ``.aio`` (awaited by
the async driver). Redis faces use ``redis.Redis`` and ``redis.asyncio.Redis`` clients
built from the URL with ``socket_timeout``/``socket_connect_timeout`` = ``storage_timeout``
and no client-side retries, so no storage call can hang a request. Async clients are
kept per event loop (a pooled connection cannot move between loops).

A memory store is one object shared by both faces, so a gateway's sync and async clients
count against the same limits; its operations are short critical sections with no I/O,
so calling them from the event loop never blocks it.

``Guard`` is the single place where a storage failure is turned into fail-open (log one
warning per outage, mark the call ``storage_degraded``, carry on without the store) or
fail-closed (``StorageUnavailableError``, HTTP 503). After a failure the store is not
tried again for ``RECHECK_SECONDS``, so an outage costs one timeout, not one per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ..effects import StoreCall
from ..errors import StorageUnavailableError

if TYPE_CHECKING:
    from ..drivers import CoreGen
    from ..records import CallRecord

__all__ = [
    "DEGRADED",
    "RECHECK_SECONDS",
    "AsyncOver",
    "Connectors",
    "Degraded",
    "Guard",
    "PerLoop",
    "RedisConnector",
    "check_storage_url",
    "is_memory_url",
    "redact_url",
    "redis_errors",
]

RECHECK_SECONDS = 1.0
"""After a storage failure, calls skip the store (fail open or closed at once) for this long."""

_log = logging.getLogger("llm_gateway_mw.storage")
T = TypeVar("T")


class Degraded:
    """The result of a store call that did not happen because the store is down (fail open)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEGRADED"


DEGRADED = Degraded()


def is_memory_url(url: str) -> bool:
    """``memory://`` (the default): state lives in this process only."""
    return urlsplit(url).scheme == "memory"


def redact_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def check_storage_url(url: str, section: str) -> None:
    """Reject storage URLs the gateway cannot use, naming the config key and what would work."""
    from ..errors import ConfigError

    scheme = urlsplit(url).scheme
    if scheme not in ("memory", "redis", "rediss", "unix"):
        raise ConfigError(
            "unsupported storage",
            path=f"{section}.storage",
            expected="memory:// or redis://host:port/db (rediss:// for TLS)",
            found=url,
        )


class PerLoop(Generic[T]):
    """One object per running event loop, made on first use by ``factory``."""

    __slots__ = ("_factory", "_objects")

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._objects: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        obj = self._objects.get(loop)
        if obj is None:
            obj = self._factory()
            self._objects[loop] = obj
        return obj


class AsyncOver:
    """The ``.aio`` face of a memory store: the same object's methods, as coroutines.

    One per store, with one coroutine function per method name made on first use. It serves
    ``StoreCall`` effects on a memory store; guarded calls skip it (``Guard.local``).
    """

    __slots__ = ("_calls", "_inner")

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self._calls: dict[str, Callable[..., Awaitable[Any]]] = {}

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        call = self._calls.get(name)
        if call is None:
            call = self._calls[name] = _as_coroutine(getattr(self._inner, name))
        return call


def _as_coroutine(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return call


@dataclass(slots=True)
class RedisConnector:
    """The Redis connection pools of one storage URL (one sync, one per event loop), shared by every
    store on that URL; connections have bounded timeouts and no retry loop."""

    url: str
    timeout: float
    _sync: Any = None
    _aio: PerLoop[Any] | None = None

    def options(self, *, asynchronous: bool) -> dict[str, Any]:
        """Connection keyword arguments: timeouts on connect and on every command, no retries."""
        from redis.backoff import NoBackoff

        if asynchronous:
            from redis.asyncio.retry import Retry as AsyncRetry

            retry: Any = AsyncRetry(NoBackoff(), 0)
        else:
            from redis.retry import Retry

            retry = Retry(NoBackoff(), 0)
        return {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout, "retry": retry}

    def sync_pool(self) -> Any:
        if self._sync is None:
            import redis

            self._sync = redis.ConnectionPool.from_url(self.url, **self.options(asynchronous=False))
        return self._sync

    def async_pool(self) -> Any:
        """The ``redis.asyncio`` connection pool of the running event loop."""
        if self._aio is None:
            import redis.asyncio

            def make() -> Any:
                return redis.asyncio.ConnectionPool.from_url(self.url, **self.options(asynchronous=True))

            self._aio = PerLoop(make)
        return self._aio.get()

    def sync_client(self) -> Any:
        import redis

        return redis.Redis(connection_pool=self.sync_pool())

    def async_client(self) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis(connection_pool=self.async_pool())


@dataclass(slots=True)
class Connectors:
    """One ``RedisConnector`` per (URL, timeout) of a policy, so its stores share connections."""

    _by_url: dict[tuple[str, float], RedisConnector] = field(default_factory=dict)

    def get(self, url: str, timeout: float) -> RedisConnector:
        connector = self._by_url.get((url, timeout))
        if connector is None:
            connector = self._by_url[(url, timeout)] = RedisConnector(url, timeout)
        return connector


def redis_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the store did not answer" (never programming errors)."""
    import redis
    from limits.errors import StorageError

    return (redis.RedisError, StorageError, OSError, asyncio.TimeoutError)


@dataclass(slots=True)
class Guard:
    """Performs store calls and applies fail-open or fail-closed when the store is unreachable."""

    name: str  # "rate limits", "budgets", "cache": for messages
    url: str
    fail_open: bool
    errors: tuple[type[BaseException], ...] = ()
    clock: Callable[[], float] = time.monotonic
    local: bool = False  # an in-process (memory://) store: called in place, nothing to guard
    _down_until: float = field(default=0.0)

    def call(
        self, call: CallRecord | None, store: Any, method: str, *args: Any, decides: bool = False
    ) -> CoreGen[Any]:
        """``store``'s ``method(*args)`` on the face of the running driver, guarded as in ``run``.

        A ``local`` store does no I/O and cannot be unreachable, so its method is called right
        here, for sync and async clients alike, instead of a ``StoreCall`` round trip through
        the driver (which would make the very same call: on ``.sync``, or on ``.aio``, an
        ``AsyncOver`` of the same object). The decision logic around it is the same either way.
        """
        if self.local:
            return getattr(store.sync, method)(*args)
        return (yield from self.run(call, StoreCall(store, method, args), decides=decides))

    def run(self, call: CallRecord | None, effect: StoreCall, *, decides: bool = False) -> CoreGen[Any]:
        """The store's answer, or ``DEGRADED`` when the store is down.

        ``decides``: the answer admits or refuses a call (a hit, a reservation), so a closed
        guard raises ``StorageUnavailableError``. Bookkeeping after the decision (settle,
        refund, stats) never raises: the reply is already won, so it degrades instead.
        """
        if self._down_until and self.clock() < self._down_until:
            return self._unavailable(call, None, decides=decides)
        try:
            result = yield effect
        except self.errors as err:
            first = not self._down_until
            self._down_until = self.clock() + RECHECK_SECONDS
            return self._unavailable(call, err, decides=decides, log=first)
        if self._down_until:
            self._down_until = 0.0
            _log.warning("llm-gateway-mw: %s storage %s is reachable again", self.name, redact_url(self.url))
        return result

    def _unavailable(
        self, call: CallRecord | None, err: BaseException | None, *, decides: bool, log: bool = False
    ) -> Any:
        where = redact_url(self.url)
        why = f"{type(err).__name__}: {err}" if err is not None else "it failed moments ago"
        if decides and not self.fail_open:
            raise StorageUnavailableError(
                f"the {self.name} storage {where} is unreachable ({why}), and it is configured to fail "
                f"closed. Start or fix Redis, or set fail_open = true to serve calls without it.",
                headers={"retry-after": str(max(1, int(RECHECK_SECONDS + 0.999)))},
            )
        if log:
            _log.warning(
                "llm-gateway-mw: %s storage %s is unreachable (%s); serving calls without it "
                "(fail_open = true), or refusing them (fail_open = false), until it answers again",
                self.name,
                where,
                why,
            )
        if call is not None:
            call.storage_degraded = True
        return DEGRADED
