"""A process-wide request budget, so that every client in the process stays under the API's rate.

The provider underneath the API allows about 2 requests per second per team, across all keys, and the
Pulumi provider host runs up to four calls at once in one process: a per-client limit would not hold.
:func:`shared_budget` hands every client the same :class:`RequestBudget`.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable

from provider.api.errors import ConfigurationError

__all__ = ["RATE_ENV_VAR", "RequestBudget", "shared_budget"]

#: Environment variable that sets the rate of the process-wide budget (requests per second).
RATE_ENV_VAR = "ANYREACH_MAX_REQUESTS_PER_SECOND"
_DEFAULT_RATE = 2.0


class RequestBudget:
    """A thread-safe request budget: at most ``burst`` requests at once, then one every ``1/rate`` s.

    Slots are handed out in the order callers ask for them (a lock guards the time of the next free
    slot; each caller reserves one and sleeps outside the lock until it comes), so many threads polling
    at the same time take turns instead of starving one another.

    Args:
        rate_per_second: sustained requests per second; must be positive.
        burst: how many requests may go at once after a quiet period; at least 1.
        clock: monotonic clock in seconds (injectable for tests).
        sleep: sleep function (injectable for tests).
    """

    def __init__(
        self,
        rate_per_second: float = _DEFAULT_RATE,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(rate_per_second) and rate_per_second > 0):
            raise ValueError(f"rate_per_second must be a positive number, got {rate_per_second!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self._interval = 1.0 / rate_per_second
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # Generic cell rate algorithm: the theoretical time of the next request if requests were
        # evenly spaced; a caller may go up to (burst - 1) intervals ahead of it.
        self._theoretical_next = clock()

    @property
    def rate_per_second(self) -> float:
        """Sustained requests per second this budget allows."""
        return 1.0 / self._interval

    @property
    def burst(self) -> int:
        """How many requests may go back to back after a quiet period."""
        return self._burst

    def __repr__(self) -> str:
        return f"RequestBudget(rate_per_second={self.rate_per_second:g}, burst={self._burst})"

    def acquire(self, deadline: float | None = None) -> bool:
        """Take one request slot, sleeping until it comes.

        Args:
            deadline: latest acceptable slot time on this budget's clock (``time.monotonic()`` by
                default); ``None`` waits as long as it takes.

        Returns:
            ``True`` once the slot is taken; ``False`` at once, taking nothing, when the next free
            slot comes after ``deadline``.
        """
        with self._lock:
            now = self._clock()
            theoretical = max(self._theoretical_next, now)
            allowed_at = theoretical - (self._burst - 1) * self._interval
            if deadline is not None and allowed_at > deadline:
                return False
            self._theoretical_next = theoretical + self._interval
        delay = allowed_at - now
        if delay > 0:
            self._sleep(delay)
        return True

    def pause(self, seconds: float) -> None:
        """Hand out no slot for the next ``seconds`` (the server said Retry-After to one caller:
        every caller backs off, not just that one). Slots already handed out are not recalled."""
        if not (math.isfinite(seconds) and seconds > 0):
            return
        with self._lock:
            resume = self._clock() + seconds + (self._burst - 1) * self._interval
            self._theoretical_next = max(self._theoretical_next, resume)


_shared: RequestBudget | None = None
_shared_lock = threading.Lock()


def _rate_from_environment() -> float:
    """Read the rate from :data:`RATE_ENV_VAR`, defaulting to 2 requests per second."""
    raw = os.environ.get(RATE_ENV_VAR, "").strip()
    if not raw:
        return _DEFAULT_RATE
    try:
        rate = float(raw)
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        raise ConfigurationError(
            f"configuring the request budget ({RATE_ENV_VAR}={raw!r}): not a positive number of "
            f"requests per second. Set it to e.g. 2, or unset it for the default of {_DEFAULT_RATE:g}"
        )
    return rate


def shared_budget() -> RequestBudget:
    """Return the process-wide budget, created on first use with the rate from
    ``ANYREACH_MAX_REQUESTS_PER_SECOND`` (default 2 requests per second).

    Raises:
        ConfigurationError: the environment variable is set but is not a positive number.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = RequestBudget(rate_per_second=_rate_from_environment())
        return _shared
