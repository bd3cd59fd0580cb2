"""The DNS records as the resources write them into state (the ``dns_records`` outputs).

State is a contract: later releases must keep reading what this model wrote, so fields are only ever
added, with defaults.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from provider.api.models import DnsRecord, Domain

__all__ = ["DnsRecordState"]


class DnsRecordState(BaseModel):
    """One DNS record to publish, as the resources output it (``dns_records`` items)."""

    model_config = ConfigDict(extra="ignore")

    record: str | None = None
    """Purpose label (``DKIM``, ``SPF``, ``DMARC``, ``Receiving``), if the platform gives one."""
    type: str
    """Record type: ``MX``, ``TXT`` or ``CNAME``."""
    name: str
    """Host name relative to the domain; ``@`` is the domain itself."""
    value: str
    """Value to publish, exactly as the platform returns it."""
    priority: int | None = None
    """MX priority; ``None`` on other types."""
    status: str
    """Per-record verification state: ``verified``, ``pending`` or ``failed``."""

    @classmethod
    def from_record(cls, record: DnsRecord) -> DnsRecordState:
        """Project an API record onto the output shape."""
        return cls(
            record=record.record,
            type=record.type,
            name=record.name,
            value=record.value,
            priority=record.priority,
            status=record.status.value,
        )

    @classmethod
    def list_of(cls, domain: Domain) -> list[DnsRecordState]:
        """The output records of ``domain``, in the platform's order."""
        return [cls.from_record(record) for record in domain.dns_records]
