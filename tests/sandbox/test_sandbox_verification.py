"""The verify/refresh state machine, driven by the injected clock.

Timings of the timed server (tests/sandbox/conftest.py): DNS serves a record 10 s after it is
published (DELAY), an attempt lasts 100 s (WINDOW), the asynchronous check takes at least 2 s
(CHECK), no negative cache unless a test sets one. The attempt starts at s (the verify call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.testing import ManualClock, SandboxServer, VerificationTimes

RegisterFn = Callable[[str], dict[str, Any]]
START = 1_800_000_000.0
DELAY, WINDOW, CHECK = 10.0, 100.0, 2.0
DKIM = ("TXT", "resend._domainkey")
SPF_MX = ("MX", "send")
DMARC = ("TXT", "_dmarc")


@pytest.fixture
def acme(register: RegisterFn) -> str:
    """Id of a freshly registered acme.com."""
    return register("acme.com")["id"]


def _verify(api: httpx.Client, domain_id: str) -> dict[str, Any]:
    response = api.post(f"/core/email-domains/{domain_id}/verify")
    assert response.status_code == 200
    return response.json()


def _refresh(api: httpx.Client, domain_id: str) -> dict[str, Any]:
    response = api.post(f"/core/email-domains/{domain_id}/refresh")
    assert response.status_code == 200
    return response.json()


def _state(body: dict[str, Any]) -> tuple[str, str]:
    return body["status"], body["raw_status"]


def _records(body: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r["type"], r["name"]): (r["status"], r["raw_status"]) for r in body["dns_records"]}


def _times(timed: SandboxServer, domain: str = "acme.com") -> VerificationTimes:
    return timed.verification_times(domain)


# -- verify and refresh ---------------------------------------------------------------------------------


def test_refresh_never_starts_an_attempt(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    clock.advance(1000)

    body = _refresh(api, acme)

    assert _state(body) == ("pending", "not_started")
    assert set(_records(body).values()) == {("pending", "not_started")}


def test_records_visible_at_verify_verify_at_once_and_the_domain_waits_for_the_check(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    clock.advance(50)  # visible since +10

    body = _verify(api, acme)
    assert _state(body) == ("pending", "pending")
    assert set(_records(body).values()) == {("verified", "verified")}
    clock.advance(CHECK - 0.1)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(0.1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed).verified_at == START + 50 + CHECK


def test_record_published_with_verify_verifies_once_dns_serves_it(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)

    clock.advance(DELAY - 0.1)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(0.1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed).verified_at == START + DELAY


def test_record_published_after_verify_verifies_at_its_visibility(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    clock.advance(30)
    timed.publish("acme.com")

    clock.advance(DELAY - 0.1)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(0.1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed).verified_at == START + 30 + DELAY


def test_records_verify_one_by_one(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")

    clock.advance(DELAY)
    body = _refresh(api, acme)

    assert _state(body) == ("pending", "pending")
    assert _records(body)[DKIM] == ("verified", "verified")
    assert _records(body)[SPF_MX] == ("pending", "pending")


def test_window_end_fails_unverified_records(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")

    clock.advance(WINDOW - 0.1)
    assert _state(_refresh(api, acme))[0] == "pending"
    clock.advance(0.1)
    body = _refresh(api, acme)

    assert _state(body) == ("failed", "partially_failed")
    assert _records(body)[DKIM] == ("verified", "verified")
    assert _records(body)[SPF_MX] == ("failed", "failed")
    assert _times(timed).verified_at is None


def test_window_end_with_nothing_published_fails_the_domain(
    api: httpx.Client, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    clock.advance(WINDOW)

    body = _refresh(api, acme)

    assert _state(body) == ("failed", "failed")
    assert set(_records(body).values()) == {("failed", "failed")}


@pytest.mark.parametrize("published_after", [95.0, 90.0], ids=["visible-after-the-end", "visible-at-the-end"])
def test_record_visible_only_when_the_window_ends_fails(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str, published_after: float
) -> None:
    _verify(api, acme)
    clock.advance(published_after)
    timed.publish("acme.com")  # DNS serves it from +100 or later: not before the window ends
    clock.advance(20)

    assert _state(_refresh(api, acme)) == ("failed", "failed")


def test_completion_may_follow_the_window_when_the_check_is_slower(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    """Every record verified within the window: nothing fails, the check still takes its time."""
    timed.set_settings(verify_window=5, check_delay=30)
    timed.publish("acme.com")
    clock.advance(DELAY)
    _verify(api, acme)

    clock.advance(29)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_lazy_evaluation_counts_a_verification_nobody_read(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(500)  # no read in between: verified at +10, the window ended at +100

    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed) == VerificationTimes(START + DELAY, first_reported_verified_at=START + 500)


def test_failed_domain_recovers_only_through_a_new_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    clock.advance(WINDOW)
    assert _state(_refresh(api, acme)) == ("failed", "failed")
    timed.publish("acme.com")
    clock.advance(50)
    assert _state(_refresh(api, acme)) == ("failed", "failed")

    assert _state(_verify(api, acme)) == ("pending", "pending")
    clock.advance(CHECK)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_verify_on_a_verified_domain_is_pending_for_the_check(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(DELAY)
    _refresh(api, acme)

    body = _verify(api, acme)
    assert _state(body) == ("pending", "pending")
    assert set(_records(body).values()) == {("verified", "verified")}
    clock.advance(CHECK)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_get_and_list_evaluate_like_refresh(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(DELAY)

    assert api.get(f"/core/email-domains/{acme}").json()["status"] == "verified"
    assert api.get("/core/email-domains").json()["data"][0]["status"] == "verified"


def test_auto_publish_publishes_records_at_registration(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, register: RegisterFn
) -> None:
    timed.set_settings(auto_publish=True)
    domain_id = register("acme.com")["id"]

    assert all(r["published"] for r in timed.find_domain("acme.com")["dns_records"])  # type: ignore[index]
    _verify(api, domain_id)
    clock.advance(DELAY)
    assert _state(_refresh(api, domain_id)) == ("verified", "verified")


def test_wrong_value_published_does_not_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    timed.unpublish("acme.com", type="TXT", name="_dmarc")
    timed.publish("acme.com", type="TXT", name="_dmarc", value="v=DMARC1; p=reject;")
    _verify(api, acme)
    clock.advance(WINDOW)

    body = _refresh(api, acme)

    assert _records(body)[DMARC] == ("failed", "failed")
    assert _state(body) == ("failed", "partially_failed")


# -- check_delay and negative_cache ---------------------------------------------------------------------


def test_check_delay_keeps_the_domain_pending_after_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.set_settings(check_delay=30)
    timed.publish("acme.com")
    clock.advance(DELAY)
    _verify(api, acme)

    clock.advance(29.9)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(0.1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed).verified_at == START + DELAY + 30


def test_without_check_delay_verify_answers_verified_at_once(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.set_settings(check_delay=0)
    timed.publish("acme.com")
    clock.advance(DELAY)

    assert _state(_verify(api, acme)) == ("verified", "verified")
    assert _times(timed) == VerificationTimes(START + DELAY, START + DELAY)


def test_negative_cache_delays_records_missed_at_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.set_settings(negative_cache=30)
    timed.publish("acme.com")
    _verify(api, acme)  # nothing visible yet: DNS serves the records from +10

    clock.advance(29.9)
    body = _refresh(api, acme)
    assert _state(body) == ("pending", "pending")
    assert set(_records(body).values()) == {("pending", "pending")}
    clock.advance(0.1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed).verified_at == START + 30


def test_negative_cache_spares_records_visible_at_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.set_settings(negative_cache=30)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")
    clock.advance(DELAY)
    timed.publish("acme.com")  # the others: visible from +20

    body = _verify(api, acme)
    assert _records(body)[DKIM] == ("verified", "verified")
    assert _records(body)[SPF_MX] == ("pending", "pending")
    clock.advance(29.9)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(0.1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_negative_cache_no_shorter_than_the_window_fails_until_a_later_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.set_settings(negative_cache=WINDOW)
    timed.publish("acme.com")
    _verify(api, acme)

    clock.advance(WINDOW)
    assert _state(_refresh(api, acme)) == ("failed", "failed")
    assert _state(_verify(api, acme)) == ("pending", "pending")  # visible now: no miss to remember
    clock.advance(CHECK)
    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed).verified_at == START + WINDOW + CHECK


# -- drift ----------------------------------------------------------------------------------------------


def test_unpublishing_after_verification_is_drift(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(DELAY)
    assert _state(_refresh(api, acme)) == ("verified", "verified")

    timed.unpublish("acme.com", type="MX", name="send")
    body = _refresh(api, acme)

    assert _state(body) == ("failed", "temporary_failure")
    assert _records(body)[SPF_MX] == ("failed", "temporary_failure")
    assert _records(body)[DKIM] == ("verified", "verified")
    assert _times(timed).verified_at is None


def test_drift_needs_republish_and_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(DELAY)
    _refresh(api, acme)
    timed.unpublish("acme.com", type="MX", name="send")
    clock.advance(1)

    timed.publish("acme.com", type="MX", name="send")
    clock.advance(20)
    assert _state(_refresh(api, acme)) == ("failed", "temporary_failure")
    assert _state(_verify(api, acme)) == ("pending", "pending")
    clock.advance(CHECK)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_unpublishing_during_a_running_attempt_makes_the_record_pending(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")
    clock.advance(DELAY)
    timed.unpublish("acme.com", type="TXT", name="resend._domainkey")

    body = _refresh(api, acme)

    assert _state(body) == ("pending", "pending")
    assert _records(body)[DKIM] == ("pending", "pending")


def test_record_removed_during_the_attempt_fails_at_its_end_not_as_drift(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    """The removal is judged when it happened (attempt running), not when it is first read."""
    _verify(api, acme)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")
    clock.advance(DELAY + 5)
    timed.unpublish("acme.com", type="TXT", name="resend._domainkey")
    clock.advance(WINDOW)

    assert _records(_refresh(api, acme))[DKIM] == ("failed", "failed")


def test_changing_the_delay_applies_from_the_change_on(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(5)
    timed.set_settings(propagation_delay=0)

    assert _state(_refresh(api, acme)) == ("verified", "verified")
    assert _times(timed).verified_at == START + 5  # not before the change, though visible "since" +0


# -- benchmark timestamps --------------------------------------------------------------------------------


def test_verified_at_is_exact_and_first_report_is_the_first_public_answer(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(40)

    assert _times(timed) == VerificationTimes(START + DELAY, None)  # an admin read reports nothing
    _refresh(api, acme)
    clock.advance(5)
    api.get("/core/email-domains")

    assert _times(timed) == VerificationTimes(START + DELAY, START + 40)


def test_a_new_attempt_resets_both_timestamps(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(DELAY)
    _refresh(api, acme)
    clock.advance(10)

    _verify(api, acme)

    assert _times(timed) == VerificationTimes(None, None)
    clock.advance(CHECK)
    _refresh(api, acme)
    assert _times(timed) == VerificationTimes(START + 20 + CHECK, START + 20 + CHECK)


def test_admin_view_shows_both_timestamps(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(DELAY)
    _refresh(api, acme)

    [item] = timed.domains()

    assert item["verified_at"] == START + DELAY
    assert item["first_reported_verified_at"] == START + DELAY
    assert item["verification_started_at"] == "2027-01-15T08:00:00Z"


# -- lazy evaluation equals continuous evaluation --------------------------------------------------------


Step = tuple[float, str, dict[str, Any]]
SCENARIO: list[Step] = [
    (0, "verify", {}),
    (3, "publish", {"type": "TXT", "name": "resend._domainkey"}),
    (15, "unpublish", {"type": "TXT", "name": "resend._domainkey"}),  # verified at 13, running: pending
    (20, "publish", {}),  # all visible at 30
    (50, "unpublish", {"type": "MX", "name": "@"}),  # after completion: drift
    (55, "verify", {}),  # new attempt, MX not visible: negative cache applies
    (58, "publish", {"type": "MX", "name": "@"}),
    (200, "end", {}),
]


@pytest.mark.parametrize("negative_cache", [0.0, 25.0])
def test_reading_all_the_time_or_never_gives_the_same_result(
    api: httpx.Client,
    timed: SandboxServer,
    clock: ManualClock,
    register: RegisterFn,
    negative_cache: float,
) -> None:
    timed.set_settings(negative_cache=negative_cache)
    watched, unwatched = register("watched.com")["id"], register("unwatched.com")["id"]
    elapsed = 0.0
    for at, action, filters in SCENARIO:
        while elapsed < at:  # the watched domain is read every half second
            _refresh(api, watched)
            clock.advance(0.5)
            elapsed += 0.5
        for domain_id, name in ((watched, "watched.com"), (unwatched, "unwatched.com")):
            if action == "verify":
                _verify(api, domain_id)
            elif action == "publish":
                timed.publish(name, **filters)
            elif action == "unpublish":
                timed.unpublish(name, **filters)

    admin = {item["domain"]: item for item in timed.domains()}
    assert _records(admin["watched.com"]) == _records(admin["unwatched.com"])
    assert _state(admin["watched.com"]) == _state(admin["unwatched.com"]) == ("verified", "verified")
    assert admin["watched.com"]["verified_at"] == admin["unwatched.com"]["verified_at"]
    expected = 68 if negative_cache == 0 else 55 + negative_cache  # visible at 68; or the cache ends
    assert admin["watched.com"]["verified_at"] == START + expected
