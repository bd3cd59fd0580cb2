"""Shared fixtures, in one place: the session's sandboxes (one in real time, one whose clock only the test
moves; reset before each test that uses them), fast provider clients, configured providers and captured
logs. Plain helpers live in ``tests/support.py``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest

# `pytest` run without `python -m` does not put the project root on sys.path.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from provider.api import budget as request_budget  # noqa: E402
from provider.api import client as api_client  # noqa: E402
from provider.resources import connection  # noqa: E402
from provider.verify import poller as verification_poller  # noqa: E402
from sandbox import SandboxConfig  # noqa: E402
from sandbox.testing import RecordingSleep, SandboxServer  # noqa: E402
from tests.support import (  # noqa: E402
    FAST_SETTINGS,
    FAST_TIMINGS,
    SANDBOX_CREDENTIALS,
    START,
    CapturedLogs,
    FakeClock,
    RecordingBudget,
    configure_request,
    stack_config,
)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """The sandbox API on 127.0.0.1 and a free port, with its DNS server (``.dns_port``) and the
    credentials of ``tests.support``, for the whole session."""
    with SandboxServer(SandboxConfig(dns_port=0, credentials=SANDBOX_CREDENTIALS, seed=1234)) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, emptied (domains, DNS, counters, faults) and set to fast timings."""
    sandbox_server.reset()
    sandbox_server.set_settings(**FAST_SETTINGS)
    return sandbox_server


@pytest.fixture(scope="session")
def clock() -> FakeClock:
    """The clock of the clocked sandbox: it moves only when the test says so."""
    return FakeClock(START)


@pytest.fixture(scope="session")
def sleeps() -> RecordingSleep:
    """The clocked sandbox's sleep (its latency fault): records each delay and returns at once."""
    return RecordingSleep()


@pytest.fixture(scope="session")
def clocked_server(clock: FakeClock, sleeps: RecordingSleep) -> Iterator[tuple[SandboxServer, FakeClock]]:
    """The session's second sandbox, whose clock (``clock``) only the test moves, with its DNS server: for
    tests in which a verification, a rate limit or a deadline must not move before the test says so. The
    one clocked sandbox of the suite (the sandbox's own tests use it as ``timed``)."""
    config = SandboxConfig(clock=clock, sleep=sleeps, dns_port=0, credentials=SANDBOX_CREDENTIALS, seed=1234)
    with SandboxServer(config) as server:
        yield server, clock


@pytest.fixture
def clocked(
    clocked_server: tuple[SandboxServer, FakeClock],
    fast_clients: None,
    budget: RecordingBudget,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[SandboxServer, FakeClock]:
    """The clocked sandbox, emptied, at ``START``, set to fast timings, with the providers configured for
    it; the process-wide poller runs on the same clock, so its pauses and deadlines pass only when the test
    moves the clock."""
    server, clock = clocked_server
    clock.now = START
    server.reset()
    server.set_settings(**FAST_SETTINGS)
    _configure_providers(server)
    poller = verification_poller.VerificationPoller(lambda: budget.rate_per_second, clock=clock)
    monkeypatch.setattr(verification_poller, "_shared", poller)
    return server, clock


def _configure_providers(server: SandboxServer) -> None:
    from provider import DomainVerificationGroupProvider, DomainVerificationProvider, EmailDomainProvider

    request = configure_request(stack_config(server))
    for provider_class in (EmailDomainProvider, DomainVerificationProvider, DomainVerificationGroupProvider):
        provider_class().configure(request)


@pytest.fixture
def budget() -> RecordingBudget:
    """The request budget every client of the test shares."""
    return RecordingBudget()


@pytest.fixture
def fast_clients(monkeypatch: pytest.MonkeyPatch, budget: RecordingBudget) -> Iterator[None]:
    """Every client the providers make has the tests' timings and takes its slots from the test's budget
    (the process-wide defaults, replaced); no ANYREACH_* from the environment."""
    for name in ("ANYREACH_TOKEN", "ANYREACH_ORGANIZATION", "ANYREACH_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(api_client, "DEFAULT_TIMINGS", FAST_TIMINGS)
    monkeypatch.setattr(request_budget, "_shared", budget)
    yield
    connection.forget_configuration()


@pytest.fixture
def configured(fast_clients: None, sandbox: SandboxServer) -> SandboxServer:
    """Providers configured with our organization's stack config, as the provider host does it."""
    _configure_providers(sandbox)
    return sandbox


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
