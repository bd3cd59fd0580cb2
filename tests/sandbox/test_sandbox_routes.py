"""Every public route over real HTTP: status codes, body shapes, error format."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx

from sandbox.testing import SandboxServer
from tests.support import wait_for

RegisterFn = Callable[[str], dict[str, Any]]


def test_register_answers_201_with_pending_domain_and_records(api: httpx.Client) -> None:
    response = api.post("/core/email-domains", json={"domain": "acme.com"})

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("dom_")
    assert body["domain"] == "acme.com"
    assert body["provider"] == "resend"
    assert (body["status"], body["raw_status"]) == ("pending", "not_started")
    assert body["region"] == "us-east-1"
    assert body["created_at"] == "2027-01-15T08:00:00Z"  # the injected clock
    records = [(r["record"], r["type"], r["name"]) for r in body["dns_records"]]
    assert records == [
        ("DKIM", "TXT", "resend._domainkey"),
        ("SPF", "MX", "send"),
        ("SPF", "TXT", "send"),
        ("DMARC", "TXT", "_dmarc"),
        ("Receiving", "MX", "@"),
    ]
    assert [(r["status"], r["ttl"]) for r in body["dns_records"]] == [("pending", "Auto")] * 5


def test_records_values_follow_resend(register: RegisterFn) -> None:
    records = {(r["type"], r["name"]): r for r in register("acme.com")["dns_records"]}

    assert records[("MX", "send")]["value"] == "feedback-smtp.us-east-1.amazonses.com"
    assert records[("MX", "send")]["priority"] == 10
    assert records[("TXT", "send")]["value"] == '"v=spf1 include:amazonses.com ~all"'
    assert records[("TXT", "_dmarc")]["value"] == "v=DMARC1; p=none;"
    assert records[("MX", "@")]["value"] == "inbound-smtp.us-east-1.amazonaws.com"
    assert records[("MX", "@")]["priority"] == 10
    # priority only on MX
    assert sorted(key for key, r in records.items() if "priority" in r) == [("MX", "@"), ("MX", "send")]


def test_dkim_key_is_a_deterministic_1024_bit_rsa_key(api: httpx.Client, register: RegisterFn) -> None:
    first = register("acme.com")
    dkim = first["dns_records"][0]["value"]
    api.delete(f"/core/email-domains/{first['id']}")
    again = register("acme.com")["dns_records"][0]["value"]
    other = register("other.com")["dns_records"][0]["value"]

    assert dkim.startswith("p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ")
    assert len(dkim) == 218
    assert len(base64.b64decode(dkim[2:])) == 162  # SubjectPublicKeyInfo of a 1024-bit key
    assert again == dkim
    assert other != dkim


def test_list_returns_data_of_own_domains_oldest_first(api: httpx.Client, register: RegisterFn) -> None:
    register("b-first.com")
    register("a-second.com")

    response = api.get("/core/email-domains")

    assert response.status_code == 200
    assert [d["domain"] for d in response.json()["data"]] == ["b-first.com", "a-second.com"]


def test_get_returns_the_domain(api: httpx.Client, register: RegisterFn) -> None:
    created = register("acme.com")

    response = api.get(f"/core/email-domains/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


def test_verify_and_refresh_answer_200_with_domain(api: httpx.Client, register: RegisterFn) -> None:
    domain_id = register("acme.com")["id"]

    verify = api.post(f"/core/email-domains/{domain_id}/verify")
    refresh = api.post(f"/core/email-domains/{domain_id}/refresh")

    assert verify.status_code == refresh.status_code == 200
    assert verify.json()["id"] == refresh.json()["id"] == domain_id
    assert verify.json()["raw_status"] == "pending"


def test_delete_answers_deleted_and_forgets_domain(api: httpx.Client, register: RegisterFn) -> None:
    domain_id = register("acme.com")["id"]

    response = api.delete(f"/core/email-domains/{domain_id}")

    assert response.status_code == 200
    assert response.json() == {"id": domain_id, "deleted": True}
    assert api.get(f"/core/email-domains/{domain_id}").status_code == 404
    assert api.get("/core/email-domains").json()["data"] == []
    # the name is free again
    assert api.post("/core/email-domains", json={"domain": "acme.com"}).status_code == 201


def test_unknown_id_answers_404_in_error_format(api: httpx.Client) -> None:
    for method, path in [
        ("GET", "/core/email-domains/dom_missing"),
        ("DELETE", "/core/email-domains/dom_missing"),
        ("POST", "/core/email-domains/dom_missing/verify"),
        ("POST", "/core/email-domains/dom_missing/refresh"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json() == {
            "error": {"status": 404, "code": "not_found", "message": "Email domain dom_missing not found."}
        }


def test_unknown_route_and_wrong_method_answer_json_errors(api: httpx.Client) -> None:
    missing = api.get("/core/nothing-here")
    wrong_method = api.put("/core/email-domains")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_shared_sandbox_fixture_verifies_in_real_time(sandbox: SandboxServer) -> None:
    """The session fixture's fast settings (0.2 s delay and check) let a real verification finish."""
    sandbox.set_settings(verify_window=600)  # a slow machine must not see the attempt fail first
    with sandbox.client() as client:
        domain_id = client.post("/core/email-domains", json={"domain": "acme.com"}).json()["id"]
        sandbox.publish("acme.com")
        assert client.post(f"/core/email-domains/{domain_id}/verify").json()["status"] == "pending"

        def status() -> str:
            value = client.post(f"/core/email-domains/{domain_id}/refresh").json()["status"]
            assert value in ("pending", "verified"), value
            return str(value)

        wait_for(lambda: status() == "verified", "the domain verified in real time")
