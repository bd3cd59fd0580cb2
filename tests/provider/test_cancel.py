"""The engine's ``Cancel`` in the provider host process (``provider.host.provider_host.cancel``): every wait
ends at once saying how far it got, a registration under way finishes, nothing new starts, and no request
is sent for a wait after it. The same through the SDK's own host: tests/provider/test_provider_host_grpc.py;
under the real CLI with SIGINT and SIGTERM: tests/e2e/test_cancel_e2e.py."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from provider import DomainVerificationGroupProvider, EmailDomainProvider
from provider.api import budget as request_budget
from provider.api.client import EmailDomainsClient
from provider.api.errors import CancelledError
from provider.api.status import status_domain
from provider.dns.checker import DnsCheckMode, DnsCheckSettings
from provider.host import provider_host
from provider.resources.domain_verification_group import VerificationGroupError
from provider.verify import poller as verification_poller
from provider.verify.poller import VerificationRequest
from sandbox.testing import SandboxServer
from tests.provider.verification_helpers import group_inputs, member, register, registered_elsewhere
from tests.support import (
    OUR_ORG,
    OUR_TOKEN,
    CapturedLogs,
    FakeClock,
    RecordingBudget,
    finished,
    in_thread,
    wait_for,
)

VERIFY = "POST /core/email-domains/{id}/verify"


@pytest.fixture
def host_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that the engine has not asked to stop yet (and forgets that it did after the test)."""
    monkeypatch.setattr(provider_host, "_cancelled", threading.Event())
    monkeypatch.setattr(verification_poller, "_shared_cancelled", False)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Every client's budget slot waits until the returned event is set: a call that has not been sent yet
    can be held there, as one waiting for its slot behind many others is."""
    opened = threading.Event()
    budget = RecordingBudget(grant=lambda _n: opened.wait(60) or True)
    monkeypatch.setattr(request_budget, "_shared", budget)
    return opened


@pytest.fixture
def read_ended(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set when a poller's status read has ended (sent or not): the moment after which a read that was
    still to be sent would have reached the API."""
    ended = threading.Event()

    def observed_read(client: Any, domain_id: str) -> Any:
        try:
            return status_domain(client, domain_id)
        finally:
            ended.set()

    monkeypatch.setattr(verification_poller, "status_domain", observed_read)
    return ended


def test_cancel_ends_every_wait_at_once_saying_how_far_each_got(
    clocked: tuple[SandboxServer, FakeClock], host_state: None, logs: CapturedLogs
) -> None:
    sandbox, clock = clocked
    waiting = [register(f"wait-{n}.example.com") for n in range(2)]
    done = registered_elsewhere(sandbox, "done.example.com")
    sandbox.publish("done.example.com")
    clock.advance(1)  # its records propagate
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        http.post(f"/core/email-domains/{done['id']}/verify").raise_for_status()
    clock.advance(1)  # its check completes: verified
    members = [member(domain) for domain in [*waiting, done]]
    thread, outcome = in_thread(
        lambda: DomainVerificationGroupProvider().create(group_inputs(sandbox, members))
    )
    wait_for(
        lambda: sum("waiting for DNS before initiating verification" in m for m in logs.of("info")) == 2,
        "both new domains wait for DNS",
    )
    before = sandbox.route_count()

    provider_host.cancel()  # what the engine's Cancel does; the clock does not move: nothing waits for it

    finished(thread, "the group create ended")
    error = outcome.get("error")
    assert isinstance(error, VerificationGroupError), outcome
    assert set(error.errors) == {"wait-0.example.com", "wait-1.example.com"}
    assert all(isinstance(cause, CancelledError) for cause in error.errors.values())
    assert error.verified == ["done.example.com"]
    message = str(error)
    assert message.startswith(
        "waiting for Email Domain (wait-0.example.com) verification: cancelled while waiting for DNS (5 of 5 "
        "record(s) not served by every authoritative nameserver yet); verification was not initiated. "
        "Run `pulumi up` again to resume"
    )
    assert (
        "Cancelled: 2 of 3 Email Domains not verified (wait-0.example.com, wait-1.example.com); verified: "
        "done.example.com. Run `pulumi up` again to resume"
    ) in message
    # Nothing is sent for the cancelled waits afterwards, however far time moves.
    sandbox.publish("wait-0.example.com")
    sandbox.publish("wait-1.example.com")
    for _ in range(5):
        clock.advance(30)
    wait_for(lambda: sandbox.route_count() == before, "no request after cancel")  # (it never moved)
    assert sandbox.route_count(VERIFY) == 1  # done's own, before the group


