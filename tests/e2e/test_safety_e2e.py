"""Safe to run in production, under the real CLI: credentials that rotate, a token that cannot delete, destroy
guarded from stack config, errors without tracebacks, lookalike names refused before anything exists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .harness import ORGANIZATION, PulumiProject

pytestmark = pytest.mark.e2e

STORED_COPY = "the copy of the stack config stored with the stack"


def _held(project: PulumiProject, domain: str) -> list[dict[str, Any]]:
    return [item for item in project.sandbox.domains() if item["domain"] == domain]


def _output(result: Any) -> str:
    return str(result.stdout) + str(result.stderr)


def _issue(project: PulumiProject, token: str, scopes: list[str]) -> str:
    project.sandbox.add_credential(token, ORGANIZATION, scopes)
    return token


def test_a_rotated_token_is_used_by_refresh_and_destroy_with_run_program(project: PulumiProject) -> None:
    domain = "rotate.example.com"
    old = _issue(project, "tok_rotate_old_7f3a91", ["email_domains:manage"])
    stack = project.new_stack("rotate", domain=domain)
    project.run("config", "set", "--secret", "anyreach:token", old, stack=stack)
    project.run("up", "--yes", "--skip-preview", stack=stack)
    [held] = _held(project, domain)

    # The rotation, as a user does it: a new token set in config, the old one revoked.
    new = _issue(project, "tok_rotate_new_c28e05", ["email_domains:manage"])
    project.run("config", "set", "--secret", "anyreach:token", new, stack=stack)
    project.sandbox.revoke_credential(old)

    # Without the program the engine hands the providers its stored copy: the 401 says so and what to run.
    stale = project.run("refresh", "--yes", stack=stack, check=False)
    assert stale.returncode != 0
    message = _output(stale)
    assert f"refreshing Email Domain ({domain}): HTTP 401" in message
    assert f"The API token from {STORED_COPY} (anyreach:token) is invalid, expired or revoked" in message
    assert "pulumi refresh --run-program" in message
    assert "Traceback" not in message and old not in message and new not in message

    # As documented: --run-program uses the current stack config.
    project.run("refresh", "--yes", "--run-program", stack=stack)
    project.run("destroy", "--yes", "--run-program", stack=stack)
    assert _held(project, domain) == []
    assert held["organization"] == ORGANIZATION


def test_a_read_only_token_in_config_never_deletes(project: PulumiProject) -> None:
    domain = "readonly.example.com"
    manager = _issue(project, "tok_ro_manager_5d0c44", ["email_domains:manage"])
    reader = _issue(project, "tok_ro_reader_91e7b2", ["email_domains:read"])
    stack = project.new_stack("readonly", domain=domain)
    project.run("config", "set", "--secret", "anyreach:token", manager, stack=stack)
    project.run("up", "--yes", "--skip-preview", stack=stack)
    project.run("config", "set", "--secret", "anyreach:token", reader, stack=stack)

    # Plain destroy: the engine only has the stored copy (the manage token), which never deletes.
    refused = project.run("destroy", "--yes", stack=stack, check=False)
    assert refused.returncode != 0
    assert f"deleting Email Domain ({domain}): not deleted" in _output(refused)
    assert "pulumi destroy --run-program" in _output(refused)
    assert len(_held(project, domain)) == 1

    # With the program: the read-only token of the stack config is used, and the platform refuses it.
    denied = project.run("destroy", "--yes", "--run-program", stack=stack, check=False)
    assert denied.returncode != 0
    message = _output(denied)
    assert f"deleting Email Domain ({domain}): HTTP 403" in message
    assert "the token from stack config (anyreach:token) lacks it" in message
    assert "Traceback" not in message
    assert len(_held(project, domain)) == 1

    # The environment is always current: a plain destroy with ANYREACH_TOKEN deletes.
    project.run("destroy", "--yes", stack=stack, env={"ANYREACH_TOKEN": manager})
    assert _held(project, domain) == []


def test_protect_from_stack_config_makes_destroy_fail_and_keeps_the_domain(project: PulumiProject) -> None:
    domain = "protected.example.com"
    stack = project.new_stack("protected", domain=domain, protect="true")
    project.run("up", "--yes", "--skip-preview", stack=stack)
    refused = project.run("destroy", "--yes", "--run-program", stack=stack, check=False)
    assert refused.returncode != 0
    assert "protected" in _output(refused)
    assert len(_held(project, domain)) == 1
    # Unprotecting is a config change and an up; then destroy goes through.
    project.run("config", "set", "anyreach:protect", "false", stack=stack)
    project.run("up", "--yes", "--skip-preview", stack=stack)
    project.run("destroy", "--yes", "--run-program", stack=stack)
    assert _held(project, domain) == []


def test_retain_on_delete_per_domain_leaves_the_domain_registered_when_the_stack_lets_go(
    project: PulumiProject,
) -> None:
    kept, dropped = "kept.example.com", "dropped.example.com"
    stack = project.new_stack(
        "retained", domains=[{"domain": kept, "retainOnDelete": "true"}, {"domain": dropped}]
    )
    project.run("up", "--yes", "--skip-preview", stack=stack)
    project.run("destroy", "--yes", "--run-program", stack=stack)
    assert [item["status"] for item in _held(project, kept)] == ["verified"]  # still there, still verified
    assert _held(project, dropped) == []
    assert not [
        r for r in project.export(stack)["deployment"].get("resources") or [] if "dynamic" in r["type"]
    ]
    with project.sandbox.client() as http:  # leave the sandbox as the other tests expect it
        http.delete(f"/core/email-domains/{_held(project, kept)[0]['id']}").raise_for_status()


def test_a_domain_another_organization_holds_fails_with_our_message_alone(project: PulumiProject) -> None:
    domain = "foreign.example.com"
    project.sandbox.add_credential("tok_foreign_org_44aa10", "org_foreign", ["email_domains:manage"])
    with project.sandbox.client("tok_foreign_org_44aa10", "org_foreign") as http:
        http.post("/core/email-domains", json={"domain": domain}).raise_for_status()
    stack = project.new_stack("foreign", domain=domain)
    result = project.run("up", "--yes", "--skip-preview", stack=stack, check=False)
    assert result.returncode != 0
    message = _output(result)
    assert (
        f"registering Email Domain ({domain}): HTTP 409: The domain {domain} is already registered."
        in message
    )
    assert "another organization holds it" in message
    assert "Traceback" not in message


def test_a_lookalike_name_is_refused_before_anything_exists_unless_allowed(project: PulumiProject) -> None:
    lookalike = "p\u0430ypal.example"  # with a Cyrillic a (U+0430)
    stack = project.new_stack("lookalike", domain=lookalike)
    project.sandbox.reset_stats()
    refused = project.run("preview", stack=stack, check=False)
    assert refused.returncode != 0
    message = _output(refused)
    assert f"anyreach:domain is {lookalike!r} (registered as xn--pypal-4ve.example)" in message
    assert "U+0430 CYRILLIC SMALL LETTER A" in message
    assert "anyreach:allowMixedScriptDomains" in message
    assert project.sandbox.stats()["total"] == 0

    project.set_config(stack, "allowMixedScriptDomains", [lookalike])
    allowed = project.run("preview", "--json", stack=stack)
    diagnostics = json.loads(allowed.stdout).get("diagnostics") or []
    warnings = [d["message"] for d in diagnostics if d.get("severity") == "warning"]
    assert any(f"{lookalike!r} is registered as xn--pypal-4ve.example" in w for w in warnings), warnings
