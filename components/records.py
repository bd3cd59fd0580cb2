"""The DNS records of an email domain: the static plan, matching it to the platform's, and formatting.

The platform documents the shape of its records up front (docs/design.md section 1), so the component
plans them before the domain exists: names and types are known at preview time, only the values wait for
the API. This module holds that plan and the pure functions that turn the platform's records into what is
published, written the way Cloudflare stores them so that a later ``pulumi refresh`` shows no drift:

- names in full (``send.acme.com``; the apex is the domain itself), lowercase, no trailing dot;
- MX and CNAME targets lowercase without a trailing dot, MX with the API's priority;
- TXT values unquoted, then wrapped in one pair of quotes, or split into quoted 255-character chunks
  (``"a" "b"``) when longer, the form Cloudflare returns.

Exceptions::

    RecordPlanMismatchError(ValueError)  the platform's records differ from the plan
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APEX",
    "STANDARD_RECORDS",
    "TXT_CHUNK_LENGTH",
    "PlannedRecord",
    "RecordPlanMismatchError",
    "format_content",
    "format_records_for_humans",
    "full_name",
    "match_records",
    "plan_records",
    "quote_txt",
    "records_fingerprint",
    "records_to_publish",
    "relative_name",
    "unquote_txt",
]

APEX = "@"
"""The platform's name for the domain itself."""

TXT_CHUNK_LENGTH = 255
"""A TXT character-string holds at most 255 bytes; longer values are split (RFC 1035 section 3.3)."""

# A DKIM selector token is one DNS label; this keeps a typo from becoming a record name.
_TOKEN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# One or more quoted character-strings separated by blanks: `"a" "b"`.
_QUOTED_STRINGS_RE = re.compile(r'^\s*(?:"(?:[^"\\]|\\.)*"\s*)+$')
_QUOTED_STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class PlannedRecord:
    """One DNS record the component publishes, known before the platform answers."""

    role: str
    """Stable key: the child resource suffix (``<name>-<role>``) and the key in ``cloudflare_record_ids``."""
    record: str
    """The platform's label for the record's purpose (its ``record`` field): DKIM, SPF, DMARC, Receiving."""
    type: str
    """DNS record type: TXT, MX or CNAME."""
    name: str
    """Name relative to the domain, as the platform returns it; ``@`` is the domain itself."""
    purpose: str
    """A few words for humans, used in the Cloudflare record comment."""

    @property
    def key(self) -> tuple[str, str]:
        """The (type, relative name) pair that identifies the record among the platform's."""
        return (self.type, self.name)

    def full_name(self, domain: str) -> str:
        """The record's fully qualified name under ``domain`` (no trailing dot)."""
        return full_name(self.name, domain)

    def describe(self, domain: str) -> str:
        """``TXT resend._domainkey.acme.com (DKIM)``: how error messages name the record."""
        return f"{self.type} {self.full_name(domain)} ({self.record})"


STANDARD_RECORDS: tuple[PlannedRecord, ...] = (
    PlannedRecord("dkim", "DKIM", "TXT", "resend._domainkey", "DKIM signing key"),
    PlannedRecord("spf-mx", "SPF", "MX", "send", "SPF bounce MX"),
    PlannedRecord("spf-txt", "SPF", "TXT", "send", "SPF policy"),
    PlannedRecord("dmarc", "DMARC", "TXT", "_dmarc", "DMARC policy"),
    PlannedRecord("inbound-mx", "Receiving", "MX", APEX, "inbound MX (replies)"),
)
"""The records the platform documents for a domain registered today (docs/design.md section 1)."""


class RecordPlanMismatchError(ValueError):
    """The platform returned records that differ from the planned ones: some unplanned, some missing."""


