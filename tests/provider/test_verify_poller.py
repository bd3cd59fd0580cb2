"""The verification poller driven directly, on a clock that moves only when the test says so.

The poller waits through the same :class:`tests.support.FakeClock` as the clocked sandbox (its API, in
process, and its DNS server on loopback), so every pause, backoff, budget share and deadline is a number the
test reads, never a race with real time. A test moves the clock only once every unfinished job is back in the
poller's queue (:meth:`World.settle`), to exactly when the next step is due, and reads what happened from the
requests the client sent, each stamped with the clock's time.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import httpx
import pytest

from provider.api.client import EmailDomainsClient
from provider.api.errors import DomainVerificationError
from provider.api.models import Domain
from provider.dns.checker import DnsCheckMode, DnsCheckSettings, Endpoint, ExpectedRecord
from provider.rules.records import record_full_name
from provider.verify.poller import VerificationPoller, VerificationRequest, VerificationSettings
from sandbox.testing import SandboxServer
from tests.support import START, FakeClock, new_client, wait_for

PROPAGATION = 10.0
"""Sandbox seconds between publishing a record and its DNS serving it."""
CHECK = 1.0
"""Sandbox seconds the provider's check takes after verification is initiated."""
WINDOW = 30.0
"""Sandbox seconds an attempt lasts before it fails."""
DNS_PAUSE = 2.0
"""The poller's pause between two DNS checks (its default, in the first two minutes)."""


@dataclasses.dataclass(frozen=True)
class Call:
    """One request the client sent, at a time of the fake clock."""

    at: float
    method: str
    path: str

    @property
    def kind(self) -> str:
        """``verify``, ``refresh``, or the method and path of anything else."""
        for kind in ("verify", "refresh"):
            if self.path.endswith(f"/{kind}"):
                return kind
        return f"{self.method} {self.path}"


class RecordingTransport(httpx.BaseTransport):
    """The sandbox app in process, noting each request with the clock's time."""

    def __init__(self, inner: httpx.BaseTransport, clock: FakeClock) -> None:
        self._inner = inner
        self._clock = clock
        self._lock = threading.Lock()
        self.calls: list[Call] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.calls.append(Call(self._clock(), request.method, request.url.path))
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@dataclasses.dataclass
class World:
    """The clocked sandbox, a client of it, and a poller of our own on the same clock."""

    sandbox: SandboxServer
    clock: FakeClock
    transport: RecordingTransport
    client: EmailDomainsClient
    poller: VerificationPoller
    rate: float = 1000.0
    """The request budget's rate the poller divides among its polling jobs."""
    logs: list[str] = dataclasses.field(default_factory=list)
    futures: list[Future[Domain]] = dataclasses.field(default_factory=list)

    # -- the platform ---------------------------------------------------------------------------

    def register(self, name: str = "acme.com") -> Domain:
        """Register ``name``; its records are not published."""
        return self.client.register(name)

    def make_verified(self, domain: Domain) -> None:
        """Publish every record and let a verification complete (clock moved by the test)."""
        self.sandbox.publish(domain.domain)
        self.clock.advance(PROPAGATION)
        self.client.verify(domain.id)
        self.clock.advance(CHECK)
        assert self.client.refresh(domain.id).is_verified

    def request(
        self,
        domain: Domain,
        *,
        checked: Callable[[ExpectedRecord], bool] = lambda record: True,
        planned: tuple[tuple[str, str], ...] | None = None,
        **settings: Any,
    ) -> VerificationRequest:
        """A request for ``domain`` whose DNS check asks the sandbox's DNS server for the records that
        ``checked`` keeps (the keys of all of them are planned unless ``planned`` says otherwise)."""
        records = tuple(
            ExpectedRecord(
                record.type, record_full_name(record.name, domain.domain), record.value, record.priority
            )
            for record in domain.dns_records
        )
        port = self.sandbox.dns_port
        return VerificationRequest(
            domain_id=domain.id,
            domain=domain.domain,
            records=tuple(record for record in records if checked(record)),
            planned=planned
            if planned is not None
            else tuple((record.type, record.name) for record in records),
            settings=VerificationSettings(**settings),
            dns_check=DnsCheckSettings(
                mode=DnsCheckMode.AUTHORITATIVE,
                resolvers=(Endpoint("127.0.0.1", port),),
                nameserver_port=port,
                timeout=10.0,
            ),
        )

    def submit(self, request: VerificationRequest) -> Future[Domain]:
        """Start waiting for ``request``."""
        future = self.poller.submit(request, self.client, log=self.logs.append)
        self.futures.append(future)
        return future

    # -- driving the clock ----------------------------------------------------------------------

    def settle(self) -> float | None:
        """Wait until every unfinished job is back in the poller's queue, none of them due (steps under
        way have ended and scheduled their next one); return how long until the next is due, or None when
        every job has ended."""
        poller = self.poller

        def due_times() -> list[float] | None:
            with poller._lock:
                queued = [entry[0] for entry in poller._queue]
            live = sum(not future.done() for future in self.futures)
            now = self.clock()
            return queued if len(queued) == live and all(at > now for at in queued) else None

        wait_for(lambda: due_times() is not None, "every job back in the poller's queue")
        queued = due_times()
        assert queued is not None
        return min(queued) - self.clock() if queued else None

    def step(self) -> float:
        """Move the clock to the next due step; return by how much."""
        delay = self.settle()
        assert delay is not None, "no job left to run"
        self.clock.advance(delay)
        return delay

    def run_until(self, condition: Callable[[], bool], what: str, steps: int = 500) -> None:
        """Step until ``condition`` holds (checked with every job back in the queue)."""
        for _ in range(steps):
            self.settle()
            if condition():
                return
            self.step()
        raise AssertionError(f"not after {steps} steps of the schedule: {what}")

    def finish(self, future: Future[Domain]) -> None:
        """Step until ``future`` is done."""
        self.run_until(future.done, "the job ended")

    # -- what happened --------------------------------------------------------------------------

    def times(self, kind: str) -> list[float]:
        """When each request of ``kind`` (``verify``, ``refresh``) was sent, on the fake clock."""
        return [call.at for call in self.transport.calls if call.kind == kind]

    def kinds(self) -> list[str]:
        """The kinds of the requests sent about domains so far (registration and listing left out)."""
        return [call.kind for call in self.transport.calls if call.kind in ("verify", "refresh")]


