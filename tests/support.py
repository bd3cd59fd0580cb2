"""What tests share besides fixtures: credentials of the session sandboxes, fast timings, the one client
factory, a recording request budget, a clock that moves only when told (for the sandbox and the poller), a
condition waiter, captured logs, and the stack config the providers receive.

The pytest fixtures built on these live in ``tests/conftest.py``; test modules import these names from
here (a conftest is not a module to import from).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi.dynamic
import pytest

from provider.api.budget import RequestBudget
from provider.api.client import ClientTimings, EmailDomainsClient
from sandbox import SCOPE_MANAGE, SCOPE_READ, Credential
from sandbox.testing import ManualClock, SandboxServer

OUR_TOKEN = "tok_OURS_5a1c9e77d2b04f8e"
"""A token distinctive enough that finding it anywhere (state, logs, messages) is certainly a leak."""
OUR_ORG = "org_acme"
OTHER_TOKEN = "tok_OTHER_91be3f0c6a2d4471"
OTHER_ORG = "org_globex"
READ_ONLY_TOKEN = "tok_READONLY_0d4e8b2f9c13"

SANDBOX_READER = Credential("reader-token", "org_dev", frozenset({SCOPE_READ}))
"""A read-only token of the sandbox's default organization (the sandbox's own tests)."""
SANDBOX_NO_SCOPE = Credential("noscope-token", "org_dev", frozenset({"email_domains:other"}))
"""A token of the default organization without any email-domain scope."""
SANDBOX_OTHER_ORG = Credential("other-token", "org_other", frozenset({SCOPE_MANAGE}))
"""A token of another organization, for the sandbox's own tests."""

SANDBOX_CREDENTIALS = (
    Credential(OUR_TOKEN, OUR_ORG, frozenset({SCOPE_MANAGE})),
    Credential(OTHER_TOKEN, OTHER_ORG, frozenset({SCOPE_MANAGE})),
    Credential(READ_ONLY_TOKEN, OUR_ORG, frozenset({SCOPE_READ})),
    SANDBOX_READER,
    SANDBOX_NO_SCOPE,
    SANDBOX_OTHER_ORG,
)
"""Besides the built-in ``dev-token``: our organization, another one, a read-only token of ours, and the
tokens the sandbox's own tests use."""

START = 1_800_000_000.0
"""Where the clock of the clocked sandbox stands at the start of each test (epoch seconds)."""

FAST_SETTINGS: dict[str, Any] = {
    "propagation_delay": 0.2,
    "verify_window": 3.0,
    "auto_publish": False,
    "check_delay": 0.2,
    "negative_cache": 0.0,
}
"""Sandbox timings that keep real-time verification tests short (verify still answers pending)."""

FAST_TIMINGS = ClientTimings(
    timeout=5.0, retry_deadline=5.0, backoff_initial=0.001, backoff_max=0.01, retry_after_max=0.01
)
"""Client timings for tests: tiny backoffs and Retry-After waits; deadlines that a passing call never
reaches."""


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
        on_pause: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        super().__init__(rate_per_second, burst)
        self.pauses = pauses
        """Whether :meth:`pause` really pauses (False: it only records)."""
        self.on_pause = on_pause
        """Called with every pause, before it takes effect (e.g. to let a sandbox's clock move by the
        Retry-After that caused it)."""
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
        """Record the pause, call ``on_pause``, then pause (if ``pauses``)."""
        self.paused.append(seconds)
        self.on_pause(seconds)
        if self.pauses:
            super().pause(seconds)


def new_client(base_url: str, token: str, organization: str, **settings: Any) -> EmailDomainsClient:
    """The tests' one way to make an :class:`EmailDomainsClient`: :data:`FAST_TIMINGS` and a
    :class:`RecordingBudget` of its own, unless ``settings`` (the client's keyword arguments) say otherwise.
    The caller closes it."""
    arguments: dict[str, Any] = {**dataclasses.asdict(FAST_TIMINGS), "budget": RecordingBudget(), **settings}
    return EmailDomainsClient(token, organization, base_url, **arguments)


class FakeClock(ManualClock):
    """A clock that moves only when told, for a sandbox (``SandboxConfig(clock=...)``) and for a
    :class:`provider.verify.poller.VerificationPoller` (``clock=...``) at the same time.

    The poller waits through :meth:`wait`, which returns only when its condition is notified: by the
    poller itself, or by every move of this clock (``advance`` or setting ``now``), so each step the move
    made due runs. Nothing here waits for real time.

    A test moves the clock when the poller is still: :meth:`settle` waits until the poller's schedule waits
    for a time to come (with one job: the job is back in the queue, not due), and :meth:`step` moves the
    clock to that time, so that a step never starts while the previous one is still scheduling itself.
    """

    def __init__(self, now: float = START) -> None:
        self._waiters: weakref.WeakSet[threading.Condition] = weakref.WeakSet()
        self._sleeping: dict[object, float] = {}
        self._waiters_lock = threading.Lock()
        self._now = now
        super().__init__(now)

    @property  # type: ignore[override]
    def now(self) -> float:
        """Current time in seconds; setting it (even backwards) wakes every waiter."""
        return self._now

    @now.setter
    def now(self, value: float) -> None:
        self._now = value
        with self._waiters_lock:
            waiters = list(self._waiters)
        for condition in waiters:
            with condition:
                condition.notify_all()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait (``condition`` held) until the condition is notified or the clock moves. The first wait on a
        condition returns at once: it registers the condition, and the caller, which checks again, may
        have read the time before a move that could not wake it yet."""
        token = object()
        with self._waiters_lock:
            first = condition not in self._waiters
            self._waiters.add(condition)
            if not first and timeout is not None:
                self._sleeping[token] = self._now + timeout
        if first:
            return
        try:
            condition.wait()
        finally:
            with self._waiters_lock:
                self._sleeping.pop(token, None)

    def until_wake(self) -> float | None:
        """How long until the earliest waiter that waits for a time wants to wake; None if none does."""
        with self._waiters_lock:
            return min(self._sleeping.values()) - self._now if self._sleeping else None

    def settle(self, until: Callable[[], bool] = lambda: False) -> float | None:
        """Wait until a waiter waits for a time still to come, and return how long until then; or until
        ``until()`` holds, and return None."""
        found: list[float] = []

        def still() -> bool:
            if until():
                return True
            wake = self.until_wake()
            if wake is not None and wake > 0:
                found.append(wake)
                return True
            return False

        wait_for(still, "the poller waits for its next step")
        return found[-1] if found and not until() else None

    def step(self) -> float:
        """Move the clock to when the poller's next step is due (once it waits for it); return by how much."""
        delay = self.settle()
        assert delay is not None
        self.advance(delay)
        return delay

    def step_until(self, condition: Callable[[], bool], what: str, steps: int = 500) -> None:
        """Move the clock from step to step of the poller until ``condition`` holds."""
        for _ in range(steps):
            delay = self.settle(until=condition)
            if delay is None:
                return
            self.advance(delay)
        raise AssertionError(f"not after {steps} steps of the poller: {what}")


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


def in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``target`` in a started thread; the dict receives ``result`` or ``error`` (an exception of the
    target, handed to the test thread)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def finished(thread: threading.Thread, what: str, timeout: float = 60.0) -> None:
    """Join ``thread``; fail with ``what`` after a generous ``timeout`` (never a timing assertion)."""
    thread.join(timeout)
    if thread.is_alive():
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