def plan_records(dkim_cname_tokens: Sequence[str] | None = None) -> tuple[PlannedRecord, ...]:
    """The records to publish: the standard five, or with the legacy DKIM CNAMEs in place of the DKIM TXT.

    Domains registered before Resend moved to a single DKIM TXT record got three CNAMEs
    ``<token>._domainkey``; pass their tokens to publish those instead (roles ``dkim-1``, ``dkim-2``, ...).
    """
    if not dkim_cname_tokens:
        return STANDARD_RECORDS
    tokens = [token.strip().lower() for token in dkim_cname_tokens]
    for token in tokens:
        if not _TOKEN_RE.match(token):
            raise ValueError(
                f"planning DNS records: DKIM CNAME token {token!r} is not a DNS label; pass the part before "
                "'._domainkey' of each CNAME name the platform returns (letters, digits, hyphens)"
            )
    if len(set(tokens)) != len(tokens):
        raise ValueError("planning DNS records: dkim_cname_tokens lists a token twice; list each once")
    legacy = tuple(
        PlannedRecord(f"dkim-{index}", "DKIM", "CNAME", f"{token}._domainkey", "DKIM signing key (CNAME)")
        for index, token in enumerate(tokens, start=1)
    )
    return legacy + tuple(record for record in STANDARD_RECORDS if record.role != "dkim")


def full_name(name: str, domain: str) -> str:
    """Qualify a platform record name: ``@`` -> ``acme.com``, ``send`` -> ``send.acme.com``.

    A name that is already fully qualified under ``domain`` (Resend returns tracking records that way)
    is kept as it is.
    """
    relative = relative_name(name, domain)
    return domain if relative == APEX else f"{relative}.{domain}"


def relative_name(name: str, domain: str) -> str:
    """The name relative to ``domain``, lowercase, ``@`` for the domain itself."""
    cleaned = name.strip().rstrip(".").lower()
    if cleaned in ("", APEX, domain):
        return APEX
    suffix = f".{domain}"
    if cleaned.endswith(suffix):
        return cleaned[: -len(suffix)]
    return cleaned


def unquote_txt(value: str) -> str:
    """The text a TXT value carries, without zone-file quoting.

    Accepts a bare value (``v=DMARC1; p=none;``), a quoted one (``"v=spf1 ... ~all"``, as Resend returns
    SPF) and quoted chunks (``"abc" "def"``, joined without a separator as DNS does).
    """
    stripped = value.strip()
    if _QUOTED_STRINGS_RE.match(stripped):
        stripped = "".join(_QUOTED_STRING_RE.findall(stripped))
    # A stray quote inside the text would make the quoted form ambiguous; DKIM, SPF and DMARC never hold one.
    return stripped.replace('"', "")


def quote_txt(value: str) -> str:
    """TXT content as Cloudflare stores it: one quoted string, or quoted 255-character chunks."""
    text = unquote_txt(value)
    chunks = [text[start : start + TXT_CHUNK_LENGTH] for start in range(0, len(text), TXT_CHUNK_LENGTH)]
    return " ".join(f'"{chunk}"' for chunk in chunks or [""])


def _hostname(value: str) -> str:
    # Cloudflare stores MX and CNAME targets lowercase without the trailing dot; anything else is drift.
    return value.strip().rstrip(".").lower()


def format_content(record_type: str, value: str) -> str:
    """The Cloudflare ``content`` for a record of ``record_type`` whose platform value is ``value``."""
    kind = record_type.upper()
    if kind == "TXT":
        return quote_txt(value)
    if kind in ("MX", "CNAME"):
        return _hostname(value)
    return value.strip()


def _describe_platform_record(record: Mapping[str, Any], domain: str) -> str:
    label = record.get("record") or "no purpose given"
    return f"{record.get('type', '?')} {full_name(str(record.get('name', '')), domain)} ({label})"


def match_records(
    plan: Sequence[PlannedRecord], platform_records: Iterable[Mapping[str, Any]], domain: str
) -> dict[str, dict[str, Any]]:
    """Pair each planned record with the platform's record of the same type and name.

    Returns role -> the platform's record (a plain dict). Raises ``RecordPlanMismatchError`` naming every
    record the platform returned that the plan does not publish, and every planned record it did not
    return, so that ``pulumi up`` fails at once instead of publishing part of the set and then waiting for
    a verification that cannot succeed.
    """
    by_key = {planned.key: planned for planned in plan}
    matched: dict[str, dict[str, Any]] = {}
    unplanned: list[Mapping[str, Any]] = []
    duplicates: list[Mapping[str, Any]] = []
    for record in platform_records:
        key = (str(record.get("type", "")).upper(), relative_name(str(record.get("name", "")), domain))
        planned = by_key.get(key)
        if planned is None:
            unplanned.append(record)
        elif planned.role in matched:
            duplicates.append(record)
        else:
            matched[planned.role] = dict(record)
    missing = [planned for planned in plan if planned.role not in matched]
    if unplanned or missing or duplicates:
        raise RecordPlanMismatchError(_mismatch_message(domain, unplanned, missing, duplicates))
    return matched


