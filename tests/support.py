"""What tests share besides fixtures: credentials of the session sandbox, fast timings, a recording request
budget, a condition waiter, captured logs, and the stack config the providers receive.

The pytest fixtures built on these live in ``tests/conftest.py``; test modules import these names from
here (a conftest is not a module to import from).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi.dynamic
import pytest

from provider.api.budget import RequestBudget
from sandbox import SCOPE_MANAGE, SCOPE_READ, Credential
from sandbox.testing import SandboxServer

OUR_TOKEN = "tok_OURS_5a1c9e77d2b04f8e"
"""A token distinctive enough that finding it anywhere (state, logs, messages) is certainly a leak."""
OUR_ORG = "org_acme"
OTHER_TOKEN = "tok_OTHER_91be3f0c6a2d4471"
OTHER_ORG = "org_globex"
READ_ONLY_TOKEN = "tok_READONLY_0d4e8b2f9c13"

SANDBOX_CREDENTIALS = (
    Credential(OUR_TOKEN, OUR_ORG, frozenset({SCOPE_MANAGE})),
    Credential(OTHER_TOKEN, OTHER_ORG, frozenset({SCOPE_MANAGE})),
    Credential(READ_ONLY_TOKEN, OUR_ORG, frozenset({SCOPE_READ})),
)
"""Besides the built-in ``dev-token``: our organization, another one, and a read-only token of ours."""

FAST_SETTINGS: dict[str, Any] = {
    "propagation_delay": 0.2,
    "verify_window": 3.0,
    "auto_publish": False,
    "check_delay": 0.2,
    "negative_cache": 0.0,
}
"""Sandbox timings that keep real-time verification tests short (verify still answers pending)."""

FAST_CLIENT: dict[str, Any] = {
    "timeout": 5.0,
    "retry_deadline": 5.0,
    "backoff_initial": 0.01,
    "backoff_max": 0.1,
    "retry_after_max": 0.2,
}
"""Client settings for tests: tiny backoffs, short deadlines."""


class RecordingBudget(RequestBudget):
    """A fast request budget that counts the slots it hands out (every HTTP attempt must take one),
    records the deadline of each request and every pause, and can refuse a slot (``grant``)."""

    def __init__(
        self,
        rate_per_second: float = 500.0,
        burst: int = 20,
        grant: Callable[[int], bool] = lambda n: True,
        *,
        pauses: bool = True,
    ) -> None:
        super().__init__(rate_per_second, burst)
        self.pauses = pauses
        """Whether :meth:`pause` really pauses (False: it only records)."""
        self.slots = 0
        self.acquired: list[float | None] = []
        self.paused: list[float] = []
        self._grant = grant
        self._count_lock = threading.Lock()

    def acquire(self, deadline: float | None = None) -> bool:
        """Take a slot (unless ``grant`` refuses the n-th) and count it."""
        with self._count_lock:
            self.acquired.append(deadline)
            if not self._grant(len(self.acquired)):
                return False
        taken = super().acquire(deadline)
        with self._count_lock:
            self.slots += taken
        return taken

    def pause(self, seconds: float) -> None:
        """Record the pause, then pause (if ``pauses``)."""
        self.paused.append(seconds)
        if self.pauses:
            super().pause(seconds)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Check ``condition`` until it holds; fail with ``what`` after a generous ``timeout`` (never a timing
    assertion: the condition is what the test is about)."""
    event = threading.Event()
    checks = max(1, int(timeout / 0.01))
    for _ in range(checks):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError(f"never happened within {timeout:g} s: {what}")


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
