"""The record rules every layer uses: qualifying names, the text of a TXT value, pairing plan and platform."""

from __future__ import annotations

import pytest

from provider.api.models import DnsRecord
from provider.rules.records import (
    compare_records,
    describe_record,
    record_full_name,
    record_key,
    relative_record_name,
    txt_text,
)

DOMAIN = "acme.com"


@pytest.mark.parametrize(
    ("name", "full", "relative"),
    [
        ("@", "acme.com", "@"),
        ("", "acme.com", "@"),
        ("acme.com", "acme.com", "@"),
        ("ACME.com.", "acme.com", "@"),
        ("send", "send.acme.com", "send"),
        ("Resend._DomainKey", "resend._domainkey.acme.com", "resend._domainkey"),
        ("send.acme.com.", "send.acme.com", "send"),
        ("links.acme.com", "links.acme.com", "links"),
    ],
)
def test_names_are_qualified_with_the_domain_and_apex_is_the_domain(
    name: str, full: str, relative: str
) -> None:
    assert record_full_name(name, DOMAIN) == full
    assert relative_record_name(name, DOMAIN) == relative
    assert record_full_name(name, "ACME.com.") == full


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ('"v=spf1 include:amazonses.com ~all"', "v=spf1 include:amazonses.com ~all"),
        ("v=DMARC1; p=none;", "v=DMARC1; p=none;"),
        ('"abc" "def"', "abcdef"),
        ("  p=MIGf  ", "p=MIGf"),
        ('"a"   "b"  "c"', "abc"),
        ("", ""),
    ],
)
def test_txt_text_is_what_dns_serves(value: str, text: str) -> None:
    assert txt_text(value) == text


def record(record_type: str, name: str, value: str = "v") -> DnsRecord:
    return DnsRecord(type=record_type, name=name, value=value)


def test_relative_and_full_names_of_one_record_pair_with_each_other() -> None:
    platform = [record("TXT", "send"), record("mx", "@", "mx.example.com"), record("TXT", "_dmarc.acme.com")]
    comparison = compare_records(
        [("TXT", "send.acme.com"), ("MX", "acme.com"), ("txt", "_dmarc")], platform, DOMAIN
    )
    assert comparison.agrees
    assert comparison.matched[("MX", "@")].value == "mx.example.com"


def test_a_comparison_names_unplanned_missing_and_duplicated_records() -> None:
    platform = [record("TXT", "send", "one"), record("TXT", "send", "two"), record("CNAME", "x._domainkey")]
    comparison = compare_records([("TXT", "send"), ("MX", "send")], platform, DOMAIN)
    assert not comparison.agrees
    assert [r.name for r in comparison.unplanned] == ["x._domainkey"]
    assert comparison.missing == [("MX", "send")]
    assert [r.value for r in comparison.duplicates] == ["two"]
    assert comparison.matched[record_key("txt", "send.acme.com", DOMAIN)].value == "one"


def test_a_record_is_described_with_its_full_name_and_priority() -> None:
    mx = DnsRecord(type="MX", name="send", value="feedback.example.com", priority=10)
    assert describe_record(mx, DOMAIN) == "MX send.acme.com = 10 feedback.example.com"
    assert describe_record(record("TXT", "@", "x"), DOMAIN) == "TXT acme.com = x"
