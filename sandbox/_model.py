"""What the sandbox stores: domains, their DNS records and the verification bookkeeping."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DomainState",
    "Publication",
    "RecordState",
    "build_records",
    "dkim_public_key",
    "format_timestamp",
    "relative_record_name",
]

# DER prefix of a 1024-bit RSA SubjectPublicKeyInfo up to the modulus, and the exponent 65537 after it:
# the base64 of the whole starts with "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ", like Resend's DKIM keys.
_SPKI_PREFIX = bytes.fromhex("30819f300d06092a864886f70d010101050003818d0030818902818100")
_SPKI_EXPONENT = bytes.fromhex("0203010001")


@dataclass
class RecordState:
    """One DNS record of a domain and what the last attempts made of it."""

    record: str
    """Purpose label: DKIM, SPF, DMARC or Receiving."""
    type: str
    """DNS type: TXT, MX or CNAME."""
    name: str
    """Name relative to the domain; ``@`` is the domain itself."""
    value: str
    """Value to publish, exactly as the API returns it."""
    priority: int | None = None
    """MX priority; None on other types."""
    verified: bool = False
    """Seen in DNS during an attempt, and still published."""
    failure: str | None = None
    """None, ``failed`` (an attempt ended without it) or ``temporary_failure`` (unpublished once verified)."""
    verified_at: float | None = None
    """When the record turned verified (sandbox clock); None while it is not verified."""
    earliest_verify_at: float | None = None
    """The current attempt cannot verify it before this instant (its start, or later: negative cache)."""

    def status(self, attempted: bool) -> tuple[str, str]:
        """Normalized and raw status of the record; ``attempted`` tells whether verify was ever called."""
        if self.verified:
            return "verified", "verified"
        if self.failure is not None:
            return "failed", self.failure
        return "pending", "pending" if attempted else "not_started"

    def key(self, domain: str) -> tuple[str, str, str, str]:
        """The sandbox DNS entry that makes this record published."""
        return (domain, self.type, self.name, self.value)


@dataclass
class DomainState:
    """A registered domain."""

    id: str
    """Opaque id, ``dom_`` and 24 hex digits."""
    domain: str
    """The registered name, normalized (lowercase ASCII)."""
    organization: str
    """The organization that registered it."""
    provider: str
    """Always ``resend``."""
    region: str
    """Region named in the records."""
    created_at: float
    """Registration instant (sandbox clock)."""
    records: list[RecordState] = field(default_factory=list)
    """The DNS records to publish, in the order the API returns them."""
    attempt_started_at: float | None = None
    """When verify was last called; None if it never was."""
    attempt_completed_at: float | None = None
    """The exact instant the current attempt completed (every record verified); None until then."""
    first_reported_verified_at: float | None = None
    """When a public API answer first reported the current attempt's success; None until then."""

    def status(self) -> tuple[str, str]:
        """Normalized and raw status, derived from the records (call after settling them)."""
        attempted = self.attempt_started_at is not None
        statuses = [record.status(attempted)[1] for record in self.records]
        if "temporary_failure" in statuses:
            return "failed", "temporary_failure"
        if "failed" in statuses:
            return "failed", "partially_failed" if "verified" in statuses else "failed"
        if all(status == "verified" for status in statuses):
            # Resend marks a domain pending on verify "regardless of its current status": until the
            # attempt completes (the asynchronous check takes at least check_delay), it stays pending.
            completed = self.attempt_completed_at is not None
            return ("verified", "verified") if completed else ("pending", "pending")
        return "pending", "pending" if attempted else "not_started"

    @property
    def verified_at(self) -> float | None:
        """When the current attempt completed, while the domain is verified; None otherwise."""
        return self.attempt_completed_at if self.status()[0] == "verified" else None

    def to_public(self) -> dict[str, Any]:
        """The domain object of the public API (docs/design.md section 1)."""
        status, raw_status = self.status()
        attempted = self.attempt_started_at is not None
        records = []
        for record in self.records:
            record_status, record_raw_status = record.status(attempted)
            item: dict[str, Any] = {
                "record": record.record,
                "type": record.type,
                "name": record.name,
                "value": record.value,
            }
            if record.priority is not None:
                item["priority"] = record.priority
            item.update({"status": record_status, "raw_status": record_raw_status, "ttl": "Auto"})
            records.append(item)
        return {
            "id": self.id,
            "domain": self.domain,
            "provider": self.provider,
            "status": status,
            "raw_status": raw_status,
            "region": self.region,
            "created_at": format_timestamp(self.created_at),
            "dns_records": records,
        }

    def to_json(self) -> dict[str, Any]:
        """Everything needed to restore this domain from the state file (version 2)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DomainState:
        """Inverse of ``to_json``."""
        values = dict(data)
        values["records"] = [RecordState(**record) for record in data.get("records", [])]
        return cls(**values)


@dataclass(frozen=True)
class Publication:
    """A DNS entry published in the sandbox DNS: when, and the MX preference it carries."""

    published_at: float
    """When it was published (sandbox clock); DNS serves it from ``published_at + propagation_delay``."""
    priority: int | None = None
    """MX preference; None on other types."""


def format_timestamp(seconds: float) -> str:
    """RFC 3339 UTC timestamp with a ``Z`` suffix, to the second."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dkim_public_key(domain: str) -> str:
    """A deterministic stand-in for Resend's DKIM key: a well-formed 1024-bit RSA public key in base64.

    Derived from a hash of the domain, so registering the same domain again gives the same record
    (and the same published DNS entry keeps matching).
    """
    stream = b"".join(hashlib.sha256(f"{domain}/{block}".encode()).digest() for block in range(4))
    modulus = bytearray(stream[:128])
    modulus[0] |= 0x80  # a 1024-bit modulus has its top bit set
    modulus[-1] |= 0x01  # and is odd
    return base64.b64encode(_SPKI_PREFIX + bytes(modulus) + _SPKI_EXPONENT).decode("ascii")


def build_records(domain: str, region: str) -> list[RecordState]:
    """The records Resend returns today (one DKIM TXT), plus the DMARC record the platform adds."""
    return [
        RecordState("DKIM", "TXT", "resend._domainkey", f"p={dkim_public_key(domain)}"),
        RecordState("SPF", "MX", "send", f"feedback-smtp.{region}.amazonses.com", priority=10),
        RecordState("SPF", "TXT", "send", '"v=spf1 include:amazonses.com ~all"'),
        RecordState("DMARC", "TXT", "_dmarc", "v=DMARC1; p=none;"),
        RecordState("Receiving", "MX", "@", f"inbound-smtp.{region}.amazonaws.com", priority=10),
    ]


def relative_record_name(name: str, domain: str) -> str:
    """Accept a record name relative to the domain or in full; return the relative form."""
    lowered = name.strip().lower().rstrip(".")
    if lowered in ("", "@", domain):
        return "@"
    return lowered.removesuffix("." + domain)
