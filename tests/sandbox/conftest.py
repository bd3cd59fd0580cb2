"""Fixtures for the sandbox's own tests: the suite's clocked sandbox (``tests/conftest.py``) at the timings
below, a client of it, and a way to register."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox.testing import RecordingSleep, SandboxServer
from tests.support import START, FakeClock

DELAY = 10.0
WINDOW = 100.0
CHECK = 2.0


@pytest.fixture
def timed(
    clocked_server: tuple[SandboxServer, FakeClock], clock: FakeClock, sleeps: RecordingSleep
) -> SandboxServer:
    """The clocked sandbox (its DNS server, the extra credentials of ``tests.support``), emptied, at START,
    with DELAY/WINDOW/CHECK timings, no negative cache and no auto-publish."""
    timed_server, _ = clocked_server
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
