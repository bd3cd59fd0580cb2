"""The DNS records of an email domain: the static plan, and the form in which they are published.

The platform documents the shape of its records up front (docs/design.md section 1), so the component
plans them before the domain exists: names and types are known at preview time, only the values wait for
the API. This module holds that plan and turns the platform's records into what is published, written the
way Cloudflare stores them so that a later ``pulumi refresh`` shows no drift:

- names in full (``send.acme.com``; the apex is the domain itself), lowercase, no trailing dot;
- MX and CNAME targets lowercase without a trailing dot, MX with the API's priority;
- TXT values unquoted, then wrapped in one pair of quotes, or split into quoted 255-character chunks
  (``"a" "b"``) when longer, the form Cloudflare returns.

Name qualification, TXT text and the pairing of plan and platform records are the provider's rules
(:mod:`provider.rules.records`); this module applies them.

Exceptions::

    RecordPlanMismatchError(ValueError)  the platform's records differ from the plan
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provider.api.models import DnsRecord
from provider.rules.records import (
    APEX,
    RecordComparison,
    compare_records,
    host_name,
    record_full_name,
    relative_record_name,
    txt_text,
)

__all__ = [
    "STANDARD_RECORDS",
    "TXT_CHUNK_LENGTH",
    "PlannedRecord",
    "RecordPlanMismatchError",
    "format_content",
    "format_records_for_humans",
    "match_records",
    "plan_records",
    "quote_txt",
    "records_to_publish",
]

TXT_CHUNK_LENGTH = 255
"""A TXT character-string holds at most 255 bytes; longer values are split (RFC 1035 section 3.3)."""

# A DKIM selector token is one DNS label; this keeps a typo from becoming a record name.
_TOKEN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


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
        return record_full_name(self.name, domain)

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


def quote_txt(value: str) -> str:
    """TXT content as Cloudflare stores it: one quoted string, or quoted 255-character chunks."""
    text = txt_text(value)
    chunks = [text[start : start + TXT_CHUNK_LENGTH] for start in range(0, len(text), TXT_CHUNK_LENGTH)]
    # Zone-file quoting: a quote or backslash inside the text is escaped (DKIM, SPF and DMARC hold none).
    return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks or [""])


def format_content(record_type: str, value: str) -> str:
    """The Cloudflare ``content`` for a record of ``record_type`` whose platform value is ``value``."""
    kind = record_type.upper()
    if kind == "TXT":
        return quote_txt(value)
    if kind in ("MX", "CNAME"):
        return host_name(value)
    return value.strip()


def match_records(
    plan: Sequence[PlannedRecord], platform_records: Sequence[Mapping[str, Any]], domain: str
) -> dict[str, dict[str, Any]]:
    """Pair each planned record with the platform's record of the same type and name.

    Returns role -> the platform's record (a plain dict). Raises ``RecordPlanMismatchError`` naming every
    record the platform returned that the plan does not publish, and every planned record it did not
    return, so that ``pulumi up`` fails at once instead of publishing part of the set and then waiting for
    a verification that cannot succeed.
    """
    records = [DnsRecord.model_validate(record) for record in platform_records]
    comparison = compare_records([planned.key for planned in plan], records, domain)
    if not comparison.agrees:
        raise RecordPlanMismatchError(_mismatch_message(plan, comparison, domain))
    by_key = {planned.key: planned.role for planned in plan}
    matched: dict[str, dict[str, Any]] = {}
    for record, raw in zip(records, platform_records, strict=True):
        key = (record.type, relative_record_name(record.name, domain))
        if comparison.matched.get(key) is record:
            matched[by_key[key]] = dict(raw)
    return matched


def _describe_with_purpose(record: DnsRecord, domain: str) -> str:
    return f"{record.type} {record_full_name(record.name, domain)} ({record.record or 'no purpose given'})"


def _mismatch_message(
    plan: Sequence[PlannedRecord], comparison: RecordComparison[DnsRecord], domain: str
) -> str:
    problems: list[str] = []
    if comparison.unplanned:
        names = "; ".join(
            f"{_describe_with_purpose(record, domain)} = {record.value}" for record in comparison.unplanned
        )
        problems.append(f"the platform returned records this component does not publish: {names}")
    if comparison.missing:
        by_key = {planned.key: planned for planned in plan}
        names = "; ".join(by_key[key].describe(domain) for key in comparison.missing)
        problems.append(f"the platform did not return these planned records: {names}")
    if comparison.duplicates:
        names = "; ".join(_describe_with_purpose(record, domain) for record in comparison.duplicates)
        problems.append(f"the platform returned more than one record of the same type and name: {names}")
    hint = (
        "The platform's record shape differs from the documented one (DKIM TXT resend._domainkey, "
        "SPF MX and TXT send, DMARC TXT _dmarc, inbound MX on the domain)."
    )
    tokens = [
        relative_record_name(record.name, domain).split(".", 1)[0]
        for record in comparison.unplanned
        if record.type == "CNAME" and relative_record_name(record.name, domain).endswith("._domainkey")
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
                "value": txt_text(raw_value) if planned.type == "TXT" else content,
                "content": content,
                "priority": priority,
                "ttl": ttl,
            }
        )
    return published


def format_records_for_humans(records: Sequence[Mapping[str, Any]]) -> str:
    """One line per record, ready to copy into a DNS console: type, full name, priority, value."""
    lines = []
    for record in records:
        priority = f" priority {record['priority']}" if record.get("priority") is not None else ""
        lines.append(f"  {record['type']:<5} {record['name']}{priority}  {record['content']}")
    return "\n".join(lines)
