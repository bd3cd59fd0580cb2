"""Requests the providers spend: three per verified domain that this deployment registered (register,
verify, the read that sees it verified), one more for a domain the state already knew; and one read per
domain per pass, however many resources of the provider host read it. Under the real CLI:
tests/e2e/test_cancel_e2e.py (refresh) and `make bench` (up)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from provider import DomainVerificationGroupProvider, DomainVerificationProvider, EmailDomainProvider
from provider.api.models import Domain
from provider.api.read_cache import DomainReadCache
from provider.host.registrations import forget_registrations
from sandbox.testing import SandboxServer
from tests.provider.verification_helpers import group_inputs, member, register, registered_elsewhere
from tests.support import OUR_ORG, OUR_TOKEN, FakeClock, finished, in_thread, wait_for

REGISTER = "POST /core/email-domains"
LIST = "GET /core/email-domains"
VERIFY = "POST /core/email-domains/{id}/verify"
REFRESH = "POST /core/email-domains/{id}/refresh"


def verify_group(sandbox: SandboxServer, clock: FakeClock, members: list[dict[str, Any]]) -> dict[str, Any]:
    """Create a group of ``members`` and move the clock (a second at a time) until it ends; its outputs."""
    thread, outcome = in_thread(
        lambda: DomainVerificationGroupProvider().create(group_inputs(sandbox, members))
    )

    def ended() -> bool:
        clock.advance(1)
        return not thread.is_alive()

    wait_for(ended, "the group verified its members")
    finished(thread, "the group create ended")
    assert "error" not in outcome, outcome["error"]
    outs: dict[str, Any] = outcome["result"].outs
    return outs


def outputs(result: Any) -> dict[str, Any]:
    """The outputs of a provider's result."""
    assert result.outs is not None
    outs: dict[str, Any] = result.outs
    return outs


def routes(sandbox: SandboxServer) -> dict[str, int]:
    """Requests by route."""
    return {route: sum(counts.values()) for route, counts in sandbox.stats()["by_route"].items()}


# -- three requests per verified domain ---------------------------------------------------------------


