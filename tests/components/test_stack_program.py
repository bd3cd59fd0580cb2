"""The stack program (__main__.py) under mocks, fed the way the engine feeds it: Pulumi.yaml defaults
merged under the stack's values, every value as text (objects and lists as JSON)."""

from __future__ import annotations

import json
import logging
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from component_mocks import COMPONENT_TYPE, DNS_RECORD_TYPE, DOMAIN_ID, VERIFICATION_TYPE, ZONE, Harness

from sandbox.testing import SandboxServer

ROOT = Path(__file__).resolve().parents[2]


def engine_config(stack_values: dict[str, Any]) -> dict[str, str]:
    """What the engine hands the program: project defaults for unset keys, then the stack's values."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    merged: dict[str, Any] = {f"anyreach:{key}": spec["default"] for key, spec in project["config"].items()}
    merged.update(stack_values)
    return {key: value if isinstance(value, str) else _as_text(value) for key, value in merged.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def run_program(harness: Harness, config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run __main__.py; return its exports, resolved."""
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))

    def program() -> Any:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi_program__")
        return pulumi.Output.from_input(exports)

    return harness.run(program, config=config)


def test_the_dev_stack_manages_one_domain_in_manual_mode_with_its_short_timeouts(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert "anyreach:token" not in stack
    exports = run_program(harness, engine_config(stack), monkeypatch)
    (domain,) = exports["domains"]
    assert domain == stack["anyreach:domain"]
    assert exports["domains"][domain]["dnsMode"] == "manual"
    assert harness.of_type(DNS_RECORD_TYPE) == []
    (member,) = harness.named("email-domain-verifications").inputs["members"]
    assert member["domain"] == domain
    assert member["timeout_seconds"] == float(stack["anyreach:verificationTimeoutSeconds"])
    assert member["poll_interval_seconds"] == float(stack["anyreach:pollIntervalSeconds"])


def test_several_domains_each_get_a_component_and_an_export(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloudflare: SandboxServer
) -> None:
    config = engine_config(
        {
            "anyreach:domains": [
                {"domain": "acme.com", "zoneId": ZONE, "recordTtl": 300},
                {"domain": "agents.acme.com", "verificationTimeoutSeconds": 3600},
                {"domain": "agents.anyreach.ai"},
            ],
            "anyreach:verificationTimeoutSeconds": 600,
        }
    )
    exports = run_program(harness, config, monkeypatch)
    components = sorted(r.name for r in harness.of_type(COMPONENT_TYPE))
    assert components == ["acme.com", "agents.acme.com", "agents.anyreach.ai"]
    assert sorted(r.name for r in harness.of_type(DNS_RECORD_TYPE)) == sorted(
        f"acme.com-{role}" for role in ("dkim", "spf-mx", "spf-txt", "dmarc", "inbound-mx")
    )
    assert harness.named("acme.com-dkim").inputs["ttl"] == 300.0
    # One verification resource for every domain, so that they all wait at once.
    (group,) = harness.of_type(VERIFICATION_TYPE)
    assert group.name == "email-domain-verifications"
    timeouts = {member["domain"]: member["timeout_seconds"] for member in group.inputs["members"]}
    assert timeouts == {"acme.com": 600.0, "agents.acme.com": 3600.0}
    component_urns = {r.name: r.urn for r in harness.of_type(COMPONENT_TYPE)}
    assert {harness.named(f"acme.com-{role}").urn for role in ("domain", "dkim", "inbound-mx")} <= set(
        group.dependencies
    )
    assert group.parent not in component_urns.values()

    domains = exports["domains"]
    assert sorted(domains) == ["acme.com", "agents.acme.com", "agents.anyreach.ai"]
    acme = domains["acme.com"]
    assert (acme["domainId"], acme["dnsMode"], acme["status"], acme["verified"]) == (
        DOMAIN_ID,
        "cloudflare",
        "verified",
        True,
    )
    assert acme["cloudflareRecordIds"]["inbound-mx"] == "cf-acme.com-inbound-mx"
    assert [r["name"] for r in domains["agents.acme.com"]["dnsRecords"]][-1] == "agents.acme.com"
    assert domains["agents.anyreach.ai"]["dnsMode"] == "platform"
    assert domains["agents.anyreach.ai"]["dnsRecords"] == []


def test_bad_config_fails_naming_the_keys_before_any_resource_exists(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = engine_config(
        {
            "anyreach:domains": [{"domain": "acme.com", "zoneId": ZONE}, {"domain": "bob@example.com"}],
            "anyreach:recordTtl": 5,
            "anyreach:zoneID": ZONE,
        }
    )
    with pytest.raises(pulumi.RunError) as caught:
        run_program(harness, config, monkeypatch)
    message = str(caught.value)
    assert "anyreach:recordTtl is 5" in message
    assert "anyreach:domains[1].domain: domain 'bob@example.com'" in message
    assert harness.registrations == []
    assert any("anyreach:zoneID is not a key" in m for m in harness.messages(logging.WARNING))


def test_an_unknown_key_is_a_warning_not_an_error(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    config = engine_config({"anyreach:domain": "acme.com", "anyreach:zoneID": ZONE})
    exports = run_program(harness, config, monkeypatch)
    assert exports["domains"]["acme.com"]["dnsMode"] == "manual"
    assert any("anyreach:zoneID is not a key" in m for m in harness.messages(logging.WARNING))