@pytest.fixture
def world(clocked_server: tuple[SandboxServer, FakeClock], clock: FakeClock) -> Iterator[World]:
    """The clocked sandbox, emptied, at START; a client of its app in process (one attempt per request,
    so that a 5xx reaches the poller); a poller of its own whose budget rate is ``World.rate``."""
    sandbox, _ = clocked_server
    clock.now = START
    sandbox.reset()
    sandbox.set_settings(
        propagation_delay=PROPAGATION,
        verify_window=WINDOW,
        check_delay=CHECK,
        negative_cache=0,
        auto_publish=False,
    )
    transport = RecordingTransport(httpx.WSGITransport(app=sandbox.app), clock)
    holder: dict[str, World] = {}
    poller = VerificationPoller(lambda: holder["world"].rate, clock=clock)
    with new_client(
        "http://127.0.0.1", sandbox.token, sandbox.organization, transport=transport, retry_deadline=0
    ) as client:
        world = holder["world"] = World(sandbox, clock, transport, client, poller)
        yield world
        # Jobs a test left waiting end past their deadline, so that no schedule outlives its test.
        if not all(future.done() for future in world.futures):
            clock.advance(10**7)
            world.run_until(lambda: all(future.done() for future in world.futures), "every job ended")


# -- what is read, and what fails at once ----------------------------------------------------------------


def test_a_verified_domain_is_only_read(world: World) -> None:
    domain = world.register()
    world.make_verified(domain)
    before = len(world.transport.calls)
    future = world.submit(world.request(domain))
    world.finish(future)
    assert future.result().is_verified
    assert [call.kind for call in world.transport.calls[before:]] == ["refresh"]


def test_records_the_stack_does_not_publish_fail_at_once_after_one_read(world: World) -> None:
    domain = world.register()
    planned = (("TXT", "resend._domainkey"), ("MX", "send"), ("TXT", "send"), ("MX", "@"))  # no _dmarc
    future = world.submit(world.request(domain, planned=planned))
    world.finish(future)
    error = future.exception()
    assert isinstance(error, DomainVerificationError)
    assert str(error).startswith(
        "waiting for Email Domain (acme.com) verification: the platform asks for 1 DNS record(s) this stack "
        "does not publish"
    )
    assert "TXT _dmarc.acme.com" in str(error)
    assert world.kinds() == ["refresh"]
    assert world.clock() == START  # nothing waited


