"""The package's import surface: the public names and the stable paths of the resources. (Which layer may
import what is checked by import-linter's contracts in pyproject.toml, run by `make test`.)"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("EmailDomain", "provider.resources.email_domain"),
        ("EmailDomainProvider", "provider.resources.email_domain"),
        ("DomainVerification", "provider.resources.domain_verification"),
        ("DomainVerificationProvider", "provider.resources.domain_verification"),
        ("DomainVerificationGroup", "provider.resources.domain_verification_group"),
        ("DomainVerificationGroupProvider", "provider.resources.domain_verification_group"),
        ("DomainVerificationError", "provider.api.errors"),
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


@pytest.mark.parametrize(
    ("legacy", "current"),
    [
        ("provider.email_domain", "provider.resources.email_domain"),
        ("provider.domain_verification", "provider.resources.domain_verification"),
    ],
)
def test_the_paths_earlier_releases_pickled_into_state_still_lead_to_the_providers(
    legacy: str, current: str
) -> None:
    # Release 1dc6cf7 and before pickled the provider classes by these module paths (docs/design.md §6).
    import importlib

    name = "EmailDomainProvider" if legacy.endswith("email_domain") else "DomainVerificationProvider"
    assert getattr(importlib.import_module(legacy), name) is getattr(importlib.import_module(current), name)