def test_a_wait_whose_request_waits_for_its_budget_slot_sends_nothing_after_cancel(
    clocked: tuple[SandboxServer, FakeClock],
    host_state: None,
    gate: threading.Event,
    read_ended: threading.Event,
) -> None:
    sandbox, _ = clocked
    domain = registered_elsewhere(sandbox, "slot.example.com")  # not this deployment's: read first
    sandbox.reset_stats()
    inputs = {**group_inputs(sandbox, [member(domain)]), "dns_check": "off"}
    thread, outcome = in_thread(lambda: DomainVerificationGroupProvider().create(inputs))
    budget = request_budget.shared_budget()
    assert isinstance(budget, RecordingBudget)
    wait_for(lambda: len(budget.acquired) == 1, "the first read waits for its slot")

    provider_host.cancel()
    finished(thread, "the group create ended")
    gate.set()  # the slot comes: the read must not be sent now
    assert read_ended.wait(60), "the read never ended"

    error = outcome.get("error")
    assert isinstance(error, VerificationGroupError), outcome
    assert str(error).startswith(
        "waiting for Email Domain (slot.example.com) verification: cancelled before its status was read: "
        "nothing was sent for it. Run `pulumi up` again to resume"
    )
    assert budget.slots == 1  # it got its slot, and did not use it
    assert sandbox.route_count() == 0


def test_a_cancelled_wait_sends_nothing_even_once_its_slot_comes(
    clocked: tuple[SandboxServer, FakeClock], gate: threading.Event, read_ended: threading.Event
) -> None:
    sandbox, _ = clocked
    domain = registered_elsewhere(sandbox, "open-client.example.com")
    sandbox.reset_stats()
    poller = verification_poller.shared_poller()
    request = VerificationRequest(
        domain["id"], domain["domain"], dns_check=DnsCheckSettings(DnsCheckMode.OFF)
    )
    # The caller's client stays open (unlike a group's, closed as soon as its wait ends): only the poller
    # can keep the read from being sent.
    with EmailDomainsClient(
        OUR_TOKEN, OUR_ORG, sandbox.base_url, budget=request_budget.shared_budget()
    ) as client:
        waiting = poller.submit(request, client)
        budget = request_budget.shared_budget()
        assert isinstance(budget, RecordingBudget)
        wait_for(lambda: len(budget.acquired) == 1, "the first read waits for its slot")
        poller.cancel()
        assert isinstance(waiting.exception(timeout=0), CancelledError)  # ended already: no waiting
        gate.set()
        assert read_ended.wait(60), "the read never ended"
        assert budget.slots == 1
        assert sandbox.route_count() == 0


def test_a_registration_under_way_finishes_and_nothing_new_starts(
    clocked: tuple[SandboxServer, FakeClock], host_state: None, gate: threading.Event
) -> None:
    sandbox, _ = clocked
    provider = EmailDomainProvider()
    inputs = provider.check({}, {"domain": "under-way.example.com", "__provider": "x"}).inputs
    thread, outcome = in_thread(lambda: provider.create(inputs))
    budget = request_budget.shared_budget()
    assert isinstance(budget, RecordingBudget)
    wait_for(lambda: len(budget.acquired) == 1, "the registration waits for its slot")

    provider_host.cancel()
    gate.set()
    finished(thread, "the registration ended")
    assert "error" not in outcome, outcome["error"]
    [held] = sandbox.domains()
    assert outcome["result"].id == held["id"]  # its id reaches the state

    before = sandbox.route_count()
    late = provider.check({}, {"domain": "late.example.com", "__provider": "x"}).inputs
    with pytest.raises(CancelledError) as caught:
        provider.create(late)
    assert str(caught.value) == (
        "registering Email Domain (late.example.com): cancelled before it started: nothing was sent for it. "
        "Run `pulumi up` again to resume"
    )
    with pytest.raises(VerificationGroupError) as refused:
        DomainVerificationGroupProvider().create(
            group_inputs(sandbox, [member(registered_elsewhere(sandbox, "x.io"))])
        )
    assert "waiting for Email Domain (x.io) verification: cancelled before its status was read" in str(
        refused.value
    )
    assert sandbox.route_count() == before + 1  # only the test's own registration of x.io


def test_a_poller_cancelled_before_it_is_created_refuses_every_wait(
    monkeypatch: pytest.MonkeyPatch, host_state: None
) -> None:
    monkeypatch.setattr(verification_poller, "_shared", None)
    provider_host.cancel()  # before any verification started
    poller = verification_poller.shared_poller()
    assert poller.cancelled
