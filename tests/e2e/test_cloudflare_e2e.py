"""Cloudflare mode under the real engine and the real Cloudflare plugin, against the sandbox's stand-in.

One stack (`cf`) goes through the life of a real one, in order: two domains published in one zone and one
in manual mode, no drift, a TTL change, records deleted and changed behind the stack's back, hand-made
records brought under management with the README's import recipe, a pull request's preview, a removal, a
wrong Cloudflare token, and destroy. The plugin's requests go to the sandbox's Cloudflare DNS API
stand-in (`CLOUDFLARE_BASE_URL`), whose records the sandbox's DNS serves: the DNS check and the
verification see exactly what Cloudflare holds. The sandbox does not auto-publish, so the manual-mode
domain's records are published by hand, as its owner would.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.record_plan import format_content

from .harness import ROOT, PulumiProject

pytestmark = [pytest.mark.e2e, pytest.mark.cloudflare]

ALPHA = "alpha.example.com"
BETA = "beta.example.com"
MANUAL = "manual.example.org"
GAMMA = "gamma.example.com"  # its records are made by hand in Cloudflare first
DELTA = "delta.example.com"  # added in a pull request
STACK = "cf"
ROLES = ("dkim", "spf-mx", "spf-txt", "dmarc", "inbound-mx")
PURPOSES = {
    "dkim": "DKIM signing key",
    "spf-mx": "SPF bounce MX",
    "spf-txt": "SPF policy",
    "dmarc": "DMARC policy",
    "inbound-mx": "inbound MX (replies)",
}
COMPONENT = "anyreach:email:VerifiedEmailDomain"
EMAIL_DOMAIN = "pulumi-python:dynamic/anyreach:EmailDomain"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
VERIFICATION = "pulumi-python:dynamic/anyreach:DomainVerificationGroup"
VERIFICATIONS = "email-domain-verifications"
REGISTER = "POST /core/email-domains"
WRONG_TOKEN = "wrong-cloudflare-token-0123456789abcdefghij"


# --- what the stand-in and the sandbox hold -------------------------------------------------------------


def zone(project: PulumiProject) -> str:
    return project.sandbox.cloudflare_zone_id


def held(project: PulumiProject, domain: str | None = None) -> list[dict[str, Any]]:
    """The records Cloudflare (the stand-in) holds in the zone, of one domain or all."""
    records = project.sandbox.cloudflare_records(zone(project))
    if domain is None:
        return records
    return [r for r in records if r["name"] == domain or str(r["name"]).endswith("." + domain)]


def by_role(records: list[dict[str, Any]], domain: str) -> dict[str, dict[str, Any]]:
    """The domain's records keyed by the component's role (the child name's suffix)."""
    keys = {
        ("TXT", f"resend._domainkey.{domain}"): "dkim",
        ("MX", f"send.{domain}"): "spf-mx",
        ("TXT", f"send.{domain}"): "spf-txt",
        ("TXT", f"_dmarc.{domain}"): "dmarc",
        ("MX", domain): "inbound-mx",
    }
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        role = keys[(record["type"], record["name"])]
        assert role not in found, f"two {role} records for {domain}"
        found[role] = record
    return found


def platform_domain(project: PulumiProject, domain: str) -> dict[str, Any] | None:
    return project.sandbox.find_domain(domain)


def verified(project: PulumiProject, domain: str) -> bool:
    found = platform_domain(project, domain)
    return found is not None and found["status"] == "verified"


def registrations(project: PulumiProject) -> int:
    return project.sandbox.route_count(REGISTER)


def cloudflare_form(record: dict[str, Any]) -> str:
    """The content Cloudflare stores for one of the platform's records (quoted TXT, bare MX target)."""
    value = str(record["value"])
    if record["type"] == "TXT":
        return '"' + value.strip('"') + '"'
    return value.lower().rstrip(".")


# --- the stack ------------------------------------------------------------------------------------------


def stack_file(project: PulumiProject) -> Path:
    return project.directory / f"Pulumi.{STACK}.yaml"


def set_domains(project: PulumiProject, domains: list[dict[str, Any]]) -> None:
    """Edit `anyreach:domains` in the stack file, as a pull request would."""
    path = stack_file(project)
    document = yaml.safe_load(path.read_text())
    document["config"]["anyreach:domains"] = domains
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def resources(project: PulumiProject) -> list[dict[str, Any]]:
    return list(project.export(STACK)["deployment"].get("resources") or [])


def named(project: PulumiProject, name: str) -> dict[str, Any] | None:
    found = [r for r in resources(project) if r["urn"].split("::")[-1] == name]
    assert len(found) <= 1
    return found[0] if found else None


def member_verified(project: PulumiProject, domain: str) -> bool:
    group = named(project, VERIFICATIONS)
    assert group is not None
    return bool(group["outputs"]["results"][domain]["verified"])


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def planned_steps(project: PulumiProject, **run: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    """`pulumi preview --json`: every step that is not `same`, keyed by (op, type, name)."""
    steps = json.loads(project.run("preview", "--json", stack=STACK, **run).stdout)["steps"]
    changes: dict[tuple[str, str, str], dict[str, Any]] = {}
    for step in steps:
        if step["op"] == "same":
            continue
        urn = step["urn"]
        changes[(step["op"], urn.split("::")[-2].split("$")[-1], urn.split("::")[-1])] = step
    return changes


def until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Check ``condition`` every quarter second until it holds; fail naming ``what`` after ``timeout``."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened within {timeout:g} s: {what}"
        pause.wait(0.25)


def no_changes_left(project: PulumiProject) -> None:
    project.run("preview", "--expect-no-changes", stack=STACK)


# --- the steps ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(cloudflare_project: PulumiProject) -> str:
    """The `cf` stack: ALPHA and BETA in the stand-in's zone, MANUAL in manual DNS mode."""
    z = zone(cloudflare_project)
    return cloudflare_project.new_stack(
        STACK,
        domains=[{"domain": ALPHA, "zoneId": z}, {"domain": BETA, "zoneId": z}, {"domain": MANUAL}],
        verificationTimeoutSeconds=120,
    )


def test_01_up_publishes_ten_records_in_cloudflares_form_and_verifies_all_three_domains(
    cloudflare_project: PulumiProject, stack: str, tmp_path: Path
) -> None:
    project = cloudflare_project
    log = tmp_path / "up.log"
    process = project.popen("up", "--yes", "--skip-preview", stack=stack, output=log)
    try:
        # Manual mode: the owner publishes the records once the domain is registered, while `up` waits.
        until(lambda: platform_domain(project, MANUAL) is not None, f"{MANUAL} registered")
        project.sandbox.publish(MANUAL)
        assert process.wait(timeout=300) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()

    assert len(held(project)) == 10
    assert held(project, MANUAL) == []
    exported = project.outputs(stack)["domains"]
    for domain in (ALPHA, BETA):
        records = by_role(held(project, domain), domain)
        assert sorted(records) == sorted(ROLES)
        platform = {(r["type"], r["name"]): r for r in platform_domain(project, domain)["dns_records"]}  # type: ignore[index]
        for role, record in records.items():
            relative = {"dkim": "resend._domainkey", "spf-mx": "send", "spf-txt": "send", "dmarc": "_dmarc"}
            wanted = platform[(record["type"], relative.get(role, "@"))]
            assert record["content"] == cloudflare_form(wanted), (domain, role)
            assert record["ttl"] == 1 and record["proxied"] is False
            assert record["comment"] == f"anyreach: {PURPOSES[role]} for {domain}"
            if record["type"] == "MX":
                assert record["priority"] == wanted["priority"]
        assert exported[domain]["cloudflareRecordIds"] == {role: r["id"] for role, r in records.items()}
        assert exported[domain]["dnsMode"] == "cloudflare"
    assert exported[MANUAL]["dnsMode"] == "manual" and exported[MANUAL]["cloudflareRecordIds"] == {}
    for domain in (ALPHA, BETA, MANUAL):
        assert verified(project, domain), domain
        assert exported[domain]["verified"] is True
    assert registrations(project) == 3


def test_02_no_drift_on_preview_refresh_and_preview_again(
    cloudflare_project: PulumiProject, stack: str
) -> None:
    project = cloudflare_project
    before = held(project)
    project.run("preview", "--expect-no-changes", stack=stack)
    project.run("refresh", "--yes", "--expect-no-changes", stack=stack)
    project.run("preview", "--expect-no-changes", stack=stack)
    assert held(project) == before  # nothing was written either (same ids, same modified_on)


def test_03_a_ttl_change_updates_every_record_in_place(cloudflare_project: PulumiProject, stack: str) -> None:
    project = cloudflare_project
    ids = {r["id"] for r in held(project)}
    project.set_config(stack, "recordTtl", 300)

    changes = planned_steps(project)
    assert {(op, kind) for op, kind, _ in changes} == {("update", DNS_RECORD)}, sorted(changes)
    assert len(changes) == 10
    for step in changes.values():
        old, new = step["oldState"]["inputs"], step["newState"]["inputs"]
        assert {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)} == {"ttl"}, step[
            "urn"
        ]
        assert new["ttl"] == 300

    project.run("up", "--yes", "--skip-preview", stack=stack)
    assert {r["id"] for r in held(project)} == ids
    assert {r["ttl"] for r in held(project)} == {300}
    project.run("refresh", "--yes", "--expect-no-changes", stack=stack)
    project.run("preview", "--expect-no-changes", stack=stack)


def test_04_a_record_deleted_in_cloudflare_is_gone_on_refresh_and_recreated_and_verified_by_up(
    cloudflare_project: PulumiProject, stack: str
) -> None:
    project = cloudflare_project
    dkim = by_role(held(project, ALPHA), ALPHA)["dkim"]
    with project.sandbox.cloudflare_client() as cloudflare:
        cloudflare.delete(f"zones/{zone(project)}/dns_records/{dkim['id']}").raise_for_status()

    refreshed = project.run("refresh", "--yes", stack=stack)
    assert re.search(rf"- +cloudflare:index:DnsRecord {re.escape(ALPHA)}-dkim deleted", output(refreshed))
    assert named(project, f"{ALPHA}-dkim") is None
    assert member_verified(project, ALPHA) is False and member_verified(project, BETA) is True
    assert f"refreshing Email Domain ({ALPHA}) verification: the domain is no longer verified" in output(
        refreshed
    )

    project.run("up", "--yes", "--skip-preview", stack=stack)
    again = by_role(held(project, ALPHA), ALPHA)["dkim"]
    assert again["id"] != dkim["id"]
    assert again["content"] == dkim["content"] and again["comment"] == dkim["comment"]
    assert verified(project, ALPHA) and member_verified(project, ALPHA)
    assert project.outputs(stack)["domains"][ALPHA]["cloudflareRecordIds"]["dkim"] == again["id"]
    no_changes_left(project)


def test_05_a_value_changed_in_cloudflare_shows_on_refresh_and_up_puts_it_back(
    cloudflare_project: PulumiProject, stack: str
) -> None:
    project = cloudflare_project
    dmarc = by_role(held(project, BETA), BETA)["dmarc"]
    changed = '"v=DMARC1; p=reject;"'
    with project.sandbox.cloudflare_client() as cloudflare:
        path = f"zones/{zone(project)}/dns_records/{dmarc['id']}"
        cloudflare.patch(path, json={"content": changed}).raise_for_status()

    refreshed = project.run("refresh", "--yes", stack=stack)
    state = named(project, f"{BETA}-dmarc")
    assert state is not None and state["outputs"]["content"] == changed
    assert re.search(rf"DnsRecord {re.escape(BETA)}-dmarc updated .*\[diff: ~content\]", output(refreshed))
    assert member_verified(project, BETA) is False

    project.run("up", "--yes", "--skip-preview", stack=stack)
    restored = by_role(held(project, BETA), BETA)["dmarc"]
    assert (restored["id"], restored["content"]) == (dmarc["id"], dmarc["content"])
    assert verified(project, BETA) and member_verified(project, BETA)
    no_changes_left(project)


def readme_import_recipe() -> list[str]:
    """The commands of the README's import recipe ("Bringing an existing domain under management"), each
    one logical line (continuations joined), as written."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Bringing an existing domain under management", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the README's import recipe has no sh block"
    return [
        command.strip() for command in block.group(1).replace("\\\n", " ").splitlines() if command.strip()
    ]


def test_06_hand_made_records_fail_up_with_81058_and_the_readme_import_recipe_adopts_them(
    cloudflare_project: PulumiProject, stack: str
) -> None:
    project = cloudflare_project
    z = zone(project)
    # The domain was registered and its records typed into Cloudflare by hand, before this stack.
    with project.sandbox.client() as api:
        registered = api.post("/core/email-domains", json={"domain": GAMMA}).raise_for_status().json()
    hand_made: dict[str, str] = {}
    with project.sandbox.cloudflare_client() as cloudflare:
        for record in registered["dns_records"]:
            name = GAMMA.split(".")[0] if record["name"] == "@" else f"{record['name']}.{GAMMA.split('.')[0]}"
            body = {"type": record["type"], "name": name, "content": cloudflare_form(record), "ttl": 1}
            if record["type"] == "MX":
                body["priority"] = record["priority"]
            created = cloudflare.post(f"zones/{z}/dns_records", json=body).raise_for_status().json()["result"]
            hand_made[created["id"]] = name
    roles = {role: record["id"] for role, record in by_role(held(project, GAMMA), GAMMA).items()}
    assert sorted(roles) == sorted(ROLES)

    set_domains(
        project,
        [
            {"domain": ALPHA, "zoneId": z},
            {"domain": BETA, "zoneId": z},
            {"domain": MANUAL},
            {"domain": GAMMA, "zoneId": z},
        ],
    )
    failed = project.run("up", "--yes", "--skip-preview", stack=stack, check=False)
    assert failed.returncode != 0
    text = output(failed)
    # The engine starts no new step after the first failure, so how many of the five creates ran depends
    # on timing: each that ran fails, naming its record; at least one always runs.
    refused = re.findall(
        r"cloudflare:index:DnsRecord \(" + re.escape(GAMMA) + r"-([a-z-]+)\):\s*\n\s*error: .*\"code\":81058,"
        r"\"message\":\"An identical record already exists.\"",
        text,
    )
    assert refused and set(refused) <= set(ROLES), text
    assert "Traceback" not in text
    assert sorted(r["id"] for r in held(project, GAMMA)) == sorted(roles.values())  # nothing written

    # The README's recipe, as written: only the placeholders are filled in.
    project.run("stack", "select", stack)
    commands = readme_import_recipe()
    fill = {"urn:pulumi:prod::": f"urn:pulumi:{stack}::", "agents.acme.com": GAMMA, "<zone_id>": z}
    once, per_record = (
        [c for c in commands if "<record_id>" not in c],
        [c for c in commands if "<record_id>" in c],
    )
    assert once and per_record, commands
    shown = ""
    for command in once:
        for placeholder, value in fill.items():
            command = command.replace(placeholder, value)
        shown += shell(project, command).stdout
    for role, record_id in roles.items():
        for template in per_record:
            command = template.replace("agents.acme.com-dkim", f"{GAMMA}-{role}").replace(
                "<record_id>", record_id
            )
            for placeholder, value in fill.items():
                command = command.replace(placeholder, value)
            parent = re.search(r"--parent '([^']+)'", command)
            assert parent is not None and parent.group(1) in shown, (command, shown)
            shell(project, command)

    project.run("up", "--yes", "--skip-preview", stack=stack)
    no_changes_left(project)
    assert sorted(r["id"] for r in held(project, GAMMA)) == sorted(roles.values())  # adopted, not replaced
    assert verified(project, GAMMA)
    assert project.outputs(stack)["domains"][GAMMA]["cloudflareRecordIds"] == roles


def shell(project: PulumiProject, command: str) -> subprocess.CompletedProcess[str]:
    """Run one command of the README in the project, as a user's shell would (the stack selected)."""
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=project.directory,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def test_07_a_pull_request_preview_lists_the_new_domain_and_a_removal_deletes_its_records_and_domain(
    cloudflare_project: PulumiProject, stack: str
) -> None:
    project = cloudflare_project
    z = zone(project)
    kept = [{"domain": ALPHA, "zoneId": z}, {"domain": BETA, "zoneId": z}, {"domain": MANUAL}]
    set_domains(project, [*kept, {"domain": GAMMA, "zoneId": z}, {"domain": DELTA, "zoneId": z}])
    changes = planned_steps(project)
    expected = {
        ("create", COMPONENT, DELTA),
        ("create", EMAIL_DOMAIN, f"{DELTA}-domain"),
        *{("create", DNS_RECORD, f"{DELTA}-{role}") for role in ROLES},
        ("update", VERIFICATION, VERIFICATIONS),
    }
    assert set(changes) == expected

    others = {r["id"] for r in held(project) if r not in held(project, GAMMA)}
    set_domains(project, kept)
    project.run("up", "--yes", "--skip-preview", stack=stack)
    assert held(project, GAMMA) == []
    assert platform_domain(project, GAMMA) is None
    assert {r["id"] for r in held(project)} == others
    assert GAMMA not in project.outputs(stack)["domains"]


def test_08_a_wrong_cloudflare_token_fails_up_naming_its_setting_and_the_right_one_finishes_once(
    cloudflare_project: PulumiProject, stack: str
) -> None:
    project = cloudflare_project
    z = zone(project)
    set_domains(
        project,
        [
            {"domain": ALPHA, "zoneId": z},
            {"domain": BETA, "zoneId": z},
            {"domain": MANUAL},
            {"domain": DELTA, "zoneId": z},
        ],
    )
    before = held(project)
    project.sandbox.reset_stats()

    from_env = project.run(
        "up", "--yes", "--skip-preview", stack=stack, check=False, env={"CLOUDFLARE_API_TOKEN": WRONG_TOKEN}
    )
    project.run("config", "set", "--secret", "cloudflare:apiToken", WRONG_TOKEN, stack=stack)
    from_config = project.run("up", "--yes", "--skip-preview", stack=stack, check=False)
    for result, source in (
        (from_env, "the environment (CLOUDFLARE_API_TOKEN)"),
        (from_config, "the stack config (cloudflare:apiToken)"),
    ):
        text = output(result)
        assert result.returncode != 0
        assert f"Cloudflare refused the API token from {source}" in text, text
        assert (
            "pulumi config set --secret cloudflare:apiToken" in text and "export CLOUDFLARE_API_TOKEN" in text
        )
        assert "Traceback" not in text
        assert WRONG_TOKEN not in text
    assert held(project) == before and registrations(project) == 0

    project.run("config", "rm", "cloudflare:apiToken", stack=stack)
    project.run("up", "--yes", "--skip-preview", stack=stack)
    assert registrations(project) == 1
    assert sorted(by_role(held(project, DELTA), DELTA)) == sorted(ROLES)
    assert verified(project, DELTA)
    no_changes_left(project)


def test_09_destroy_leaves_no_record_in_cloudflare_and_no_domain_on_the_platform(
    cloudflare_project: PulumiProject, stack: str
) -> None:
    project = cloudflare_project
    project.run("destroy", "--yes", "--run-program", stack=stack)
    assert held(project) == []
    assert project.sandbox.domains() == []
    assert resources(project) == []


# --- the record forms themselves -------------------------------------------------------------------------

PROBE_PROGRAM = '''"""DNS records written in the component's form, for the real plugin to read back."""
import json

import pulumi
import pulumi_cloudflare as cloudflare

config = pulumi.Config("probe")
for name, record in json.loads(config.require("records")).items():
    cloudflare.DnsRecord(name, zone_id=config.require("zone"), ttl=1, proxied=False, **record)
'''


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory, cloudflare_sandbox: Any) -> Iterator[PulumiProject]:
    """A project of its own whose program writes DNS records exactly as ``format_content`` says."""
    project = PulumiProject.create(tmp_path_factory.mktemp("e2e-forms"), cloudflare_sandbox, cloudflare=True)
    (project.directory / "__main__.py").unlink()
    (project.directory / "__main__.py").write_text(PROBE_PROGRAM)
    yield project
    project.destroy_all()


