"""VerifiedEmailDomain under Pulumi mocks: the resource graph, every record's arguments, the modes."""

from __future__ import annotations

import logging
from typing import Any

import pulumi
import pytest
from component_mocks import (
    COMPONENT_TYPE,
    DNS_RECORD_TYPE,
    DOMAIN_ID,
    EMAIL_DOMAIN_TYPE,
    VERIFICATION_TYPE,
    ZONE,
    Harness,
    PlatformMocks,
    documented_records,
)
from pulumi.output import Unknown

from components import VerificationGroup, VerifiedEmailDomain, VerifiedEmailDomainArgs
from components.record_plan import RecordPlanMismatchError

RECORD_ROLES = ["dkim", "spf-mx", "spf-txt", "dmarc", "inbound-mx"]


def outputs_of(component: VerifiedEmailDomain) -> pulumi.Output[dict[str, Any]]:
    return pulumi.Output.all(
        domain=component.domain,
        domain_id=component.domain_id,
        dns_mode=component.dns_mode,
        status=component.status,
        verified=component.verified,
        dns_records=component.dns_records,
        cloudflare_record_ids=component.cloudflare_record_ids,
    )


def acme(**kwargs: Any) -> pulumi.Output[dict[str, Any]]:
    arguments: dict[str, Any] = {"domain": "acme.com", "zone_id": ZONE, **kwargs}
    return outputs_of(VerifiedEmailDomain("acme", **arguments))


def test_cloudflare_mode_builds_domain_records_and_verification_under_the_component(harness: Harness) -> None:
    harness.run(acme)
    # Records register in whatever order their inputs resolve; the set is what matters.
    names = sorted((r.type, r.name) for r in harness.registrations)
    assert names == sorted(
        [
            (COMPONENT_TYPE, "acme"),
            (EMAIL_DOMAIN_TYPE, "acme-domain"),
            *[(DNS_RECORD_TYPE, f"acme-{role}") for role in RECORD_ROLES],
            (VERIFICATION_TYPE, "acme-verification"),
        ]
    )
    component_urn = harness.named("acme").urn
    assert component_urn.endswith(f"${COMPONENT_TYPE}::acme")
    for registration in harness.registrations[1:]:
        assert registration.parent == component_urn
    assert harness.named("acme-domain").inputs["domain"] == "acme.com"


EXPECTED_RECORDS = {
    "acme-dkim": {
        "zoneId": ZONE,
        "name": "resend._domainkey.acme.com",
        "type": "TXT",
        "content": '"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GN"',
        "ttl": 1.0,
        "proxied": False,
        "comment": "anyreach: DKIM signing key for acme.com",
    },
    "acme-spf-mx": {
        "zoneId": ZONE,
        "name": "send.acme.com",
        "type": "MX",
        "content": "feedback-smtp.us-east-1.amazonses.com",
        "priority": 10.0,
        "ttl": 1.0,
        "proxied": False,
        "comment": "anyreach: SPF bounce MX for acme.com",
    },
    "acme-spf-txt": {
        "zoneId": ZONE,
        "name": "send.acme.com",
        "type": "TXT",
        "content": '"v=spf1 include:amazonses.com ~all"',
        "ttl": 1.0,
        "proxied": False,
        "comment": "anyreach: SPF policy for acme.com",
    },
    "acme-dmarc": {
        "zoneId": ZONE,
        "name": "_dmarc.acme.com",
        "type": "TXT",
        "content": '"v=DMARC1; p=none;"',
        "ttl": 1.0,
        "proxied": False,
        "comment": "anyreach: DMARC policy for acme.com",
    },
    "acme-inbound-mx": {
        "zoneId": ZONE,
        "name": "acme.com",
        "type": "MX",
        "content": "inbound-smtp.us-east-1.amazonaws.com",
        "priority": 10.0,
        "ttl": 1.0,
        "proxied": False,
        "comment": "anyreach: inbound MX (replies) for acme.com",
    },
}


