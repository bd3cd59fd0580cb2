"""The package's import surface: the sandbox's dependency on the domain-name rules stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_domain_rules_and_the_sandbox_do_not_import_the_pulumi_sdk() -> None:
    assert "pulumi" not in _modules_after("import provider.domain_name, sandbox")


def test_the_client_and_the_dns_checker_do_not_import_the_pulumi_sdk() -> None:
    # The layers do not leak: the client knows HTTP and the wire format, the checker DNS; only the
    # resource modules speak Pulumi.
    modules = _modules_after(
        "import provider.client, provider.dns_check, provider.dns_records, provider.waiter"
    )
    assert "pulumi" not in modules


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("EmailDomain", "provider.email_domain"),
        ("EmailDomainProvider", "provider.email_domain"),
        ("DomainVerification", "provider.domain_verification"),
        ("DomainVerificationProvider", "provider.domain_verification"),
        ("DomainVerificationGroup", "provider.domain_verification_group"),
        ("DomainVerificationGroupProvider", "provider.domain_verification_group"),
        ("DomainVerificationError", "provider.errors"),
    ],
)
def test_the_pulumi_resources_are_exported_from_the_package_at_their_stable_paths(
    name: str, module: str
) -> None:
    import provider

    exported = getattr(provider, name)
    assert exported.__module__ == module
    assert name in provider.__all__


def test_an_unknown_name_is_an_attribute_error() -> None:
    import provider

    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        provider.NoSuchThing  # noqa: B018
