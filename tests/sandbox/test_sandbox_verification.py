"""The verify/refresh state machine, driven by the injected clock (DELAY=10 s, WINDOW=100 s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.testing import ManualClock, SandboxServer

RegisterFn = Callable[[str], dict[str, Any]]
DKIM = ("TXT", "resend._domainkey")
SPF_MX = ("MX", "send")


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


def test_refresh_never_starts_an_attempt(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    clock.advance(1000)

    body = _refresh(api, acme)

    assert _state(body) == ("pending", "not_started")
    assert set(_records(body).values()) == {("pending", "not_started")}


def test_verify_makes_records_pending_until_the_delay_passes(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    clock.advance(50)  # published long before the attempt: the delay counts from the attempt start

    assert _state(_verify(api, acme)) == ("pending", "pending")
    clock.advance(9.9)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(0.1)
    body = _refresh(api, acme)
    assert _state(body) == ("verified", "verified")
    assert set(_records(body).values()) == {("verified", "verified")}


def test_delay_counts_from_publish_time_when_published_after_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    clock.advance(30)
    timed.publish("acme.com")

    clock.advance(9)
    assert _state(_refresh(api, acme)) == ("pending", "pending")
    clock.advance(1)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_records_verify_one_by_one(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")

    clock.advance(10)
    body = _refresh(api, acme)

    assert _state(body) == ("pending", "pending")
    assert _records(body)[DKIM] == ("verified", "verified")
    assert _records(body)[SPF_MX] == ("pending", "pending")


def test_window_end_fails_unverified_records(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")

    clock.advance(99.9)
    assert _state(_refresh(api, acme))[0] == "pending"
    clock.advance(0.1)
    body = _refresh(api, acme)

    assert _state(body) == ("failed", "partially_failed")
    assert _records(body)[DKIM] == ("verified", "verified")
    assert _records(body)[SPF_MX] == ("failed", "failed")


def test_window_end_with_nothing_published_fails_the_domain(
    api: httpx.Client, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    clock.advance(100)

    body = _refresh(api, acme)

    assert _state(body) == ("failed", "failed")
    assert set(_records(body).values()) == {("failed", "failed")}


def test_record_published_too_late_in_the_window_still_fails(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    clock.advance(95)
    timed.publish("acme.com")  # would need until 105, the window ends at 100
    clock.advance(20)

    assert _state(_refresh(api, acme)) == ("failed", "failed")


def test_lazy_evaluation_counts_a_verification_nobody_read(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(500)  # no read in between: verified at +10, the window ended at +100

    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_failed_domain_recovers_only_through_a_new_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    clock.advance(100)
    assert _state(_refresh(api, acme)) == ("failed", "failed")
    timed.publish("acme.com")
    clock.advance(50)
    assert _state(_refresh(api, acme)) == ("failed", "failed")

    assert _state(_verify(api, acme)) == ("pending", "pending")
    clock.advance(10)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_unpublishing_after_verification_is_drift(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(10)
    assert _state(_refresh(api, acme)) == ("verified", "verified")

    timed.unpublish("acme.com", type="MX", name="send")
    body = _refresh(api, acme)

    assert _state(body) == ("failed", "temporary_failure")
    assert _records(body)[SPF_MX] == ("failed", "temporary_failure")
    assert _records(body)[DKIM] == ("verified", "verified")


def test_drift_needs_republish_and_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(10)
    _refresh(api, acme)
    timed.unpublish("acme.com", type="MX", name="send")
    clock.advance(1)

    timed.publish("acme.com", type="MX", name="send")
    clock.advance(20)
    assert _state(_refresh(api, acme)) == ("failed", "temporary_failure")
    assert _state(_verify(api, acme)) == ("pending", "pending")
    clock.advance(10)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_unpublishing_during_a_running_attempt_makes_the_record_pending(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    _verify(api, acme)
    timed.publish("acme.com", type="TXT", name="resend._domainkey")
    clock.advance(10)
    timed.unpublish("acme.com", type="TXT", name="resend._domainkey")

    body = _refresh(api, acme)

    assert _state(body) == ("pending", "pending")
    assert _records(body)[DKIM] == ("pending", "pending")


def test_verify_on_a_verified_domain_is_pending_for_the_delay(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(10)
    _refresh(api, acme)

    body = _verify(api, acme)
    assert _state(body) == ("pending", "pending")
    assert set(_records(body).values()) == {("verified", "verified")}
    clock.advance(10)
    assert _state(_refresh(api, acme)) == ("verified", "verified")


def test_get_and_list_evaluate_like_refresh(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(10)

    assert api.get(f"/core/email-domains/{acme}").json()["status"] == "verified"
    assert api.get("/core/email-domains").json()["data"][0]["status"] == "verified"


def test_auto_publish_publishes_records_at_registration(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, register: RegisterFn
) -> None:
    timed.set_settings(auto_publish=True)
    domain_id = register("acme.com")["id"]

    assert all(r["published"] for r in timed.find_domain("acme.com")["dns_records"])  # type: ignore[index]
    _verify(api, domain_id)
    clock.advance(10)
    assert _state(_refresh(api, domain_id)) == ("verified", "verified")


def test_wrong_value_published_does_not_verify(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    timed.unpublish("acme.com", type="TXT", name="_dmarc")
    timed.publish("acme.com", type="TXT", name="_dmarc", value="v=DMARC1; p=reject;")
    _verify(api, acme)
    clock.advance(100)

    body = _refresh(api, acme)

    assert _records(body)[("TXT", "_dmarc")] == ("failed", "failed")
    assert _state(body) == ("failed", "partially_failed")


def test_changing_the_delay_applies_to_what_has_not_happened_yet(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock, acme: str
) -> None:
    timed.publish("acme.com")
    _verify(api, acme)
    clock.advance(5)
    timed.set_settings(propagation_delay=0)

    assert _state(_refresh(api, acme)) == ("verified", "verified")