def test_every_cloudflare_record_is_written_the_way_cloudflare_stores_it(harness: Harness) -> None:
    harness.run(acme)
    # Mocks see camelCase keys, numbers as floats, and no key at all for an unset field (no TXT priority).
    for name, expected in EXPECTED_RECORDS.items():
        assert harness.named(name).inputs == expected, name


def test_a_long_dkim_key_is_split_into_quoted_255_character_chunks(harness: Harness) -> None:
    records = documented_records()
    records[0]["value"] = "p=" + "A" * 398
    harness.run(acme, platform=PlatformMocks(records))
    content = harness.named("acme-dkim").inputs["content"]
    assert content == '"p=' + "A" * 253 + '" "' + "A" * 145 + '"'


def test_verification_depends_on_the_domain_and_every_record(harness: Harness) -> None:
    harness.run(
        lambda: acme(verification_timeout_seconds=120, poll_interval_seconds=0.2, max_verify_attempts=2)
    )
    verification = harness.named("acme-verification")
    assert verification.type == VERIFICATION_TYPE
    expected = {harness.named(f"acme-{role}").urn for role in ["domain", *RECORD_ROLES]}
    assert expected <= set(verification.dependencies)
    (member,) = verification.inputs["members"]
    assert (member["domain_id"], member["domain"]) == (DOMAIN_ID, "acme.com")
    # What DNS must serve before verification starts: full names, TXT text unquoted, MX targets.
    assert member["dns_records"] == [
        {"type": "TXT", "name": "resend._domainkey.acme.com", "value": "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GN"},
        {
            "type": "MX",
            "name": "send.acme.com",
            "value": "feedback-smtp.us-east-1.amazonses.com",
            "priority": 10.0,
        },
        {"type": "TXT", "name": "send.acme.com", "value": "v=spf1 include:amazonses.com ~all"},
        {"type": "TXT", "name": "_dmarc.acme.com", "value": "v=DMARC1; p=none;"},
        {"type": "MX", "name": "acme.com", "value": "inbound-smtp.us-east-1.amazonaws.com", "priority": 10.0},
    ]
    assert (member["timeout_seconds"], member["poll_interval_seconds"], member["max_verify_attempts"]) == (
        120.0,
        0.2,
        2.0,
    )


def test_outputs_give_the_domain_id_status_records_and_cloudflare_ids(harness: Harness) -> None:
    outputs = harness.run(acme)
    assert outputs["domain"] == "acme.com"
    assert outputs["domain_id"] == DOMAIN_ID
    assert outputs["dns_mode"] == "cloudflare"
    assert (outputs["status"], outputs["verified"]) == ("verified", True)
    assert outputs["cloudflare_record_ids"] == {role: f"cf-acme-{role}" for role in RECORD_ROLES}
    published = {record["role"]: record for record in outputs["dns_records"]}
    assert published["spf-txt"]["value"] == "v=spf1 include:amazonses.com ~all"
    assert published["spf-txt"]["content"] == '"v=spf1 include:amazonses.com ~all"'
    assert published["inbound-mx"]["name"] == "acme.com"


def test_manual_mode_publishes_nothing_but_outputs_and_logs_the_records_and_still_verifies(
    harness: Harness,
) -> None:
    outputs = harness.run(lambda: outputs_of(VerifiedEmailDomain("acme", domain="acme.com")))
    assert [r.type for r in harness.registrations] == [COMPONENT_TYPE, EMAIL_DOMAIN_TYPE, VERIFICATION_TYPE]
    verification = harness.named("acme-verification")
    assert harness.named("acme-domain").urn in verification.dependencies
    assert outputs["dns_mode"] == "manual"
    assert outputs["cloudflare_record_ids"] == {}
    assert [(r["type"], r["name"], r["priority"]) for r in outputs["dns_records"]] == [
        ("TXT", "resend._domainkey.acme.com", None),
        ("MX", "send.acme.com", 10),
        ("TXT", "send.acme.com", None),
        ("TXT", "_dmarc.acme.com", None),
        ("MX", "acme.com", 10),
    ]
    (reminder,) = [
        m for m in harness.messages(logging.INFO) if "manual DNS: publish these records for acme.com" in m
    ]
    assert "MX    send.acme.com priority 10  feedback-smtp.us-east-1.amazonses.com" in reminder
    assert '_dmarc.acme.com  "v=DMARC1; p=none;"' in reminder