# -- DNS first ---------------------------------------------------------------------------------------------


def test_verification_is_initiated_only_once_dns_serves_every_record(world: World) -> None:
    domain = world.register()
    future = world.submit(world.request(domain))
    assert world.settle() == pytest.approx(DNS_PAUSE)  # read, DNS checked once: not served, check again
    assert world.kinds() == ["refresh"]
    assert any("waiting for DNS before initiating verification" in line for line in world.logs)
    world.sandbox.publish("acme.com")  # DNS serves the records PROPAGATION seconds from now
    world.run_until(lambda: world.times("verify") != [], "verification initiated")
    assert world.times("verify") == [START + PROPAGATION]  # the first DNS check that saw them, not before
    assert any("every record is served in DNS now" in line for line in world.logs)
    world.finish(future)
    assert future.result().is_verified
    assert world.times("verify") == [START + PROPAGATION]


# -- the status reads ----------------------------------------------------------------------------------


def test_status_reads_back_off_by_half_from_the_poll_interval_up_to_the_cap(world: World) -> None:
    domain = world.register()
    # One record is planned but neither checked in DNS nor published: the attempt stays pending.
    request = world.request(
        domain,
        checked=lambda record: record.type != "MX",
        poll_interval_seconds=1.0,
        max_poll_interval_seconds=4.0,
        timeout_seconds=600,
    )
    world.sandbox.publish("acme.com", type="TXT")
    world.clock.advance(PROPAGATION)
    future = world.submit(request)
    world.run_until(lambda: len(world.times("refresh")) == 8, "seven polls")
    [initiated] = world.times("verify")
    read, *polls = world.times("refresh")
    assert read == initiated == START + PROPAGATION
    pauses = [later - earlier for earlier, later in itertools.pairwise([initiated, *polls])]
    assert pauses == pytest.approx([1.0, 1.5, 2.25, 3.375, 4.0, 4.0, 4.0])
    assert not future.done()


def test_status_reads_never_come_faster_than_the_jobs_share_of_the_budget(world: World) -> None:
    world.rate = 0.25  # one poll every 4 s for the whole process
    domain = world.register()
    request = world.request(
        domain, checked=lambda record: False, poll_interval_seconds=0.5, timeout_seconds=600
    )
    future = world.submit(request)
    world.run_until(lambda: len(world.times("refresh")) == 4, "three polls")
    [initiated] = world.times("verify")
    _read, *polls = world.times("refresh")
    assert [later - earlier for earlier, later in itertools.pairwise([initiated, *polls])] == pytest.approx(
        [4.0] * 3
    )
    assert not future.done()


def test_the_budget_share_shrinks_with_every_job_that_polls(world: World) -> None:
    world.rate = 1.0
    domains = [world.register(name) for name in ("a.example.com", "b.example.com")]
    futures = [
        world.submit(
            world.request(
                domain, checked=lambda record: False, poll_interval_seconds=0.5, max_poll_interval_seconds=0.5
            )
        )
        for domain in domains
    ]

    def reads(domain: Domain) -> list[float]:
        return [
            call.at for call in world.transport.calls if call.kind == "refresh" and domain.id in call.path
        ]

    world.run_until(lambda: all(len(reads(domain)) >= 6 for domain in domains), "five polls of each")
    for domain in domains:
        _read, _first_poll, *later = reads(domain)  # the first poll may come before the other job polls
        # Two jobs poll: each gets half of the 1 request/s, its own 0.5 s backoff notwithstanding.
        assert [b - a for a, b in itertools.pairwise(later)] == pytest.approx([2.0] * (len(later) - 1))
    assert not any(future.done() for future in futures)


# -- failed attempts -----------------------------------------------------------------------------------


