"""Who is calling: the ``identify`` hook, its result, and the default for ASGI apps.

``identify`` receives the ASGI scope (the Django and Flask adapters pass their request)
and returns a mapping with any of ``user``, ``tenant``, ``key``, or None. The defaults
trust no client-supplied header: they read the framework's authenticated user, and the
gateway key only after checking it against the configured hashes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Identify",
    "IdentifyResult",
    "Identity",
    "identity_from",
    "resolve_identity",
    "scope_user",
    "user_id_of",
]

IdentifyResult = Mapping[str, object] | None
Identify = Callable[[Any], IdentifyResult | Awaitable[IdentifyResult]]

_FIELDS = ("user", "tenant", "key")


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller of one web request, as the gateway's limits, budgets and telemetry see it."""

    user: str | None = None
    tenant: str | None = None
    key: str | None = None

    def over(self, base: Identity) -> Identity:
        """This identity, with ``base`` filling the fields it leaves unset."""
        return Identity(
            user=self.user if self.user is not None else base.user,
            tenant=self.tenant if self.tenant is not None else base.tenant,
            key=self.key if self.key is not None else base.key,
        )


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def identity_from(result: IdentifyResult | Identity) -> Identity:
    """Normalise what an ``identify`` hook returned (values become strings; unknown keys are errors)."""
    if result is None:
        return Identity()
    if isinstance(result, Identity):
        return result
    if not isinstance(result, Mapping):
        raise TypeError(
            f"identify() must return a mapping with any of {', '.join(_FIELDS)}, or None; "
            f"got {type(result).__name__}"
        )
    unknown = [k for k in result if k not in _FIELDS]
    if unknown:
        raise TypeError(f"identify() returned unknown keys {unknown}; allowed: {', '.join(_FIELDS)}")
    return Identity(*(_text(result.get(name)) for name in _FIELDS))


async def resolve_identity(identify: Identify, target: Any) -> Identity:
    """Call a sync or async ``identify`` hook and normalise its result."""
    result = identify(target)
    if inspect.isawaitable(result):
        result = await result
    return identity_from(result)  # type: ignore[arg-type]


def user_id_of(user: object) -> str | None:
    """A stable id for an authenticated user object from any framework, or None if anonymous."""
    if user is None:
        return None
    if isinstance(user, str):
        return user or None
    authenticated = getattr(user, "is_authenticated", True)
    if callable(authenticated):  # very old Flask-Login / Django style
        authenticated = authenticated()
    if not authenticated:
        return None
    get_id = getattr(user, "get_id", None)  # Flask-Login
    if callable(get_id):
        return _text(get_id())
    for attribute in ("identity", "pk", "id", "username"):  # Starlette, Django, plain objects
        try:
            value = getattr(user, attribute, None)
        except NotImplementedError:  # starlette.authentication.BaseUser.identity
            continue
        if value is not None and not callable(value):
            return _text(value)
    return None


def scope_user(scope: Mapping[str, Any]) -> IdentifyResult:
    """The default ``identify`` for ASGI: ``scope["user"]`` set by Starlette's AuthenticationMiddleware."""
    user = user_id_of(scope.get("user"))
    return {"user": user} if user is not None else None
