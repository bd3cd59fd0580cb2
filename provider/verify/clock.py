"""The poller's time: what time it is, and how a pause is waited out.

The poller reads the time and waits between steps only through a :class:`Clock`, so that the whole
schedule (backoffs, budget shares, deadlines) can run on a clock that moves only when told. Production
uses :data:`MONOTONIC_CLOCK`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["MONOTONIC_CLOCK", "Clock", "MonotonicClock"]


class Clock(Protocol):
    """A monotonic clock in seconds that also waits."""

    def __call__(self) -> float:
        """The current time, in seconds on a scale that never goes back."""
        ...

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait, with ``condition`` held, until it is notified or ``timeout`` seconds of this clock have
        passed (None: until notified). May return early: the caller checks again what it waits for."""
        ...


class MonotonicClock:
    """Real time: ``time.monotonic``, and ``Condition.wait`` for the pauses."""

    def __call__(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on ``condition`` (held) for at most ``timeout`` real seconds."""
        condition.wait(timeout)

    def __repr__(self) -> str:
        return "MonotonicClock()"


MONOTONIC_CLOCK = MonotonicClock()
"""The clock of the process-wide poller."""
