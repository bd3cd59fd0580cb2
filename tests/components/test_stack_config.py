"""The stack config: what each shape builds, and a table of mistakes with the message that names the fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.stack_config import DomainConfig, StackConfigError, parse_stack_config

ZONE = "0123456789abcdef0123456789abcdef"
ZONE_2 = "fedcba9876543210fedcba9876543210"
# What Pulumi.yaml's defaults add to every stack (the engine sends lists as JSON text).
PROJECT_DEFAULTS = {
    "anyreach:domain": "",
    "anyreach:zoneId": "",
    "anyreach:domains": "[]",
    "anyreach:dkimCnameTokens": "[]",
    "anyreach:token": "",
    "anyreach:organization": "",
    "anyreach:baseUrl": "",
}


def parse(**values: Any) -> tuple[DomainConfig, ...]:
    config = {**PROJECT_DEFAULTS, **{f"anyreach:{key}": value for key, value in values.items()}}
    return parse_stack_config(config).domains


def test_one_domain_in_cloudflare() -> None:
    (domain,) = parse(domain="Acme.com", zoneId=ZONE.upper())
    assert domain == DomainConfig(domain="acme.com", zone_id=ZONE)
    assert domain.resource_name == "acme.com"


def test_one_domain_in_manual_mode_with_stack_wide_settings() -> None:
    (domain,) = parse(
        domain="mail.acme.com",
        verificationTimeoutSeconds="90",
        pollIntervalSeconds="0.5",
        maxVerifyAttempts="3",
        recordTtl="300",
    )
    assert domain == DomainConfig(
        domain="mail.acme.com",
        zone_id=None,
        verification_timeout_seconds=90.0,
        poll_interval_seconds=0.5,
        max_verify_attempts=3,
        ttl=300,
    )


def test_a_list_of_domains_with_per_entry_overrides_of_stack_wide_settings() -> None:
    entries = [
        {"domain": "acme.com", "zoneId": ZONE, "verificationTimeoutSeconds": 3600},
        {"domain": "agents.acme.com", "pollIntervalSeconds": "2", "recordTtl": 120},
        {"domain": "legacy.io", "zoneId": ZONE_2, "dkimCnameTokens": ["tok1", "tok2", "tok3"]},
        {"domain": "agents.anyreach.ai"},
    ]
    domains = parse(domains=json.dumps(entries), verificationTimeoutSeconds="600", pollIntervalSeconds="5")
    assert [(d.domain, d.zone_id) for d in domains] == [
        ("acme.com", ZONE),
        ("agents.acme.com", None),
        ("legacy.io", ZONE_2),
        ("agents.anyreach.ai", None),
    ]
    assert [d.verification_timeout_seconds for d in domains] == [3600.0, 600.0, 600.0, 600.0]
    assert [d.poll_interval_seconds for d in domains] == [5.0, 2.0, 5.0, 5.0]
    assert [d.ttl for d in domains] == [1, 120, 1, 1]
    assert domains[2].dkim_cname_tokens == ("tok1", "tok2", "tok3")


def test_already_parsed_values_are_accepted() -> None:
    (domain,) = parse(domains=[{"domain": "acme.com", "maxVerifyAttempts": 2}])
    assert domain.max_verify_attempts == 2


def test_unknown_stack_keys_warn_with_a_suggestion_and_other_namespaces_are_ignored() -> None:
    config = {
        **PROJECT_DEFAULTS,
        "anyreach:domain": "acme.com",
        "anyreach:zoneID": ZONE,
        "cloudflare:apiToken": "not-read",
    }
    result = parse_stack_config(config)
    assert result.domains[0].zone_id is None
    assert result.warnings == (
        "anyreach:zoneID is not a key this project reads (did you mean 'zoneId'?); it is ignored",
    )


def test_to_args_builds_component_arguments() -> None:
    (domain,) = parse(domain="acme.com", zoneId=ZONE, recordTtl="60", verificationTimeoutSeconds="30")
    args = domain.to_args()
    assert (args.domain, args.zone_id, args.ttl, args.verification_timeout_seconds) == (
        "acme.com",
        ZONE,
        60,
        30.0,
    )


# (config, fragments every one of which the message must contain)
MISTAKES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["no domain is configured", "pulumi config set anyreach:domain acme.com", "anyreach:domains"]),
    (
        {"domain": "acme.com", "domains": json.dumps([{"domain": "b.com"}])},
        ["both anyreach:domain and anyreach:domains are set; keep one"],
    ),
    ({"domain": "https://acme.com/"}, ["anyreach:domain: domain 'https://acme.com/'", "use 'acme.com'"]),
    ({"domain": "bob@acme.com"}, ["anyreach:domain:", "use 'acme.com'"]),
    (
        {"domain": "acme.com", "zoneId": "acme.com"},
        ["anyreach:zoneId is not a Cloudflare zone id", "got 8", "Overview"],
    ),
    (
        {"domain": "agents.anyreach.ai", "zoneId": ZONE},
        ["anyreach:zoneId is set for agents.anyreach.ai", "remove the zoneId"],
    ),
    (
        {"domain": "acme.com", "verificationTimeoutSeconds": "soon"},
        ["anyreach:verificationTimeoutSeconds is 'soon', not a positive number"],
    ),
    (
        {"domain": "acme.com", "pollIntervalSeconds": "0"},
        [
            "anyreach:pollIntervalSeconds is '0', not a positive number",
            "`pulumi config set 'anyreach:pollIntervalSeconds' 5`",
        ],
    ),
    (
        {"domains": json.dumps([{"domain": "acme.com", "maxVerifyAttempts": "many"}])},
        ["`pulumi config set --path 'anyreach:domains[0].maxVerifyAttempts' 3`"],
    ),
    (
        {"domain": "acme.com", "maxVerifyAttempts": "2.5"},
        ["anyreach:maxVerifyAttempts is '2.5', not a positive whole number"],
    ),
    (
        {"domain": "acme.com", "recordTtl": "10"},
        ["anyreach:recordTtl is 10: use 1 (automatic) or a whole number of seconds in 30..86400"],
    ),
    ({"domains": "{not json"}, ["anyreach:domains is not valid JSON"]),
    (
        {"domains": json.dumps({"domain": "acme.com"})},
        ["anyreach:domains must be a list of objects", "not a dict"],
    ),
    (
        {"domains": json.dumps(["acme.com"])},
        ["anyreach:domains[0] must be an object; write `- domain: acme.com`"],
    ),
    ({"domains": json.dumps([{"zoneId": ZONE}])}, ["anyreach:domains[0].domain is missing or empty"]),
    (
        {"domains": json.dumps([{"domain": "acme.com", "zone_id": ZONE}])},
        [
            "anyreach:domains[0].zone_id is not a key of a domain entry (did you mean 'zoneId'?)",
            "known keys: domain, zoneId",
        ],
    ),
    (
        {"domains": json.dumps([{"domain": "acme.com"}, {"domain": "ACME.com"}])},
        ["anyreach:domains[1].domain repeats acme.com (already anyreach:domains[0]); list each domain once"],
    ),
    (
        {"domains": json.dumps([{"domain": "acme.com"}]), "zoneId": ZONE},
        ["anyreach:zoneId applies to anyreach:domain only; with anyreach:domains, set zoneId in each entry"],
    ),
    (
        {"domain": "acme.com", "dkimCnameTokens": json.dumps("tok1")},
        ["anyreach:dkimCnameTokens must be a list of DKIM CNAME tokens"],
    ),
]


@pytest.mark.parametrize(("values", "fragments"), MISTAKES)
def test_bad_config_fails_with_a_message_naming_the_key_and_the_fix(
    values: dict[str, Any], fragments: list[str]
) -> None:
    with pytest.raises(StackConfigError) as caught:
        parse(**values)
    message = str(caught.value)
    assert message.startswith("reading stack config: ")
    for fragment in fragments:
        assert fragment in message


def test_every_problem_is_reported_at_once() -> None:
    entries = [{"domain": "acme..com", "zoneId": "x"}, {"domain": "ok.com", "recordTtl": 5}]
    with pytest.raises(StackConfigError) as caught:
        parse(domains=json.dumps(entries), pollIntervalSeconds="-1")
    problems = caught.value.problems
    assert len(problems) == 4
    assert str(caught.value).startswith("reading stack config: 4 problems:\n  - ")
    assert [p.split(" ")[0].rstrip(":") for p in problems] == [
        "anyreach:pollIntervalSeconds",
        "anyreach:domains[0].domain",
        "anyreach:domains[0].zoneId",
        "anyreach:domains[1].recordTtl",
    ]


def test_warnings_travel_with_the_error_since_a_typo_often_explains_it() -> None:
    with pytest.raises(StackConfigError) as caught:
        parse(domian="acme.com")
    assert "no domain is configured" in str(caught.value)
    assert caught.value.warnings == [
        "anyreach:domian is not a key this project reads (did you mean 'domain'?); it is ignored"
    ]


def test_a_token_pasted_as_zone_id_is_not_echoed() -> None:
    token = "Abcdefghijklmnopqrstuvwxyz0123456789_-XYZ"
    with pytest.raises(StackConfigError) as caught:
        parse(domain="acme.com", zoneId=token)
    assert token not in str(caught.value)
    assert "got 41" in str(caught.value)


def test_credential_values_are_never_read() -> None:
    class Exploding(str):
        def strip(self, *args: object) -> str:  # any attempt to read the value would call this
            raise AssertionError("the token was read")

    config = {**PROJECT_DEFAULTS, "anyreach:domain": "acme.com", "anyreach:token": Exploding("secret-token")}
    assert parse_stack_config(config).domains[0].domain == "acme.com"
