"""The static record plan and the formatting that keeps ``pulumi refresh`` free of drift."""

from __future__ import annotations

import pytest

from components.record_plan import (
    STANDARD_RECORDS,
    RecordPlanMismatchError,
    format_content,
    match_records,
    plan_records,
    quote_txt,
    records_to_publish,
)
from provider.rules.records import txt_text

DOMAIN = "acme.com"


def platform_records(domain: str = DOMAIN) -> list[dict]:
    """The five records docs/design.md section 1 says the platform returns."""
    return [
        {
            "record": "DKIM",
            "type": "TXT",
            "name": "resend._domainkey",
            "value": "p=MIGfMA0GCSqGSIb3DQEB",
            "status": "pending",
        },
        {
            "record": "SPF",
            "type": "MX",
            "name": "send",
            "value": "feedback-smtp.us-east-1.amazonses.com",
            "priority": 10,
            "status": "pending",
        },
        {
            "record": "SPF",
            "type": "TXT",
            "name": "send",
            "value": '"v=spf1 include:amazonses.com ~all"',
            "status": "pending",
        },
        {
            "record": "DMARC",
            "type": "TXT",
            "name": "_dmarc",
            "value": "v=DMARC1; p=none;",
            "status": "pending",
        },
        {
            "record": "Receiving",
            "type": "MX",
            "name": "@",
            "value": "inbound-smtp.us-east-1.amazonaws.com",
            "priority": 10,
            "status": "pending",
        },
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"v=spf1 include:amazonses.com ~all"', '"v=spf1 include:amazonses.com ~all"'),
        ("v=spf1 include:amazonses.com ~all", '"v=spf1 include:amazonses.com ~all"'),
        ("v=DMARC1; p=none;", '"v=DMARC1; p=none;"'),
        ("  p=MIGf  ", '"p=MIGf"'),
        ('"abc" "def"', '"abcdef"'),
        ("a" * 255, '"' + "a" * 255 + '"'),
        ("a" * 255 + "b", '"' + "a" * 255 + '" "b"'),
        ("x" * 300, '"' + "x" * 255 + '" "' + "x" * 45 + '"'),
        ("", '""'),
    ],
)
def test_txt_content_is_quoted_and_chunked_the_way_cloudflare_returns_it(value: str, expected: str) -> None:
    assert quote_txt(value) == expected
    assert format_content("TXT", value) == expected


def test_txt_quoting_round_trips_cloudflares_own_form() -> None:
    long_key = "p=" + "K" * 398
    once = quote_txt(long_key)
    assert once.count('"') == 4  # two chunks
    assert quote_txt(once) == once
    assert txt_text(once) == long_key


@pytest.mark.parametrize(
    ("record_type", "value", "expected"),
    [
        ("MX", "Feedback-SMTP.US-East-1.AmazonSES.com.", "feedback-smtp.us-east-1.amazonses.com"),
        ("mx", " inbound-smtp.us-east-1.amazonaws.com ", "inbound-smtp.us-east-1.amazonaws.com"),
        ("CNAME", "Abc.dkim.amazonses.com.", "abc.dkim.amazonses.com"),
    ],
)
def test_mx_and_cname_targets_are_lowercase_without_trailing_dot(
    record_type: str, value: str, expected: str
) -> None:
    assert format_content(record_type, value) == expected


def test_the_documented_records_match_the_plan_one_to_one() -> None:
    matched = match_records(STANDARD_RECORDS, platform_records(), DOMAIN)
    assert sorted(matched) == ["dkim", "dmarc", "inbound-mx", "spf-mx", "spf-txt"]
    assert matched["spf-txt"]["value"] == '"v=spf1 include:amazonses.com ~all"'
    assert matched["inbound-mx"]["name"] == "@"


def test_an_unplanned_record_fails_naming_it() -> None:
    records = [
        *platform_records(),
        {"record": "Tracking", "type": "CNAME", "name": "links", "value": "track.resend.com"},
    ]
    with pytest.raises(RecordPlanMismatchError) as caught:
        match_records(STANDARD_RECORDS, records, DOMAIN)
    message = str(caught.value)
    assert message.startswith("planning DNS records for Email Domain (acme.com): ")
    assert "does not publish: CNAME links.acme.com (Tracking) = track.resend.com" in message


