"""The stack program under the real Pulumi engine: preview, up, refresh, drift, kill, destroy.

The tests of this module share one stack (`main`) and run in order; the others use stacks of their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from provider.rules.domain_name import InvalidDomainError, normalize_domain
from tests.support import wait_for

from .harness import PASSPHRASE, TOKEN, PulumiProject, descendants

pytestmark = pytest.mark.e2e

DOMAIN = "e2e.example.com"
COMPONENT = "anyreach:email:VerifiedEmailDomain"
EMAIL_DOMAIN = "pulumi-python:dynamic/anyreach:EmailDomain"
VERIFICATION = "pulumi-python:dynamic/anyreach:DomainVerificationGroup"
VERIFICATIONS = "email-domain-verifications"
REGISTER = "POST /core/email-domains"
VERIFY = "POST /core/email-domains/{id}/verify"
REFRESH = "POST /core/email-domains/{id}/refresh"


def _types(resources: list[dict[str, Any]]) -> list[str]:
    return [resource["type"] for resource in resources]


def _sandbox_domains(project: PulumiProject, domain: str) -> list[dict[str, Any]]:
    return [item for item in project.sandbox.domains() if item["domain"] == domain]


def _resources(project: PulumiProject, stack: str) -> list[dict[str, Any]]:
    return list(project.export(stack)["deployment"].get("resources") or [])


@pytest.fixture(scope="module")
def main_stack(project: PulumiProject) -> str:
    """The `main` stack: DOMAIN in manual DNS mode (the sandbox publishes the records itself)."""
    project.sandbox.set_settings(auto_publish=True)
    return project.new_stack("main", domain=DOMAIN, verificationTimeoutSeconds=60)


def test_01_preview_of_a_new_stack_lists_the_component_the_domain_and_the_verification(
    project: PulumiProject, main_stack: str
) -> None:
    project.sandbox.reset_stats()
    result = project.run("preview", "--json", stack=main_stack)
    steps = json.loads(result.stdout)["steps"]
    planned = {(step["op"], step["urn"].split("::")[2].split("$")[-1]) for step in steps}
    assert {("create", COMPONENT), ("create", EMAIL_DOMAIN), ("create", VERIFICATION)} <= planned
    # A preview registers nothing.
    assert _sandbox_domains(project, DOMAIN) == []
    assert project.sandbox.route_count(REGISTER) == 0


def test_02_up_verifies_the_domain_and_exports_it(project: PulumiProject, main_stack: str) -> None:
    project.run("up", "--yes", "--skip-preview", stack=main_stack)

    [registered] = _sandbox_domains(project, DOMAIN)
    assert registered["status"] == "verified"
    assert registered["organization"] == "org_dev"
    exported = project.outputs(main_stack)["domains"][DOMAIN]
    assert exported["domainId"] == registered["id"]
    assert exported["status"] == "verified"
    assert exported["verified"] is True
    names = {(record["type"], record["name"]) for record in exported["dnsRecords"]}
    assert names == {
        ("TXT", f"resend._domainkey.{DOMAIN}"),
        ("MX", f"send.{DOMAIN}"),
        ("TXT", f"send.{DOMAIN}"),
        ("TXT", f"_dmarc.{DOMAIN}"),
        ("MX", DOMAIN),
    }


def test_03_a_preview_right_after_up_shows_no_changes(project: PulumiProject, main_stack: str) -> None:
    project.run("preview", "--expect-no-changes", stack=main_stack)
    project.run("refresh", "--yes", "--expect-no-changes", stack=main_stack)


def test_04_exported_state_holds_no_token_and_no_secret_in_clear(
    project: PulumiProject, main_stack: str
) -> None:
    state = project.run("stack", "export", stack=main_stack).stdout
    assert TOKEN not in state
    assert PASSPHRASE not in state
    # The dynamic providers' `__provider` inputs are secrets: stored as ciphertext, never as a dill blob.
    provider_values = re.findall(r'"__provider":\s*(\{[^}]*\}|"[^"]*")', state)
    assert provider_values, "no __provider input in state"
    assert all("ciphertext" in value for value in provider_values)


def test_05_a_domain_deleted_behind_the_stacks_back_is_dropped_by_refresh_and_registered_again_by_up(
    project: PulumiProject, main_stack: str
) -> None:
    [registered] = _sandbox_domains(project, DOMAIN)
    with project.sandbox.client() as client:
        client.delete(f"/core/email-domains/{registered['id']}").raise_for_status()

    project.run("refresh", "--yes", stack=main_stack)
    assert EMAIL_DOMAIN not in _types(_resources(project, main_stack))

    project.run("up", "--yes", "--skip-preview", stack=main_stack)
    [again] = _sandbox_domains(project, DOMAIN)
    assert again["id"] != registered["id"]
    assert again["status"] == "verified"
    assert project.outputs(main_stack)["domains"][DOMAIN]["domainId"] == again["id"]


def test_06_a_lost_record_shows_on_refresh_and_up_verifies_again(
    project: PulumiProject, main_stack: str
) -> None:
    project.sandbox.unpublish(DOMAIN, type="TXT", name="resend._domainkey")
    result = project.run("refresh", "--yes", stack=main_stack)
    assert "DomainVerification" in result.stdout  # the refresh reports the verification as changed
    verification = next(r for r in _resources(project, main_stack) if r["type"] == VERIFICATION)
    assert verification["outputs"]["verified"] is False
    assert verification["outputs"]["results"][DOMAIN]["verified"] is False

    preview = json.loads(project.run("preview", "--json", stack=main_stack).stdout)
    ops = {step["urn"].split("::")[-1]: step["op"] for step in preview["steps"]}
    assert ops[VERIFICATIONS] == "update"

    project.sandbox.publish(DOMAIN, type="TXT", name="resend._domainkey")
    verifies_before = project.sandbox.route_count(VERIFY)
    project.run("up", "--yes", "--skip-preview", stack=main_stack)
    assert project.sandbox.route_count(VERIFY) > verifies_before
    [registered] = _sandbox_domains(project, DOMAIN)
    assert registered["status"] == "verified"
    project.run("preview", "--expect-no-changes", stack=main_stack)


def test_07_records_never_published_fail_up_within_the_deadline_listing_them(project: PulumiProject) -> None:
    domain = "never.example.com"
    project.sandbox.set_settings(auto_publish=False)
    try:
        stack = project.new_stack("never", domain=domain, verificationTimeoutSeconds=4)
        project.sandbox.reset_stats()
        result = project.run("up", "--yes", "--skip-preview", stack=stack, check=False)
    finally:
        project.sandbox.set_settings(auto_publish=True)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"waiting for Email Domain ({domain}) verification" in output
    for name in (f"resend._domainkey.{domain}", f"send.{domain}", f"_dmarc.{domain}"):
        assert name in output
    # The DNS check waited: every nameserver is named with what it returned and the dig command that asks it.
    assert "not served by every authoritative nameserver" in output
    assert "ns1.dns.sandbox.test" in output and "NXDOMAIN" in output
    assert f"dig +norec @127.0.0.1 -p {project.sandbox.dns()['port']} TXT _dmarc.{domain}" in output
    assert "Traceback" not in output  # our message alone
    # While it waited, the log said which record was missing where.
    assert f"verifying Email Domain ({domain}): waiting for DNS before initiating verification" in output
    assert project.sandbox.route_count(VERIFY) == 0  # never initiated too early
    [registered] = _sandbox_domains(project, domain)  # registered once, kept in state for the next up
    assert EMAIL_DOMAIN in _types(_resources(project, stack))
    assert registered["status"] != "verified"


def test_08_an_up_killed_during_verification_stops_polling_and_converges_with_one_domain(
    project: PulumiProject,
) -> None:
    domain = "killed.example.com"
    project.sandbox.set_settings(auto_publish=False)
    try:
        # dnsCheck off: verification starts at once and the host polls the API, which is what must stop.
        stack = project.new_stack("killed", domain=domain, verificationTimeoutSeconds=120, dnsCheck="off")
        process = project.popen("up", "--yes", "--skip-preview", stack=stack)

        def polling() -> bool:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            return project.sandbox.route_count(REFRESH) >= 3

        wait_for(polling, "verification started polling", timeout=120)
        plugins = descendants(process.pid)
        hosts = [pid for pid in plugins if b"pulumi.dynamic" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert hosts, "no provider host among the CLI's processes"
        # A lost CI runner: the CLI dies at once; its plugins are left behind.
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        # The polling stops because the host ends itself (the test killed only the CLI): that is what is
        # checked; counting calls after it is gone would prove nothing.
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() for pid in hosts),
            "the provider host ended on its own once its engine was gone",
            timeout=60,
        )
        for pid in plugins:  # the language host outlives the CLI too (it is Pulumi's, not ours): end it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    finally:
        project.sandbox.set_settings(auto_publish=True)

    # The recovery the README documents: release the lock of the killed update, clear the pending
    # operation it left, publish the records, and run up again.
    project.run("cancel", "--yes", stack=stack)
    project.run("refresh", "--yes", "--clear-pending-creates", stack=stack)
    project.sandbox.publish(domain)
    project.run("up", "--yes", "--skip-preview", stack=stack)

    [registered] = _sandbox_domains(project, domain)
    assert registered["status"] == "verified"
    assert project.outputs(stack)["domains"][domain]["domainId"] == registered["id"]


def test_09_destroy_removes_the_domain_from_the_platform_warning_that_it_was_verified(
    project: PulumiProject, main_stack: str
) -> None:
    # --run-program: the stack config of this run provides the token (README, "Credentials").
    result = project.run("destroy", "--yes", "--run-program", stack=main_stack)
    assert _sandbox_domains(project, DOMAIN) == []
    assert (
        f"deleting Email Domain ({DOMAIN}): it is verified; deleting it on the platform is permanent and "
        f"every address on {DOMAIN} stops sending and receiving mail"
    ) in result.stdout + result.stderr


def test_10_a_bad_domain_fails_preview_with_the_validation_message_and_no_request(
    project: PulumiProject,
) -> None:
    bad = "https://bad.example.com"
    with pytest.raises(InvalidDomainError) as expected:
        normalize_domain(bad)
    stack = project.new_stack("bad", domain=bad)
    project.sandbox.reset_stats()
    result = project.run("preview", stack=stack, check=False)
    assert result.returncode != 0
    assert str(expected.value) in result.stdout + result.stderr
    assert project.sandbox.stats()["total"] == 0


def test_11_preview_needs_no_credentials_and_up_without_them_says_how_to_set_them(
    project: PulumiProject,
) -> None:
    domain = "nocreds.example.com"
    stack = project.new_stack("nocreds", with_token=False, domain=domain)
    project.sandbox.reset_stats()

    project.run("preview", stack=stack)
    assert project.sandbox.stats()["total"] == 0

    result = project.run("up", "--yes", "--skip-preview", stack=stack, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "pulumi config set --secret anyreach:token" in output
    assert "ANYREACH_TOKEN" in output
    assert _sandbox_domains(project, domain) == []