def test_a_failed_attempt_goes_back_to_dns_and_verification_is_initiated_again_up_to_the_limit(
    world: World,
) -> None:
    domain = world.register()
    # MX @ is planned but never published (nor checked): every attempt fails when its window ends.
    request = world.request(
        domain,
        checked=lambda record: (record.type, record.name) != ("MX", "acme.com"),
        max_verify_attempts=2,
        poll_interval_seconds=5.0,
        max_poll_interval_seconds=5.0,
        timeout_seconds=600,
    )
    world.sandbox.publish("acme.com", type="TXT")
    world.sandbox.publish("acme.com", type="MX", name="send")
    world.clock.advance(PROPAGATION)
    future = world.submit(request)
    world.run_until(lambda: world.times("verify") != [], "the first attempt")
    first = world.clock()
    # While it runs, a checked record disappears from DNS: after the failure, DNS is checked again first.
    world.sandbox.unpublish("acme.com", type="TXT", name="_dmarc")
    world.run_until(lambda: any("_dmarc" in line for line in world.logs), "DNS found _dmarc missing")
    failed_at = world.clock()
    assert failed_at >= first + WINDOW
    assert len(world.times("verify")) == 1  # not initiated again while DNS lacks a record
    world.sandbox.publish("acme.com", type="TXT", name="_dmarc")
    republished = world.clock()
    world.finish(future)
    second = world.times("verify")[1]
    assert second >= republished + PROPAGATION  # only once DNS served it again
    error = future.exception()
    assert isinstance(error, DomainVerificationError)
    assert str(error).startswith(
        "waiting for Email Domain (acme.com) verification: verification failed 2 time(s) "
        "(domain status failed)"
    )
    assert "MX acme.com = 10 inbound-smtp.us-east-1.amazonaws.com (status failed)" in str(error)
    assert len(world.times("verify")) == 2
    assert world.clock() >= second + WINDOW  # the second attempt ran its course too


# -- deadlines -------------------------------------------------------------------------------------------


def test_the_deadline_while_dns_lacks_records_names_them_and_initiates_nothing(world: World) -> None:
    domain = world.register()
    future = world.submit(world.request(domain, timeout_seconds=9))
    world.finish(future)
    error = future.exception()
    assert isinstance(error, DomainVerificationError)
    message = str(error)
    assert message.startswith(
        "waiting for Email Domain (acme.com) verification: not verified within 9 s: 5 DNS record(s) are not "
        "served by every authoritative nameserver yet, so verification was not initiated"
    )
    assert "_dmarc.acme.com" in message
    assert world.kinds() == ["refresh"]
    assert world.clock() == START + 9  # the last check comes at the deadline, not a pause later


def test_the_deadline_while_polling_says_how_far_verification_got(world: World) -> None:
    domain = world.register()
    request = world.request(
        domain, checked=lambda record: False, timeout_seconds=20, poll_interval_seconds=2.0
    )
    future = world.submit(request)
    world.finish(future)
    error = future.exception()
    assert isinstance(error, DomainVerificationError)
    message = str(error)
    assert message.startswith(
        "waiting for Email Domain (acme.com) verification: not verified within 20 s (domain status pending, "
        "1 verification attempt(s)); 5 DNS record(s) not verified yet"
    )
    assert world.kinds()[:2] == ["refresh", "verify"]
    *_earlier, before_deadline, at_deadline = world.times("refresh")
    assert before_deadline < START + 20 <= at_deadline == world.clock()  # the first poll past the deadline


# -- transient errors ----------------------------------------------------------------------------------


def test_transient_errors_are_retried_and_are_no_new_attempt(world: World) -> None:
    domain = world.register()
    request = world.request(
        domain, checked=lambda record: False, poll_interval_seconds=1.0, timeout_seconds=600
    )
    world.sandbox.set_faults(error_rate=1.0)  # every request answers 5xx: the first read fails
    future = world.submit(request)
    world.run_until(lambda: len(world.times("refresh")) == 3, "the read tried three times")
    assert world.times("verify") == []
    world.sandbox.set_faults(error_rate=0.0)
    world.run_until(lambda: world.times("verify") != [], "verification initiated")
    world.sandbox.set_faults(error_rate=1.0)  # now the polls fail
    polls_before = len(world.times("refresh"))
    world.run_until(lambda: len(world.times("refresh")) == polls_before + 3, "three polls failed")
    world.sandbox.set_faults(error_rate=0.0)
    world.sandbox.publish("acme.com")
    world.finish(future)
    assert future.result().is_verified
    assert len(world.times("verify")) == 1  # a failed read is not a failed attempt
    assert world.sandbox.route_count(status="5") == 6
