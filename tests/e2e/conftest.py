"""End-to-end fixtures: the real Pulumi CLI, `python -m sandbox` and a throwaway local backend.

The tests run whenever a `pulumi` CLI is on PATH (`make test` puts the pinned build from `make pulumi`
there); those marked ``cloudflare`` also need the Cloudflare resource plugin (`make cloudflare-plugin`,
which `make test` runs before the tests marked ``cloudflare``: the others run while it builds). With
ANYREACH_REQUIRE_E2E=1 (set by `make test`), a missing CLI or plugin
is an error, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox.testing import SandboxAdmin

from .harness import CLOUDFLARE_PLUGIN_VERSION, PULUMI, PulumiProject, cloudflare_plugin, sandbox_process


@pytest.hookimpl(trylast=True)  # after `-m` deselected: `-m "not cloudflare"` needs no plugin
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (or, when required, fail) the selected end-to-end tests when no Pulumi CLI is available, and
    the Cloudflare-mode ones when the Cloudflare plugin is missing too."""
    required = os.environ.get("ANYREACH_REQUIRE_E2E") == "1"
    if PULUMI is None:
        if required:
            raise pytest.UsageError(
                "ANYREACH_REQUIRE_E2E=1 but no `pulumi` CLI is on PATH: run `make pulumi` (builds "
                ".tools/bin) or install the Pulumi CLI"
            )
        skip = pytest.mark.skip(reason="no pulumi CLI on PATH (make pulumi builds one into .tools/bin)")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)
        return
    cloudflare_items = [item for item in items if "cloudflare" in item.keywords]
    if not cloudflare_items or cloudflare_plugin() is not None:
        return
    missing = (
        f"no Cloudflare resource plugin {CLOUDFLARE_PLUGIN_VERSION} installed or cached: run "
        "`make cloudflare-plugin` (README: The Cloudflare plugin)"
    )
    if required:
        raise pytest.UsageError(f"ANYREACH_REQUIRE_E2E=1 but {missing}")
    skip_cloudflare = pytest.mark.skip(reason=missing)
    for item in cloudflare_items:
        item.add_marker(skip_cloudflare)


@pytest.fixture(scope="session")
def e2e_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxAdmin]:
    """`python -m sandbox` on a free loopback port with its DNS server, auto-publishing, with a short
    propagation delay."""
    log = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    with sandbox_process(
        log, "--auto-publish", "--propagation-delay", "0.5", "--verify-window", "30", "--dns-port", "0"
    ) as admin:
        yield admin


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, e2e_sandbox: SandboxAdmin) -> Iterator[PulumiProject]:
    """A throwaway copy of the project with a `file://` backend; every stack is destroyed at the end."""
    project = PulumiProject.create(tmp_path_factory.mktemp("e2e"), e2e_sandbox)
    yield project
    project.destroy_all()


@pytest.fixture(scope="module")
def cloudflare_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxAdmin]:
    """`python -m sandbox` for Cloudflare mode: without auto-publish, so DNS serves only what the
    Cloudflare stand-in holds (and what a test publishes by hand for a manual-mode domain)."""
    log = tmp_path_factory.mktemp("cloudflare-sandbox") / "sandbox.log"
    with sandbox_process(
        log, "--propagation-delay", "0.5", "--verify-window", "30", "--dns-port", "0"
    ) as admin:
        yield admin


@pytest.fixture(scope="module")
def cloudflare_project(
    tmp_path_factory: pytest.TempPathFactory, cloudflare_sandbox: SandboxAdmin
) -> Iterator[PulumiProject]:
    """A throwaway project in Cloudflare mode: the plugin in its Pulumi home, the stand-in as Cloudflare."""
    project = PulumiProject.create(
        tmp_path_factory.mktemp("e2e-cloudflare"), cloudflare_sandbox, cloudflare=True
    )
    yield project
    project.destroy_all()
