"""DomainVerificationProvider driven directly against the sandbox: verify, wait, drift, diff, check."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from provider import DomainVerificationError, DomainVerificationProvider, EmailDomainProvider
from sandbox.testing import SandboxServer
from tests.support import OUR_ORG, OUR_TOKEN, CapturedLogs, FakeClock, finished, in_thread, wait_for

PROVIDER_BLOB = "serialized-verification-provider"
# What the component plans to publish: every record the sandbox (like Resend + the platform) asks for.
PLANNED = [
    {"type": "TXT", "name": "resend._domainkey"},
    {"type": "MX", "name": "send"},
    {"type": "TXT", "name": "send"},
    {"type": "TXT", "name": "_dmarc"},
    {"type": "MX", "name": "@"},
]
VERIFY_ROUTE = "POST /core/email-domains/{id}/verify"
REFRESH_ROUTE = "POST /core/email-domains/{id}/refresh"


def register(domain: str = "acme.com") -> str:
    """Register through the EmailDomain provider; return the domain id."""
    provider = EmailDomainProvider()
    result = provider.create(provider.check({}, {"domain": domain, "__provider": "x"}).inputs)
    return result.id


def verification_inputs(domain_id: Any, **overrides: Any) -> dict[str, Any]:
    """DomainVerification inputs with test timings: short pauses, and a deadline that a passing run never
    reaches (tests of the deadline run on the clocked sandbox and move its clock past it)."""
    values: dict[str, Any] = {
        "domain_id": domain_id,
        "records_fingerprint": "fp-1",
        "expected_records": PLANNED,
        "timeout_seconds": 600.0,
        "poll_interval_seconds": 0.05,
        "max_verify_attempts": 3,
        "__provider": PROVIDER_BLOB,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def admin_view(sandbox: SandboxServer, domain: str = "acme.com") -> dict[str, Any]:
    """The sandbox's own view of a domain (settled at the time of the call)."""
    view = sandbox.find_domain(domain)
    assert view is not None
    return view


def make_verified(sandbox: SandboxServer, domain_id: str) -> None:
    """Publish every record and verify through the API, so the domain is verified at once."""
    sandbox.set_settings(propagation_delay=0, check_delay=0)
    sandbox.publish("acme.com")
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        http.post(f"/core/email-domains/{domain_id}/verify").raise_for_status()
    assert admin_view(sandbox)["status"] == "verified"
    sandbox.set_settings(propagation_delay=0.2, check_delay=0.2)


# -- create / update -----------------------------------------------------------------------------


def test_create_verifies_records_published_while_it_waits(configured: SandboxServer) -> None:
    domain_id = register()
    provider = DomainVerificationProvider()
    thread, outcome = in_thread(lambda: provider.create(verification_inputs(domain_id)))
    # Publish only once verification has been initiated: the waiter must pick it up by polling.
    wait_for(lambda: configured.route_count(VERIFY_ROUTE) == 1, "verify called")
    configured.publish("acme.com")
    finished(thread, "the domain verified")
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result.id == domain_id
    assert result.outs["verified"] is True
    assert result.outs["status"] == "verified"
    assert result.outs["domain"] == "acme.com"
    assert result.outs["domain_id"] == domain_id
    assert {record["status"] for record in result.outs["dns_records"]} == {"verified"}
    assert configured.route_count(VERIFY_ROUTE) == 1
    assert configured.route_count(REFRESH_ROUTE) >= 2  # the first read, then polls


def test_create_on_a_verified_domain_does_not_call_verify(configured: SandboxServer) -> None:
    domain_id = register()
    make_verified(configured, domain_id)
    configured.reset_stats()
    result = DomainVerificationProvider().create(verification_inputs(domain_id))
    assert result.outs is not None and result.outs["verified"] is True
    assert configured.route_count(VERIFY_ROUTE) == 0


