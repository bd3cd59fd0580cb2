"""Fixtures for the sandbox's own tests: a server whose clock the test moves, and extra credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox import SCOPE_MANAGE, SCOPE_READ, Credential, SandboxConfig
from sandbox.testing import ManualClock, RecordingSleep, SandboxServer

START = 1_800_000_000.0
DELAY = 10.0
WINDOW = 100.0
CHECK = 2.0

READER = Credential("reader-token", "org_dev", frozenset({SCOPE_READ}))
NO_SCOPE = Credential("noscope-token", "org_dev", frozenset({"email_domains:other"}))
OTHER_ORG = Credential("other-token", "org_other", frozenset({SCOPE_MANAGE}))


@pytest.fixture(scope="session")
def sleeps() -> RecordingSleep:
    """The sleep function of the ``timed`` server (cleared for each test by ``timed``)."""
    return RecordingSleep()


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    """The clock of the ``timed`` server."""
    return ManualClock(START)


@pytest.fixture(scope="session")
def timed_server(clock: ManualClock, sleeps: RecordingSleep) -> Iterator[SandboxServer]:
    """A sandbox on loopback with an injected clock, the extra credentials above and a DNS server."""
    config = SandboxConfig(
        clock=clock,
        sleep=sleeps,
        credentials=(READER, NO_SCOPE, OTHER_ORG),
        propagation_delay=DELAY,
        verify_window=WINDOW,
        check_delay=CHECK,
        seed=7,
        dns_port=0,
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def timed(timed_server: SandboxServer, clock: ManualClock, sleeps: RecordingSleep) -> SandboxServer:
    """The timed sandbox, emptied, at START, with DELAY/WINDOW/CHECK timings, no negative cache and
    no auto-publish."""
    clock.now = START
    sleeps.calls.clear()
    timed_server.reset()
    timed_server.set_settings(
        propagation_delay=DELAY, verify_window=WINDOW, check_delay=CHECK, negative_cache=0, auto_publish=False
    )
    return timed_server


@pytest.fixture
def api(timed: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the timed sandbox with the default credential (dev-token / org_dev)."""
    with timed.client() as client:
        yield client


@pytest.fixture
def register(api: httpx.Client) -> Callable[[str], dict[str, Any]]:
    """Register a domain with the default credential and return the domain object."""

    def _register(domain: str) -> dict[str, Any]:
        response = api.post("/core/email-domains", json={"domain": domain})
        assert response.status_code == 201, response.text
        body = response.json()
        assert isinstance(body, dict)
        return body

    return _register
