"""The /_sandbox admin API: domains across organizations, DNS, settings, faults, counters, reset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxAdminError, SandboxServer

RegisterFn = Callable[[str], dict[str, Any]]

RECORDS = [("TXT", "resend._domainkey"), ("MX", "send"), ("TXT", "send"), ("TXT", "_dmarc"), ("MX", "@")]
"""The ``(type, name)`` of every record a registered domain asks for."""
NONE_PUBLISHED = dict.fromkeys(RECORDS, False)
ALL_PUBLISHED = dict.fromkeys(RECORDS, True)


def _published(timed: SandboxServer, domain: str) -> dict[tuple[str, str], bool]:
    """Whether each record of ``domain`` is published, as the admin view says (compared whole, so that a
    view that lost its records cannot pass for one with nothing published)."""
    found = timed.find_domain(domain)
    assert found is not None
    return {(r["type"], r["name"]): r["published"] for r in found["dns_records"]}


def test_domains_lists_every_organization(timed: SandboxServer, register: RegisterFn) -> None:
    register("acme.com")
    headers = timed.headers(token="other-token", organization="org_other")
    with timed.client(anonymous=True) as client:
        assert (
            client.post("/core/email-domains", json={"domain": "other.com"}, headers=headers).status_code
            == 201
        )

    domains = {d["domain"]: d for d in timed.domains()}

    assert {name: d["organization"] for name, d in domains.items()} == {
        "acme.com": "org_dev",
        "other.com": "org_other",
    }
    assert domains["acme.com"]["verification_started_at"] is None
    assert _published(timed, "acme.com") == NONE_PUBLISHED


def test_publish_all_records(timed: SandboxServer, register: RegisterFn) -> None:
    register("acme.com")

    result = timed.publish("acme.com")

    assert result == {"domain": "acme.com", "changed": 5}
    assert _published(timed, "acme.com") == ALL_PUBLISHED
    assert timed.publish("acme.com")["changed"] == 0  # already there


def test_publish_one_record_by_type_and_full_or_relative_name(
    timed: SandboxServer, register: RegisterFn
) -> None:
    register("acme.com")

    timed.publish("acme.com", type="mx", name="send.acme.com")
    timed.publish("acme.com", type="MX", name="acme.com")

    assert _published(timed, "acme.com") == {**NONE_PUBLISHED, ("MX", "send"): True, ("MX", "@"): True}


def test_unpublish_one_record_then_all(timed: SandboxServer, register: RegisterFn) -> None:
    register("acme.com")
    timed.publish("acme.com")

    timed.unpublish("acme.com", type="TXT", name="_dmarc")
    assert _published(timed, "acme.com") == {**ALL_PUBLISHED, ("TXT", "_dmarc"): False}

    assert timed.unpublish("acme.com")["changed"] == 4
    assert _published(timed, "acme.com") == NONE_PUBLISHED


def test_dns_outlives_the_domain(api: httpx.Client, timed: SandboxServer, register: RegisterFn) -> None:
    """Records live at the DNS provider: deleting and registering again finds them still published."""
    domain_id = register("acme.com")["id"]
    timed.publish("acme.com")
    api.delete(f"/core/email-domains/{domain_id}")

    register("acme.com")

    assert _published(timed, "acme.com") == ALL_PUBLISHED


def test_publish_errors_name_the_problem(timed: SandboxServer, register: RegisterFn) -> None:
    register("acme.com")

    with pytest.raises(SandboxAdminError, match=r"\(404\).*No registered domain 'unknown.com'"):
        timed.publish("unknown.com")
    with pytest.raises(SandboxAdminError, match=r"\(404\).*No record of acme.com matches type='CNAME'"):
        timed.publish("acme.com", type="CNAME")
    with pytest.raises(SandboxAdminError, match=r"\(400\).*exactly one record"):
        timed.publish("acme.com", type="MX", value="mx.example.com")
    with pytest.raises(SandboxAdminError, match=r"\(404\).*Nothing of 'unknown.com'"):
        timed.unpublish("unknown.com")


def test_settings_read_and_change(timed: SandboxServer) -> None:
    with timed.client(anonymous=True) as client:
        assert client.get("/_sandbox/settings").json() == {
            "propagation_delay": 10.0,
            "verify_window": 100.0,
            "auto_publish": False,
            "check_delay": 2.0,
            "negative_cache": 0.0,
        }

    changed = timed.set_settings(propagation_delay=1.5, auto_publish=True, negative_cache=4)

    assert changed == {
        "propagation_delay": 1.5,
        "verify_window": 100.0,
        "auto_publish": True,
        "check_delay": 2.0,
        "negative_cache": 4.0,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"propagation_delay": -1}, "propagation_delay must be a number of seconds >= 0, not -1"),
        ({"verify_window": 0}, "verify_window must be a number of seconds > 0, not 0"),
        ({"auto_publish": "yes"}, "auto_publish must be true or false, not 'yes'"),
        ({"check_delay": "1"}, "check_delay must be a number of seconds >= 0, not '1'"),
        ({"negative_cache": None}, "negative_cache must be a number of seconds >= 0, not None"),
        (
            {"colour": 1},
            "unknown setting 'colour': known settings are propagation_delay, verify_window, auto_publish, "
            "check_delay, negative_cache",
        ),
    ],
)
def test_bad_settings_answer_422_and_change_nothing(
    timed: SandboxServer, change: dict[str, Any], message: str
) -> None:
    before = timed.set_settings()
    valid = {"verify_window": 50} if "verify_window" not in change else {"propagation_delay": 7}

    with pytest.raises(SandboxAdminError, match=r"\(422\)") as caught:
        timed.set_settings(**valid, **change)

    assert str(caught.value).endswith(message)
    assert timed.set_settings() == before


def test_every_bad_key_is_named_at_once(timed: SandboxServer) -> None:
    with pytest.raises(SandboxAdminError) as caught:
        timed.set_settings(propagation_delay=-1, verify_window="long")

    assert "propagation_delay must be" in str(caught.value)
    assert "verify_window must be" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rate_limit_rps": 0}, "rate_limit_rps must be a number > 0, or null (turns the limit off), not 0"),
        ({"error_rate": 1.5}, "error_rate must be a number between 0 and 1, not 1.5"),
        ({"latency_ms": -3}, "latency_ms must be a number of milliseconds >= 0, not -3"),
        ({"drop_register_responses": 1.5}, "drop_register_responses must be an integer >= 0, not 1.5"),
        ({"dns_truncate_udp": 1}, "dns_truncate_udp must be true or false, not 1"),
        ({"chaos": True}, "unknown fault 'chaos': known faults are rate_limit_rps, error_rate"),
    ],
)
def test_bad_faults_answer_422_and_change_nothing(
    timed: SandboxServer, change: dict[str, Any], message: str
) -> None:
    before = timed.set_faults()
    valid = {"latency_ms": 5} if "latency_ms" not in change else {"error_rate": 0.5}

    with pytest.raises(SandboxAdminError, match=r"\(422\)") as caught:
        timed.set_faults(**valid, **change)

    assert message in str(caught.value)
    assert timed.set_faults() == before


def test_faults_read_and_change(timed: SandboxServer) -> None:
    assert timed.set_faults(rate_limit_rps=5, dns_truncate_udp=True) == {
        "rate_limit_rps": 5.0,
        "error_rate": 0.0,
        "latency_ms": 0.0,
        "drop_register_responses": 0,
        "dns_truncate_udp": True,
    }


def test_dns_endpoint_reports_the_dns_server(timed: SandboxServer) -> None:
    assert timed.dns() == {
        "host": "127.0.0.1",
        "port": timed.dns_port,
        "nameservers": ["ns1.dns.sandbox.test", "ns2.dns.sandbox.test"],
    }


def test_dns_endpoint_without_a_dns_server_reports_no_port() -> None:
    with SandboxServer() as server:
        assert server.dns() == {
            "host": "127.0.0.1",
            "port": None,
            "nameservers": ["ns1.dns.sandbox.test", "ns2.dns.sandbox.test"],
        }
        with pytest.raises(RuntimeError, match=r"no DNS server \(set SandboxConfig\(dns_port=0\)\)"):
            _ = server.dns_port


def test_admin_domain_names_follow_the_registration_rules(timed: SandboxServer, register: RegisterFn) -> None:
    register("acme.com")

    assert timed.publish(" ACME.com. ")["domain"] == "acme.com"  # a name copied from a zone file
    with pytest.raises(SandboxAdminError, match=r"\(422\).*must be the part after the @"):
        timed.publish("support@acme.com")


def test_counters_by_route_template_and_status(
    api: httpx.Client, timed: SandboxServer, register: RegisterFn
) -> None:
    domain_id = register("acme.com")["id"]
    api.post(f"/core/email-domains/{domain_id}/verify")
    api.post(f"/core/email-domains/{domain_id}/verify")
    api.get("/core/email-domains/dom_missing")
    api.get("/core/email-domains", headers={"Authorization": "Bearer nope"})
    api.get("/nowhere")
    timed.domains()  # admin calls are not counted

    stats = timed.stats()

    assert stats == {
        "total": 6,
        "by_route": {
            "POST /core/email-domains": {"201": 1},
            "POST /core/email-domains/{id}/verify": {"200": 2},
            "GET /core/email-domains/{id}": {"404": 1},
            "GET /core/email-domains": {"401": 1},
            "GET (unmatched)": {"404": 1},
        },
        "rate_limited": 0,
        "dropped_responses": 0,
    }


def test_reset_stats_zeroes_counters(api: httpx.Client, timed: SandboxServer) -> None:
    api.get("/core/email-domains")

    timed.reset_stats()

    assert timed.stats() == {"total": 0, "by_route": {}, "rate_limited": 0, "dropped_responses": 0}


def test_reset_forgets_domains_dns_and_counters_but_keeps_settings(
    api: httpx.Client, timed: SandboxServer, register: RegisterFn
) -> None:
    register("acme.com")
    timed.publish("acme.com")
    timed.set_settings(propagation_delay=3)

    timed.reset()

    assert timed.domains() == []
    assert timed.stats()["total"] == 0
    assert timed.set_settings()["propagation_delay"] == 3
    register("acme.com")
    assert _published(timed, "acme.com") == NONE_PUBLISHED


def test_admin_api_refuses_non_loopback_clients(timed: SandboxServer) -> None:
    transport = httpx.WSGITransport(app=timed.app, remote_addr="192.0.2.10")
    with httpx.Client(transport=transport, base_url="http://sandbox") as client:
        response = client.get("/_sandbox/domains")

    assert response.status_code == 403
    assert "loopback" in response.json()["error"]["message"]


def test_tokens_can_be_issued_and_revoked_while_the_sandbox_runs(sandbox: SandboxServer) -> None:
    sandbox.add_credential("tok_rotated_new_0001", "org_dev", ["email_domains:read"])
    with sandbox.client("tok_rotated_new_0001") as reader:
        assert reader.get("/core/email-domains").status_code == 200
        assert reader.post("/core/email-domains", json={"domain": "acme.com"}).status_code == 403
    sandbox.revoke_credential("tok_rotated_new_0001")
    with sandbox.client("tok_rotated_new_0001") as revoked:
        assert revoked.get("/core/email-domains").status_code == 401
    with pytest.raises(SandboxAdminError, match="does not know that token"):
        sandbox.revoke_credential("tok_never_issued")
    sandbox.revoke_credential("dev-token")
    with sandbox.client() as dev:
        assert dev.get("/core/email-domains").status_code == 401
    sandbox.reset()  # the start-up credentials come back
    with sandbox.client() as dev:
        assert dev.get("/core/email-domains").status_code == 200