def test_a_planned_record_the_platform_did_not_return_fails_naming_it() -> None:
    records = [record for record in platform_records() if record["name"] != "_dmarc"]
    with pytest.raises(
        RecordPlanMismatchError,
        match=r"did not return these planned records: TXT _dmarc\.acme\.com \(DMARC\)",
    ):
        match_records(STANDARD_RECORDS, records, DOMAIN)


def test_a_duplicated_record_fails() -> None:
    records = [
        *platform_records(),
        {"record": "SPF", "type": "MX", "name": "send", "value": "other.example", "priority": 20},
    ]
    with pytest.raises(
        RecordPlanMismatchError, match=r"more than one record of the same type and name: MX send\.acme\.com"
    ):
        match_records(STANDARD_RECORDS, records, DOMAIN)


def legacy_records() -> list[dict]:
    cnames = [
        {
            "record": "DKIM",
            "type": "CNAME",
            "name": f"{token}._domainkey",
            "value": f"{token}.dkim.amazonses.com.",
        }
        for token in ("tok1", "tok2", "tok3")
    ]
    return cnames + [record for record in platform_records() if record["record"] != "DKIM"]


def test_legacy_dkim_cnames_fail_with_the_option_that_publishes_them() -> None:
    with pytest.raises(RecordPlanMismatchError) as caught:
        match_records(STANDARD_RECORDS, legacy_records(), DOMAIN)
    message = str(caught.value)
    assert "CNAME tok1._domainkey.acme.com (DKIM)" in message
    assert "TXT resend._domainkey.acme.com (DKIM)" in message
    assert 'dkim_cname_tokens=["tok1", "tok2", "tok3"]' in message
    assert "dkimCnameTokens" in message


def test_legacy_dkim_cnames_are_planned_when_their_tokens_are_given() -> None:
    plan = plan_records(["tok1", "TOK2", "tok3"])
    assert [(p.role, p.type, p.name) for p in plan[:3]] == [
        ("dkim-1", "CNAME", "tok1._domainkey"),
        ("dkim-2", "CNAME", "tok2._domainkey"),
        ("dkim-3", "CNAME", "tok3._domainkey"),
    ]
    assert "dkim" not in {p.role for p in plan}
    matched = match_records(plan, legacy_records(), DOMAIN)
    published = {r["role"]: r for r in records_to_publish(plan, matched, DOMAIN, ttl=1)}
    assert published["dkim-2"]["content"] == "tok2.dkim.amazonses.com"
    assert published["dkim-2"]["name"] == "tok2._domainkey.acme.com"


@pytest.mark.parametrize("tokens", [["bad token"], ["tok._domainkey"], ["a", "a"]])
def test_bad_dkim_cname_tokens_are_rejected(tokens: list[str]) -> None:
    with pytest.raises(ValueError, match=r"dkim_cname_tokens|DKIM CNAME token"):
        plan_records(tokens)


def test_records_to_publish_carry_full_names_formatted_content_and_priorities() -> None:
    matched = match_records(STANDARD_RECORDS, platform_records(), DOMAIN)
    published = records_to_publish(STANDARD_RECORDS, matched, DOMAIN, ttl=300)
    assert [r["role"] for r in published] == ["dkim", "spf-mx", "spf-txt", "dmarc", "inbound-mx"]
    by_role = {r["role"]: r for r in published}
    assert by_role["spf-txt"] == {
        "role": "spf-txt",
        "record": "SPF",
        "type": "TXT",
        "name": "send.acme.com",
        "value": "v=spf1 include:amazonses.com ~all",
        "content": '"v=spf1 include:amazonses.com ~all"',
        "priority": None,
        "ttl": 300,
    }
    assert by_role["inbound-mx"]["name"] == "acme.com"
    assert by_role["inbound-mx"]["priority"] == 10
    assert isinstance(by_role["spf-mx"]["priority"], int)


def test_an_mx_record_without_priority_fails_clearly() -> None:
    records = platform_records()
    del records[1]["priority"]
    matched = match_records(STANDARD_RECORDS, records, DOMAIN)
    with pytest.raises(RecordPlanMismatchError, match=r"MX send\.acme\.com \(SPF\) without a priority"):
        records_to_publish(STANDARD_RECORDS, matched, DOMAIN, ttl=1)