def test_manual_mode_stops_listing_the_records_once_the_domain_is_known_verified(harness: Harness) -> None:
    harness.run(
        lambda: outputs_of(VerifiedEmailDomain("acme", domain="acme.com")),
        platform=PlatformMocks(status="verified"),
    )
    assert not [m for m in harness.messages(logging.INFO) if "manual DNS" in m]


def test_the_platform_domain_registers_nothing_and_is_ready(harness: Harness) -> None:
    outputs = harness.run(lambda: outputs_of(VerifiedEmailDomain("platform", domain="Agents.Anyreach.AI")))
    assert [r.type for r in harness.registrations] == [COMPONENT_TYPE]
    assert outputs == {
        "domain": "agents.anyreach.ai",
        "domain_id": None,
        "dns_mode": "platform",
        "status": "verified",
        "verified": True,
        "dns_records": [],
        "cloudflare_record_ids": {},
    }


def test_an_unplanned_record_fails_the_update_naming_it_and_publishes_nothing(harness: Harness) -> None:
    records = [
        *documented_records(),
        {"record": "Tracking", "type": "CNAME", "name": "links", "value": "t.resend.com"},
    ]
    with pytest.raises(Exception) as caught:  # the SDK wraps the error; its chain is checked
        harness.run(acme, platform=PlatformMocks(records))
    assert "CNAME links.acme.com (Tracking)" in _chain(caught.value)
    assert isinstance(_root(caught.value), RecordPlanMismatchError)
    assert harness.of_type(DNS_RECORD_TYPE) == []
    assert harness.of_type(VERIFICATION_TYPE) == []


def test_a_planned_record_the_platform_did_not_return_fails_naming_it(harness: Harness) -> None:
    records = [record for record in documented_records() if record["record"] != "DMARC"]
    with pytest.raises(Exception) as caught:
        harness.run(acme, platform=PlatformMocks(records))
    assert "did not return these planned records: TXT _dmarc.acme.com (DMARC)" in _chain(caught.value)
    assert harness.of_type(DNS_RECORD_TYPE) == []


def test_preview_of_a_new_domain_lists_every_record_with_unknown_content(harness: Harness) -> None:
    # The platform decides the values at create time: in a preview they are unknown. Every resource must
    # still be registered, which fails if any were created inside an apply.
    harness.run(acme, platform=PlatformMocks(unknown_records=True), preview=True)
    assert sorted(r.name for r in harness.registrations) == sorted(
        ["acme", "acme-domain", *[f"acme-{role}" for role in RECORD_ROLES], "acme-verification"]
    )
    for name, expected in EXPECTED_RECORDS.items():
        inputs = harness.named(name).inputs
        assert isinstance(inputs["content"], Unknown), name
        for key in ("zoneId", "name", "type", "ttl", "proxied", "comment"):
            assert inputs[key] == expected[key], (name, key)
        if expected["type"] == "MX":
            assert isinstance(inputs["priority"], Unknown)
    assert isinstance(harness.named("acme-verification").inputs["members"], Unknown)


