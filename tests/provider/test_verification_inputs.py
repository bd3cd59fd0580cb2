"""The inputs that say how a domain is waited for, and the records a group member publishes: declared once
(``VerificationTuning``, ``ExpectedRecord``), read the same way by both verification resources."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from provider.dns.checker import DnsCheckMode, DnsCheckSettings, ExpectedRecord
from provider.resources.domain_verification import DomainVerificationArgs, DomainVerificationProvider
from provider.resources.domain_verification_group import (
    DomainVerificationGroupProvider,
    DomainVerificationGroupState,
    VerificationMember,
)
from provider.resources.verification_tuning import VerificationTuning
from provider.verify.poller import VerificationSettings

MEMBER = {"domain_id": "dom_1", "domain": "acme.com"}


def test_unset_tuning_keeps_the_pollers_defaults_and_set_fields_replace_them() -> None:
    defaults = VerificationSettings()
    assert VerificationTuning().settings() == defaults
    tuned = VerificationTuning(timeout_seconds=60, max_verify_attempts=1).settings()
    assert tuned == dataclasses.replace(defaults, timeout_seconds=60.0, max_verify_attempts=1)


def test_every_tuning_field_is_a_field_of_the_pollers_settings() -> None:
    settings_fields = {field.name for field in dataclasses.fields(VerificationSettings)}
    assert set(VerificationTuning.model_fields) <= settings_fields


@pytest.mark.parametrize("model", [VerificationMember, DomainVerificationArgs])
def test_both_resources_take_the_same_tuning(model: type[VerificationTuning]) -> None:
    inputs: dict[str, Any] = {**MEMBER, "poll_interval_seconds": 0.5}
    assert model.model_validate(inputs).settings() == VerificationSettings(poll_interval_seconds=0.5)


def test_a_member_request_carries_its_records_as_the_dns_checker_reads_them() -> None:
    member = VerificationMember.model_validate(
        {
            **MEMBER,
            "dns_records": [{"type": "mx", "name": "Send.Acme.com.", "value": "mx.example", "priority": 10}],
        }
    )
    request = member.request(DnsCheckSettings(DnsCheckMode.OFF))
    assert request.records == (ExpectedRecord("MX", "send.acme.com", "mx.example", 10),)
    assert request.settings == VerificationSettings()


def test_a_record_dns_cannot_serve_is_refused_by_check_at_preview() -> None:
    news = {"members": [{**MEMBER, "dns_records": [{"type": "A", "name": "acme.com", "value": "192.0.2.1"}]}]}
    (failure,) = DomainVerificationGroupProvider().check({}, news).failures
    assert failure.property == "members"
    assert "DNS record type 'A' is not one of TXT, MX, CNAME" in failure.reason


def test_records_stored_normalized_still_match_the_inputs_as_written() -> None:
    record = {"type": "txt", "name": "_DMARC.acme.com.", "value": "v=DMARC1"}
    written: dict[str, Any] = {**MEMBER, "dns_records": [record]}
    state = DomainVerificationGroupState.model_validate({"members": [written]}).outputs()
    (stored,) = state["members"][0]["dns_records"]
    assert (stored["type"], stored["name"]) == ("TXT", "_dmarc.acme.com")
    provider = DomainVerificationGroupProvider()
    assert provider.diff("g", {**state, "verified": True}, {"members": [written]}).changes is False
    changed = {**written, "dns_records": [{**record, "value": "v=DMARC1; p=none"}]}
    assert provider.diff("g", {**state, "verified": True}, {"members": [changed]}).changes is True


def test_the_legacy_resource_updates_when_any_tuning_field_changes() -> None:
    olds = {"domain_id": "dom_1", "verified": True}
    for name in VerificationTuning.model_fields:
        assert DomainVerificationProvider().diff("dom_1", olds, {**olds, name: 2}).changes is True, name
