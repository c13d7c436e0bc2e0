"""Who is calling and from where: a context variable the middleware or ``gateway.caller`` sets.

Context variables follow asyncio tasks and are copied into threads by asgiref and
``contextvars.copy_context()``, so a wrapped client deep inside a handler still knows
the web request's user and tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .records import Caller

if TYPE_CHECKING:
    from .records import CallRecord

__all__ = [
    "CallContext",
    "UsageTally",
    "bind_call_context",
    "current_call_context",
    "push_call_context",
    "reset_call_context",
]


@dataclass(slots=True)
class UsageTally:
    """What the LLM calls of one web request used; ``Runtime.end_call`` adds each call to it."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, call: CallRecord) -> None:
        self.calls += 1
        usage = call.usage
        if usage is not None:
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
        self.cost_usd += call.cost_usd or 0.0
        self.cache_hits += call.cache_hit


@dataclass(frozen=True, slots=True)
class CallContext:
    caller: Caller = field(default_factory=Caller)
    request_id: str | None = None
    http_route: str | None = None
    tally: UsageTally | None = None  # set by the web middleware: the request's running usage


_EMPTY = CallContext()
_CURRENT: ContextVar[CallContext] = ContextVar("llm_gateway_call_context", default=_EMPTY)


current_call_context: Callable[[], CallContext] = _CURRENT.get
"""The call context in effect (the context variable's own ``get``: no Python frame per call)."""


def push_call_context(
    *,
    user: str | None = None,
    tenant: str | None = None,
    key: str | None = None,
    request_id: str | None = None,
    http_route: str | None = None,
    tally: UsageTally | None = None,
) -> Token[CallContext]:
    """Set the call context until ``reset_call_context(token)``; unset fields keep the outer value.

    For adapters whose request starts and ends in different hooks (no ``with`` block).
    """
    outer = _CURRENT.get()
    caller = Caller(
        user=user if user is not None else outer.caller.user,
        tenant=tenant if tenant is not None else outer.caller.tenant,
        key=key if key is not None else outer.caller.key,
    )
    context = replace(
        outer,
        caller=caller,
        request_id=request_id if request_id is not None else outer.request_id,
        http_route=http_route if http_route is not None else outer.http_route,
        tally=tally if tally is not None else outer.tally,
    )
    return _CURRENT.set(context)


def reset_call_context(token: Token[CallContext]) -> None:
    _CURRENT.reset(token)


@contextmanager
def bind_call_context(
    *,
    user: str | None = None,
    tenant: str | None = None,
    key: str | None = None,
    request_id: str | None = None,
    http_route: str | None = None,
    tally: UsageTally | None = None,
) -> Iterator[CallContext]:
    """Set the caller for calls made inside the block; unset fields keep the outer value."""
    token = push_call_context(
        user=user, tenant=tenant, key=key, request_id=request_id, http_route=http_route, tally=tally
    )
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)
