"""Retry policy: what is retried, what fails over, and how long to wait in between."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ..config.schema import RetryConfig

__all__ = ["Verdict", "backoff_delay", "judge", "server_wait_hint"]

# Never retried nor failed over unless configured: the caller's request is at fault.
_CALLER_ERRORS = frozenset({400, 401, 403, 404, 422})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after a failed attempt."""

    retry_same: bool
    fail_over: bool


def judge(config: RetryConfig, status: int, failure: str | None) -> Verdict:
    """Classify a failed attempt by status code or transport failure kind."""
    if failure is not None:
        retry = failure in config.retry_on
        return Verdict(retry_same=retry, fail_over=True)
    retry = status in config.retry_on
    if status in config.failover_on:
        return Verdict(retry_same=retry, fail_over=True)
    if status in _CALLER_ERRORS:
        return Verdict(retry_same=False, fail_over=False)
    return Verdict(retry_same=retry, fail_over=status >= 408)


def backoff_delay(config: RetryConfig, retry_number: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter in [0.5, 1.0] of the step, capped by backoff_max."""
    step = min(config.backoff_max, config.backoff_initial * (2 ** max(0, retry_number - 1)))
    return float(step * (0.5 + rng.random() / 2))


def server_wait_hint(
    header: Callable[[str], str | None], now: Callable[[], float] = time.time
) -> float | None:
    """Seconds the upstream asked us to wait: retry-after-ms, Retry-After, or a rate-limit reset header."""
    ms = header("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = header("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now())
            except (TypeError, ValueError):
                pass
    for name in (
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
        "anthropic-ratelimit-requests-reset",
    ):
        reset = header(name)
        if reset:
            parsed = _parse_reset(reset, now)
            if parsed is not None:
                return parsed
    return None


def _parse_reset(value: str, now: Callable[[], float]) -> float | None:
    """OpenAI sends durations like '1s', '6m0s', '20ms'; Anthropic an RFC 3339 time."""
    if value[-1:].isalpha():
        total, number = 0.0, ""
        units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        i = 0
        while i < len(value):
            ch = value[i]
            if ch.isdigit() or ch == ".":
                number += ch
                i += 1
                continue
            unit = "ms" if value.startswith("ms", i) else ch
            if unit not in units or not number:
                return None
            total += float(number) * units[unit]
            number = ""
            i += len(unit)
        return total
    try:
        from datetime import datetime

        return max(0.0, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now())
    except ValueError:
        return None
