"""DomainVerificationGroupProvider driven directly against the sandbox (and its DNS server): many domains
in one create, updates that verify only what needs it, refresh, failures, and the diff table."""

from __future__ import annotations

from typing import Any

import pytest

from provider import DomainVerificationGroupProvider
from provider.resources.domain_verification_group import VerificationGroupError
from sandbox.testing import SandboxServer
from tests.provider.verification_helpers import group_inputs, member, register
from tests.support import OUR_ORG, OUR_TOKEN, CapturedLogs

VERIFY = "POST /core/email-domains/{id}/verify"
REFRESH = "POST /core/email-domains/{id}/refresh"


def test_create_verifies_every_member_once_and_reports_each(configured: SandboxServer) -> None:
    configured.set_settings(auto_publish=True, propagation_delay=0.2, check_delay=0.1)
    domains = [register(f"group-{i}.example.com") for i in range(3)]
    configured.reset_stats()
    result = DomainVerificationGroupProvider().create(group_inputs(configured, [member(d) for d in domains]))
    assert result.outs is not None and result.outs["verified"] is True
    assert sorted(result.outs["results"]) == sorted(d["domain"] for d in domains)
    assert {r["domain_id"] for r in result.outs["results"].values()} == {d["id"] for d in domains}
    assert configured.route_count(VERIFY) == 3  # DNS served the records first: one attempt each


def test_update_verifies_only_new_or_unverified_members(configured: SandboxServer) -> None:
    configured.set_settings(auto_publish=True, propagation_delay=0.2, check_delay=0.1)
    first, second = register("first.example.com"), register("second.example.com")
    provider = DomainVerificationGroupProvider()
    created = provider.create(group_inputs(configured, [member(first)]))
    assert created.outs is not None
    # The platform forgets the first domain: any request about it would now fail (404) and fail the
    # update, so the update passes only if the unchanged, verified member costs no request at all.
    with configured.client(OUR_TOKEN, OUR_ORG) as http:
        http.delete(f"/core/email-domains/{first['id']}").raise_for_status()
    configured.reset_stats()
    news = group_inputs(configured, [member(first), member(second)])
    assert provider.diff("g", created.outs, news).changes is True
    updated = provider.update("g", created.outs, news)
    assert updated.outs is not None and updated.outs["verified"] is True
    # The unchanged member keeps its result as last seen; the new one was verified and polled.
    results = updated.outs["results"]
    assert results["first.example.com"] == created.outs["results"]["first.example.com"]
    assert (results["second.example.com"]["domain_id"], results["second.example.com"]["verified"]) == (
        second["id"],
        True,
    )
    assert configured.route_count(VERIFY) == 1
    # The new member's polls; no first read: this deployment registered it (provider.host.registrations).
    assert configured.route_count(REFRESH) >= 1
    assert provider.diff("g", updated.outs, news).changes is False


def test_refresh_reports_a_member_that_lost_its_verification_and_the_next_diff_updates(
    configured: SandboxServer, logs: CapturedLogs
) -> None:
    configured.set_settings(auto_publish=True, propagation_delay=0.2, check_delay=0.1)
    domain = register("drift.example.com")
    provider = DomainVerificationGroupProvider()
    inputs = group_inputs(configured, [member(domain)])
    created = provider.create(inputs)
    assert created.outs is not None
    configured.unpublish("drift.example.com", type="TXT", name="_dmarc")
    refreshed = provider.read("g", created.outs)
    assert refreshed.outs is not None
    assert refreshed.outs["results"]["drift.example.com"]["verified"] is False
    assert refreshed.outs["verified"] is False
    assert any("drift.example.com" in m and "no longer verified" in m for m in logs.of("warn"))
    assert provider.diff("g", refreshed.outs, inputs).changes is True


def test_members_that_fail_are_each_named_and_the_others_still_verify(configured: SandboxServer) -> None:
    configured.set_settings(auto_publish=False, propagation_delay=0.2, check_delay=0.1)
    published, missing = register("ok.example.com"), register("missing.example.com")
    configured.publish("ok.example.com")
    provider = DomainVerificationGroupProvider()
    inputs = group_inputs(configured, [member(published), member(missing, timeout_seconds=3)])
    with pytest.raises(VerificationGroupError) as caught:
        provider.create(inputs)
    message = str(caught.value)
    assert message.startswith(
        "waiting for Email Domain (missing.example.com) verification: not verified within 3 s"
    )
    assert "not served by every authoritative nameserver" in message
    assert "1 of 2 Email Domains did not verify: missing.example.com" in message
    assert caught.value.verified == ["ok.example.com"]
    [held] = [d for d in configured.domains() if d["domain"] == "ok.example.com"]
    assert held["status"] == "verified"


BASE_MEMBER = {
    "domain_id": "dom_1",
    "domain": "acme.com",
    "dns_records": [{"type": "TXT", "name": "acme.com", "value": "x"}],
}


@pytest.mark.parametrize(
    ("olds", "news", "changes"),
    [
        ({"members": [BASE_MEMBER], "verified": True}, {"members": [BASE_MEMBER]}, False),
        ({"members": [BASE_MEMBER], "verified": False}, {"members": [BASE_MEMBER]}, True),
        ({"members": [BASE_MEMBER], "verified": True}, {"members": []}, True),
        (
            {"members": [BASE_MEMBER], "verified": True},
            {"members": [{**BASE_MEMBER, "timeout_seconds": 60}]},
            True,
        ),
        (
            {"members": [BASE_MEMBER], "verified": True},
            {
                "members": [
                    {**BASE_MEMBER, "dns_records": [{"type": "TXT", "name": "acme.com", "value": "y"}]}
                ]
            },
            True,
        ),
        ({"members": [BASE_MEMBER], "verified": True}, {"members": [BASE_MEMBER], "dns_check": "off"}, True),
        (
            {"members": [BASE_MEMBER], "verified": True},
            {"members": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"},
            True,
        ),
    ],
    ids=[
        "same",
        "not verified",
        "member removed",
        "settings changed",
        "records changed",
        "dns check changed",
        "unknown",
    ],
)
def test_diff_updates_and_never_replaces(olds: dict[str, Any], news: dict[str, Any], changes: bool) -> None:
    result = DomainVerificationGroupProvider().diff("g", olds, news)
    assert result.changes is changes
    assert not result.replaces


def test_check_refuses_a_domain_listed_twice() -> None:
    failures = DomainVerificationGroupProvider().check({}, {"members": [BASE_MEMBER, BASE_MEMBER]}).failures
    assert [f.property for f in failures] == ["members"]
    assert "repeated: acme.com" in failures[0].reason
