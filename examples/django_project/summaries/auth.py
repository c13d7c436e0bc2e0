"""API-token authentication for team members (a real project would use django.contrib.auth)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.deprecation import MiddlewareMixin


@dataclass(frozen=True)
class Member:
    username: str
    team: str
    is_authenticated: bool = True

    @property
    def pk(self) -> str:
        return self.username


@dataclass(frozen=True)
class Anonymous:
    is_authenticated: bool = False


MEMBERS = {"tok-frank": Member("frank", "design"), "tok-grace": Member("grace", "platform")}


class TokenAuthMiddleware(MiddlewareMixin):
    """``Authorization: Bearer tok-...`` → ``request.user``; /api/ needs a member."""

    def process_request(self, request: HttpRequest) -> JsonResponse | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        request.user = MEMBERS.get(token, Anonymous())
        if request.path.startswith("/api/") and not request.user.is_authenticated:
            return JsonResponse({"error": "send 'Authorization: Bearer <member token>'"}, status=401)
        return None


def identify(request: Any) -> dict[str, str] | None:
    """Who is calling, for the gateway: the member and the member's team."""
    user = getattr(request, "user", None)
    return {"user": user.username, "tenant": user.team} if isinstance(user, Member) else None
