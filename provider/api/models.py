"""Typed views of what the Email Domains API returns.

The models are tolerant readers: fields the API adds later are ignored, a status value outside the
documented vocabulary is kept in ``raw_status`` and read as ``pending`` (the safe assumption: not usable
yet), and the list endpoint may answer with a bare array or with an object holding one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DnsRecord", "Domain", "DomainStatus", "parse_domain_list"]


class DomainStatus(StrEnum):
    """The normalized verification state of a domain or of one of its DNS records."""

    PENDING = "pending"
    """Verification is in progress or not complete yet; one or more records have not resolved."""
    VERIFIED = "verified"
    """Every record resolved; the domain can send and receive."""
    FAILED = "failed"
    """The provider reported a verification failure; re-check the records and verify again."""

    @classmethod
    def parse(cls, value: object) -> DomainStatus:
        """Read a status the server sent; anything outside the vocabulary counts as ``pending``."""
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        return cls.PENDING


def _keep_unknown_status(data: Any) -> Any:
    """Move a status outside the vocabulary into ``raw_status`` (unless the server sent one) and
    replace it by ``pending``, so an API that grows a new status does not break the reader."""
    if not isinstance(data, dict):
        return data
    sent = data.get("status")
    parsed = DomainStatus.parse(sent)
    if sent == parsed.value:
        return data
    data = dict(data)
    recognized = isinstance(sent, str) and sent.strip().lower() == parsed.value
    if not recognized and sent is not None and data.get("raw_status") is None:
        data["raw_status"] = str(sent)
    data["status"] = parsed
    return data


class _ApiModel(BaseModel):
    """Common configuration: ignore unknown fields, accept numbers where strings are expected."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, populate_by_name=True)


class DnsRecord(_ApiModel):
    """One DNS record the domain owner must publish, as the API returns it."""

    record: str | None = None
    """Purpose label from the provider (``DKIM``, ``SPF``, ``DMARC``, ``Receiving``...), if given."""
    type: str
    """Record type in upper case: ``MX``, ``TXT`` or ``CNAME``."""
    name: str
    """Host name relative to the domain (``send``, ``resend._domainkey``); ``@`` is the domain itself."""
    value: str
    """The value to publish, exactly as returned (the SPF TXT value may carry embedded quotes)."""
    priority: int | None = None
    """MX priority (lower wins); absent on other types."""
    status: DomainStatus = DomainStatus.PENDING
    """Per-record verification state."""
    raw_status: str | None = None
    """The status exactly as sent when it was outside the vocabulary (otherwise what the server sent)."""
    ttl: str | None = None
    """TTL as the API describes it (``"Auto"``), informational."""

    @model_validator(mode="before")
    @classmethod
    def _normalize_status(cls, data: Any) -> Any:
        return _keep_unknown_status(data)

    @field_validator("type", mode="after")
    @classmethod
    def _upper_type(cls, value: str) -> str:
        return value.strip().upper()


class Domain(_ApiModel):
    """A registered email domain with its status and the DNS records to publish."""

    id: str
    """Opaque identifier the API assigned; used by get/verify/refresh/delete."""
    domain: str
    """The registered domain name, lower case (``acme.com``)."""
    provider: str = "resend"
    """Email provider behind the domain."""
    status: DomainStatus = DomainStatus.PENDING
    """Normalized status of the whole domain."""
    raw_status: str | None = None
    """The provider's own status word (``not_started``, ``partially_verified``...), informational."""
    region: str | None = None
    """Provider region, if the API reports one."""
    created_at: str | None = None
    """Creation time as the API formats it, if reported."""
    dns_records: list[DnsRecord] = Field(default_factory=list)
    """Every record to publish: DKIM, SPF, DMARC and the inbound MX."""

    @model_validator(mode="before")
    @classmethod
    def _normalize_status(cls, data: Any) -> Any:
        return _keep_unknown_status(data)

    @field_validator("dns_records", mode="before")
    @classmethod
    def _null_records_are_none(cls, value: Any) -> Any:
        # An API that has not computed the records yet may send null rather than [].
        return [] if value is None else value

    @property
    def is_verified(self) -> bool:
        """Whether the whole domain is verified and can send and receive."""
        return self.status is DomainStatus.VERIFIED

    @property
    def unverified_records(self) -> list[DnsRecord]:
        """Records that have not resolved yet (pending or failed): what a waiting user must look at."""
        return [rec for rec in self.dns_records if rec.status is not DomainStatus.VERIFIED]


#: Keys under which list responses are known to nest the array, tried in this order.
_LIST_KEYS = ("data", "items", "domains", "results")


def parse_domain_list(payload: Any) -> list[Domain]:
    """Read a list response: a bare array, or an object holding the array under ``data``, ``items``,
    ``domains``, ``results`` or, failing those, its only list-valued field.

    Raises:
        ValueError: the payload holds no recognizable list of domain objects (pydantic's
            ``ValidationError`` is a ``ValueError`` too).
    """
    items: Any
    if isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict):
        known = [key for key in _LIST_KEYS if isinstance(payload.get(key), list)]
        if known:
            items = payload[known[0]]
        else:
            lists = [value for value in payload.values() if isinstance(value, list)]
            if len(lists) != 1:
                fields = ", ".join(sorted(map(str, payload))) or "none"
                raise ValueError(f"expected a list of domains, got an object with fields: {fields}")
            items = lists[0]
    else:
        raise ValueError(f"expected a list of domains, got {type(payload).__name__}")
    return [Domain.model_validate(item) for item in items]
