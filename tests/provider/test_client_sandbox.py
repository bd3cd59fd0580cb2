"""The client against the real sandbox server over loopback HTTP: one test per statement of the API page,
every error path, retries under injected faults, the shared request budget, lost register answers.

What depends on time runs on the clocked sandbox (its clock moves only when the test, or a client honouring
a Retry-After, says so), so that no check holds only on a fast machine."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from provider.api import budget as ratelimit
from provider.api.budget import RequestBudget
from provider.api.client import EmailDomainsClient
from provider.api.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
)
from provider.api.models import DomainStatus
from sandbox.testing import SandboxServer
from tests.support import (
    FAST_TIMINGS,
    OTHER_ORG,
    OTHER_TOKEN,
    OUR_ORG,
    OUR_TOKEN,
    READ_ONLY_TOKEN,
    FakeClock,
    RecordingBudget,
    new_client,
    wait_for,
)


def client_for(
    server: SandboxServer, token: str | None = None, organization: str | None = None, **settings: Any
) -> EmailDomainsClient:
    """A client of ``server`` (default: its dev credential) made by the tests' one factory."""
    return new_client(server.base_url, token or server.token, organization or server.organization, **settings)


@pytest.fixture
def connect(sandbox: SandboxServer) -> Iterator[Callable[..., EmailDomainsClient]]:
    """Make clients of the session sandbox (:func:`client_for`), closed when the test ends."""
    clients: list[EmailDomainsClient] = []

    def make(
        token: str | None = None, organization: str | None = None, **settings: Any
    ) -> EmailDomainsClient:
        client = client_for(sandbox, token, organization, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# -- the API page, statement by statement ---------------------------------------------------------


def test_register_returns_the_pending_domain_with_the_records_to_publish(connect: Any) -> None:
    domain = connect().register("acme.com")
    assert domain.domain == "acme.com"
    assert domain.provider == "resend"
    assert domain.status is DomainStatus.PENDING
    kinds = {(record.record, record.type) for record in domain.dns_records}
    assert {("DKIM", "TXT"), ("SPF", "MX"), ("SPF", "TXT"), ("DMARC", "TXT"), ("Receiving", "MX")} <= kinds
    for record in domain.dns_records:
        assert record.status is DomainStatus.PENDING
        assert (record.priority is not None) == (record.type == "MX")


def test_registered_domain_is_lowercased_by_the_server(connect: Any) -> None:
    assert connect().register("Acme.COM").domain == "acme.com"


def test_list_returns_the_organizations_domains(connect: Any) -> None:
    client = connect()
    first, second = client.register("acme.com"), client.register("beta.io")
    assert {d.id for d in client.list()} == {first.id, second.id}


def test_get_reads_one_domain_by_id(connect: Any) -> None:
    client = connect()
    registered = client.register("acme.com")
    read = client.get(registered.id)
    assert (read.id, read.domain, read.dns_records) == (registered.id, "acme.com", registered.dns_records)


def test_find_by_domain_finds_the_registered_domain_by_name(connect: Any) -> None:
    client = connect()
    registered = client.register("acme.com")
    client.register("beta.io")
    found = client.find_by_domain("ACME.com")
    assert found is not None and found.id == registered.id
    assert client.find_by_domain("gamma.org") is None


def test_refresh_is_passive_and_verify_moves_the_domain_to_verified(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    with client_for(sandbox) as client:
        domain = client.register("acme.com")
        sandbox.publish("acme.com")
        clock.advance(1)  # past the propagation delay: only a started verification is missing
        assert client.refresh(domain.id).status is DomainStatus.PENDING
        assert client.verify(domain.id).status is DomainStatus.PENDING  # attempt started, not done yet
        clock.advance(1)  # past the check delay
        verified = client.refresh(domain.id)
    assert verified.status is DomainStatus.VERIFIED
    assert [record.status for record in verified.dns_records] == [DomainStatus.VERIFIED] * 5


def test_a_record_left_unpublished_fails_verification_and_is_named(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    sandbox.set_settings(verify_window=0.4)
    with client_for(sandbox) as client:
        domain = client.register("acme.com")
        sandbox.publish("acme.com")
        sandbox.unpublish("acme.com", type="MX", name="@")
        client.verify(domain.id)
        clock.advance(1)  # past the window
        failed = client.refresh(domain.id)
    assert failed.status is DomainStatus.FAILED
    assert [(r.type, r.name, r.status) for r in failed.unverified_records] == [
        ("MX", "@", DomainStatus.FAILED)
    ]


def test_delete_removes_the_domain(connect: Any) -> None:
    client = connect()
    domain = client.register("acme.com")
    client.delete(domain.id)
    assert client.list() == []
    with pytest.raises(NotFoundError) as caught:
        client.get(domain.id)
    assert str(caught.value).startswith(f"reading Email Domain ({domain.id}): HTTP 404: ")
    with pytest.raises(NotFoundError, match=f"deleting Email Domain \\({domain.id}\\): HTTP 404"):
        client.delete(domain.id)


def test_read_only_token_may_list_read_and_refresh_only(sandbox: SandboxServer) -> None:
    with client_for(sandbox, OUR_TOKEN, OUR_ORG) as manager:
        domain = manager.register("acme.com")
    with client_for(sandbox, READ_ONLY_TOKEN, OUR_ORG) as reader:
        assert [d.id for d in reader.list()] == [domain.id]
        assert reader.get(domain.id).domain == "acme.com"
        assert reader.refresh(domain.id).domain == "acme.com"
        for operation, call in [
            ("registering", lambda: reader.register("beta.io")),
            ("verifying", lambda: reader.verify(domain.id)),
            ("deleting", lambda: reader.delete(domain.id)),
        ]:
            with pytest.raises(PermissionDeniedError) as caught:
                call()
            message = str(caught.value)
            assert message.startswith(f"{operation} Email Domain (")
            assert "HTTP 403: This operation requires the scope email_domains:manage." in message
            assert "needs a token with the scope email_domains:manage" in message
    assert [d["domain"] for d in sandbox.domains()] == ["acme.com"]


def test_domains_are_unique_platform_wide(sandbox: SandboxServer) -> None:
    with client_for(sandbox, OUR_TOKEN, OUR_ORG) as ours:
        ours.register("acme.com")
    with client_for(sandbox, OTHER_TOKEN, OTHER_ORG) as theirs:
        with pytest.raises(ConflictError) as caught:
            theirs.register("acme.com")
        assert theirs.find_by_domain("acme.com") is None  # held, but not by this organization
    assert str(caught.value).startswith(
        "registering Email Domain (acme.com): HTTP 409: The domain acme.com is already registered. "
    )
    assert caught.value.code == "conflict"


def test_another_organizations_domain_is_not_found(sandbox: SandboxServer) -> None:
    with client_for(sandbox, OUR_TOKEN, OUR_ORG) as ours:
        domain = ours.register("acme.com")
    with client_for(sandbox, OTHER_TOKEN, OTHER_ORG) as theirs:
        for call in (theirs.get, theirs.refresh, theirs.verify, theirs.delete):
            with pytest.raises(NotFoundError):
                call(domain.id)
        assert theirs.list() == []
    assert len(sandbox.domains()) == 1


# -- error paths -------------------------------------------------------------------------------------


def test_unknown_token_is_an_authentication_error_saying_how_to_set_it(connect: Any) -> None:
    with pytest.raises(AuthenticationError) as caught:
        connect(token="tok_unknown_0123456789").list()
    message = str(caught.value)
    assert message.startswith("listing Email Domain (all of organization org_dev): HTTP 401: ")
    assert "The API token is invalid, expired, revoked or missing: use a valid token" in message
    assert "pulumi" not in message  # the client knows HTTP, not Pulumi: resources add the Pulumi hint
    assert "tok_unknown_0123456789" not in message


def test_token_of_another_organization_is_refused_with_a_hint_on_the_organization(connect: Any) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        connect(organization="org_someone_else").list()
    assert caught.value.code == "organization_mismatch"
    assert "use the organization the token was made for" in str(caught.value)


@pytest.mark.parametrize("name", ["not a domain", "me@acme.com", "agents.anyreach.ai"])
def test_invalid_domain_is_refused_with_the_servers_validation_message(connect: Any, name: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        connect().register(name)
    error = caught.value
    assert error.status_code in (400, 422)
    assert error.server_message  # the server's reason, kept verbatim
    assert str(error).startswith(
        f"registering Email Domain ({name}): HTTP {error.status_code}: {error.server_message}"
    )


def test_nothing_listening_is_a_transport_error_that_was_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with new_client(f"http://127.0.0.1:{port}", "tok_x_0123456789", "org_dev", retry_deadline=0) as client:
        with pytest.raises(TransportError) as caught:
            client.get("dom_1")
    assert caught.value.request_sent is False
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert str(caught.value).startswith(
        f"reading Email Domain (dom_1): could not connect to http://127.0.0.1:{port}"
    )


def test_localhost_by_name_is_accepted_over_plain_http(sandbox: SandboxServer) -> None:
    url = f"http://localhost:{sandbox.port}"
    with new_client(url, sandbox.token, sandbox.organization) as client:
        assert client.list() == []


# -- retries ----------------------------------------------------------------------------------------


def test_idempotent_calls_ride_out_injected_server_errors(connect: Any, sandbox: SandboxServer) -> None:
    client = connect()
    domain = client.register("acme.com")
    sandbox.reset_stats()
    sandbox.set_faults(error_rate=0.5)
    for _ in range(10):
        assert client.get(domain.id).id == domain.id
        assert [d.id for d in client.list()] == [domain.id]
    sandbox.set_faults(error_rate=0)
    assert sandbox.route_count(status="5") > 0  # errors were injected (the seeded sequence) ...
    assert sandbox.route_count("GET /core/email-domains/{id}", "200") == 10  # ... and every call succeeded
    assert sandbox.route_count("GET /core/email-domains", "200") == 10


def test_register_is_not_retried_after_a_server_error(connect: Any, sandbox: SandboxServer) -> None:
    sandbox.set_faults(error_rate=1.0)
    with pytest.raises(ServerError) as caught:
        connect().register("acme.com")
    sandbox.set_faults(error_rate=0)
    assert sandbox.route_count("POST /core/email-domains") == 1
    assert "look it up before registering again" in str(caught.value)
    assert sandbox.domains() == []  # injected errors have no side effect


def test_rate_limited_calls_are_retried_and_pause_the_budget(
    clocked: tuple[SandboxServer, FakeClock],
) -> None:
    sandbox, clock = clocked
    # A bucket of one on a clock that moves only while the client waits out a Retry-After (one second):
    # every request after the first finds the bucket empty once, however fast this machine sends them.
    budget = RecordingBudget(on_pause=lambda _seconds: clock.advance(1.0))
    sandbox.set_faults(rate_limit_rps=1)
    with client_for(sandbox, budget=budget) as client:
        registered = client.register("acme.com")
        for _ in range(14):
            assert client.get(registered.id).id == registered.id
        assert client.register("beta.io").domain == "beta.io"  # register is retried after 429 too
    sandbox.set_faults(rate_limit_rps=None)
    stats = sandbox.stats()
    assert stats["rate_limited"] == 15
    assert sandbox.route_count("GET /core/email-domains/{id}", "200") == 14
    assert sandbox.route_count("POST /core/email-domains", "201") == 2
    assert budget.slots == stats["total"]  # every attempt, retries included, took a slot
    assert budget.paused == [FAST_TIMINGS.retry_after_max] * 15  # each Retry-After, capped
    assert sorted(d["domain"] for d in sandbox.domains()) == ["acme.com", "beta.io"]


# -- the shared request budget ------------------------------------------------------------------------


def _hammer(clients: list[EmailDomainsClient], requests: int) -> float:
    """Send ``requests`` list calls spread over one thread per client; return the elapsed seconds."""
    per_thread = [requests // len(clients) + (i < requests % len(clients)) for i in range(len(clients))]
    barrier = threading.Barrier(len(clients))
    errors: list[BaseException] = []

    def work(client: EmailDomainsClient, count: int) -> None:
        barrier.wait()
        try:
            for _ in range(count):
                client.list()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=pair) for pair in zip(clients, per_thread, strict=True)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return time.monotonic() - started


def test_clients_in_threads_share_one_budget(connect: Any, sandbox: SandboxServer) -> None:
    rate, requests = 20.0, 10
    budget = RequestBudget(rate)
    clients = [connect(budget=budget) for _ in range(4)]
    sandbox.reset_stats()
    elapsed = _hammer(clients, requests)
    assert sandbox.stats()["total"] == requests
    # Lower bound from the budget: the first request goes at once, the other 9 follow 50 ms apart.
    assert elapsed >= (requests - 1) / rate - 0.001


def test_clients_without_a_budget_share_the_process_wide_one(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rate, requests = 20.0, 10
    shared = RequestBudget(rate)
    monkeypatch.setattr(ratelimit, "_shared", shared)
    clients = [client_for(sandbox, budget=None) for _ in range(4)]  # no budget: the process-wide one
    try:
        elapsed = _hammer(clients, requests)
    finally:
        for client in clients:
            client.close()
    assert elapsed >= (requests - 1) / rate - 0.001


# -- lost register answers ------------------------------------------------------------------------------


def test_lost_register_answer_leaves_exactly_one_domain_to_adopt(
    connect: Any, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(drop_register_responses=1)
    client = connect()
    with pytest.raises((TransportError, ServerError)) as caught:
        client.register("acme.com")
    if isinstance(caught.value, TransportError):
        assert caught.value.request_sent is True
    assert "look it up before registering again" in str(caught.value)
    assert sandbox.route_count("POST /core/email-domains") == 1  # not retried
    adopted = client.find_by_domain("acme.com")
    assert adopted is not None and adopted.domain == "acme.com"
    assert [d["domain"] for d in sandbox.domains()] == ["acme.com"]
    with pytest.raises(ConflictError):
        client.register("acme.com")  # registering again would not create a second one either


def test_register_that_times_out_may_still_commit(connect: Any, sandbox: SandboxServer) -> None:
    sandbox.set_faults(latency_ms=400)
    client = connect(timeout=0.1)
    with pytest.raises(TransportError) as caught:
        client.register("acme.com")
    assert caught.value.request_sent is True
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    sandbox.set_faults(latency_ms=0)
    wait_for(lambda: sandbox.domains() != [], "the registration that timed out committed")
    with connect() as patient:
        adopted = patient.find_by_domain("acme.com")
    assert adopted is not None
    assert len(sandbox.domains()) == 1
