"""The storage side of rate limits: ``limits`` storages and strategies, plus a settle ``adjust``.

``LimitsStore`` is the ``StoreCall`` target: ``.sync`` is a ``limits`` strategy over a
``limits`` storage (memory, or Redis through a ``redis.Redis`` pool), ``.aio`` is a
``limits.aio`` strategy over ``limits.aio`` Redis storage (``redis.asyncio``, one per
event loop). A ``memory://`` store is one object shared by both faces, so a gateway's sync
and async clients count against the same windows: ``MovingWindows`` for the moving window (the
default; ``limits``' own MemoryStorage costs more per hit the larger the limit), a ``limits``
MemoryStorage for the other strategies.

``limits`` has no public way to give back part of a hit, which settling tokens needs, so
``adjust(item, ids, delta)`` acts on the storage the strategy uses: a counter (fixed
window; the sliding window's current window) moves by ``delta`` but never below zero; a
moving window loses its ``-delta`` newest units or gains ``delta`` new ones (never more than
the limit). On Redis this is one Lua script on the very keys ``limits``
uses (``<prefix>:<item key>``; ``<prefix>:{<item key>}`` for the sliding window's current
window), a layout pinned by a test so that a ``limits`` upgrade that changes it fails there.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .moving_window import SWEEP_SECONDS, MovingWindows
from .stores import AsyncOver, PerLoop, RedisConnector, is_memory_url

if TYPE_CHECKING:
    from ..config.schema import RateLimitsConfig

__all__ = ["ADJUST_SCRIPT", "LimitsStore", "keyed_item", "redis_limit_key"]

Ids = tuple[str, ...]

ADJUST_SCRIPT = """
local delta = tonumber(ARGV[2])
if ARGV[1] == 'list' then
  if delta < 0 then
    redis.call('lpop', KEYS[1], -delta)
  else
    local entries = {}
    for i = 1, delta do entries[i] = ARGV[5] end
    for i = 1, #entries, 5000 do
      redis.call('lpush', KEYS[1], unpack(entries, i, math.min(i + 4999, #entries)))
    end
    redis.call('ltrim', KEYS[1], 0, tonumber(ARGV[4]) - 1)
    redis.call('pexpire', KEYS[1], ARGV[3])
  end
  return 0
end
if delta < 0 then
  local current = tonumber(redis.call('get', KEYS[1]) or '0')
  if current > 0 then redis.call('decrby', KEYS[1], math.min(current, -delta)) end
else
  redis.call('incrby', KEYS[1], delta)
  if redis.call('pttl', KEYS[1]) == -1 then redis.call('pexpire', KEYS[1], ARGV[3]) end
end
return 0
"""


_KEYS_CAP = 4096
"""Window keys one rule remembers (one per caller it has seen); past it the memo starts over."""


def keyed_item(item: Any) -> Any:
    """``item`` (a ``limits`` RateLimitItem) as one that remembers the window keys it builds.

    ``limits`` strategies call ``item.key_for(*identifiers)`` on every hit and every stats
    read: a join of normalised strings that costs about a third of a memory-store hit. The
    identifiers of a caller's window never change, so the key (``limits``' own) is built once.
    """
    base: type = type(item)
    keyed = _KEYED_CLASSES.get(base)
    if keyed is None:
        keyed = _KEYED_CLASSES[base] = _keyed_item_class(base)
    return keyed(item.amount, item.multiples, item.namespace)


_KEYED_CLASSES: dict[type, type] = {}


def _keyed_item_class(base: type) -> type:
    class KeyedItem(base):  # type: ignore[misc, valid-type]
        __slots__ = ("_keys",)

        def __init__(self, amount: int, multiples: int | None = 1, namespace: str = "LIMITER") -> None:
            super().__init__(amount, multiples, namespace)
            self._keys: dict[tuple[Any, ...], str] = {}

        def key_for(self, *identifiers: Any) -> str:
            key = self._keys.get(identifiers)
            if key is None:
                if len(self._keys) >= _KEYS_CAP:
                    self._keys.clear()
                key = self._keys[identifiers] = super().key_for(*identifiers)
            return key

    KeyedItem.__name__ = KeyedItem.__qualname__ = f"Keyed{base.__name__}"
    return KeyedItem


def redis_limit_key(prefix: str, strategy: str, item: Any, ids: Ids) -> str:
    """The Redis key ``limits`` keeps a window in (the sliding window's *current* window)."""
    base = item.key_for(*ids)
    return f"{prefix}:{{{base}}}" if strategy == "sliding-window-counter" else f"{prefix}:{base}"


@functools.cache
def _swept_memory_storage_class() -> Any:
    """``limits``' MemoryStorage, sweeping expired windows at most once every ``SWEEP_SECONDS``.

    ``MemoryStorage`` starts a new ``threading.Timer`` (10 ms) on every hit once the last one has
    fired: under steady traffic that is a thread start every 10 ms. Expiry is only housekeeping
    (every read checks the clock itself), so sweeping once a second gives the same answers with
    one short-lived thread a second.
    """
    from limits.storage import MemoryStorage

    class SweptMemoryStorage(MemoryStorage):
        _next_sweep = 0.0

        def _MemoryStorage__schedule_expiry(self) -> None:  # replaces limits' private (name-mangled) hook
            now = time.monotonic()
            if now < self._next_sweep:
                return
            self._next_sweep = now + SWEEP_SECONDS
            expire = getattr(self, "_MemoryStorage__expire_events")  # noqa: B009 - a name-mangled method
            timer = threading.Timer(SWEEP_SECONDS, expire)
            timer.daemon = True
            timer.start()
            self.timer = timer

    # Subclassing makes limits wrap its storage methods in its error wrapper a second time;
    # keep the parent's (wrapped once) so a hit costs no extra layer.
    for name, method in list(vars(SweptMemoryStorage).items()):
        inherited = vars(MemoryStorage).get(name)
        if inherited is not None and getattr(method, "__wrapped__", None) is inherited:
            setattr(SweptMemoryStorage, name, inherited)
    return SweptMemoryStorage


class _MemoryWindows:
    """Both faces of a ``memory://`` moving-window store (the default): ``MovingWindows``, whose
    cost does not grow with the limit or the traffic (``limits``' MemoryStorage keeps a list entry
    per unit and moves the whole list on every hit)."""

    strategy = "moving-window"

    def __init__(self) -> None:
        self.windows = MovingWindows()

    def hit(self, item: Any, ids: Ids, cost: int) -> bool:
        return self.windows.hit(item.key_for(*ids), item.amount, item.get_expiry(), cost)

    def stats(self, item: Any, ids: Ids) -> tuple[float, int]:
        return self.windows.stats(item.key_for(*ids), item.amount, item.get_expiry())

    def hit_counted(self, item: Any, ids: Ids, cost: int) -> int | None:
        """``hit``, then what ``stats`` would say is left, in one step; None: refused."""
        return self.windows.take(item.key_for(*ids), item.amount, item.get_expiry(), cost)

    def adjust(self, item: Any, ids: Ids, delta: int) -> None:
        self.windows.adjust(item.key_for(*ids), item.amount, item.get_expiry(), delta)


class _MemoryCounters:
    """Both faces of a ``memory://`` fixed-window or sliding-window-counter store: ``limits``' own
    strategy over one ``limits`` MemoryStorage."""

    def __init__(self, strategy: str) -> None:
        from limits.strategies import STRATEGIES

        self.strategy = strategy
        self.storage = _swept_memory_storage_class()()
        self.limiter = STRATEGIES[strategy](self.storage)

    def hit(self, item: Any, ids: Ids, cost: int) -> bool:
        return bool(self.limiter.hit(item, *ids, cost=cost))

    def stats(self, item: Any, ids: Ids) -> tuple[float, int]:
        stats = self.limiter.get_window_stats(item, *ids)
        return float(stats.reset_time), int(stats.remaining)

    def hit_counted(self, item: Any, ids: Ids, cost: int) -> int | None:
        """``hit``, then what ``stats`` says is left; None: refused."""
        return self.stats(item, ids)[1] if self.hit(item, ids, cost) else None

    def adjust(self, item: Any, ids: Ids, delta: int) -> None:
        key = item.key_for(*ids)
        expiry = item.get_expiry()
        storage = self.storage
        if self.strategy == "sliding-window-counter":
            key = storage.sliding_window_keys(key, expiry, time.time())[1]
            expiry *= 2
        if delta < 0:
            storage.decr(key, -delta)
        else:
            storage.incr(key, expiry, delta)


def _script_args(strategy: str, item: Any, delta: int) -> list[Any]:
    expiry_ms = int(item.get_expiry() * 1000)
    if strategy == "moving-window":  # the list never holds more than `amount` entries
        bounded = max(delta, -item.amount) if delta < 0 else min(delta, item.amount)
        return ["list", bounded, expiry_ms, item.amount, time.time()]
    ttl = expiry_ms * 2 if strategy == "sliding-window-counter" else expiry_ms
    return ["counter", delta, ttl, item.amount, 0]


class _RedisLimitsSync:
    """The sync face on Redis: ``limits`` sync strategy + a ``redis.Redis`` for ``adjust``."""

    def __init__(self, limiter: Any, client: Any, prefix: str, strategy: str) -> None:
        self.limiter = limiter
        self.prefix = prefix
        self.strategy = strategy
        self.script = client.register_script(ADJUST_SCRIPT)

    def hit(self, item: Any, ids: Ids, cost: int) -> bool:
        return bool(self.limiter.hit(item, *ids, cost=cost))

    def stats(self, item: Any, ids: Ids) -> tuple[float, int]:
        stats = self.limiter.get_window_stats(item, *ids)
        return float(stats.reset_time), int(stats.remaining)

    def adjust(self, item: Any, ids: Ids, delta: int) -> None:
        key = redis_limit_key(self.prefix, self.strategy, item, ids)
        self.script(keys=[key], args=_script_args(self.strategy, item, delta))


class _RedisLimitsAsync:
    """The async face on Redis: ``limits.aio`` strategy + a ``redis.asyncio.Redis`` for ``adjust``."""

    def __init__(self, limiter: Any, client: Any, prefix: str, strategy: str) -> None:
        self.limiter = limiter
        self.prefix = prefix
        self.strategy = strategy
        self.script = client.register_script(ADJUST_SCRIPT)

    async def hit(self, item: Any, ids: Ids, cost: int) -> bool:
        return bool(await self.limiter.hit(item, *ids, cost=cost))

    async def stats(self, item: Any, ids: Ids) -> tuple[float, int]:
        stats = await self.limiter.get_window_stats(item, *ids)
        return float(stats.reset_time), int(stats.remaining)

    async def adjust(self, item: Any, ids: Ids, delta: int) -> None:
        key = redis_limit_key(self.prefix, self.strategy, item, ids)
        await self.script(keys=[key], args=_script_args(self.strategy, item, delta))


class LimitsStore:
    """The ``StoreCall`` target for rate limits: ``.sync`` and ``.aio`` faces over one storage."""

    def __init__(self, settings: RateLimitsConfig, connector: RedisConnector | None = None) -> None:
        self.strategy = settings.strategy
        if is_memory_url(settings.storage):
            memory: Any = (
                _MemoryWindows() if self.strategy == "moving-window" else _MemoryCounters(self.strategy)
            )
            self.sync: Any = memory
            over = AsyncOver(memory)  # one async face, made once
            self._aio: Callable[[], Any] = lambda: over
            return
        from limits.aio.strategies import STRATEGIES as AIO_STRATEGIES
        from limits.storage import storage_from_string
        from limits.strategies import STRATEGIES

        redis = connector or RedisConnector(settings.storage, settings.storage_timeout)
        prefix = f"{settings.key_prefix}:limits"
        storage = storage_from_string(settings.storage, key_prefix=prefix, connection_pool=redis.sync_pool())
        limiter = STRATEGIES[self.strategy](storage)
        self.sync = _RedisLimitsSync(limiter, redis.sync_client(), prefix, self.strategy)

        def make_aio() -> Any:
            aio_storage = storage_from_string(
                f"async+{settings.storage}",
                implementation="redispy",
                key_prefix=prefix,
                connection_pool=redis.async_pool(),
            )
            strategy_class: Any = AIO_STRATEGIES[self.strategy]
            return _RedisLimitsAsync(strategy_class(aio_storage), redis.async_client(), prefix, self.strategy)

        self._aio = PerLoop(make_aio).get

    @property
    def aio(self) -> Any:
        return self._aio()
