"""The sandbox's own domain-name rules, written from the API page, independent of ``provider/``.

The page says: "Send the bare domain (no @, no subdomain prefix)" and "lowercased and validated (for
example acme.com)". Read here as (see sandbox/README.md, "Domain names"):

- ASCII only: an internationalized name is sent as punycode (``xn--`` labels, which must decode);
  raw Unicode is refused with the punycode to send instead. The name is lowercased, nothing else is
  changed silently.
- A bare name: no ``@`` (an email address), no scheme, path, port, whitespace or wildcard, no leading
  ``*.`` or ``.`` and no trailing dot.
- "No subdomain prefix" means no wildcard or empty leading label. A multi-label name such as
  ``agents.acme.com`` stays registrable: the product recommends a dedicated subdomain for agents.
- DNS syntax: letters, digits and hyphens (LDH), labels of 1 to 63 characters that neither start nor
  end with a hyphen, at least two labels, at most 253 characters, a last label that is not all
  digits, and not an IP address.
- Not the platform domain ``agents.anyreach.ai`` or a name under it: it needs no registration.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import idna

__all__ = ["PLATFORM_DOMAIN", "DomainNameError", "normalize_domain_name"]

PLATFORM_DOMAIN = "agents.anyreach.ai"
"""The default platform domain; every organization may use it without registering anything."""

MAX_LABEL = 63
"""Longest DNS label."""

MAX_NAME = 253
"""Longest DNS name without the root dot."""

_LDH = re.compile(r"[a-z0-9-]+")
_WHITESPACE = re.compile(r"\s")


class DomainNameError(ValueError):
    """A name the API does not register; the message says what is wrong and what to send instead."""

    def __init__(self, value: str, problem: str, fix: str) -> None:
        self.value = value
        """The name as it was sent."""
        self.problem = problem
        """What is wrong, e.g. ``is a single label``."""
        self.fix = fix
        """What to send instead."""
        super().__init__(f"domain {value!r} {problem}: {fix}")


def normalize_domain_name(value: str) -> str:
    """The name as the API stores it (lowercase ASCII), or ``DomainNameError`` saying why not."""
    if value == "":
        raise DomainNameError(value, "is empty", "send the domain to register, such as 'acme.com'")
    if _WHITESPACE.search(value):
        raise DomainNameError(value, "contains whitespace", f"send the name alone, such as {_guess(value)!r}")
    if not value.isascii():
        raise DomainNameError(value, "contains non-ASCII characters", _punycode_fix(value))
    if "://" in value:
        host = urlsplit(value).hostname or "acme.com"
        raise DomainNameError(value, "must be a bare domain name without a scheme", f"use {host!r}")
    if "@" in value:
        domain = value.rpartition("@")[2] or "acme.com"
        raise DomainNameError(value, "must be the part after the @, not an email address", f"use {domain!r}")
    if "/" in value:
        raise DomainNameError(value, "must not contain a path", f"use {value.partition('/')[0]!r}")
    if _is_ip_address(value):
        raise DomainNameError(
            value, "is an IP address, not a domain name", "register a domain name such as 'acme.com'"
        )
    if ":" in value:
        raise DomainNameError(value, "must not contain a port", f"use {value.partition(':')[0]!r}")
    if "*" in value:
        raise DomainNameError(
            value,
            "must not contain a wildcard",
            f"register the domain itself, such as {value.replace('*.', '').strip('*.') or 'acme.com'!r}",
        )
    if value.startswith("."):
        raise DomainNameError(value, "starts with a dot", f"use {value.lstrip('.')!r}")
    if value.endswith("."):
        raise DomainNameError(value, "ends with a dot", f"drop it: use {value.rstrip('.')!r}")
    name = value.lower()
    labels = name.split(".")
    if "" in labels:
        raise DomainNameError(
            value, "has an empty label (two dots in a row)", "use single dots between labels"
        )
    for label in labels:
        _check_label(value, label)
    if len(labels) < 2:
        raise DomainNameError(
            value, "is a single label", f"send a full domain with a top-level domain, such as '{name}.com'"
        )
    if len(name) > MAX_NAME:
        raise DomainNameError(
            value, f"is {len(name)} characters long", f"a domain name has at most {MAX_NAME} characters"
        )
    if labels[-1].isdigit():
        raise DomainNameError(
            value, f"ends in the all-numeric label {labels[-1]!r}", "top-level domains are never numeric"
        )
    if name == PLATFORM_DOMAIN or name.endswith("." + PLATFORM_DOMAIN):
        raise DomainNameError(
            value,
            "is the platform domain, which needs no registration",
            f"create addresses on {PLATFORM_DOMAIN} directly, or register your own domain",
        )
    return name


def _check_label(value: str, label: str) -> None:
    if len(label) > MAX_LABEL:
        raise DomainNameError(
            value, f"has a label of {len(label)} characters", f"each label has at most {MAX_LABEL}"
        )
    if not _LDH.fullmatch(label):
        bad = sorted({char for char in label if not _LDH.fullmatch(char)})
        raise DomainNameError(
            value,
            f"has the label {label!r} with {', '.join(repr(char) for char in bad)}",
            "labels hold only letters, digits and hyphens",
        )
    if label.startswith("-") or label.endswith("-"):
        raise DomainNameError(
            value, f"has the label {label!r} starting or ending with a hyphen", "hyphens go inside labels"
        )
    if label.startswith("xn--"):
        try:
            idna.ulabel(label)
        except (idna.IDNAError, UnicodeError) as exc:
            raise DomainNameError(
                value,
                f"has the label {label!r}, which is not valid punycode ({exc})",
                "send the punycode your registrar shows for the name",
            ) from exc


def _punycode_fix(value: str) -> str:
    try:
        encoded = idna.encode(value.strip().rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return "send the name in ASCII, internationalized labels as punycode (xn--...)"
    return f"send the punycode form {encoded!r}"


def _guess(value: str) -> str:
    parts = value.split()
    return parts[0] if parts else "acme.com"


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True
