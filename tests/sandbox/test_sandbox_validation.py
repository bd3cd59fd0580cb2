"""Register validation: the body, the provider field and the domain-name rules (over HTTP)."""

from __future__ import annotations

import httpx
import pytest

from sandbox.testing import SandboxServer


def _error(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    assert error["status"] == response.status_code
    return response.status_code, error["code"], error["message"]


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (
            "https://acme.com",
            "domain 'https://acme.com' must be a bare domain name without a scheme: use 'acme.com'",
        ),
        ("support@acme.com", "must be the part after the @, not an email address: use 'acme.com'"),
        ("localhost", "is a single label"),
        ("agents.anyreach.ai", "is the platform domain, which needs no registration"),
        ("", "is empty"),
        ("bücher.de", "contains non-ASCII characters: send the punycode form 'xn--bcher-kva.de'"),
    ],
)
def test_invalid_domain_answers_422_with_the_rule_message(
    api: httpx.Client, domain: str, message: str
) -> None:
    status, code, text = _error(api.post("/core/email-domains", json={"domain": domain}))

    assert (status, code) == (422, "validation_error")
    assert message in text


def test_nothing_is_stored_after_a_rejected_registration(api: httpx.Client, timed: SandboxServer) -> None:
    api.post("/core/email-domains", json={"domain": "acme.com:25"})

    assert timed.domains() == []


def test_domain_is_stored_normalized(api: httpx.Client) -> None:
    upper = api.post("/core/email-domains", json={"domain": "Mail.ACME.com"})
    punycode = api.post("/core/email-domains", json={"domain": "XN--BCHER-KVA.de"})

    assert upper.json()["domain"] == "mail.acme.com"
    assert punycode.json()["domain"] == "xn--bcher-kva.de"


def test_explicit_resend_provider_is_accepted(api: httpx.Client) -> None:
    response = api.post("/core/email-domains", json={"domain": "acme.com", "provider": "resend"})

    assert response.status_code == 201
    assert response.json()["provider"] == "resend"


@pytest.mark.parametrize("provider", ["sendgrid", "", 42])
def test_other_provider_answers_422_saying_only_resend(api: httpx.Client, provider: object) -> None:
    status, code, text = _error(
        api.post("/core/email-domains", json={"domain": "acme.com", "provider": provider})
    )

    assert (status, code) == (422, "validation_error")
    assert "only 'resend' is" in text


@pytest.mark.parametrize(
    "content", [b"", b"not json", b"[1, 2]", b'"acme.com"'], ids=["empty", "garbage", "array", "string"]
)
def test_body_that_is_not_a_json_object_answers_400(api: httpx.Client, content: bytes) -> None:
    response = api.post("/core/email-domains", content=content, headers={"Content-Type": "application/json"})

    status, code, text = _error(response)
    assert (status, code) == (400, "bad_request")
    assert '{"domain": "acme.com"}' in text


def test_missing_domain_answers_422_naming_the_field(api: httpx.Client) -> None:
    status, code, text = _error(api.post("/core/email-domains", json={"provider": "resend"}))

    assert (status, code) == (422, "validation_error")
    assert 'Field "domain" is required' in text


def test_non_string_domain_answers_422(api: httpx.Client) -> None:
    status, code, text = _error(api.post("/core/email-domains", json={"domain": ["acme.com"]}))

    assert (status, code) == (422, "validation_error")
    assert "must be a string" in text
