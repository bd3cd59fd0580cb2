"""Domain-name rules of the provider: the one home of strict and lenient normalization and of the
platform domain.

``normalize_domain`` (strict) checks a name a user wrote and returns the canonical form that the API
stores: lowercase ASCII, Unicode labels converted to punycode (IDNA 2008 with UTS 46 mapping). Stack
config, component arguments and ``EmailDomain.check`` all call it, so a name the preview accepts is a name
the provider registers. ``canonical_domain`` (lenient) compares names that came from the platform or from
state and never raises. ``is_platform_domain`` recognizes ``agents.anyreach.ai``. The sandbox has its own
rules, written independently from the API page, so that tests of one against the other catch a wrong rule.

Nothing is stripped or guessed silently: apart from lowercasing (and the UTS 46 mapping of Unicode
input), anything that is not already a bare domain name is rejected with a message that says what is
wrong and, when one exists, the value to use instead.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import idna

__all__ = [
    "MAX_LABEL_LENGTH",
    "MAX_NAME_LENGTH",
    "PLATFORM_DOMAIN",
    "InvalidDomainError",
    "canonical_domain",
    "is_platform_domain",
    "normalize_domain",
]

PLATFORM_DOMAIN = "agents.anyreach.ai"
"""The default platform domain: every organization may use it without registering it."""

MAX_LABEL_LENGTH = 63
"""Longest label DNS allows, counted on the punycode form."""

MAX_NAME_LENGTH = 253
"""Longest domain name DNS allows (without the trailing root dot), counted on the punycode form."""

_LDH_LABEL = re.compile(r"[a-z0-9-]+")
_NOT_LDH = re.compile(r"[^a-z0-9-]")
_WHITESPACE = re.compile(r"\s")


class InvalidDomainError(ValueError):
    """A value that is not a registrable domain name; the message says why and how to fix it."""

    def __init__(self, value: object, problem: str, fix: str) -> None:
        self.value = value
        self.problem = problem
        self.fix = fix
        super().__init__(f"domain {value!r} {problem}: {fix}")


def normalize_domain(value: str) -> str:
    """Return ``value`` as the canonical domain name the API registers, or raise.

    The result is lowercase ASCII (punycode for Unicode labels). Raises ``InvalidDomainError`` for
    anything else: emails, URLs, ports, paths, wildcards, IP literals, trailing dots, whitespace,
    single labels, all-numeric top-level labels, over-long labels or names, invalid IDNA, and the
    platform domain ``agents.anyreach.ai`` (or a subdomain of it), which needs no registration.
    """
    if not isinstance(value, str):
        raise InvalidDomainError(
            value,
            f"must be a string, not {type(value).__name__}",
            "pass the domain name as text, such as 'acme.com'",
        )
    _check_shape(value)
    labels = _to_ascii_labels(value)
    _check_labels(value, labels)
    name = ".".join(labels)
    _check_not_platform(value, name)
    return name


def canonical_domain(value: object) -> str:
    """``value`` in the API's canonical form if it is a valid name, else lowercased without surrounding
    whitespace or a trailing dot.

    For comparing names that came from the platform, from state or from an older release: it answers for
    any value and never raises (a name the strict rules reject still compares with itself).
    """
    text = str(value)
    try:
        return normalize_domain(text)
    except InvalidDomainError:
        return text.strip().rstrip(".").lower()


def is_platform_domain(name: str) -> bool:
    """Tell whether ``name`` is the platform domain ``agents.anyreach.ai`` or one of its subdomains.

    Lenient on purpose (case, surrounding whitespace, a trailing dot, Unicode dots): it answers a
    question about any string and never raises.
    """
    candidate = name.strip()
    try:
        candidate = idna.uts46_remap(candidate, std3_rules=False, transitional=False)
    except (idna.IDNAError, ValueError):
        candidate = candidate.lower()
    candidate = candidate.rstrip(".")
    return candidate == PLATFORM_DOMAIN or candidate.endswith("." + PLATFORM_DOMAIN)


def _suggest(value: str, candidate: str | None, fallback: str) -> str:
    """Offer ``use '<candidate>'`` when that candidate is itself valid, else the generic fix."""
    # Only strictly shorter candidates, so that the recursion through normalize_domain ends.
    if candidate and len(candidate) < len(value):
        try:
            return f"use {normalize_domain(candidate)!r}"
        except InvalidDomainError:
            pass
    return fallback


def _check_shape(value: str) -> None:
    """Reject what is not a bare domain name, before any IDNA processing."""
    if not value.strip():
        raise InvalidDomainError(
            value, "is empty or only whitespace", "pass a domain name such as 'acme.com'"
        )
    if "://" in value:
        host = urlsplit(value.strip()).hostname
        raise InvalidDomainError(
            value,
            "must be a bare domain name without a scheme",
            _suggest(value, host, "remove the scheme (such as 'https://') and pass only the domain name"),
        )
    if "@" in value:
        raise InvalidDomainError(
            value,
            "must be the part after the @, not an email address",
            _suggest(
                value, value.rsplit("@", 1)[1], "pass only the domain part of the address, such as 'acme.com'"
            ),
        )
    if "/" in value or "\\" in value:
        raise InvalidDomainError(
            value,
            "must not contain a path",
            _suggest(
                value,
                re.split(r"[/\\]", value, maxsplit=1)[0],
                "pass only the domain name, such as 'acme.com'",
            ),
        )
    if _is_ip_literal(value.strip()):
        raise InvalidDomainError(
            value, "is an IP address, not a domain name", "pass a DNS name such as 'acme.com'"
        )
    if ":" in value:
        raise InvalidDomainError(
            value,
            "must not contain a port",
            _suggest(value, value.split(":", 1)[0], "remove the ':' and the port number"),
        )
    if value != value.strip():
        raise InvalidDomainError(
            value,
            "has leading or trailing whitespace",
            _suggest(value, value.strip(), "remove the whitespace"),
        )
    if _WHITESPACE.search(value):
        raise InvalidDomainError(value, "contains whitespace", "remove it; domain names have no spaces")
    if "*" in value:
        raise InvalidDomainError(
            value,
            "must not contain a wildcard '*'",
            _suggest(value, value.removeprefix("*."), "register the domain itself, such as 'acme.com'"),
        )
    if value.endswith(".") and value.strip("."):
        raise InvalidDomainError(
            value, "must not end with a dot", _suggest(value, value.rstrip("."), "remove the trailing dot")
        )


def _is_ip_literal(value: str) -> bool:
    """True for IPv4 and IPv6 addresses, bracketed (``[::1]``) or not."""
    candidate = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _to_ascii_labels(value: str) -> list[str]:
    """Lowercase ``value`` and convert Unicode labels to punycode; lengths are checked later."""
    if value.isascii():
        # ASCII input skips UTS 46 so that plain LDH names follow DNS rules only (e.g. 'ab--cd.com').
        labels = value.lower().split(".")
    else:
        try:
            mapped = idna.uts46_remap(value, std3_rules=True, transitional=False)
        except (idna.IDNAError, ValueError) as exc:
            raise _idna_error(value, exc) from exc
        labels = mapped.split(".")
    return [_label_to_ascii(value, label) for label in labels]


def _label_to_ascii(value: str, label: str) -> str:
    """Return one label in ASCII: punycode for Unicode labels, validated A-labels for ``xn--``."""
    if label.isascii():
        if label.startswith("xn--") and _LDH_LABEL.fullmatch(label):
            try:
                idna.ulabel(label)
            except (idna.IDNAError, UnicodeError) as exc:
                raise _idna_error(value, exc) from exc
        return label
    try:
        return idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        message = str(exc)
        if "too long" in message.lower():
            # idna refuses over-long labels itself; report the length like for ASCII labels.
            return "xn--" + label.encode("punycode").decode("ascii")
        raise _idna_error(value, exc) from exc


def _idna_error(value: str, exc: Exception) -> InvalidDomainError:
    return InvalidDomainError(
        value,
        f"is not a valid internationalized domain name ({exc})",
        "use letters, digits and hyphens, or check the spelling of the Unicode labels",
    )


def _check_labels(value: str, labels: list[str]) -> None:
    """Apply the DNS rules to the ASCII labels: count, emptiness, lengths, characters, hyphens."""
    if any(not label for label in labels):
        kept = [label for label in labels if label]
        raise InvalidDomainError(
            value,
            "has an empty label (a leading dot or two dots in a row)",
            _suggest(value, ".".join(kept), "remove the extra dot"),
        )
    if len(labels) < 2:
        raise InvalidDomainError(
            value,
            "is a single label, not a registrable domain name",
            "pass a full domain name with a dot, such as 'acme.com'",
        )
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidDomainError(
                value,
                f"has a label of {len(label)} characters ({label[:20]}...)",
                f"labels are at most {MAX_LABEL_LENGTH} characters, shorten it",
            )
    name_length = len(".".join(labels))
    if name_length > MAX_NAME_LENGTH:
        raise InvalidDomainError(
            value,
            f"is {name_length} characters long in its ASCII (punycode) form",
            f"domain names are at most {MAX_NAME_LENGTH} characters, use a shorter name",
        )
    for label in labels:
        bad = _NOT_LDH.search(label)
        if bad:
            raise InvalidDomainError(
                value,
                f"contains {bad.group()!r} in label {label!r}",
                "labels may use only letters, digits and hyphens",
            )
        if label.startswith("-") or label.endswith("-"):
            where = "starts" if label.startswith("-") else "ends"
            raise InvalidDomainError(
                value,
                f"has a label {label!r} that {where} with a hyphen",
                "labels must start and end with a letter or digit",
            )
    if labels[-1].isdigit():
        raise InvalidDomainError(
            value,
            f"ends in the all-numeric label {labels[-1]!r}, which is not a top-level domain",
            "check the spelling; the last label must contain a letter, as in 'acme.com'",
        )


def _check_not_platform(value: str, name: str) -> None:
    if not is_platform_domain(name):
        return
    if name == PLATFORM_DOMAIN:
        raise InvalidDomainError(
            value,
            "is the platform domain, which needs no registration",
            f"use it directly (addresses like name@{PLATFORM_DOMAIN} work without verifying)",
        )
    raise InvalidDomainError(
        value,
        f"is under the platform domain {PLATFORM_DOMAIN}, which needs no registration",
        f"use {PLATFORM_DOMAIN} directly (addresses like name@{PLATFORM_DOMAIN} work without verifying)",
    )
