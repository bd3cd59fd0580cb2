"""The providers under injected faults: 429 storms, 5xx, lost register responses, many waits at once.

The invariant a user relies on: every domain on the platform is in the stack state exactly once, after
every create, whether it succeeded or not (state is simulated as the ids that create returned).

Every fault is forced, never hoped for: the rate limit runs on the clocked sandbox, whose clock moves only
when a client honours a Retry-After, so a bucket refuses every request beyond it however fast or slow this
machine sends them; injected 5xx come from the sandbox's seeded random sequence (restarted by each reset);
the first N register answers are dropped. Deadlines pass when the test moves the clock.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest

from provider import AnyreachError, DomainVerificationProvider, EmailDomainProvider
from provider.api import client as api_client
from sandbox.testing import SandboxServer
from tests.support import FAST_TIMINGS, FakeClock, RecordingBudget, finished, in_thread, wait_for

DOMAINS = [f"shop{index}.example" for index in range(6)]
VERIFY_ROUTE = "POST /core/email-domains/{id}/verify"


def assert_state_matches_platform(sandbox: SandboxServer, state: dict[str, str]) -> None:
    """Every platform domain is in state exactly once, and state holds nothing else."""
    held = sandbox.domains()
    assert sorted(item["id"] for item in held) == sorted(state)
    names = [item["domain"] for item in held]
    assert len(names) == len(set(names))
    assert {item["id"]: item["domain"] for item in held} == state


FAULTS = [
    pytest.param({"rate_limit_rps": 1}, {"429"}, id="429-storm"),
    pytest.param({"error_rate": 0.3}, {"5"}, id="5xx"),
    pytest.param({"drop_register_responses": 4}, {"dropped"}, id="lost-register-responses"),
    pytest.param(
        {"rate_limit_rps": 2, "error_rate": 0.2, "drop_register_responses": 2},
        {"429", "5", "dropped"},
        id="all-at-once",
    ),
]


@pytest.mark.parametrize(("faults", "evidence"), FAULTS)
def test_every_domain_is_in_state_exactly_once_under_faults(
    clocked: tuple[SandboxServer, FakeClock],
    budget: RecordingBudget,
    faults: dict[str, Any],
    evidence: set[str],
) -> None:
    sandbox, clock = clocked
    # The sandbox's time passes only while a client waits out a Retry-After (one second: what the bucket
    # asks for), so every request beyond the bucket is refused, whatever the speed of this machine.
    budget.on_pause = lambda _seconds: clock.advance(1.0)
    sandbox.set_faults(**faults)
    provider = EmailDomainProvider()
    state: dict[str, str] = {}
    for name in DOMAINS:
        checked = provider.check({}, {"domain": name, "__provider": "x"}).inputs
        for _up in range(5):  # a failed create is retried by the next `pulumi up`
            try:
                result = provider.create(checked)
            except AnyreachError:
                assert_state_matches_platform(sandbox, state)  # a failure leaves no orphan
                continue
            assert result.id not in state
            state[result.id] = name
            break
        assert_state_matches_platform(sandbox, state)
    assert sorted(state.values()) == sorted(DOMAINS)
    # The faults really happened, so the invariant was tested under them.
    if "429" in evidence:
        assert sandbox.route_count(status="429") > 0  # forced: a bucket on a clock that only a 429 moves
    if "5" in evidence:
        assert sandbox.route_count(status="5") > 0
    if "dropped" in evidence:
        assert sandbox.stats()["dropped_responses"] == faults["drop_register_responses"]


def failed_requests(sandbox: SandboxServer, count: int) -> bool:
    """Whether exactly ``count`` requests were answered with a 5xx."""
    return sandbox.route_count(status="5") == count


def one_attempt_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients make one attempt per request: every injected 5xx reaches the poller."""
    monkeypatch.setattr(api_client, "DEFAULT_TIMINGS", dataclasses.replace(FAST_TIMINGS, retry_deadline=0.0))


def register(name: str = "acme.com") -> str:
    """Register ``name`` through the EmailDomain provider; return its id."""
    provider = EmailDomainProvider()
    return provider.create(provider.check({}, {"domain": name, "__provider": "x"}).inputs).id


