"""Shared fixtures: one sandbox server for the whole session, reset before each test that uses it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `pytest` run without `python -m` does not put the project root on sys.path.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sandbox.testing import SandboxServer  # noqa: E402

FAST_SETTINGS = {"propagation_delay": 0.2, "verify_window": 3.0, "auto_publish": False}
"""Timings that keep real-time verification tests short."""


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """The sandbox API on 127.0.0.1 and a free port, for the whole session."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, emptied (domains, DNS, counters, faults) and set to fast timings."""
    sandbox_server.reset()
    sandbox_server.set_settings(**FAST_SETTINGS)
    return sandbox_server