def test_non_identity_options_leave_every_identity_input_unchanged(harness: Harness) -> None:
    def identity(h: Harness) -> dict[str, Any]:
        return {
            r.name: (
                r.type,
                {k: v for k, v in r.inputs.items() if k in ("domain", "provider", "zoneId", "name", "type")},
            )
            for r in h.registrations
        }

    harness.run(acme)
    before = identity(harness)
    (records_before,) = [m["dns_records"] for m in harness.named("acme-verification").inputs["members"]]
    changed = Harness()
    changed.run(lambda: acme(ttl=3600, comment_prefix="team-mail"))
    assert identity(changed) == before
    assert changed.named("acme-dkim").inputs["ttl"] == 3600.0
    assert changed.named("acme-dkim").inputs["comment"] == "team-mail: DKIM signing key for acme.com"
    # The verification is not asked to verify again for a ttl or comment change: its members are the same.
    assert (
        changed.named("acme-verification").inputs["members"]
        == harness.named("acme-verification").inputs["members"]
    )
    assert records_before[0]["name"] == "resend._domainkey.acme.com"


def test_legacy_dkim_cnames_are_published_when_their_tokens_are_given(harness: Harness) -> None:
    records = [
        {"record": "DKIM", "type": "CNAME", "name": f"{t}._domainkey", "value": f"{t}.dkim.amazonses.com."}
        for t in ("tok1", "tok2", "tok3")
    ] + [record for record in documented_records() if record["record"] != "DKIM"]
    harness.run(lambda: acme(dkim_cname_tokens=["tok1", "tok2", "tok3"]), platform=PlatformMocks(records))
    cname = harness.named("acme-dkim-2").inputs
    assert (cname["type"], cname["name"], cname["content"]) == (
        "CNAME",
        "tok2._domainkey.acme.com",
        "tok2.dkim.amazonses.com",
    )
    assert len(harness.of_type(DNS_RECORD_TYPE)) == 7


