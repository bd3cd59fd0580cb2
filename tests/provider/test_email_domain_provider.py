"""EmailDomainProvider driven directly against the sandbox: check, diff, create, read, update, delete."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from provider import ConflictError, EmailDomainProvider
from sandbox.testing import SandboxServer
from tests.support import OTHER_ORG, OTHER_TOKEN, OUR_ORG, OUR_TOKEN, CapturedLogs

PROVIDER_BLOB = "serialized-provider-A"
RECORD_KEYS = {"record", "type", "name", "value", "priority", "status"}


def inputs(domain: Any = "acme.com", **extra: Any) -> dict[str, Any]:
    """Resource inputs as the engine passes them (the serialized provider included)."""
    return {"domain": domain, "__provider": PROVIDER_BLOB, **extra}


def create(domain: str = "acme.com", **extra: Any) -> tuple[str, dict[str, Any]]:
    """check + create, as an up of a new resource does."""
    provider = EmailDomainProvider()
    checked = provider.check({}, inputs(domain, **extra))
    assert checked.failures == []
    result = provider.create(checked.inputs)
    assert result.outs is not None
    return result.id, result.outs


# -- check ---------------------------------------------------------------------------------------

CHECK_CASES = [
    pytest.param({"domain": "Acme.COM"}, {"domain": "acme.com", "provider": "resend"}, {}, id="lowercased"),
    pytest.param(
        {"domain": "bücher.example"}, {"domain": "xn--bcher-kva.example"}, {}, id="unicode-punycode"
    ),
    pytest.param(
        {"domain": "acme.com", "provider": " Resend "}, {"provider": "resend"}, {}, id="provider-normalized"
    ),
    pytest.param(
        {"domain": "agents.anyreach.ai"}, {}, {"domain": "needs no registration"}, id="platform-domain"
    ),
    pytest.param(
        {"domain": "mail.agents.anyreach.ai"}, {}, {"domain": "platform domain"}, id="platform-subdomain"
    ),
    pytest.param({"domain": "user@acme.com"}, {}, {"domain": "acme.com"}, id="email-address"),
    pytest.param({"domain": "https://acme.com/"}, {}, {"domain": "acme.com"}, id="url"),
    pytest.param({}, {}, {"domain": "domain is required"}, id="missing-domain"),
    pytest.param(
        {"domain": "acme.com", "provider": "no such!"},
        {},
        {"provider": "not an email provider"},
        id="bad-provider",
    ),
]


@pytest.mark.parametrize(("news", "expected_inputs", "expected_failures"), CHECK_CASES)
def test_check_normalizes_or_explains(
    fast_clients: None,
    news: dict[str, Any],
    expected_inputs: dict[str, Any],
    expected_failures: dict[str, str],
) -> None:
    # fast_clients clears ANYREACH_* and nothing is configured: check needs no credentials.
    result = EmailDomainProvider().check({}, {**news, "__provider": PROVIDER_BLOB})
    failures = {failure.property: failure.reason for failure in result.failures}
    assert set(failures) == set(expected_failures)
    for prop, fragment in expected_failures.items():
        assert fragment in failures[prop]
    for key, value in expected_inputs.items():
        assert result.inputs[key] == value


def test_check_passes_unknown_inputs_through_in_preview(fast_clients: None) -> None:
    unknown_domain, unknown_provider = Unknown(), Unknown()
    result = EmailDomainProvider().check({}, inputs(unknown_domain, provider=unknown_provider))
    assert result.failures == []
    assert result.inputs["domain"] is unknown_domain
    assert result.inputs["provider"] is unknown_provider


# -- diff ----------------------------------------------------------------------------------------

OLD_OUTPUTS: dict[str, Any] = {
    "domain": "acme.com",
    "provider": "resend",
    "status": "verified",
    "raw_status": "verified",
    "region": "us-east-1",
    "dns_records": [],
    "__provider": PROVIDER_BLOB,
}

DIFF_CASES = [
    pytest.param({}, False, [], None, id="same"),
    pytest.param({"__provider": "serialized-provider-B"}, False, [], None, id="provider-blob-changed"),
    pytest.param({"provider": None}, False, [], None, id="provider-default-equals-resend"),
    pytest.param({"domain": "ACME.com"}, False, [], None, id="same-after-normalizing"),
    pytest.param({"domain": "acme.org"}, True, ["domain"], None, id="domain-changed"),
    pytest.param({"domain": Unknown()}, True, ["domain"], None, id="domain-unknown"),
    pytest.param({"provider": "sendgrid"}, True, ["provider"], True, id="provider-changed"),
    pytest.param({"provider": Unknown()}, True, ["provider"], True, id="provider-unknown"),
    pytest.param(
        {"domain": "acme.org", "provider": "sendgrid"}, True, ["domain", "provider"], None, id="both"
    ),
]


@pytest.mark.parametrize(("change", "changes", "replaces", "delete_first"), DIFF_CASES)
def test_diff_replaces_only_on_domain_or_provider(
    fast_clients: None, change: dict[str, Any], changes: bool, replaces: list[str], delete_first: bool | None
) -> None:
    news = {"domain": "acme.com", "provider": "resend", "__provider": PROVIDER_BLOB, **change}
    result = EmailDomainProvider().diff("dom_1", dict(OLD_OUTPUTS), news)
    assert result.changes is changes
    assert result.replaces == replaces
    assert result.delete_before_replace is delete_first


def test_diff_ignores_status_and_records_that_refresh_changed(fast_clients: None) -> None:
    refreshed = {**OLD_OUTPUTS, "status": "failed", "dns_records": [{"type": "TXT", "status": "failed"}]}
    news = {"domain": "acme.com", "provider": "resend", "__provider": PROVIDER_BLOB}
    result = EmailDomainProvider().diff("dom_1", refreshed, news)
    assert result.changes is False


# -- create / read / update / delete -------------------------------------------------------------


def test_create_registers_with_one_request_and_fills_state_from_its_answer(configured: SandboxServer) -> None:
    domain_id, outs = create("Acme.com")
    [held] = configured.domains()
    assert held["id"] == domain_id
    assert held["organization"] == OUR_ORG
    assert outs["domain"] == "acme.com"
    assert outs["provider"] == "resend"
    assert outs["status"] == "pending"
    assert outs["region"] == "us-east-1"
    assert {(record["type"], record["name"]) for record in outs["dns_records"]} == {
        (record["type"], record["name"]) for record in held["dns_records"]
    }
    assert all(set(record) == RECORD_KEYS for record in outs["dns_records"])
    mx = [record for record in outs["dns_records"] if record["type"] == "MX"]
    assert mx and all(record["priority"] == 10 for record in mx)
    assert configured.route_count("POST /core/email-domains") == 1
    assert configured.stats()["total"] == 1  # the register answer is the domain: no second read


def test_preview_right_after_up_shows_no_changes(configured: SandboxServer) -> None:
    domain_id, outs = create("Acme.com")
    provider = EmailDomainProvider()
    checked = provider.check(inputs("Acme.com"), inputs("Acme.com"))
    result = provider.diff(domain_id, {**outs, "__provider": PROVIDER_BLOB}, checked.inputs)
    assert result.changes is False


def test_read_shows_status_and_record_changes(configured: SandboxServer) -> None:
    domain_id, outs = create()
    assert outs["status"] == "pending"
    configured.set_settings(propagation_delay=0, check_delay=0)
    configured.publish("acme.com")
    with configured.client(OUR_TOKEN, OUR_ORG) as http:
        http.post(f"/core/email-domains/{domain_id}/verify").raise_for_status()
    result = EmailDomainProvider().read(domain_id, outs)
    assert result.id == domain_id
    assert result.outs is not None
    assert result.outs["status"] == "verified"
    assert {record["status"] for record in result.outs["dns_records"]} == {"verified"}


def test_read_of_a_deleted_domain_drops_it_with_a_warning(
    configured: SandboxServer, logs: CapturedLogs
) -> None:
    domain_id, outs = create()
    with configured.client(OUR_TOKEN, OUR_ORG) as http:
        http.delete(f"/core/email-domains/{domain_id}").raise_for_status()
    result = EmailDomainProvider().read(domain_id, outs)
    assert result.id == ""
    assert result.outs == {}
    [warning] = logs.of("warn")
    assert "refreshing Email Domain (acme.com)" in warning
    assert "removing it from the stack state" in warning


def test_read_needs_only_read_scope(configured: SandboxServer, fast_clients: None) -> None:
    from provider.resources import connection
    from tests.support import READ_ONLY_TOKEN, configure_request, stack_config

    domain_id, outs = create()
    EmailDomainProvider().configure(configure_request(stack_config(configured, READ_ONLY_TOKEN)))
    try:
        result = EmailDomainProvider().read(domain_id, outs)
    finally:
        connection.forget_configuration()
    assert result.id == domain_id


def test_delete_deletes_on_the_platform(configured: SandboxServer) -> None:
    domain_id, outs = create()
    EmailDomainProvider().delete(domain_id, outs)
    assert configured.domains() == []


def test_delete_of_a_domain_already_gone_succeeds_with_a_warning(
    configured: SandboxServer, logs: CapturedLogs
) -> None:
    domain_id, outs = create()
    with configured.client(OUR_TOKEN, OUR_ORG) as http:
        http.delete(f"/core/email-domains/{domain_id}").raise_for_status()
    EmailDomainProvider().delete(domain_id, outs)
    [warning] = logs.of("warn")
    assert "deleting Email Domain (acme.com): already gone" in warning


def test_create_adopts_a_domain_this_organization_already_holds(
    configured: SandboxServer, logs: CapturedLogs
) -> None:
    with configured.client(OUR_TOKEN, OUR_ORG) as http:
        existing = http.post("/core/email-domains", json={"domain": "acme.com"}).json()
    domain_id, outs = create()
    assert domain_id == existing["id"]
    assert len(configured.domains()) == 1
    assert outs["domain"] == "acme.com"
    assert any("adopted it" in message and existing["id"] in message for message in logs.of("warn"))


def test_create_fails_when_another_organization_holds_the_domain(configured: SandboxServer) -> None:
    with configured.client(OTHER_TOKEN, OTHER_ORG) as http:
        http.post("/core/email-domains", json={"domain": "acme.com"}).raise_for_status()
    with pytest.raises(ConflictError) as caught:
        create()
    message = str(caught.value)
    assert message.startswith(
        "registering Email Domain (acme.com): HTTP 409: The domain acme.com is already registered."
    )
    assert f"not among the domains of organization {OUR_ORG}" in message
    assert "choose another domain" in message
    assert OUR_TOKEN not in message and OTHER_TOKEN not in message
    [held] = configured.domains()
    assert held["organization"] == OTHER_ORG


def test_create_recovers_a_lost_register_response_without_a_duplicate(
    configured: SandboxServer, logs: CapturedLogs
) -> None:
    configured.set_faults(drop_register_responses=1)
    domain_id, outs = create()
    [held] = configured.domains()
    assert held["id"] == domain_id
    assert outs["status"] == "pending"
    assert configured.stats()["dropped_responses"] == 1
    assert any("answer was lost" in message for message in logs.of("info"))
