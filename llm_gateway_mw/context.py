"""Who is calling and from where: a context variable the middleware or ``gateway.caller`` sets.

Context variables follow asyncio tasks and are copied into threads by asgiref and
``contextvars.copy_context()``, so a wrapped client deep inside a handler still knows
the web request's user and tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from .records import Caller

__all__ = ["CallContext", "bind_call_context", "current_call_context"]


@dataclass(frozen=True, slots=True)
class CallContext:
    caller: Caller = field(default_factory=Caller)
    request_id: str | None = None
    http_route: str | None = None


_EMPTY = CallContext()
_CURRENT: ContextVar[CallContext] = ContextVar("llm_gateway_call_context", default=_EMPTY)


def current_call_context() -> CallContext:
    return _CURRENT.get()


@contextmanager
def bind_call_context(
    *,
    user: str | None = None,
    tenant: str | None = None,
    key: str | None = None,
    request_id: str | None = None,
    http_route: str | None = None,
) -> Iterator[CallContext]:
    """Set the caller for calls made inside the block; unset fields keep the outer value."""
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
    )
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)
