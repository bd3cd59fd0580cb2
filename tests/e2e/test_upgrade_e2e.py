"""Stacks made by an earlier release keep working: their state, imported into a fresh backend, under the
real CLI.

Each fixture (tests/e2e/fixtures/upgrade_<release>, made by scripts/make_upgrade_fixture.py on that release)
holds a two-domain stack and the sandbox state it belongs to. ``upgrade_1dc6cf7``
holds a two-domain stack whose resources were pickled by module path (``provider.email_domain.
EmailDomainProvider``, ``provider.domain_verification.DomainVerificationProvider``), one
``DomainVerification`` per domain, and the sandbox state it belongs to. In the manner of Pulumi's provider
upgrade tests: import, then refresh, preview, up, destroy with today's code.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import TOKEN, PulumiProject, sandbox_process

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parent / "fixtures"
MIGRATIONS: dict[str, dict[str, list[str]]] = {
    # Before the verification group: one DomainVerification per domain, replaced by one group.
    "upgrade_1dc6cf7": {"create": ["GROUP"], "delete": ["LEGACY", "LEGACY"]},
    # The release before provider/ was split into layers (its blobs call provider.entry_points): nothing.
    "upgrade_69cf653": {},
}
"""What the first preview of each earlier release's stack shows (types abbreviated), and nothing else."""
LEGACY_VERIFICATION = "pulumi-python:dynamic/anyreach:DomainVerification"
GROUP = "pulumi-python:dynamic/anyreach:DomainVerificationGroup"
EMAIL_DOMAIN = "pulumi-python:dynamic/anyreach:EmailDomain"


@pytest.fixture(params=sorted(MIGRATIONS))
def upgraded(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[PulumiProject, str, list[str], dict[str, list[str]]]]:
    """A fresh backend holding a fixture's stack, and a sandbox started from the fixture's state; the
    migration its first preview should show."""
    fixture = FIXTURES / request.param
    meta = json.loads((fixture / "fixture.json").read_text())
    sandbox_state = tmp_path / "sandbox-state.json"
    shutil.copy(fixture / "sandbox-state.json", sandbox_state)
    flags = ["--state", str(sandbox_state), "--dns-port", "0", "--auto-publish", "--propagation-delay", "0.5"]
    with sandbox_process(tmp_path / "sandbox.log", *flags) as sandbox:
        project = PulumiProject.create(tmp_path, sandbox)
        project.env["PULUMI_CONFIG_PASSPHRASE"] = meta["passphrase"]
        stack = meta["stack"]
        # The stack's config file carries the encryption salt its secrets (in the state too) were made with.
        shutil.copy(fixture / f"Pulumi.{stack}.yaml", project.directory / f"Pulumi.{stack}.yaml")
        project.run("stack", "init", stack)
        project.stacks.append(stack)
        # The fixture's sandbox ran on other ports: point the state (the stored copy of the config, the
        # group's DNS inputs) at this one's, as if the same sandbox still ran.
        dns_port = sandbox.dns()["port"]
        state = (fixture / "state.json").read_text().replace(meta["sandbox_base_url"], sandbox.base_url)
        if "sandbox_dns_port" in meta:
            state = state.replace(f"127.0.0.1:{meta['sandbox_dns_port']}", f"127.0.0.1:{dns_port}")
            state = state.replace(
                f'"dns_nameserver_port": {meta["sandbox_dns_port"]}', f'"dns_nameserver_port": {dns_port}'
            )
        (tmp_path / "state.json").write_text(state)
        project.run("stack", "import", "--file", str(tmp_path / "state.json"), stack=stack)
        project.set_config(stack, "baseUrl", sandbox.base_url)
        project.set_config(stack, "dnsResolvers", [f"127.0.0.1:{dns_port}"])
        project.set_config(stack, "dnsNameserverPort", str(dns_port))
        yield project, stack, list(meta["domains"]), MIGRATIONS[request.param]


def _route(project: PulumiProject, route: str) -> int:
    return sum(project.sandbox.stats()["by_route"].get(route, {}).values())


def _types(project: PulumiProject, stack: str) -> list[str]:
    return [resource["type"] for resource in project.export(stack)["deployment"].get("resources") or []]


def test_the_earlier_state_refreshes_migrates_with_one_up_and_destroys(
    upgraded: tuple[PulumiProject, str, list[str], dict[str, list[str]]],
) -> None:
    project, stack, domains, migration = upgraded
    ids = {item["domain"]: item["id"] for item in project.sandbox.domains()}
    assert sorted(ids) == sorted(domains)

    # refresh unpickles the providers of the earlier release from the outputs: nothing changed.
    project.run("refresh", "--yes", "--expect-no-changes", stack=stack)

    # The preview of the migration (MIGRATIONS), and nothing else.
    steps = json.loads(project.run("preview", "--json", stack=stack).stdout)["steps"]
    changes: dict[str, list[str]] = {}
    for step in steps:
        if step["op"] != "same":
            changes.setdefault(step["op"], []).append(step["urn"].split("::")[2].split("$")[-1])
    names = {"GROUP": GROUP, "LEGACY": LEGACY_VERIFICATION}
    assert changes == {op: [names[kind] for kind in kinds] for op, kinds in migration.items()}

    # One `pulumi up` moves the stack: it registers nothing again and verifies no verified domain again.
    project.sandbox.reset_stats()
    project.run("up", "--yes", "--skip-preview", stack=stack)
    assert _route(project, "POST /core/email-domains") == 0
    assert _route(project, "POST /core/email-domains/{id}/verify") == 0
    assert {item["domain"]: item["id"] for item in project.sandbox.domains()} == ids
    outputs: dict[str, Any] = project.outputs(stack)["domains"]
    assert {name: (info["domainId"], info["verified"]) for name, info in outputs.items()} == {
        name: (ids[name], True) for name in domains
    }
    assert sorted(_types(project, stack)).count(GROUP) == 1
    assert LEGACY_VERIFICATION not in _types(project, stack)

    project.run("preview", "--expect-no-changes", stack=stack)
    project.run("refresh", "--yes", "--expect-no-changes", stack=stack)
    project.run("destroy", "--yes", "--run-program", stack=stack)
    assert project.sandbox.domains() == []


def test_the_earlier_state_destroys_without_an_up(
    upgraded: tuple[PulumiProject, str, list[str], dict[str, list[str]]],
) -> None:
    project, stack, _, _ = upgraded
    project.run("refresh", "--yes", stack=stack)
    # Without the program, the token comes from the environment (the stored copy never deletes).
    project.run("destroy", "--yes", stack=stack, env={"ANYREACH_TOKEN": TOKEN})
    assert project.sandbox.domains() == []
    assert EMAIL_DOMAIN not in _types(project, stack)
