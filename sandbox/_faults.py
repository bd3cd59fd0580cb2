"""Fault injection: a server-wide rate limit, random 5xx answers, latency and dropped registrations.

These objects hold no lock of their own: the sandbox state calls them under its single lock.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

__all__ = ["FaultSettings", "RateDecision", "TokenBucket"]

INJECTED_STATUSES = (500, 502, 503)


@dataclass
class FaultSettings:
    """The faults currently injected (``GET/POST /_sandbox/faults``)."""

    rate_limit_rps: float | None = None
    """Requests per second across the server; None = off."""
    error_rate: float = 0.0
    """Fraction of public requests answered with a 5xx before any side effect."""
    latency_ms: float = 0.0
    """Delay added to each public request."""
    drop_register_responses: int = 0
    """How many of the next registrations commit and then drop their response."""

    def to_json(self) -> dict[str, Any]:
        """The admin API view."""
        return {
            "rate_limit_rps": self.rate_limit_rps,
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "drop_register_responses": self.drop_register_responses,
        }

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update from the admin API; raise ValueError naming a bad field."""
        for key, value in changes.items():
            if key == "rate_limit_rps":
                if value is not None and (not _is_number(value) or value <= 0):
                    raise ValueError("rate_limit_rps must be a number > 0, or null to turn rate limiting off")
                self.rate_limit_rps = None if value is None else float(value)
            elif key == "error_rate":
                if not _is_number(value) or not 0 <= value <= 1:
                    raise ValueError("error_rate must be a number between 0 and 1")
                self.error_rate = float(value)
            elif key == "latency_ms":
                if not _is_number(value) or value < 0:
                    raise ValueError("latency_ms must be a number >= 0")
                self.latency_ms = float(value)
            elif key == "drop_register_responses":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError("drop_register_responses must be an integer >= 0")
                self.drop_register_responses = value
            else:
                known = ", ".join(self.to_json())
                raise ValueError(f"unknown fault {key!r}: known faults are {known}")

    def pick_error(self, rng: random.Random) -> int | None:
        """Roll the dice for one request: a 5xx status to answer with, or None."""
        if self.error_rate > 0 and rng.random() < self.error_rate:
            return rng.choice(INJECTED_STATUSES)
        return None


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one request against the rate limit, with the ``ratelimit-*`` headers to send."""

    allowed: bool
    headers: dict[str, str]


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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