def test_a_domain_this_deployment_registered_costs_three_requests(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    sandbox.set_settings(auto_publish=True)
    domain = register("new.example.com")
    outs = verify_group(sandbox, clock, [member(domain)])
    assert outs["verified"] is True
    # Register, verify, the read that sees it verified: DNS went straight to the check with what
    # registration saw, without reading the domain first.
    assert routes(sandbox) == {REGISTER: 1, VERIFY: 1, REFRESH: 1}


def test_a_domain_the_state_already_knew_is_read_first(clocked: tuple[SandboxServer, FakeClock]) -> None:
    sandbox, clock = clocked
    sandbox.set_settings(auto_publish=True)
    known = registered_elsewhere(sandbox, "known.example.com")  # e.g. by an earlier, cancelled `up`
    earlier = register("earlier.example.com")
    forget_registrations()  # ... or by this stack, in an earlier deployment
    sandbox.reset_stats()
    outs = verify_group(sandbox, clock, [member(known), member(earlier)])
    assert outs["verified"] is True
    assert routes(sandbox) == {REFRESH: 4, VERIFY: 2}  # a first read each, then the read that sees it


def test_what_registration_saw_is_used_once(clocked: tuple[SandboxServer, FakeClock]) -> None:
    sandbox, clock = clocked
    sandbox.set_settings(auto_publish=True)
    domain = register("twice.example.com")
    verify_group(sandbox, clock, [member(domain)])
    sandbox.reset_stats()
    # A second verification in the same deployment (another group) reads it: verified, nothing more.
    outs = verify_group(sandbox, clock, [member(domain)])
    assert outs["results"]["twice.example.com"]["verified"] is True
    assert routes(sandbox) == {REFRESH: 1}


def test_an_adopted_verified_domain_costs_no_request_after_its_adoption(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    held = registered_elsewhere(sandbox, "adopted.example.com")
    sandbox.publish("adopted.example.com")
    clock.advance(1)
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        http.post(f"/core/email-domains/{held['id']}/verify").raise_for_status()
    clock.advance(1)
    sandbox.reset_stats()
    adopted = register("adopted.example.com")  # 409, then the list that finds it: verified
    assert adopted["id"] == held["id"] and adopted["status"] == "verified"
    outs = verify_group(sandbox, clock, [member(adopted)])
    assert outs["verified"] is True
    assert routes(sandbox) == {REGISTER: 1, LIST: 1}


# -- one read per domain per pass -----------------------------------------------------------------------


def test_a_refresh_pass_reads_each_domain_once_and_still_sees_a_lost_verification(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    sandbox.set_settings(auto_publish=True)
    domains = [register(f"pass-{n}.example.com") for n in range(3)]
    group = verify_group(sandbox, clock, [member(domain) for domain in domains])
    sandbox.unpublish("pass-1.example.com", type="TXT", name="_dmarc")  # loses its verification
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        http.delete(f"/core/email-domains/{domains[2]['id']}").raise_for_status()  # deleted behind our back
    sandbox.reset_stats()

    provider = EmailDomainProvider()
    read_ids = [provider.read(domain["id"], domain).id for domain in domains]
    refreshed = DomainVerificationGroupProvider().read("g", group)

    assert routes(sandbox) == {REFRESH: 3}  # not 6: the group shares what the EmailDomains read
    assert read_ids == [domains[0]["id"], domains[1]["id"], ""]  # the deleted one leaves the state
    assert refreshed.outs is not None
    results = refreshed.outs["results"]
    assert [results[d["domain"]]["verified"] for d in domains] == [True, False, False]
    assert results["pass-2.example.com"]["status"] == "deleted"


def test_a_write_to_a_domain_makes_the_next_read_ask_again(clocked: tuple[SandboxServer, FakeClock]) -> None:
    sandbox, clock = clocked
    sandbox.set_settings(auto_publish=True)
    domain = register("written.example.com")
    verification = {"domain_id": domain["id"], "domain": domain["domain"], "__provider": "x"}
    sandbox.reset_stats()
    assert outputs(EmailDomainProvider().read(domain["id"], domain))["status"] == "pending"
    # The legacy verification verifies it (a write through this process's client): the read after it
    # sees the verification, it does not reuse the answer from before.
    thread, outcome = in_thread(lambda: DomainVerificationProvider().create(verification))

    def ended() -> bool:
        clock.advance(1)
        return not thread.is_alive()

    wait_for(ended, "verified")
    assert outcome["result"].outs["verified"] is True
    before = routes(sandbox).get(REFRESH, 0)
    assert outputs(EmailDomainProvider().read(domain["id"], domain))["status"] == "verified"
    assert routes(sandbox)[REFRESH] == before + 1


# -- the cache itself ------------------------------------------------------------------------------------


class Clock:
    """A clock that moves when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def domain(status: str = "pending") -> Domain:
    return Domain.model_validate(
        {"id": "dom_1", "domain": "acme.com", "provider": "resend", "status": status, "dns_records": []}
    )


KEY = ("http://127.0.0.1:1", "org", "dom_1")


def status_of(found: Domain | None) -> str:
    """The status of a domain the cache answered with (None: gone)."""
    assert found is not None
    return found.status.value


def test_the_cache_shares_an_answer_for_a_while_and_forgets_it_on_a_write() -> None:
    clock = Clock()
    cache = DomainReadCache(fresh_for=10, clock=clock)
    fetched: list[str] = []

    def fetch(status: str) -> Domain:
        fetched.append(status)
        return domain(status)

    assert status_of(cache.read(KEY, lambda: fetch("pending"))) == "pending"
    clock.now = 9.9
    assert status_of(cache.read(KEY, lambda: fetch("verified"))) == "pending"  # shared
    assert cache.read(("http://127.0.0.1:1", "other-org", "dom_1"), lambda: None) is None  # not across orgs
    clock.now = 10.0
    assert status_of(cache.read(KEY, lambda: fetch("verified"))) == "verified"  # expired: asked again
    cache.forget(KEY)
    assert status_of(cache.read(KEY, lambda: fetch("failed"))) == "failed"  # a write: asked again
    assert fetched == ["pending", "verified", "failed"]


def test_the_cache_keeps_gone_domains_but_not_errors() -> None:
    cache = DomainReadCache(fresh_for=10, clock=Clock())
    assert cache.read(KEY, lambda: None) is None
    assert cache.read(KEY, lambda: domain()) is None  # "gone" is an answer

    def fail() -> Domain:
        raise RuntimeError("the API failed")

    other = ("http://127.0.0.1:1", "org", "dom_2")
    with pytest.raises(RuntimeError):
        cache.read(other, fail)
    assert cache.read(other, lambda: domain("verified")) is not None  # the error was not kept


def test_concurrent_readers_share_one_request_and_a_write_under_way_is_not_undone() -> None:
    cache = DomainReadCache(fresh_for=10, clock=Clock())
    release, started = threading.Event(), threading.Event()
    fetches: list[int] = []

    def slow_fetch() -> Domain:
        fetches.append(1)
        started.set()
        release.wait(30)
        return domain("pending")

    first, first_outcome = in_thread(lambda: cache.read(KEY, slow_fetch))
    assert started.wait(30)
    second, second_outcome = in_thread(lambda: cache.read(KEY, slow_fetch))
    release.set()
    finished(first, "the first read")
    finished(second, "the second read")
    assert len(fetches) == 1
    assert first_outcome["result"] is second_outcome["result"]

    # A write while a read is on its way: that read's (older) answer is not kept for the next reader.
    cache.forget(KEY)
    release.clear()
    started.clear()
    reader, _ = in_thread(lambda: cache.read(KEY, slow_fetch))
    assert started.wait(30)
    cache.forget(KEY)
    release.set()
    finished(reader, "the read under way")
    assert status_of(cache.read(KEY, lambda: domain("verified"))) == "verified"