def test_args_object_and_keywords_build_the_same_component(harness: Harness) -> None:
    harness.run(
        lambda: outputs_of(
            VerifiedEmailDomain("acme", VerifiedEmailDomainArgs(domain="acme.com", zone_id=ZONE))
        )
    )
    via_args = {r.name: r.inputs for r in harness.registrations}
    keywords = Harness()
    keywords.run(acme)
    assert {r.name: r.inputs for r in keywords.registrations} == via_args


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        (
            {"domain": "https://acme.com"},
            ValueError,
            "creating Verified Email Domain (bad): domain 'https://acme.com'",
        ),
        (
            {"domain": "agents.anyreach.ai", "zone_id": ZONE},
            ValueError,
            "needs no DNS records; remove the zone_id",
        ),
        ({"domain": "acme.com", "zone_id": ""}, ValueError, "zone_id is empty"),
        ({"domain": "acme.com", "ttl": 5}, ValueError, "ttl is 5: use 1 (automatic)"),
        (
            {"domain": "acme.com", "verification_timeout_seconds": 0},
            ValueError,
            "verification_timeout_seconds is 0, not a positive number of seconds",
        ),
        ({"domain": "acme.com", "dkim_cname_tokens": "tok1"}, TypeError, "list of tokens"),
        ({"zone_id": ZONE}, TypeError, "domain is required"),
        ({"domain": pulumi.Output.from_input("acme.com")}, TypeError, "plain string"),
    ],
)
def test_bad_arguments_fail_before_anything_is_registered(
    harness: Harness, kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        harness.run(lambda: VerifiedEmailDomain("bad", **kwargs))
    assert fragment in str(caught.value)
    assert harness.registrations == []


def test_args_and_keywords_together_are_refused(harness: Harness) -> None:
    with pytest.raises(TypeError, match="either args or keyword arguments"):
        harness.run(lambda: VerifiedEmailDomain("x", VerifiedEmailDomainArgs(domain="acme.com"), ttl=60))


def _chain(error: BaseException) -> str:
    """Every message along the exception's cause/context chain (the SDK wraps input errors)."""
    parts = []
    current: BaseException | None = error
    while current is not None:
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _root(error: BaseException) -> BaseException:
    while (error.__cause__ or error.__context__) is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return error


def test_components_sharing_a_group_wait_in_one_verification_and_keep_their_own_outputs(
    harness: Harness,
) -> None:
    def program() -> pulumi.Output[Any]:
        with VerificationGroup("verifications") as group:
            first = VerifiedEmailDomain(
                "first", domain="first.example.com", zone_id=ZONE, verification_group=group
            )
            second = VerifiedEmailDomain("second", domain="second.example.com", verification_group=group)
        return pulumi.Output.all(outputs_of(first), outputs_of(second))

    first, second = harness.run(program)
    (group,) = harness.of_type(VERIFICATION_TYPE)
    assert group.name == "verifications"
    assert [member["domain"] for member in group.inputs["members"]] == [
        "first.example.com",
        "second.example.com",
    ]
    # It waits for the records of both components, and each component reads its own result.
    depends = set(group.dependencies)
    assert {
        harness.named("first-domain").urn,
        harness.named("first-dkim").urn,
        harness.named("second-domain").urn,
    } <= depends
    assert (first["status"], first["verified"], second["status"], second["verified"]) == (
        "verified",
        True,
        "verified",
        True,
    )
    assert [r.name for r in harness.registrations if r.name.endswith("-verification")] == []


def test_a_group_the_program_never_closes_is_closed_when_the_program_body_returns(harness: Harness) -> None:
    def program() -> pulumi.Output[Any]:
        group = VerificationGroup("forgotten")
        component = VerifiedEmailDomain("acme", domain="acme.com", verification_group=group)
        return outputs_of(component)

    outputs = harness.run(program)
    assert outputs["verified"] is True
    assert [r.name for r in harness.of_type(VERIFICATION_TYPE)] == ["forgotten"]


def test_a_closed_group_takes_no_more_domains(harness: Harness) -> None:
    def program() -> None:
        with VerificationGroup("closed") as group:
            VerifiedEmailDomain("one", domain="one.example.com", verification_group=group)
        VerifiedEmailDomain("two", domain="two.example.com", verification_group=group)

    with pytest.raises(Exception) as caught:
        harness.run(program)
    assert "adding two.example.com to verification group closed: the group is closed" in _chain(caught.value)


def test_protect_and_retain_on_delete_reach_the_domain_and_its_records_not_the_verification(
    harness: Harness,
) -> None:
    harness.run(lambda: acme(protect=True, retain_on_delete=True))
    for name in ["acme-domain", *[f"acme-{role}" for role in RECORD_ROLES]]:
        registration = harness.named(name)
        assert (registration.protect, registration.retain_on_delete) == (True, True), name
    verification = harness.named("acme-verification")
    assert (verification.protect, verification.retain_on_delete) == (False, False)
    unguarded = Harness()
    unguarded.run(acme)
    assert (unguarded.named("acme-domain").protect, unguarded.named("acme-domain").retain_on_delete) == (
        False,
        False,
    )


def test_a_lookalike_name_is_refused_unless_allowed_and_a_changed_name_is_reported(harness: Harness) -> None:
    lookalike = "p\u0430ypal.com"  # with a Cyrillic a (U+0430)
    with pytest.raises(ValueError) as caught:
        harness.run(lambda: VerifiedEmailDomain("bad", domain=lookalike))
    assert "U+0430 CYRILLIC SMALL LETTER A" in str(caught.value)
    assert harness.registrations == []
    allowed = Harness()
    allowed.run(lambda: outputs_of(VerifiedEmailDomain("ok", domain=lookalike, allow_mixed_scripts=True)))
    assert allowed.named("ok-domain").inputs["domain"] == "xn--pypal-4ve.com"
    warnings = allowed.messages(logging.WARNING)
    assert any(f"{lookalike!r} is registered as xn--pypal-4ve.com" in warning for warning in warnings), (
        warnings
    )
