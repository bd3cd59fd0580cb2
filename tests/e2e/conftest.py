"""End-to-end fixtures: the real Pulumi CLI, `python -m sandbox` and a throwaway local backend.

The tests run whenever a `pulumi` CLI is on PATH (`make test` puts the pinned build from `make pulumi`
there). With ANYREACH_REQUIRE_E2E=1 (set by `make test`), a missing CLI is an error, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox.testing import SandboxAdmin

from .harness import PULUMI, PulumiProject, sandbox_process


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (or, when required, fail) the end-to-end tests when no Pulumi CLI is available."""
    if PULUMI is not None:
        return
    if os.environ.get("ANYREACH_REQUIRE_E2E") == "1":
        raise pytest.UsageError(
            "ANYREACH_REQUIRE_E2E=1 but no `pulumi` CLI is on PATH: run `make pulumi` (builds .tools/bin) "
            "or install the Pulumi CLI"
        )
    skip = pytest.mark.skip(reason="no pulumi CLI on PATH (make pulumi builds one into .tools/bin)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


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
