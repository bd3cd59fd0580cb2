"""The sandbox's own domain-name rules (sandbox/_domain_names.py), as a table, and over HTTP."""

from __future__ import annotations

import httpx
import pytest

from sandbox import DomainNameError, normalize_domain_name

ACCEPTED = [
    ("acme.com", "acme.com"),
    ("ACME.Com", "acme.com"),
    ("agents.acme.com", "agents.acme.com"),  # a dedicated subdomain, as the product recommends
    ("mail.eu.acme.co.uk", "mail.eu.acme.co.uk"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),  # bücher.de as punycode
    ("XN--R8JZ45G.jp", "xn--r8jz45g.jp"),  # 例え.jp, uppercase punycode
    ("a-b.c-d.example", "a-b.c-d.example"),
    ("1.example", "1.example"),  # numeric labels are fine, except the last
    ("a.io", "a.io"),
    ("anyreach.ai", "anyreach.ai"),  # the company's domain is not the platform domain
    ("agents-anyreach.ai", "agents-anyreach.ai"),
    ("x" * 63 + ".com", "x" * 63 + ".com"),
    (".".join(["a" * 61] * 4) + ".com", ".".join(["a" * 61] * 4) + ".com"),  # 251 characters
]

REJECTED = [
    ("", "is empty"),
    ("acme", "is a single label: send a full domain with a top-level domain, such as 'acme.com'"),
    ("support@acme.com", "must be the part after the @, not an email address: use 'acme.com'"),
    ("@acme.com", "must be the part after the @"),
    ("https://acme.com", "must be a bare domain name without a scheme: use 'acme.com'"),
    ("acme.com/path", "must not contain a path: use 'acme.com'"),
    ("acme.com:25", "must not contain a port: use 'acme.com'"),
    (" acme.com", "contains whitespace"),
    ("acme .com", "contains whitespace"),
    ("acme.com\n", "contains whitespace"),
    ("*.acme.com", "must not contain a wildcard: register the domain itself, such as 'acme.com'"),
    ("*acme.com", "must not contain a wildcard"),
    (".acme.com", "starts with a dot: use 'acme.com'"),
    ("acme.com.", "ends with a dot: drop it: use 'acme.com'"),
    ("acme..com", "has an empty label"),
    ("acme_mail.com", "has the label 'acme_mail' with '_': labels hold only letters, digits and hyphens"),
    ("-acme.com", "starting or ending with a hyphen"),
    ("acme-.com", "starting or ending with a hyphen"),
    ("x" * 64 + ".com", "has a label of 64 characters: each label has at most 63"),
    (".".join(["a" * 62] * 4) + ".com", "is 255 characters long: a domain name has at most 253"),
    ("acme.123", "ends in the all-numeric label '123': top-level domains are never numeric"),
    ("192.168.1.10", "is an IP address, not a domain name"),
    ("::1", "is an IP address, not a domain name"),
    ("[2001:db8::1]", "is an IP address, not a domain name"),
    ("bücher.de", "contains non-ASCII characters: send the punycode form 'xn--bcher-kva.de'"),
    ("ACME。com", "contains non-ASCII characters"),  # an ideographic full stop is not a dot
    ("xn--zz.com", "has the label 'xn--zz', which is not valid punycode"),
    ("xn--a.com", "which is not valid punycode"),
    ("agents.anyreach.ai", "is the platform domain, which needs no registration"),
    ("AGENTS.anyreach.ai", "is the platform domain"),
    ("eu.agents.anyreach.ai", "is the platform domain"),
]


@pytest.mark.parametrize(("value", "stored"), ACCEPTED, ids=[value[:40] for value, _ in ACCEPTED])
def test_accepted_names_and_their_stored_form(value: str, stored: str) -> None:
    assert normalize_domain_name(value) == stored


@pytest.mark.parametrize(("value", "fragment"), REJECTED, ids=[repr(value)[:40] for value, _ in REJECTED])
def test_rejected_names_say_what_is_wrong_and_the_fix(value: str, fragment: str) -> None:
    with pytest.raises(DomainNameError) as caught:
        normalize_domain_name(value)

    message = str(caught.value)
    assert message.startswith(f"domain {value!r} ")
    assert fragment in message
    assert caught.value.fix in message


@pytest.mark.parametrize(("value", "stored"), ACCEPTED[:5])
def test_registration_stores_the_normalized_name(api: httpx.Client, value: str, stored: str) -> None:
    response = api.post("/core/email-domains", json={"domain": value})

    assert response.status_code == 201, response.text
    assert response.json()["domain"] == stored


@pytest.mark.parametrize(("value", "fragment"), REJECTED[::3])
def test_registration_answers_422_with_the_rule_message(api: httpx.Client, value: str, fragment: str) -> None:
    response = api.post("/core/email-domains", json={"domain": value})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert fragment in response.json()["error"]["message"]