def test_timeout_lists_each_record_not_verified_and_what_to_do(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    domain_id = register()
    sandbox.set_settings(verify_window=60)
    sandbox.publish("acme.com", type="TXT", name="resend._domainkey")
    sandbox.publish("acme.com", type="TXT", name="_dmarc")
    provider = DomainVerificationProvider()
    thread, outcome = in_thread(lambda: provider.create(verification_inputs(domain_id, timeout_seconds=1.0)))
    wait_for(lambda: sandbox.route_count(VERIFY_ROUTE) == 1, "verify called")
    # Past the deadline, and past the propagation and check delays of the two published records: the
    # poll now due sees them verified, the three others pending, and ends the wait.
    clock.settle()  # the first poll is scheduled
    clock.advance(2)
    finished(thread, "the wait timed out")
    assert isinstance(outcome.get("error"), DomainVerificationError), outcome
    message = str(outcome["error"])
    assert message.startswith("waiting for Email Domain (acme.com) verification: not verified within 1 s")
    assert "3 DNS record(s) not verified yet" in message
    assert (
        "MX send.acme.com = 10 feedback-smtp.us-east-1.amazonses.com (status pending); "
        "check with `dig +short MX send.acme.com`" in message
    )
    assert 'TXT send.acme.com = "v=spf1 include:amazonses.com ~all" (status pending)' in message
    assert "MX acme.com = 10 inbound-smtp.us-east-1.amazonaws.com (status pending)" in message
    assert "resend._domainkey.acme.com" not in message  # published and verified: not listed
    assert "exactly as given" in message
    assert "run `pulumi up` again: it verifies again" in message
    assert OUR_TOKEN not in message


def test_failed_attempts_are_reinitiated_a_bounded_number_of_times(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    domain_id = register()
    sandbox.set_settings(verify_window=0.2)
    provider = DomainVerificationProvider()
    thread, outcome = in_thread(
        lambda: provider.create(verification_inputs(domain_id, max_verify_attempts=2))
    )
    wait_for(lambda: sandbox.route_count(VERIFY_ROUTE) == 1, "the first attempt initiated")
    clock.settle()  # its first poll is scheduled
    clock.advance(1)  # its window ends with nothing published: the poll now due sees it failed
    wait_for(lambda: sandbox.route_count(VERIFY_ROUTE) == 2, "the second attempt initiated")
    clock.settle()
    clock.advance(1)  # so does the second one's: no attempt is left
    finished(thread, "the wait gave up")
    assert isinstance(outcome.get("error"), DomainVerificationError), outcome
    message = str(outcome["error"])
    assert message.startswith(
        "waiting for Email Domain (acme.com) verification: verification failed 2 time(s)"
    )
    assert "5 DNS record(s) not verified yet" in message
    assert "(status failed)" in message
    assert sandbox.route_count(VERIFY_ROUTE) == 2


def test_a_failed_attempt_is_reinitiated_and_then_verifies(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    # The sandbox's and the poller's clock moves only when the test says so: no attempt can fail or
    # succeed early, and each move makes one poll due.
    sandbox, clock = clocked
    sandbox.set_settings(verify_window=10, propagation_delay=5, check_delay=1)
    domain_id = register()
    provider = DomainVerificationProvider()
    thread, outcome = in_thread(lambda: provider.create(verification_inputs(domain_id, timeout_seconds=60)))
    wait_for(lambda: sandbox.route_count(VERIFY_ROUTE) == 1, "the first attempt started")
    clock.settle()  # its first poll is scheduled
    clock.advance(11)  # its window ends with nothing published: it fails
    wait_for(lambda: sandbox.route_count(VERIFY_ROUTE) == 2, "a second attempt started after the failure")
    sandbox.publish("acme.com")
    clock.settle()
    clock.advance(6)  # the records become visible and the provider's check completes
    clock.step_until(lambda: not thread.is_alive(), "the domain verified")
    finished(thread, "the domain verified")
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].outs["verified"] is True
    assert sandbox.route_count(VERIFY_ROUTE) == 2


def test_unplanned_record_fails_at_once_naming_it(configured: SandboxServer) -> None:
    domain_id = register()
    configured.reset_stats()
    planned_without_dmarc = [record for record in PLANNED if record["name"] != "_dmarc"]
    with pytest.raises(DomainVerificationError) as caught:
        DomainVerificationProvider().create(
            verification_inputs(domain_id, expected_records=planned_without_dmarc)
        )
    message = str(caught.value)
    assert message.startswith(
        "waiting for Email Domain (acme.com) verification: the platform asks for 1 DNS record(s)"
    )
    assert "this stack does not publish" in message
    assert "TXT _dmarc.acme.com = v=DMARC1; p=none;" in message
    assert "Publish them too" in message
    # Failed before waiting: one read, no verify, no polls.
    assert configured.route_count(VERIFY_ROUTE) == 0
    assert configured.route_count(REFRESH_ROUTE) == 1


def test_a_verified_domain_passes_even_with_records_outside_the_plan(configured: SandboxServer) -> None:
    # Verified means every record resolves (someone published the extra one): nothing to wait for.
    domain_id = register()
    make_verified(configured, domain_id)
    configured.reset_stats()
    partial_plan = PLANNED[:2]
    result = DomainVerificationProvider().create(
        verification_inputs(domain_id, expected_records=partial_plan)
    )
    assert result.outs is not None and result.outs["verified"] is True
    assert configured.route_count(VERIFY_ROUTE) == 0


def test_expected_records_may_use_full_names(configured: SandboxServer) -> None:
    domain_id = register()
    configured.publish("acme.com")
    full_names = [
        {
            "type": record["type"],
            "name": "acme.com" if record["name"] == "@" else f"{record['name']}.acme.com",
        }
        for record in PLANNED
    ]
    result = DomainVerificationProvider().create(verification_inputs(domain_id, expected_records=full_names))
    assert result.outs is not None and result.outs["verified"] is True


def test_fingerprint_change_on_a_verified_domain_updates_without_verify(configured: SandboxServer) -> None:
    domain_id = register()
    configured.publish("acme.com")
    provider = DomainVerificationProvider()
    created = provider.create(verification_inputs(domain_id))
    assert created.outs is not None
    olds = {**created.outs, "__provider": PROVIDER_BLOB}
    news = verification_inputs(domain_id, records_fingerprint="fp-2")
    diff = provider.diff(domain_id, olds, news)
    assert diff.changes is True and diff.replaces == []
    configured.reset_stats()
    updated = provider.update(domain_id, olds, news)
    assert updated.outs is not None
    assert updated.outs["verified"] is True
    assert updated.outs["records_fingerprint"] == "fp-2"
    assert configured.route_count(VERIFY_ROUTE) == 0


# -- read, drift, delete -------------------------------------------------------------------------


def test_drift_read_shows_lost_verification_and_next_up_verifies_again(
    configured: SandboxServer, logs: CapturedLogs
) -> None:
    domain_id = register()
    configured.publish("acme.com")
    provider = DomainVerificationProvider()
    created = provider.create(verification_inputs(domain_id))
    assert created.outs is not None
    state = {**created.outs, "__provider": PROVIDER_BLOB}
    news = verification_inputs(domain_id)
    assert provider.diff(domain_id, state, news).changes is False  # preview right after up: no changes

    configured.unpublish("acme.com", type="TXT", name="send")
    refreshed = provider.read(domain_id, state)
    assert refreshed.id == domain_id
    assert refreshed.outs is not None
    assert refreshed.outs["verified"] is False
    assert refreshed.outs["status"] == "failed"
    assert refreshed.outs["records_fingerprint"] == "fp-1"  # inputs kept in state
    assert any("no longer verified" in message for message in logs.of("warn"))

    state = {**refreshed.outs, "__provider": PROVIDER_BLOB}
    diff = provider.diff(domain_id, state, news)
    assert diff.changes is True
    assert diff.replaces == []  # an update, never a replace

    configured.publish("acme.com", type="TXT", name="send")
    verifies_before = configured.route_count(VERIFY_ROUTE)
    updated = provider.update(domain_id, state, news)
    assert updated.outs is not None and updated.outs["verified"] is True
    assert configured.route_count(VERIFY_ROUTE) == verifies_before + 1
    assert provider.diff(domain_id, {**updated.outs, "__provider": PROVIDER_BLOB}, news).changes is False


def test_read_drops_the_verification_when_the_domain_is_gone(
    configured: SandboxServer, logs: CapturedLogs
) -> None:
    domain_id = register()
    configured.publish("acme.com")
    provider = DomainVerificationProvider()
    created = provider.create(verification_inputs(domain_id))
    EmailDomainProvider().delete(domain_id, {"domain": "acme.com"})
    assert created.outs is not None
    result = provider.read(domain_id, created.outs)
    assert result.id == ""
    assert result.outs == {}
    assert any("removing the verification from the stack state" in message for message in logs.of("warn"))


def test_delete_makes_no_call_and_needs_no_credentials(fast_clients: None, sandbox: SandboxServer) -> None:
    DomainVerificationProvider().delete("dom_123", {"domain_id": "dom_123", "verified": True})
    assert sandbox.stats()["total"] == 0


# -- diff and check tables -----------------------------------------------------------------------

OLD_OUTPUTS: dict[str, Any] = {
    "domain_id": "dom_1",
    "records_fingerprint": "fp-1",
    "expected_records": [{"type": "TXT", "name": "send"}, {"type": "MX", "name": "@"}],
    "timeout_seconds": 5.0,
    "poll_interval_seconds": 0.05,
    "max_verify_attempts": 3,
    "domain": "acme.com",
    "status": "verified",
    "dns_records": [],
    "verified": True,
    "__provider": PROVIDER_BLOB,
}
NEWS: dict[str, Any] = {key: OLD_OUTPUTS[key] for key in list(OLD_OUTPUTS)[:6]} | {
    "__provider": PROVIDER_BLOB
}

DIFF_CASES = [
    pytest.param({}, {}, False, [], id="same"),
    pytest.param({}, {"__provider": "another-blob"}, False, [], id="provider-blob-changed"),
    pytest.param(
        {},
        {"expected_records": [{"type": "mx", "name": "@"}, {"type": "TXT", "name": "SEND"}]},
        False,
        [],
        id="same-records-other-order-and-case",
    ),
    pytest.param({}, {"max_verify_attempts": 3.0}, False, [], id="int-arrives-as-float"),
    pytest.param({}, {"records_fingerprint": "fp-2"}, True, [], id="fingerprint-changed-updates"),
    pytest.param({}, {"records_fingerprint": Unknown()}, True, [], id="fingerprint-unknown-updates"),
    pytest.param({}, {"expected_records": [{"type": "TXT", "name": "send"}]}, True, [], id="records-changed"),
    pytest.param({}, {"expected_records": [Unknown()]}, True, [], id="records-partly-unknown"),
    pytest.param({}, {"timeout_seconds": 60.0}, True, [], id="timeout-changed"),
    pytest.param({"verified": False, "status": "failed"}, {}, True, [], id="lost-verification-updates"),
    pytest.param({"verified": None}, {}, True, [], id="verified-missing-updates"),
    pytest.param({}, {"domain_id": "dom_2"}, True, ["domain_id"], id="other-domain-replaces"),
    pytest.param({}, {"domain_id": Unknown()}, True, ["domain_id"], id="domain-unknown-replaces"),
]


@pytest.mark.parametrize(("old_change", "new_change", "changes", "replaces"), DIFF_CASES)
def test_diff_table(
    fast_clients: None,
    old_change: dict[str, Any],
    new_change: dict[str, Any],
    changes: bool,
    replaces: list[str],
) -> None:
    olds = {key: value for key, value in {**OLD_OUTPUTS, **old_change}.items() if value is not None}
    news = {**NEWS, **new_change}
    result = DomainVerificationProvider().diff("dom_1", olds, news)
    assert result.changes is changes
    assert result.replaces == replaces


CHECK_CASES = [
    pytest.param({}, {}, id="valid"),
    pytest.param({"records_fingerprint": None, "expected_records": None}, {}, id="optional-left-out"),
    pytest.param({"domain_id": None}, {"domain_id": "Field required"}, id="missing-domain-id"),
    pytest.param({"domain_id": ""}, {"domain_id": "at least 1 character"}, id="empty-domain-id"),
    pytest.param({"timeout_seconds": -1.0}, {"timeout_seconds": "greater than 0"}, id="negative-timeout"),
    pytest.param(
        {"poll_interval_seconds": 0}, {"poll_interval_seconds": "greater than 0"}, id="zero-interval"
    ),
    pytest.param(
        {"max_verify_attempts": 0}, {"max_verify_attempts": "greater than or equal to 1"}, id="no-attempts"
    ),
    pytest.param({"max_verify_attempts": 2.5}, {"max_verify_attempts": "integer"}, id="fractional-attempts"),
    pytest.param(
        {"expected_records": "TXT send"}, {"expected_records": "valid list"}, id="records-not-a-list"
    ),
    pytest.param(
        {"expected_records": [{"type": "TXT"}]}, {"expected_records": "0.name"}, id="record-without-name"
    ),
    pytest.param({"domain_id": Unknown()}, {}, id="unknown-domain-id-passes"),
    pytest.param(
        {"expected_records": Unknown(), "timeout_seconds": Unknown()}, {}, id="unknown-settings-pass"
    ),
]


@pytest.mark.parametrize(("change", "expected_failures"), CHECK_CASES)
def test_check_table(fast_clients: None, change: dict[str, Any], expected_failures: dict[str, str]) -> None:
    news = {key: value for key, value in {**NEWS, **change}.items() if value is not None}
    result = DomainVerificationProvider().check({}, news)
    failures = {failure.property: failure.reason for failure in result.failures}
    assert set(failures) == set(expected_failures)
    for prop, fragment in expected_failures.items():
        assert fragment in failures[prop]
    assert result.inputs == news