def test_verification_polls_ride_out_transient_errors(
    clocked: tuple[SandboxServer, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, clock = clocked
    one_attempt_per_request(monkeypatch)
    sandbox.set_settings(verify_window=600)  # the attempt outlasts every move of the clock below
    domain_id = register()
    inputs = {
        "domain_id": domain_id,
        "timeout_seconds": 600.0,
        "poll_interval_seconds": 0.02,
        "__provider": "x",
    }
    thread, outcome = in_thread(lambda: DomainVerificationProvider().create(inputs))
    wait_for(lambda: sandbox.route_count(VERIFY_ROUTE) == 1, "verify called")
    sandbox.set_faults(error_rate=1.0)
    for failures in range(1, 4):
        clock.step()  # the next poll is due
        wait_for(functools.partial(failed_requests, sandbox, failures), f"poll {failures} failed")
    sandbox.set_faults(error_rate=0.0)
    sandbox.publish("acme.com")
    # Poll after poll, the records propagate and the provider's check completes.
    clock.step_until(lambda: not thread.is_alive(), "the verification ended")
    finished(thread, "the verification ended")
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].outs["verified"] is True
    assert sandbox.route_count(VERIFY_ROUTE) == 1  # a failed poll is no reason to verify again


def test_timeout_message_names_the_last_poll_failure(
    clocked: tuple[SandboxServer, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, clock = clocked
    one_attempt_per_request(monkeypatch)
    sandbox.set_settings(verify_window=600)
    domain_id = register()
    inputs = {
        "domain_id": domain_id,
        "timeout_seconds": 0.5,
        "poll_interval_seconds": 0.02,
        "__provider": "x",
    }
    thread, outcome = in_thread(lambda: DomainVerificationProvider().create(inputs))
    wait_for(lambda: sandbox.route_count(VERIFY_ROUTE) == 1, "verify called")
    sandbox.set_faults(error_rate=1.0)
    clock.settle()  # the first poll is scheduled
    clock.advance(1.0)  # past the deadline: the poll now due fails, and the wait ends with its error
    finished(thread, "the verification gave up")
    message = str(outcome["error"])
    assert message.startswith("waiting for Email Domain (acme.com) verification: not verified within 0.5 s")
    assert f"The last call to the API failed: refreshing Email Domain ({domain_id}): HTTP 5" in message


def test_parallel_verifications_share_the_budget_and_leave_room_for_other_calls(
    configured: SandboxServer, budget: RecordingBudget
) -> None:
    # Real time here: the polls must run while the test makes its own call. The attempts outlast any
    # machine's slowness (a 600 s window and deadline that a passing run never reaches).
    configured.set_settings(verify_window=600)
    configured.set_faults(error_rate=0.1)
    email_domains = EmailDomainProvider()
    ids = {}
    for name in [*DOMAINS[:4], "other.example"]:
        checked = email_domains.check({}, {"domain": name, "__provider": "x"}).inputs
        ids[name] = email_domains.create(checked).id

    def verify(name: str) -> Any:
        inputs = {
            "domain_id": ids[name],
            "timeout_seconds": 600.0,
            "poll_interval_seconds": 0.05,
            "__provider": "x",
        }
        return DomainVerificationProvider().create(inputs)

    # Four waits at once, like the provider host's four worker threads.
    waits = {name: in_thread(functools.partial(verify, name)) for name in DOMAINS[:4]}
    wait_for(lambda: configured.route_count(VERIFY_ROUTE) >= 4, "all verifying")

    # While four verifications poll, another call of the stack still gets through.
    other = email_domains.read(ids["other.example"], {"domain": "other.example"})
    assert other.id == ids["other.example"]
    assert all(thread.is_alive() for thread, _ in waits.values())  # nothing was published: all still waiting

    for name in DOMAINS[:4]:
        configured.publish(name)
    for name, (thread, outcome) in waits.items():
        finished(thread, f"{name} verified")
        assert "error" not in outcome, (name, outcome.get("error"))
        assert outcome["result"].outs["verified"] is True
    # Every request, polls included, took a slot of the shared budget.
    assert budget.slots == configured.stats()["total"]
