"""The providers under injected faults: 429 storms, 5xx, lost register responses, many waits at once.

The invariant a user relies on: every domain on the platform is in the stack state exactly once, after
every create, whether it succeeded or not (state is simulated as the ids that create returned).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from provider import AnyreachError, DomainVerificationProvider, EmailDomainProvider
from provider.resources import connection
from sandbox.testing import SandboxServer
from tests.support import RecordingBudget, wait_for

DOMAINS = [f"shop{index}.example" for index in range(6)]


def status_count(sandbox: SandboxServer, prefix: str) -> int:
    """Responses whose status starts with ``prefix`` (e.g. ``"5"``), over every route."""
    by_route = sandbox.stats()["by_route"]
    return sum(
        n for statuses in by_route.values() for status, n in statuses.items() if status.startswith(prefix)
    )


def route_count(sandbox: SandboxServer, route: str) -> int:
    """Requests the sandbox served on ``route`` (any status)."""
    return sum(sandbox.stats()["by_route"].get(route, {}).values())


def assert_state_matches_platform(sandbox: SandboxServer, state: dict[str, str]) -> None:
    """Every platform domain is in state exactly once, and state holds nothing else."""
    held = sandbox.domains()
    assert sorted(item["id"] for item in held) == sorted(state)
    names = [item["domain"] for item in held]
    assert len(names) == len(set(names))
    assert {item["id"]: item["domain"] for item in held} == state


FAULTS = [
    pytest.param({"rate_limit_rps": 5}, "4", id="429-storm"),
    pytest.param({"error_rate": 0.3}, "5", id="5xx"),
    pytest.param({"drop_register_responses": 4}, "dropped", id="lost-register-responses"),
    pytest.param(
        {"rate_limit_rps": 10, "error_rate": 0.2, "drop_register_responses": 2}, "5", id="all-at-once"
    ),
]


@pytest.mark.parametrize(("faults", "evidence"), FAULTS)
def test_every_domain_is_in_state_exactly_once_under_faults(
    configured: SandboxServer, faults: dict[str, Any], evidence: str
) -> None:
    configured.set_faults(**faults)
    provider = EmailDomainProvider()
    state: dict[str, str] = {}
    for name in DOMAINS:
        checked = provider.check({}, {"domain": name, "__provider": "x"}).inputs
        for _up in range(5):  # a failed create is retried by the next `pulumi up`
            try:
                result = provider.create(checked)
            except AnyreachError:
                assert_state_matches_platform(configured, state)  # a failure leaves no orphan
                continue
            assert result.id not in state
            state[result.id] = name
            break
        assert_state_matches_platform(configured, state)
    assert sorted(state.values()) == sorted(DOMAINS)
    # The faults really happened, so the invariant was tested under them.
    if evidence == "dropped":
        assert configured.stats()["dropped_responses"] == faults["drop_register_responses"]
    else:
        assert status_count(configured, evidence) > 0


def test_verification_polls_ride_out_transient_errors(configured: SandboxServer, monkeypatch: Any) -> None:
    # One attempt per request: every injected 5xx reaches the waiter, which must poll again.
    monkeypatch.setitem(connection.CLIENT_OPTIONS, "retry_deadline", 0.0)
    provider = EmailDomainProvider()
    domain_id = provider.create(provider.check({}, {"domain": "acme.com", "__provider": "x"}).inputs).id
    outcome: dict[str, Any] = {}
    inputs = {
        "domain_id": domain_id,
        "timeout_seconds": 20.0,
        "poll_interval_seconds": 0.02,
        "__provider": "x",
    }

    def verify() -> None:
        try:
            outcome["result"] = DomainVerificationProvider().create(inputs)
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=verify)
    thread.start()
    wait_for(lambda: route_count(configured, "POST /core/email-domains/{id}/verify") == 1, "verify called")
    configured.set_faults(error_rate=1.0)
    wait_for(lambda: status_count(configured, "5") >= 3, "polls failed")
    configured.set_faults(error_rate=0.0)
    configured.publish("acme.com")
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].outs["verified"] is True


def test_timeout_message_names_the_last_poll_failure(configured: SandboxServer, monkeypatch: Any) -> None:
    monkeypatch.setitem(connection.CLIENT_OPTIONS, "retry_deadline", 0.0)
    provider = EmailDomainProvider()
    domain_id = provider.create(provider.check({}, {"domain": "acme.com", "__provider": "x"}).inputs).id
    inputs = {
        "domain_id": domain_id,
        "timeout_seconds": 0.5,
        "poll_interval_seconds": 0.02,
        "__provider": "x",
    }
    outcome: dict[str, Any] = {}

    def verify() -> None:
        try:
            DomainVerificationProvider().create(inputs)
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=verify)
    thread.start()
    wait_for(lambda: route_count(configured, "POST /core/email-domains/{id}/verify") == 1, "verify called")
    configured.set_faults(error_rate=1.0)
    thread.join()
    message = str(outcome["error"])
    assert message.startswith("waiting for Email Domain (acme.com) verification: not verified within 0.5 s")
    assert f"The last call to the API failed: refreshing Email Domain ({domain_id}): HTTP 5" in message


def test_parallel_verifications_share_the_budget_and_leave_room_for_other_calls(
    configured: SandboxServer, budget: RecordingBudget
) -> None:
    configured.set_faults(error_rate=0.1)
    email_domains = EmailDomainProvider()
    ids = {}
    for name in [*DOMAINS[:4], "other.example"]:
        checked = email_domains.check({}, {"domain": name, "__provider": "x"}).inputs
        ids[name] = email_domains.create(checked).id
    outcomes: dict[str, dict[str, Any]] = {name: {} for name in DOMAINS[:4]}

    def verify(name: str) -> None:
        inputs = {
            "domain_id": ids[name],
            "timeout_seconds": 30.0,
            "poll_interval_seconds": 0.05,
            "__provider": "x",
        }
        try:
            outcomes[name]["result"] = DomainVerificationProvider().create(inputs)
        except Exception as exc:  # handed to the test thread
            outcomes[name]["error"] = exc

    # Four waits at once, like the provider host's four worker threads.
    threads = [threading.Thread(target=verify, args=(name,)) for name in DOMAINS[:4]]
    for thread in threads:
        thread.start()
    wait_for(lambda: route_count(configured, "POST /core/email-domains/{id}/verify") >= 4, "all verifying")

    # While four verifications poll, another call of the stack still gets through.
    other = email_domains.read(ids["other.example"], {"domain": "other.example"})
    assert other.id == ids["other.example"]
    assert all(thread.is_alive() for thread in threads)  # nothing was published: all still waiting

    for name in DOMAINS[:4]:
        configured.publish(name)
    for thread in threads:
        thread.join()
    for name, outcome in outcomes.items():
        assert "error" not in outcome, (name, outcome.get("error"))
        assert outcome["result"].outs["verified"] is True
    # Every request, polls included, took a slot of the shared budget.
    assert budget.slots == configured.stats()["total"]
