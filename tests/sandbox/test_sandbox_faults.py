"""Fault injection: rate limit, random 5xx, latency and dropped registration responses."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.query
import httpx
import pytest

from sandbox import SandboxConfig, create_app
from sandbox.testing import ManualClock, RecordingSleep, SandboxServer


def test_rate_limit_answers_429_with_retry_after(api: httpx.Client, timed: SandboxServer) -> None:
    timed.set_faults(rate_limit_rps=2)

    first, second, third = (api.get("/core/email-domains") for _ in range(3))

    assert first.status_code == second.status_code == 200
    assert third.status_code == 429
    assert third.headers["Retry-After"] == "1"
    assert third.headers["ratelimit-limit"] == "2"
    assert third.headers["ratelimit-remaining"] == "0"
    assert third.json()["error"]["code"] == "rate_limited"
    assert first.headers["ratelimit-remaining"] == "1"


def test_rate_limit_refills_with_time(api: httpx.Client, timed: SandboxServer, clock: ManualClock) -> None:
    timed.set_faults(rate_limit_rps=2)
    for _ in range(2):
        api.get("/core/email-domains")
    assert api.get("/core/email-domains").status_code == 429

    clock.advance(0.5)  # one token at 2 per second

    assert api.get("/core/email-domains").status_code == 200
    assert api.get("/core/email-domains").status_code == 429


def test_rate_limited_requests_have_no_effect_and_are_counted(
    api: httpx.Client, timed: SandboxServer
) -> None:
    timed.set_faults(rate_limit_rps=1)
    api.get("/core/email-domains")

    response = api.post("/core/email-domains", json={"domain": "acme.com"})

    assert response.status_code == 429
    assert timed.domains() == []
    stats = timed.stats()
    assert stats["rate_limited"] == 1
    assert stats["by_route"]["POST /core/email-domains"] == {"429": 1}


def test_error_rate_one_answers_5xx_without_side_effect(api: httpx.Client, timed: SandboxServer) -> None:
    timed.set_faults(error_rate=1.0)

    responses = [api.post("/core/email-domains", json={"domain": "acme.com"}) for _ in range(10)]

    assert {r.status_code for r in responses} <= {500, 502, 503}
    assert {r.json()["error"]["code"] for r in responses} == {"internal_error"}
    assert timed.domains() == []  # admin calls are not subject to faults


def test_error_rate_zero_restores_normal_answers(api: httpx.Client, timed: SandboxServer) -> None:
    timed.set_faults(error_rate=1.0)
    timed.set_faults(error_rate=0)

    assert api.get("/core/email-domains").status_code == 200


def test_latency_is_added_to_public_requests_only(
    api: httpx.Client, timed: SandboxServer, sleeps: RecordingSleep
) -> None:
    timed.set_faults(latency_ms=250)

    api.get("/core/email-domains")
    timed.domains()

    assert sleeps.calls == [0.25]


def test_dropped_register_commits_then_breaks_the_connection(api: httpx.Client, timed: SandboxServer) -> None:
    timed.set_faults(drop_register_responses=1)

    with pytest.raises(httpx.TransportError):
        api.post("/core/email-domains", json={"domain": "acme.com"})

    assert timed.find_domain("acme.com") is not None
    retry = api.post("/core/email-domains", json={"domain": "acme.com"})
    assert retry.status_code == 409
    assert [d["domain"] for d in api.get("/core/email-domains").json()["data"]] == ["acme.com"]


def test_only_the_next_n_registers_are_dropped(api: httpx.Client, timed: SandboxServer) -> None:
    timed.set_faults(drop_register_responses=2)

    for domain in ("a.com", "b.com"):
        with pytest.raises(httpx.TransportError):
            api.post("/core/email-domains", json={"domain": domain})

    assert api.post("/core/email-domains", json={"domain": "c.com"}).status_code == 201
    assert timed.set_faults()["drop_register_responses"] == 0
    stats = timed.stats()
    assert stats["dropped_responses"] == 2
    assert stats["by_route"]["POST /core/email-domains"] == {"dropped": 2, "201": 1}


def test_dropped_register_is_a_transport_error_in_process_too() -> None:
    app = create_app(SandboxConfig(drop_register_responses=1))
    headers = {"Authorization": "Bearer dev-token", "X-Anyreach-Org": "org_dev"}

    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://sandbox", headers=headers
    ) as client:
        with pytest.raises(httpx.TransportError):
            client.post("/core/email-domains", json={"domain": "acme.com"})
        assert client.get("/core/email-domains").json()["data"][0]["domain"] == "acme.com"


def test_reset_clears_faults(api: httpx.Client, timed: SandboxServer) -> None:
    timed.set_faults(
        error_rate=1.0, rate_limit_rps=1, latency_ms=5, drop_register_responses=3, dns_truncate_udp=True
    )

    timed.reset()

    assert timed.set_faults() == {
        "rate_limit_rps": None,
        "error_rate": 0.0,
        "latency_ms": 0.0,
        "drop_register_responses": 0,
        "dns_truncate_udp": False,
    }
    assert api.post("/core/email-domains", json={"domain": "acme.com"}).status_code == 201


def test_dns_truncate_udp_fault_sends_clients_to_tcp(
    api: httpx.Client, timed: SandboxServer, clock: ManualClock
) -> None:
    api.post("/core/email-domains", json={"domain": "acme.com"})
    timed.publish("acme.com")
    clock.advance(10)
    query = dns.message.make_query("_dmarc.acme.com", "TXT")
    timed.set_faults(dns_truncate_udp=True)

    truncated = dns.query.udp(query, "127.0.0.1", port=timed.dns_port, timeout=5)
    answered, used_tcp = dns.query.udp_with_fallback(query, "127.0.0.1", port=timed.dns_port, timeout=5)
    timed.set_faults(dns_truncate_udp=False)
    plain = dns.query.udp(query, "127.0.0.1", port=timed.dns_port, timeout=5)

    assert truncated.flags & dns.flags.TC
    assert truncated.answer == []
    assert used_tcp
    assert answered.answer[0][0].to_text() == '"v=DMARC1; p=none;"'
    assert not plain.flags & dns.flags.TC
    assert plain.answer == answered.answer
