"""The verification state machine, evaluated lazily and exactly at a given instant.

An attempt starts at *s* (the verify call) and lasts ``verify_window`` (end *e* = *s* + window).
Every record not verified becomes pending. A record whose expected value is visible in the sandbox
DNS at *v* (published + ``propagation_delay``, the instant DNS starts serving it) verifies at

    max(s, v)                      when it was visible at s
    max(s + negative_cache, v)     when it was not (the provider remembers the miss)

provided that instant is before *e*; records still unverified at *e* fail. The attempt completes, and
the domain turns verified, at max(s + ``check_delay``, every record's verify time): the provider's
check is asynchronous, so the domain stays pending at least ``check_delay`` after verify.

A verified record whose DNS entry is removed goes back to pending while its attempt is running
(before completion and before *e*) and fails with ``temporary_failure`` (drift) otherwise. Failures
stay until the next verify; publishing the record again is not enough.

``settle`` brings a domain up to an instant. The caller runs it on every read and right before and
right after every change of the DNS view or of the settings, so between two calls nothing changes but
time; each transition is computed at the instant it happens, not at the instant it is read. Timings
changed at run time apply from the change on: ``Timing.not_before`` is that instant.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sandbox._model import DomainState, RecordState

__all__ = ["Timing", "VisibleAt", "settle", "start_attempt"]

VisibleAt = Callable[[RecordState], float | None]
"""When DNS starts (or started) serving the record's expected value; None while it is not published."""


@dataclass(frozen=True)
class Timing:
    """The timings of the state machine (``propagation_delay`` is already in ``VisibleAt``)."""

    verify_window: float
    """Seconds an attempt lasts."""
    check_delay: float
    """Seconds, after verify, before an attempt can complete."""
    negative_cache: float
    """Seconds, after verify, before a record not visible at verify can verify."""
    not_before: float = -math.inf
    """No transition is placed before this instant (when the timings last changed)."""


def start_attempt(domain: DomainState, now: float, visible_at: VisibleAt, timing: Timing) -> None:
    """Re-initiate verification at ``now`` (settle the domain up to ``now`` first)."""
    domain.attempt_started_at = now
    domain.attempt_completed_at = None
    domain.first_reported_verified_at = None
    for record in domain.records:
        if record.verified:
            continue
        record.failure = None
        visible = visible_at(record)
        missed = visible is None or visible > now
        record.earliest_verify_at = now + timing.negative_cache if missed else now


def settle(domain: DomainState, now: float, visible_at: VisibleAt, timing: Timing) -> bool:
    """Bring the statuses of ``domain`` up to ``now``; return whether anything changed."""
    start = domain.attempt_started_at
    if start is None:
        return False
    end = start + timing.verify_window
    changed = False
    if domain.attempt_completed_at is None:
        changed |= _verify_visible_records(domain, now, visible_at, timing, start, end)
        changed |= _complete(domain, now, timing, start)
        if domain.attempt_completed_at is None and now >= end:
            for record in domain.records:
                if not record.verified and record.failure is None:
                    record.failure = "failed"
                    changed = True
    running = domain.attempt_completed_at is None and now < end
    for record in domain.records:
        if record.verified and visible_at(record) is None:
            # Removed at ``now``: the caller settles right after every DNS change.
            record.verified = False
            record.verified_at = None
            record.failure = None if running else "temporary_failure"
            changed = True
    return changed


def _verify_visible_records(
    domain: DomainState, now: float, visible_at: VisibleAt, timing: Timing, start: float, end: float
) -> bool:
    changed = False
    for record in domain.records:
        if record.verified or record.failure is not None:
            continue
        visible = visible_at(record)
        if visible is None:
            continue
        earliest = start if record.earliest_verify_at is None else record.earliest_verify_at
        verify_at = max(earliest, visible, timing.not_before)
        if verify_at < end and verify_at <= now:
            record.verified = True
            record.verified_at = verify_at
            changed = True
    return changed


def _complete(domain: DomainState, now: float, timing: Timing, start: float) -> bool:
    if not all(record.verified for record in domain.records):
        return False
    verified = [record.verified_at for record in domain.records if record.verified_at is not None]
    completes_at = max(start + timing.check_delay, timing.not_before, *verified)
    if completes_at > now:
        return False
    domain.attempt_completed_at = completes_at
    return True