def test_10_long_txt_values_in_quoted_255_character_chunks_and_cname_targets_read_back_without_drift(
    probe: PulumiProject,
) -> None:
    dkim = "p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 9  # a 2048-bit key's length: over 255
    domain = "forms.example.com"
    records = {
        "long-txt": {
            "type": "TXT",
            "name": f"resend._domainkey.{domain}",
            "content": format_content("TXT", dkim),
        },
        "cname": {
            "type": "CNAME",
            "name": f"abc123._domainkey.{domain}",
            "content": format_content("CNAME", "ABC123.dkim.AmazonSES.com."),
        },
    }
    stack = probe.new_stack("forms")
    probe.run("config", "set", "probe:zone", probe.sandbox.cloudflare_zone_id, stack=stack)
    probe.run("config", "set", "probe:records", json.dumps(records), stack=stack)
    probe.run("up", "--yes", "--skip-preview", stack=stack)
    stored = {r["type"]: r for r in held(probe, domain)}
    assert stored["TXT"]["content"] == records["long-txt"]["content"]
    assert stored["TXT"]["content"].count('" "') == 1  # two character-strings, as Cloudflare splits them
    assert stored["CNAME"]["content"] == "abc123.dkim.amazonses.com"
    probe.run("refresh", "--yes", "--expect-no-changes", stack=stack)
    probe.run("preview", "--expect-no-changes", stack=stack)

    # The same value in one quoted string, as a component that did not split it would write it: the create
    # echoes it, the next read answers it split, and every refresh would show drift.
    records["long-txt"]["content"] = '"' + dkim + '"'
    probe.run("config", "set", "probe:records", json.dumps(records), stack=stack)
    probe.run("up", "--yes", "--skip-preview", stack=stack)
    drifted = probe.run("refresh", "--yes", "--expect-no-changes", stack=stack, check=False)
    assert drifted.returncode != 0 and "long-txt" in output(drifted)
    probe.run("destroy", "--yes", stack=stack)
    assert held(probe, domain) == []
