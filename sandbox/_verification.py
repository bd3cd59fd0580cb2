"""The verification state machine, evaluated lazily at a given instant.

Each record has its own status. ``start_attempt`` (the verify call) opens an attempt of
``verify_window`` seconds. During it, a record that is published in the sandbox's DNS turns verified
once it has been published for ``propagation_delay`` seconds, measured from
max(attempt start, publish time). When the attempt ends, records still unverified fail. A verified
record that is unpublished later fails with ``temporary_failure`` (drift) if no attempt is running,
or goes back to pending if one is. Only a new verify clears failures.

``settle`` is called on every read and before every change of the DNS view or of the timings, so the
outcome is the same as if the state were evaluated continuously.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox._model import DomainState, RecordState

__all__ = ["settle", "start_attempt"]

PublishedAt = Callable[[RecordState], float | None]


def settle(
    domain: DomainState,
    now: float,
    published_at: PublishedAt,
    propagation_delay: float,
    verify_window: float,
) -> bool:
    """Bring the record states of ``domain`` up to ``now``; return whether anything changed."""
    start = domain.attempt_started_at
    changed = False
    for record in domain.records:
        published = published_at(record)
        attempt_open = start is not None and now < start + verify_window
        if record.verified:
            if published is None:
                record.verified = False
                record.failure = None if attempt_open else "temporary_failure"
                changed = True
            continue
        if record.failure is not None or start is None:
            continue
        deadline = start + verify_window
        if published is not None and max(start, published) + propagation_delay <= min(now, deadline):
            record.verified = True
            changed = True
        elif now >= deadline:
            record.failure = "failed"
            changed = True
    return changed


def start_attempt(domain: DomainState, now: float) -> None:
    """Re-initiate verification: a new attempt starts now and every unverified record is pending again."""
    domain.attempt_started_at = now
    for record in domain.records:
        if not record.verified:
            record.failure = None
