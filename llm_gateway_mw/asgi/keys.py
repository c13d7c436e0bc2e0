"""Gateway keys: read from request headers, checked in constant time against ``[[keys]]`` hashes.

Only a key's SHA-256 is stored (``hash = "sha256:<hex>"``). A presented key is hashed and
compared with every stored hash using ``hmac.compare_digest``, without stopping at the
first match, so the time taken says nothing about which key (if any) matched.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from ..config.schema import GatewayConfig, KeyConfig

__all__ = ["KeyRing", "hash_key", "presented_keys"]


def hash_key(key: str) -> str:
    """The ``hash`` value to put in a ``[[keys]]`` entry for ``key``."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def presented_keys(headers: Mapping[str, str]) -> list[str]:
    """Candidate keys a request carries: ``x-api-key`` and ``Authorization: Bearer`` (lowercase names)."""
    found: list[str] = []
    api_key = headers.get("x-api-key", "").strip()
    if api_key:
        found.append(api_key)
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and token not in found:
        found.append(token)
    return found


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The configured gateway keys, matched by hash."""

    keys: tuple[KeyConfig, ...]
    digests: tuple[bytes, ...]

    @classmethod
    def from_config(cls, config: GatewayConfig) -> KeyRing:
        digests = tuple(k.hash.partition(":")[2].lower().encode() for k in config.keys)
        return cls(config.keys, digests)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def match(self, key: str) -> KeyConfig | None:
        """The entry whose hash is ``key``'s, or None; compares against every entry."""
        digest = hashlib.sha256(key.encode()).hexdigest().encode()
        found: KeyConfig | None = None
        for entry, expected in zip(self.keys, self.digests, strict=True):
            if hmac.compare_digest(digest, expected) and found is None:
                found = entry
        return found

    def match_any(self, headers: Mapping[str, str]) -> tuple[KeyConfig | None, bool]:
        """(matching entry, whether the request presented any key at all)."""
        candidates = presented_keys(headers)
        for candidate in candidates:
            entry = self.match(candidate)
            if entry is not None:
                return entry, True
        return None, bool(candidates)