def _mismatch_message(
    domain: str,
    unplanned: Sequence[Mapping[str, Any]],
    missing: Sequence[PlannedRecord],
    duplicates: Sequence[Mapping[str, Any]],
) -> str:
    problems: list[str] = []
    if unplanned:
        names = "; ".join(
            f"{_describe_platform_record(record, domain)} = {record.get('value', '')}" for record in unplanned
        )
        problems.append(f"the platform returned records this component does not publish: {names}")
    if missing:
        names = "; ".join(planned.describe(domain) for planned in missing)
        problems.append(f"the platform did not return these planned records: {names}")
    if duplicates:
        names = "; ".join(_describe_platform_record(record, domain) for record in duplicates)
        problems.append(f"the platform returned more than one record of the same type and name: {names}")
    hint = (
        "The platform's record shape differs from the documented one (DKIM TXT resend._domainkey, "
        "SPF MX and TXT send, DMARC TXT _dmarc, inbound MX on the domain)."
    )
    tokens = [
        relative_name(str(record.get("name", "")), domain).split(".", 1)[0]
        for record in unplanned
        if str(record.get("type", "")).upper() == "CNAME"
        and relative_name(str(record.get("name", "")), domain).endswith("._domainkey")
    ]
    if tokens:
        hint += (
            " This domain uses the legacy DKIM CNAME records: set dkim_cname_tokens="
            f"{json.dumps(tokens)} (stack config: dkimCnameTokens) to publish them."
        )
    else:
        hint += (
            " The update stops here, before publishing any record: the component publishes only the "
            "records it plans (so that a preview lists them all); report the new shape so it can plan it."
        )
    return f"planning DNS records for Email Domain ({domain}): {'; and '.join(problems)}. {hint}"


def records_to_publish(
    plan: Sequence[PlannedRecord], matched: Mapping[str, Mapping[str, Any]], domain: str, ttl: int
) -> list[dict[str, Any]]:
    """The records as published: one dict per planned record, in plan order.

    Keys: ``role``, ``record`` (purpose), ``type``, ``name`` (fully qualified), ``value`` (the text or
    target itself, for DNS consoles that add their own quotes), ``content`` (what Cloudflare stores, for
    zone files and APIs), ``priority`` (MX only, else None), ``ttl``.
    """
    published: list[dict[str, Any]] = []
    for planned in plan:
        platform_record = matched[planned.role]
        raw_value = str(platform_record.get("value", ""))
        content = format_content(planned.type, raw_value)
        priority: int | None = None
        if planned.type == "MX":
            raw_priority = platform_record.get("priority")
            if raw_priority is None:
                raise RecordPlanMismatchError(
                    f"planning DNS records for Email Domain ({domain}): the platform returned "
                    f"{planned.describe(domain)} without a priority; an MX record needs one"
                )
            priority = int(raw_priority)
        published.append(
            {
                "role": planned.role,
                "record": planned.record,
                "type": planned.type,
                "name": planned.full_name(domain),
                "value": unquote_txt(raw_value) if planned.type == "TXT" else content,
                "content": content,
                "priority": priority,
                "ttl": ttl,
            }
        )
    return published


def records_fingerprint(records: Sequence[Mapping[str, Any]], zone_id: str | None = None) -> str:
    """A short digest of what is published (zone, types, names, contents, priorities), not of ttl or comments.

    The verification takes it as an input, so republishing a changed record re-runs verification while a
    ttl or comment change does not.
    """
    material = {
        "zone_id": zone_id,
        "records": sorted(
            [str(record["type"]), str(record["name"]), str(record["content"]), record.get("priority")]
            for record in records
        ),
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()[:16]


def format_records_for_humans(records: Sequence[Mapping[str, Any]]) -> str:
    """One line per record, ready to copy into a DNS console: type, full name, priority, value."""
    lines = []
    for record in records:
        priority = f" priority {record['priority']}" if record.get("priority") is not None else ""
        lines.append(f"  {record['type']:<5} {record['name']}{priority}  {record['content']}")
    return "\n".join(lines)
