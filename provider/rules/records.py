"""DNS record rules: the one home of record-name qualification, TXT text and plan-versus-platform matching.

The platform names records relative to the domain (``send``, ``@`` for the domain itself) but some come in
full (Resend's tracking records); DNS consoles, Cloudflare and ``dig`` need full names. TXT values come as
the API gives them (Resend's SPF value carries zone-file quotes); DNS serves the text inside. Every
comparison of the records a stack publishes with the records the platform asks for goes through
:func:`compare_records`, so the component (before publishing) and the verification (before waiting) agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

__all__ = [
    "APEX",
    "RecordComparison",
    "RecordKey",
    "RecordLike",
    "compare_records",
    "describe_record",
    "host_name",
    "record_full_name",
    "record_key",
    "relative_record_name",
    "txt_text",
]

APEX = "@"
"""The platform's name for the domain itself."""

RecordKey = tuple[str, str]
"""``(TYPE, relative name)``: what identifies a record among a domain's records."""


class RecordLike(Protocol):
    """What the rules read of a record the platform returned (``provider.api.models.DnsRecord``); the
    rules do not depend on the API layer."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def priority(self) -> int | None: ...


Record = TypeVar("Record", bound=RecordLike)


def record_full_name(name: str, domain: str) -> str:
    """The fully qualified name, lowercase, without the trailing dot: ``@`` -> ``acme.com``,
    ``send`` -> ``send.acme.com``; a name already under ``domain`` (tracking records come that way) or
    ending in a dot (absolute, e.g. ``bounce.other.org.``) is kept as it is."""
    raw, zone = name.strip().lower(), host_name(domain)
    if raw.endswith("."):
        return raw.rstrip(".") or zone
    if raw in ("", APEX, zone) or raw.endswith(f".{zone}"):
        return zone if raw in ("", APEX) else raw
    return f"{raw}.{zone}"


def relative_record_name(name: str, domain: str) -> str:
    """The name relative to ``domain``, lowercase: ``send.acme.com`` -> ``send``; the domain -> ``@``
    (a name outside the domain stays in full)."""
    full, zone = record_full_name(name, domain), host_name(domain)
    return APEX if full == zone else full.removesuffix(f".{zone}")


def record_key(record_type: str, name: str, domain: str) -> RecordKey:
    """The key of a record of ``record_type`` named ``name`` (relative or full) under ``domain``."""
    return (record_type.strip().upper(), relative_record_name(name, domain))


def host_name(value: str) -> str:
    """A target host (MX, CNAME) as DNS and Cloudflare hold it: lowercase, no surrounding spaces, no
    trailing dot."""
    return value.strip().rstrip(".").lower()


def txt_text(value: str) -> str:
    """The text a TXT value stands for, as DNS serves it.

    A value in zone-file quotes (``"v=spf1 include:amazonses.com ~all"``, as Resend returns SPF), or split
    in quoted chunks as DNS hosts show values over 255 characters (``"p=MIGf..." "...QAB"``), is unquoted
    (``\\"``, ``\\\\`` and ``\\DDD`` escapes decoded) and joined; anything else is the text itself, without
    surrounding spaces.
    """
    stripped = value.strip()
    if not stripped.startswith('"'):
        return stripped
    chunks = _quoted_chunks(stripped)
    if chunks is None:
        return stripped  # an unbalanced quote is part of the text, not zone-file syntax
    return b"".join(chunks).decode("utf-8", "backslashreplace")


def _quoted_chunks(text: str) -> list[bytes] | None:
    """Zone-file quoted strings separated by spaces, decoded; None if ``text`` is not only that."""
    chunks: list[bytes] = []
    index, end = 0, len(text)
    while index < end:
        if text[index].isspace():
            index += 1
            continue
        if text[index] != '"':
            return None
        index += 1
        chunk = bytearray()
        while True:
            if index >= end:
                return None
            char = text[index]
            if char == '"':
                index += 1
                break
            if char == "\\":
                digits = text[index + 1 : index + 4]
                if len(digits) == 3 and digits.isdigit() and int(digits) < 256:
                    chunk.append(int(digits))
                    index += 4
                    continue
                if index + 1 >= end:
                    return None
                char = text[index + 1]
                index += 1
            chunk += char.encode("utf-8")
            index += 1
        if index < end and not text[index].isspace():
            return None
        chunks.append(bytes(chunk))
    return chunks


def describe_record(record: RecordLike, domain: str) -> str:
    """``MX send.acme.com = 10 feedback-smtp...``: how messages show a record the platform returned."""
    value = f"{record.priority} {record.value}" if record.priority is not None else record.value
    return f"{record.type} {record_full_name(record.name, domain)} = {value}"


@dataclass(frozen=True)
class RecordComparison(Generic[Record]):
    """The platform's records paired with the planned ones."""

    matched: dict[RecordKey, Record] = field(default_factory=dict)
    """Planned key -> the platform's record of that type and name."""
    unplanned: list[Record] = field(default_factory=list)
    """Records the platform asks for that the plan does not publish."""
    missing: list[RecordKey] = field(default_factory=list)
    """Planned records the platform did not return."""
    duplicates: list[Record] = field(default_factory=list)
    """Further platform records with a key already matched."""

    @property
    def agrees(self) -> bool:
        """Whether the platform asks for exactly the planned records."""
        return not (self.unplanned or self.missing or self.duplicates)


def compare_records(
    planned: Iterable[RecordKey], platform: Iterable[Record], domain: str
) -> RecordComparison[Record]:
    """Pair each planned ``(type, name)`` with the platform's record of the same type and name.

    Planned names may be relative or full; both sides are compared as :func:`record_key` makes them.
    """
    wanted = [record_key(record_type, name, domain) for record_type, name in planned]
    comparison: RecordComparison[Record] = RecordComparison()
    for record in platform:
        key = record_key(record.type, record.name, domain)
        if key not in wanted:
            comparison.unplanned.append(record)
        elif key in comparison.matched:
            comparison.duplicates.append(record)
        else:
            comparison.matched[key] = record
    comparison.missing.extend(key for key in wanted if key not in comparison.matched)
    return comparison
