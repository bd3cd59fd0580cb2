"""Fault injection helpers: the server-wide rate limit and the random 5xx answers.

The fault settings themselves are ``sandbox._settings.FaultSettings``. These objects hold no lock of
their own: the sandbox state calls them under its single lock.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["RateDecision", "TokenBucket", "pick_error"]

INJECTED_STATUSES = (500, 502, 503)


def pick_error(error_rate: float, rng: random.Random) -> int | None:
    """Roll the dice for one request: a 5xx status to answer with, or None."""
    if error_rate > 0 and rng.random() < error_rate:
        return rng.choice(INJECTED_STATUSES)
    return None


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one request against the rate limit, with the ``ratelimit-*`` headers to send."""

    allowed: bool
    """Whether the request may proceed (a token was spent)."""
    headers: dict[str, str]
    """``ratelimit-*`` headers, plus ``retry-after`` when refused."""


class TokenBucket:
    """A token bucket of ``rate`` tokens per second holding at most max(1, rate) tokens."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated_at = now

    def take(self, now: float) -> RateDecision:
        """Spend one token if there is one; the headers say how long to wait otherwise."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated_at) * self.rate)
        self.updated_at = now
        allowed = self.tokens >= 1
        if allowed:
            self.tokens -= 1
        # Whole seconds, rounded up, so that waiting Retry-After is always enough.
        wait = 0 if allowed else max(1, math.ceil((1 - self.tokens) / self.rate))
        refill = math.ceil((self.capacity - self.tokens) / self.rate)
        headers = {
            "ratelimit-limit": _format_number(self.rate),
            "ratelimit-policy": f"{_format_number(self.rate)};w=1",
            "ratelimit-remaining": str(int(self.tokens)),
            "ratelimit-reset": str(wait if not allowed else refill),
        }
        if not allowed:
            headers["retry-after"] = str(wait)
        return RateDecision(allowed=allowed, headers=headers)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
