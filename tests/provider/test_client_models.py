"""Tolerant reading of API payloads: extra fields, unknown statuses, list shapes."""

from __future__ import annotations

import pytest

from provider.api.models import DnsRecord, Domain, DomainStatus, parse_domain_list

DOMAIN = {
    "id": "dom_1",
    "domain": "acme.com",
    "provider": "resend",
    "status": "pending",
    "raw_status": "not_started",
    "region": "us-east-1",
    "created_at": "2026-11-27T11:00:00Z",
    "dns_records": [
        {"record": "DKIM", "type": "TXT", "name": "resend._domainkey", "value": "p=MIG", "status": "pending"},
        {
            "record": "Receiving",
            "type": "MX",
            "name": "@",
            "value": "inbound-smtp.us-east-1.amazonaws.com",
            "priority": 10,
            "status": "verified",
            "ttl": "Auto",
        },
    ],
}


def test_documented_domain_object_is_read_field_by_field() -> None:
    domain = Domain.model_validate(DOMAIN)
    assert (domain.id, domain.domain, domain.provider) == ("dom_1", "acme.com", "resend")
    assert domain.status is DomainStatus.PENDING
    assert domain.raw_status == "not_started"
    assert domain.region == "us-east-1"
    dkim, mx = domain.dns_records
    assert (dkim.record, dkim.type, dkim.name, dkim.value, dkim.priority) == (
        "DKIM",
        "TXT",
        "resend._domainkey",
        "p=MIG",
        None,
    )
    assert (mx.type, mx.priority, mx.status) == ("MX", 10, DomainStatus.VERIFIED)
    assert domain.unverified_records == [dkim]
    assert not domain.is_verified


def test_extra_fields_are_ignored_on_domain_and_record() -> None:
    payload = {
        **DOMAIN,
        "tracking": {"open": True},
        "dns_records": [{**DOMAIN["dns_records"][0], "proxy_status": "off"}],  # type: ignore[dict-item]
    }
    domain = Domain.model_validate(payload)
    assert not hasattr(domain, "tracking")
    assert domain.dns_records[0].name == "resend._domainkey"


def test_unknown_domain_status_is_kept_in_raw_status_and_read_as_pending() -> None:
    domain = Domain.model_validate({"id": "d", "domain": "acme.com", "status": "partially_verified"})
    assert domain.status is DomainStatus.PENDING
    assert domain.raw_status == "partially_verified"


def test_unknown_status_does_not_overwrite_a_raw_status_the_server_sent() -> None:
    domain = Domain.model_validate(
        {"id": "d", "domain": "acme.com", "status": "paused", "raw_status": "temporary_failure"}
    )
    assert domain.status is DomainStatus.PENDING
    assert domain.raw_status == "temporary_failure"


def test_unknown_record_status_is_kept_and_read_as_pending() -> None:
    record = DnsRecord.model_validate(
        {"type": "TXT", "name": "send", "value": "v", "status": "temporary_failure"}
    )
    assert record.status is DomainStatus.PENDING
    assert record.raw_status == "temporary_failure"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("VERIFIED", DomainStatus.VERIFIED), (" Failed ", DomainStatus.FAILED), (None, DomainStatus.PENDING)],
)
def test_known_status_is_read_regardless_of_case_and_a_missing_one_is_pending(
    sent: str | None, expected: DomainStatus
) -> None:
    payload = {"id": "d", "domain": "acme.com"} | ({"status": sent} if sent is not None else {})
    domain = Domain.model_validate(payload)
    assert domain.status is expected
    assert domain.raw_status is None


def test_loose_types_are_coerced() -> None:
    domain = Domain.model_validate(
        {
            "id": 42,
            "domain": "acme.com",
            "dns_records": [{"type": "mx", "name": "send", "value": "feedback", "priority": "10"}],
        }
    )
    assert domain.id == "42"
    assert domain.dns_records[0].type == "MX"
    assert domain.dns_records[0].priority == 10


def test_null_dns_records_read_as_empty() -> None:
    assert Domain.model_validate({"id": "d", "domain": "acme.com", "dns_records": None}).dns_records == []


def test_record_without_a_value_is_rejected() -> None:
    with pytest.raises(ValueError, match="value"):
        DnsRecord.model_validate({"type": "MX", "name": "send"})


ONE = {"id": "d1", "domain": "acme.com"}
TWO = {"id": "d2", "domain": "beta.io"}


@pytest.mark.parametrize(
    "payload",
    [
        [ONE, TWO],
        {"data": [ONE, TWO]},
        {"items": [ONE, TWO], "total": 2},
        {"domains": [ONE, TWO]},
        {"results": [ONE, TWO], "next": None},
        {"entries": [ONE, TWO], "count": 2},
        {"data": [ONE, TWO], "warnings": []},
    ],
    ids=["bare", "data", "items", "domains", "results", "single-list-field", "data-wins"],
)
def test_list_response_shapes(payload: object) -> None:
    assert [d.id for d in parse_domain_list(payload)] == ["d1", "d2"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"a": [ONE], "b": [TWO]}, "fields: a, b"),
        ({"total": 0}, "fields: total"),
        ("nope", "got str"),
        ([{"id": "d1"}], "domain"),
    ],
)
def test_list_response_without_one_list_of_domains_is_rejected(payload: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_domain_list(payload)


def test_status_is_a_str_enum() -> None:
    assert DomainStatus.VERIFIED == "verified"
    assert DomainStatus.parse("whatever") is DomainStatus.PENDING
