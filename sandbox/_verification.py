"""The verification state machine, evaluated lazily at a given instant.

Each record has its own status. ``start_attempt`` (the verify call) opens an attempt of
``verify_window`` seconds and makes every unverified record pending. During it, a record that is
published in the sandbox's DNS turns verified once it has been published for ``propagation_delay``
seconds, measured from max(attempt start, publish time). The attempt completes as soon as every
record is verified (and at least ``propagation_delay`` after it started); it fails when the window
ends first: the records still unverified turn ``failed``.

A verified record that disappears from DNS goes back to pending while its attempt is still running,
and fails with ``temporary_failure`` (drift) otherwise. Failures stay until the next verify; publishing
the record again is not enough.

``settle`` runs on every read and before every change of the DNS view or of the timings, so lazy
evaluation gives the same outcome as continuous evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox._model import DomainState, RecordState

__all__ = ["settle", "start_attempt"]

PublishedAt = Callable[[RecordState], float | None]
"""When a record was published in the sandbox DNS, or None if it is not published."""


def settle(
    domain: DomainState,
    now: float,
    published_at: PublishedAt,
    propagation_delay: float,
    verify_window: float,
) -> bool:
    """Bring the record states of ``domain`` up to ``now``; return whether anything changed."""
    start = domain.attempt_started_at
    running = start is not None and not domain.attempt_completed and now < start + verify_window
    changed = False
    for record in domain.records:
        published = published_at(record)
        if record.verified:
            if published is None:
                record.verified = False
                record.failure = None if running else "temporary_failure"
                changed = True
            continue
        if start is None or domain.attempt_completed or record.failure is not None:
            continue
        deadline = start + verify_window
        if published is not None and max(start, published) + propagation_delay <= min(now, deadline):
            record.verified = True
            changed = True
        elif now >= deadline:
            record.failure = "failed"
            changed = True
    if (
        start is not None
        and not domain.attempt_completed
        and now >= start + propagation_delay
        and all(record.verified for record in domain.records)
    ):
        domain.attempt_completed = True
        changed = True
    return changed


def start_attempt(domain: DomainState, now: float) -> None:
    """Re-initiate verification: a new attempt starts now and every unverified record is pending again."""
    domain.attempt_started_at = now
    domain.attempt_completed = False
    for record in domain.records:
        if not record.verified:
            record.failure = None
