"""Each setting of a verified email domain is declared once (``components.fields.DomainTuning`` and
``DomainSettings``); the component's keywords, the stack config (its keys, the merge of entry and
stack-wide values, ``DomainConfig``) and the verification member follow from that declaration."""

from __future__ import annotations

import json
from typing import Any

import pytest
from component_mocks import VERIFICATION_TYPE, ZONE, Harness

from components import VerifiedEmailDomain, VerifiedEmailDomainArgs
from components.fields import DomainTuning, TunesVerification, fields_marked
from components.stack_config import DOMAIN_ENTRY_KEYS, STACK_KEYS, DomainConfig, parse_stack_config
from provider.resources.verification_tuning import VerificationTuning

# One value per setting as the stack config writes it (text), and as the component then holds it; two
# sets, so that an entry's own value is told apart from the stack-wide one.
STACK_WIDE = {
    "verification_timeout_seconds": ("600", 600.0),
    "poll_interval_seconds": ("5", 5.0),
    "max_verify_attempts": ("4", 4),
    "ttl": ("300", 300),
    "protect": ("true", True),
    "retain_on_delete": ("true", True),
}
OWN = {
    "verification_timeout_seconds": ("90", 90.0),
    "poll_interval_seconds": ("0.5", 0.5),
    "max_verify_attempts": ("2", 2),
    "ttl": ("60", 60),
    "protect": ("false", False),
    "retain_on_delete": ("false", False),
}


def _key(name: str) -> str:
    return DomainTuning.model_fields[name].alias or name


def _parse(**values: Any) -> tuple[DomainConfig, ...]:
    return parse_stack_config({f"anyreach:{key}": value for key, value in values.items()}).domains


def test_the_tables_name_every_setting() -> None:
    assert set(STACK_WIDE) == set(OWN) == set(DomainTuning.model_fields)


@pytest.mark.parametrize("name", sorted(DomainTuning.model_fields))
def test_every_setting_is_a_key_stack_wide_and_per_entry_and_an_entry_overrides(name: str) -> None:
    key = _key(name)
    assert key in STACK_KEYS
    assert key in DOMAIN_ENTRY_KEYS
    entries = [{"domain": "own.example.com", key: OWN[name][0]}, {"domain": "inherits.example.com"}]
    own, inherits = _parse(domains=json.dumps(entries), **{key: STACK_WIDE[name][0]})
    assert (getattr(own, name), getattr(inherits, name)) == (OWN[name][1], STACK_WIDE[name][1])


UNSET = {"ttl": 1, "protect": False, "retain_on_delete": False}
"""What a setting nobody sets means; the others keep the verification's defaults (None)."""


@pytest.mark.parametrize("name", sorted(DomainTuning.model_fields))
def test_a_setting_nobody_sets_means_the_same_in_the_stack_config_and_the_component(name: str) -> None:
    (config,) = _parse(domain="acme.com")
    assert getattr(config, name) == UNSET.get(name)
    assert getattr(VerifiedEmailDomainArgs(domain="acme.com"), name) == UNSET.get(name)
    assert getattr(VerifiedEmailDomainArgs(domain="acme.com", **{name: ""}), name) == UNSET.get(name)


def test_the_stack_configs_domain_is_the_components_arguments() -> None:
    (config,) = _parse(domain="acme.com", zoneId=ZONE, recordTtl="120")
    assert isinstance(config.to_args(), VerifiedEmailDomainArgs)
    assert set(DomainConfig.model_fields) == set(VerifiedEmailDomainArgs.model_fields)


def test_every_verification_tuning_field_is_set_by_exactly_one_setting() -> None:
    tuned = [marker.member_field for marker in fields_marked(DomainTuning, TunesVerification).values()]
    assert sorted(tuned) == sorted(VerificationTuning.model_fields)


def test_each_tuning_setting_reaches_the_verification_member(harness: Harness) -> None:
    tuning: dict[str, Any] = {name: OWN[name][1] for name in fields_marked(DomainTuning, TunesVerification)}
    harness.run(lambda: VerifiedEmailDomain("acme", domain="acme.com", **tuning))
    (verification,) = harness.of_type(VERIFICATION_TYPE)
    (member,) = verification.inputs["members"]
    expected = {"timeout_seconds": 90.0, "poll_interval_seconds": 0.5, "max_verify_attempts": 2}
    assert {name: member.get(name) for name in VerificationTuning.model_fields} == expected


def test_every_argument_is_a_keyword_and_an_unknown_one_is_a_type_error(harness: Harness) -> None:
    with pytest.raises(TypeError) as caught:
        harness.run(lambda: VerifiedEmailDomain("acme", domain="acme.com", zoneId=ZONE))
    assert str(caught.value) == "VerifiedEmailDomain.__init__() got an unexpected keyword argument 'zoneId'"
    assert harness.registrations == []
    every = {
        "domain": "acme.com",
        "zone_id": ZONE,
        "email_provider": "resend",
        "dkim_cname_tokens": None,
        "comment_prefix": "mail",
        "allow_mixed_scripts": False,
        **{name: value for name, (_, value) in OWN.items()},
    }
    assert set(every) == set(VerifiedEmailDomainArgs.model_fields)
    keywords = Harness()
    keywords.run(lambda: VerifiedEmailDomain("acme", **every))
    via_args = Harness()
    via_args.run(lambda: VerifiedEmailDomain("acme", VerifiedEmailDomainArgs(**every)))
    assert {r.name: r.inputs for r in keywords.registrations} == {
        r.name: r.inputs for r in via_args.registrations
    }
