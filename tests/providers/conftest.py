"""Fixtures of the provider tests: a sandbox with two organizations, configured providers, captured logs.

The providers run in this process exactly as the provider host runs them: ``configure()`` with a
stack config, then the lifecycle methods, against the real sandbox server on 127.0.0.1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.dynamic
import pytest

from provider import _lifecycle
from provider.ratelimit import RequestBudget
from sandbox._config import SCOPE_MANAGE, SCOPE_READ, Credential, SandboxConfig
from sandbox.testing import SandboxServer

OUR_TOKEN = "tok_OURS_5a1c9e77d2b04f8e"
"""A token distinctive enough that finding it anywhere (state, logs, messages) is certainly a leak."""
OUR_ORG = "org_acme"
OTHER_TOKEN = "tok_OTHER_91be3f0c6a2d4471"
OTHER_ORG = "org_globex"
READ_ONLY_TOKEN = "tok_READONLY_0d4e8b2f9c13"

FAST: dict[str, Any] = {"propagation_delay": 0.2, "verify_window": 3.0, "auto_publish": False}
"""Sandbox timings that keep verification tests short."""


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """The sandbox with two organizations (ours and another) besides the default credential.

    Overrides the session fixture of ``tests/conftest.py`` for this directory, so its ``sandbox``
    fixture (reset + fast timings before each test) serves this server.
    """
    config = SandboxConfig(
        credentials=(
            Credential(OUR_TOKEN, OUR_ORG, frozenset({SCOPE_MANAGE})),
            Credential(OTHER_TOKEN, OTHER_ORG, frozenset({SCOPE_MANAGE})),
            Credential(READ_ONLY_TOKEN, OUR_ORG, frozenset({SCOPE_READ})),
        ),
        seed=1234,
        **FAST,
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, emptied (domains, DNS, counters, faults) and set to fast timings."""
    sandbox_server.reset()
    sandbox_server.set_settings(**FAST)
    return sandbox_server


def stack_config(
    sandbox: SandboxServer, token: str = OUR_TOKEN, organization: str = OUR_ORG
) -> dict[str, str]:
    """A stack config as ``configure()`` receives it (secrets decrypted)."""
    return {
        "anyreach:token": token,
        "anyreach:organization": organization,
        "anyreach:baseUrl": sandbox.base_url,
    }


def configure_request(config: dict[str, Any]) -> pulumi.dynamic.ConfigureRequest:
    """The request the provider host builds from the engine's Configure call."""
    return pulumi.dynamic.ConfigureRequest(pulumi.dynamic.Config(raw_config=config, project_name="test"))


class CountingBudget(RequestBudget):
    """A fast budget that counts the slots it hands out (every HTTP attempt must take one)."""

    def __init__(self, rate_per_second: float = 500.0, burst: int = 20) -> None:
        super().__init__(rate_per_second, burst)
        self.slots = 0

    def acquire(self, deadline: float | None = None) -> bool:
        """Take a slot and count it."""
        taken = super().acquire(deadline)
        self.slots += taken
        return taken


@pytest.fixture
def budget() -> CountingBudget:
    """The request budget every client of the test shares."""
    return CountingBudget()


@pytest.fixture
def fast_clients(monkeypatch: pytest.MonkeyPatch, budget: CountingBudget) -> Iterator[None]:
    """Short client deadlines and backoffs, the test's budget, and no ANYREACH_* from the environment."""
    for name in ("ANYREACH_TOKEN", "ANYREACH_ORGANIZATION", "ANYREACH_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        _lifecycle,
        "CLIENT_OPTIONS",
        {
            "budget": budget,
            "timeout": 5.0,
            "retry_deadline": 5.0,
            "backoff_initial": 0.01,
            "backoff_max": 0.1,
            "retry_after_max": 0.2,
        },
    )
    yield
    _lifecycle.forget_configuration()


@pytest.fixture
def configured(fast_clients: None, sandbox: SandboxServer) -> SandboxServer:
    """Providers configured with our organization's stack config, as the provider host does it."""
    from provider import DomainVerificationProvider, EmailDomainProvider

    request = configure_request(stack_config(sandbox))
    EmailDomainProvider().configure(request)
    DomainVerificationProvider().configure(request)
    return sandbox


@dataclass
class CapturedLogs:
    """Every message sent through pulumi.log or Python logging during a test."""

    caplog: pytest.LogCaptureFixture
    entries: list[tuple[str, str]] = field(default_factory=list)

    def of(self, level: str) -> list[str]:
        """pulumi.log messages of one level (``info``, ``warn``, ``error``, ``debug``)."""
        return [message for kind, message in self.entries if kind == level]

    def text(self) -> str:
        """Everything logged so far, pulumi.log and Python logging, one message a line."""
        messages = [message for _, message in self.entries]
        messages += [record.getMessage() for record in self.caplog.records]
        return "\n".join(messages)


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> CapturedLogs:
    """Capture pulumi.log calls and Python log records."""
    captured = CapturedLogs(caplog)
    for level in ("debug", "info", "warn", "error"):
        monkeypatch.setattr(
            pulumi.log,
            level,
            lambda msg, *args, _level=level, **kwargs: captured.entries.append((_level, str(msg))),
        )
    caplog.set_level(logging.DEBUG)
    return captured
