"""The response cache: exact match on the normalised request, per scope, with a TTL.

* Key: ``cache_key`` of the request (model, messages, tools, parameters; delivery fields
  such as ``stream`` excluded) in the caller's dialect and operation, prefixed by the
  scope (``tenant:acme``, ``user:u42``, ``key:ci``, ``global``) so that one tenant or user
  never receives another's reply.
* Value: the whole reply body in the caller's dialect. A streamed reply is captured as it
  is relayed, assembled into the whole body (``dialects.assemble``) and stored like any
  other; a streamed request is served by rendering the stored body as a stream
  (``dialects.replay``). Streamed and non-streamed requests therefore share entries.
* What is cached: successful chat calls (OpenAI chat completions, Anthropic messages) and
  embeddings (deterministic, and often repeated), when ``is_cacheable`` allows (one choice;
  ``max_temperature``, when set, caps the sampling temperature). The Responses API is not
  cached: its replies are server-side objects (``previous_response_id``, ``store``).
* Per call: header ``x-llm-gateway-cache: no-cache`` skips the lookup (the fresh reply is
  stored), ``no-store`` skips both lookup and store.
* Stores: memory (an LRU of ``max_entries`` with per-entry expiry) or Redis (``SET … PX``,
  one ``GET`` per lookup and one ``SET`` per stored reply). A cache that cannot be reached
  is a miss: the cache always fails open.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .cache_key import cache_key, is_cacheable
from .stores import DEGRADED, AsyncOver, Guard, PerLoop, RedisConnector, is_memory_url

if TYPE_CHECKING:
    from ..config.schema import CacheConfig
    from ..drivers import CoreGen
    from ..inbound import Inbound
    from ..records import CallRecord

__all__ = ["CACHE_HEADER", "CacheStore", "ResponseCache"]

CACHE_HEADER = "x-llm-gateway-cache"
_OPERATIONS = frozenset({"chat", "embeddings"})


class _MemoryCache:
    """Both faces of a ``memory://`` cache: an LRU with a TTL per entry."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self.clock = clock

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (self.clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class _RedisCacheSync:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, key: str) -> bytes | None:
        value = self.client.get(key)
        return bytes(value) if value is not None else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self.client.set(key, value, px=max(1, int(ttl * 1000)))


class _RedisCacheAsync:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(key)
        return bytes(value) if value is not None else None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self.client.set(key, value, px=max(1, int(ttl * 1000)))


class CacheStore:
    """The ``StoreCall`` target for the cache: ``.sync`` and ``.aio`` faces over one store."""

    def __init__(self, settings: CacheConfig, connector: RedisConnector | None = None) -> None:
        self.prefix = f"{settings.key_prefix}:cache"
        if is_memory_url(settings.storage):
            memory = _MemoryCache(settings.max_entries)
            self.sync: Any = memory
            over = AsyncOver(memory)  # one async face, made once
            self._aio: Callable[[], Any] = lambda: over
            return
        redis = connector or RedisConnector(settings.storage, settings.storage_timeout)
        self.sync = _RedisCacheSync(redis.sync_client())
        self._aio = PerLoop(lambda: _RedisCacheAsync(redis.async_client())).get

    @property
    def aio(self) -> Any:
        return self._aio()


def _directives(inbound: Inbound) -> set[str]:
    value = inbound.header(CACHE_HEADER) or ""
    return {part.strip().lower() for part in value.split(",") if part.strip()}


@dataclass(slots=True)
class ResponseCache:
    """Looks replies up before routing and stores successful ones after."""

    store: CacheStore
    guard: Guard
    settings: CacheConfig

    def _key(self, call: CallRecord, inbound: Inbound) -> str | None:
        """The storage key of this request, or None when it is not cacheable."""
        if inbound.operation not in _OPERATIONS:
            return None
        if not is_cacheable(inbound.body, max_temperature=self.settings.max_temperature):
            return None
        scope = self.settings.scope
        label = "global" if scope == "global" else f"{scope}:{call.caller.scope_value(scope)}"
        key = cache_key(dialect=inbound.dialect, operation=inbound.operation, body=inbound.body, scope=label)
        return f"{self.store.prefix}:{key}"

    def lookup(self, call: CallRecord, inbound: Inbound) -> CoreGen[bytes | None]:
        """The stored reply for this request, if any (never for ``no-cache``/``no-store`` calls)."""
        if _directives(inbound) & {"no-cache", "no-store"}:
            return None
        if inbound.stream and inbound.operation != "chat":
            return None
        key = self._key(call, inbound)
        if key is None:
            return None
        found = yield from self.guard.call(call, self.store, "get", key)
        return None if found is DEGRADED else found  # type: ignore[no-any-return]

    def wants(self, call: CallRecord, inbound: Inbound) -> bool:
        """Should this call's reply be stored (the caller did not say ``no-store``)?"""
        return "no-store" not in _directives(inbound) and self._key(call, inbound) is not None

    def save(self, call: CallRecord, inbound: Inbound, body: bytes) -> CoreGen[None]:
        """Store a successful reply body (caller's dialect) under this request's key."""
        if "no-store" in _directives(inbound):
            return
        key = self._key(call, inbound)
        if key is not None:
            yield from self.guard.call(call, self.store, "set", key, body, self.settings.ttl)
