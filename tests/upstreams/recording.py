"""Request records and the per-server behaviour script (both thread-safe via the server's lock)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .behaviours import Behaviour


@dataclass
class RecordedRequest:
    """One request as the fake upstream received it.

    ``headers`` are lower-cased; ``body`` is the parsed JSON (``None`` when
    absent or unparsable). ``behaviour`` is the scripted behaviour applied
    (``None`` when the request was rejected before a behaviour was taken: auth,
    validation, unknown route). ``status`` is the HTTP status sent (``None`` if
    the connection was dropped before a status line), ``error`` the validation
    message of a rejected request.
    """

    index: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    dialect: str
    connection_id: int
    received_at: float
    behaviour: Behaviour | None = None
    status: int | None = None
    error: str | None = None

    @property
    def model(self) -> str | None:
        """``body["model"]`` when present."""
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None

    @property
    def stream(self) -> bool:
        """Whether the request asked for SSE (``"stream": true``)."""
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def api_key(self) -> str | None:
        """The key sent in ``x-api-key`` or as a Bearer token."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None


@dataclass
class ScriptEntry:
    """A queued behaviour with optional filters (exact path, exact model)."""

    behaviour: Behaviour
    model: str | None = None
    path: str | None = None

    def matches(self, record: RecordedRequest) -> bool:
        """Whether this entry applies to ``record``."""
        if self.path is not None and record.path != self.path:
            return False
        return self.model is None or record.model == self.model


@dataclass
class Script:
    """FIFO of behaviours; the first entry whose filters match is consumed."""

    entries: list[ScriptEntry] = field(default_factory=list)

    def add(self, behaviours: Iterable[Behaviour], *, model: str | None, path: str | None) -> None:
        """Append ``behaviours`` in order, all with the same filters."""
        for behaviour in behaviours:
            if not isinstance(behaviour, Behaviour):
                raise TypeError(f"not a Behaviour: {behaviour!r}")
            self.entries.append(ScriptEntry(behaviour, model=model, path=path))

    def take(self, record: RecordedRequest) -> Behaviour | None:
        """Remove and return the first matching behaviour, or ``None``."""
        for i, entry in enumerate(self.entries):
            if entry.matches(record):
                del self.entries[i]
                return entry.behaviour
        return None
