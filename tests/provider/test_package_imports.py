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


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("EmailDomain", "provider.email_domain"),
        ("EmailDomainProvider", "provider.email_domain"),
        ("DomainVerification", "provider.domain_verification"),
        ("DomainVerificationProvider", "provider.domain_verification"),
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
