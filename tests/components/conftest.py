"""Fixtures of the component tests; the mocks themselves live in component_mocks.py."""

from __future__ import annotations

import pytest
from component_mocks import ZONE, Harness

from sandbox.testing import SandboxServer


@pytest.fixture
def harness() -> Harness:
    """A fresh mock run per test."""
    return Harness()


@pytest.fixture
def cloudflare(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    """The sandbox's Cloudflare stand-in as Cloudflare for a stack program's update, which checks the
    Cloudflare token first (components.cloudflare_access): it holds the mocks' zone ``ZONE`` (acme.com),
    and the token and address come from the environment, as in CI."""
    sandbox.add_cloudflare_zone(ZONE, "acme.com")
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", sandbox.cloudflare_base_url)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", sandbox.cloudflare_token)
    return sandbox
