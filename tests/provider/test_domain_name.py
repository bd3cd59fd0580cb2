"""The shared domain-name rules: a table of good and bad names, and the platform-domain check."""

from __future__ import annotations

import pytest

from provider.rules.domain_name import (
    PLATFORM_DOMAIN,
    InvalidDomainError,
    is_platform_domain,
    normalize_domain,
)

LABEL_63 = "a" * 63
LABEL_64 = "a" * 64
# 4 labels of 63 + 3 dots = 255 characters: every label is legal, the name is not.
NAME_255 = ".".join([LABEL_63] * 4)
# 3 labels of 63 + "ab.cd" = 253 characters: the longest legal name.
NAME_253 = ".".join([LABEL_63] * 3) + ".ab.cd"

GOOD = [
    ("acme.com", "acme.com"),
    ("ACME.COM", "acme.com"),
    ("Mail.Acme.Com", "mail.acme.com"),
    ("mail.acme.co.uk", "mail.acme.co.uk"),
    ("a.io", "a.io"),
    ("1acme.com", "1acme.com"),
    ("acme-corp.com", "acme-corp.com"),
    ("ab--cd.com", "ab--cd.com"),
    ("acme.c0m", "acme.c0m"),
    (f"{LABEL_63}.com", f"{LABEL_63}.com"),
    (NAME_253, NAME_253),
    ("anyreach.ai", "anyreach.ai"),
    ("notagents.anyreach.ai", "notagents.anyreach.ai"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("BÜCHER.de", "xn--bcher-kva.de"),
    ("faß.de", "xn--fa-hia.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("例え.jp", "xn--r8jz45g.jp"),
    ("\uff21\uff23\uff2d\uff25\uff0ecom", "acme.com"),  # fullwidth letters and dot
    ("acme。com", "acme.com"),
]

BAD = [
    ("", "is empty"),
    ("   ", "is empty"),
    ("\t", "is empty"),
    ("https://acme.com", "must be a bare domain name without a scheme: use 'acme.com'"),
    ("http://Support@Acme.com:8080/x", "without a scheme: use 'acme.com'"),
    ("support@acme.com", "not an email address: use 'acme.com'"),
    ("@acme.com", "not an email address: use 'acme.com'"),
    ("support@", "not an email address: pass only the domain part"),
    ("acme.com/path", "must not contain a path: use 'acme.com'"),
    ("acme.com:25", "must not contain a port: use 'acme.com'"),
    ("1.2.3.4:80", "must not contain a port: remove the ':'"),
    ("192.0.2.1", "is an IP address"),
    ("[192.0.2.1]", "is an IP address"),
    ("2001:db8::1", "is an IP address"),
    ("[::1]", "is an IP address"),
    (" acme.com", "leading or trailing whitespace: use 'acme.com'"),
    ("acme.com\n", "leading or trailing whitespace: use 'acme.com'"),
    ("ac me.com", "contains whitespace"),
    ("acme\u00a0corp.com", "contains whitespace"),
    ("*.acme.com", "wildcard '*': use 'acme.com'"),
    ("ac*me.com", "wildcard '*'"),
    ("acme.com.", "must not end with a dot: use 'acme.com'"),
    (".acme.com", "empty label"),
    ("acme..com", "empty label (a leading dot or two dots in a row): use 'acme.com'"),
    (".", "empty label"),
    ("localhost", "is a single label"),
    ("com", "is a single label"),
    ("acme.123", "all-numeric label '123'"),
    ("192.168.1", "all-numeric label '1'"),
    (f"{LABEL_64}.com", "has a label of 64 characters"),
    ("ü" * 60 + ".de", "has a label of 66 characters"),
    (NAME_255, "is 255 characters long"),
    ("a_b.com", "contains '_' in label 'a_b'"),
    ("acme!.com", "contains '!'"),
    ("-acme.com", "label '-acme' that starts with a hyphen"),
    ("acme-.com", "label 'acme-' that ends with a hyphen"),
    ("☃.com", "is not a valid internationalized domain name"),
    ("xn--zz.com", "is not a valid internationalized domain name"),
    ("über_.de", "is not a valid internationalized domain name"),
    (PLATFORM_DOMAIN, "is the platform domain, which needs no registration: use it directly"),
    ("Agents.Anyreach.AI", "is the platform domain"),
    ("mail.agents.anyreach.ai", "is under the platform domain agents.anyreach.ai"),
]


@pytest.mark.parametrize(("value", "expected"), GOOD, ids=[value for value, _ in GOOD])
def test_normalize_domain_accepts(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


@pytest.mark.parametrize(("value", "fragment"), BAD, ids=[repr(value)[:40] for value, _ in BAD])
def test_normalize_domain_rejects(value: str, fragment: str) -> None:
    with pytest.raises(InvalidDomainError) as caught:
        normalize_domain(value)
    message = str(caught.value)
    assert fragment in message
    # Every message names the offending value and ends with how to fix it.
    assert message.startswith(f"domain {value!r} ")
    assert ": " in message


def test_invalid_domain_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="single label"):
        normalize_domain("localhost")


def test_normalize_domain_rejects_non_string() -> None:
    with pytest.raises(InvalidDomainError, match="must be a string, not int"):
        normalize_domain(42)  # type: ignore[arg-type]


def test_normalized_value_is_stable() -> None:
    for value, expected in GOOD:
        assert normalize_domain(expected) == expected, value


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("agents.anyreach.ai", True),
        ("AGENTS.anyreach.ai.", True),
        (" agents.anyreach.ai ", True),
        ("support.agents.anyreach.ai", True),
        ("anyreach.ai", False),
        ("evilagents.anyreach.ai", False),
        ("agents.anyreach.ai.evil.com", False),
        ("acme.com", False),
    ],
)
def test_is_platform_domain(name: str, expected: bool) -> None:
    assert is_platform_domain(name) is expected
