"""The records and rules of the sandbox's Cloudflare DNS API stand-in (its HTTP side: ``_cloudflare_api``).

What it models, and where each rule comes from:

- **Endpoints and fields** (the calls ``pulumi-cloudflare`` 6.17.0 makes, through
  terraform-provider-cloudflare v5.19.1 and cloudflare-go v6.10.0):
  ``internal/services/dns_record/resource.go`` of the provider creates with ``POST
  zones/{zone_id}/dns_records`` (``Records.New``), reads with ``GET .../dns_records/{id}`` (a 404 drops the
  record from state), updates with ``PUT`` (``Records.Update``: the whole record, ``MarshalForUpdate`` sends
  every configured field, ``null`` for a removed comment) and deletes with ``DELETE``; ``Records.Edit`` is
  ``PATCH``. The ``dns_record``/``dns_records`` data sources list with ``GET .../dns_records`` and nested
  filters in dotted form (cloudflare-go ``RecordListParams``: ``name.exact``, ``name.contains``,
  ``name.startswith``, ``name.endswith``, the same for ``content`` and ``comment`` (plus
  ``comment.present``/``absent``), ``type``, ``proxied``, ``search``, ``match``, ``order``, ``direction``,
  ``page``, ``per_page``) and page on by asking for ``page+1`` until a page comes back empty
  (``V4PagePaginationArray.GetNextPage``), so a page past the end answers an empty ``result``. The record
  fields are those of ``model.go`` (``DNSRecordModel``) and of cloudflare-go's ``RecordResponse``: ``id``,
  ``name``, ``type``, ``content``, ``priority`` (MX), ``proxiable``, ``proxied``, ``ttl``, ``settings``,
  ``meta``, ``comment``, ``tags``, ``created_on``, ``modified_on``, ``comment_modified_on`` and
  ``tags_modified_on`` ("Omitted if there is no comment/tags"), ``private_routing``. ``custom.go`` says the
  API omits ``settings`` for non-proxied CNAMEs (kept), and gives non-CNAME records a ``settings`` object
  (``{}`` here, as TXT/MX have only ``ipv4_only``/``ipv6_only``).
- **Create and update answer the content as sent; reads answer it as stored.** The provider copies
  ``content`` from the create/update answer into state (``UnmarshalComputed``), so an answer that differed
  from the plan would fail the apply; Cloudflare's normalization (TXT splitting, see below) shows up as
  drift at the next refresh instead (terraform-provider-cloudflare issue #6238; cisagov/manage.get.gov
  #4860: the POST answer does not split, a later GET does). Names are answered fully qualified everywhere
  (``name`` is not copied from the create answer; ``ModifyPlan``: "state is FQDN, plan is subdomain").
- **Names** (API reference: "DNS record name (or @ for the zone apex) in Punycode", answered as the
  "Complete DNS record name, including the zone name"): ``@`` is the apex; a name ending in the zone is
  kept; any other name without a trailing dot is relative and gets the zone appended; a fully qualified name
  (trailing dot) outside the zone is refused. Unicode labels are stored in punycode.
- **TXT content** (API reference, ``TXTRecord.content``: "must consist of quoted character strings (RFC
  1035), each with a length of up to 255 bytes. Strings exceeding this allowed maximum length are
  automatically split"): quoted content round-trips; a quoted string over 255 bytes is stored split into
  quoted 255-byte chunks joined by a space; unquoted content is stored as sent (go-acme/lego #2521: the API
  does not add the quotes, the dashboard only warns). DNS serves the text inside the quotes (unquoted
  content verbatim), in 255-byte strings (DNSControl #1543).
- **MX and CNAME targets** are stored lowercase without the trailing dot (reads answer that form, so a
  target written otherwise shows as drift after a refresh).
- **Validation and error codes** (seen in Cloudflare answers quoted in public issues): 400 ``1004 DNS
  Validation Error`` with an ``error_chain`` naming the problem: ``9021 TTL must be between 30 and 86400
  seconds, or 1 for Automatic.`` (the reference: "between 60 and 86400, with the minimum reduced to 30 for
  Enterprise zones"; sandbox zones are Enterprise zones), ``9004 This record type cannot be proxied.`` (TXT,
  MX); other chained problems (a bad name, a missing MX priority, a type the sandbox does not store) carry
  code 1004 again, the sandbox not knowing Cloudflare's specific code. 400 ``9207 Request body is invalid.``
  for a body that is not a JSON object or has a field of the wrong type; 400 ``81058 An identical record
  already exists.`` (same name, type, content and, for MX, priority; on create and on an update into another
  record's data); 404 ``81044 Record does not exist.``; 400 ``81053 An A, AAAA, or CNAME record with that
  host already exists.`` for a second CNAME at a name.

The store keeps zones, records and the DNS history of the records (what DNS served before an update or a
delete, for lagging DNS views). It holds no lock: ``SandboxState`` calls it under its own. The HTTP side
(auth, envelope, routes) is ``sandbox._cloudflare_api``.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import idna

from sandbox._dns import DnsEntry
from sandbox._domain_names import DomainNameError, normalize_domain_name

__all__ = [
    "CLOUDFLARE_TOKEN_PATTERN",
    "DEFAULT_CLOUDFLARE_TOKEN",
    "DEFAULT_CLOUDFLARE_ZONE",
    "DEFAULT_CLOUDFLARE_ZONE_ID",
    "DEFAULT_CLOUDFLARE_ZONE_NAME",
    "TTL_MAX",
    "TTL_MIN",
    "CloudflareError",
    "CloudflareRecord",
    "CloudflareStore",
    "CloudflareZone",
    "CloudflareZoneSpec",
    "ListQuery",
    "cloudflare_error",
    "parse_token",
    "txt_strings",
]

DEFAULT_CLOUDFLARE_ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"
"""Id of the dev zone that always exists (the example zone id of Cloudflare's API reference)."""

DEFAULT_CLOUDFLARE_ZONE_NAME = "example.com"
"""Name of the dev zone that always exists (the demo domain ``demo.example.com`` lives in it)."""

DEFAULT_CLOUDFLARE_TOKEN = "sandbox-cloudflare-dev-token-0123456789a"  # noqa: S105 - documented, local only
"""The Cloudflare API token that is always accepted: 40 characters, as the plugin's ``api_token`` requires."""

CLOUDFLARE_TOKEN_PATTERN = re.compile(r"^[0-9A-Za-z_-]{40,80}$")
"""What the provider accepts as ``api_token`` (terraform-provider-cloudflare ``provider.go``)."""

TTL_AUTOMATIC = 1
TTL_MIN = 30
TTL_MAX = 86400
"""TTL bounds: 1 (automatic) or 30..86400 seconds (Enterprise zones)."""

PRIORITY_MAX = 65535
TXT_STRING_BYTES = 255
LIST_PER_PAGE = (100, 5, 5_000_000)
"""DNS record lists: default, smallest and largest ``per_page`` (out-of-range values are clamped)."""
ZONE_PER_PAGE = (20, 5, 50)
"""Zone lists: default, smallest and largest ``per_page``."""

_ID = re.compile(r"^[0-9a-f]{32}$")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_STORED_TYPES = ("CNAME", "MX", "TXT")
_CLOUDFLARE_TYPES = frozenset(
    (
        "A AAAA CAA CERT CNAME DNSKEY DS HTTPS LOC MX NAPTR NS OPENPGPKEY PTR SMIMEA SRV SSHFP SVCB TLSA TXT "
        "URI"
    ).split()
)
_SETTINGS = {"CNAME": ("ipv4_only", "ipv6_only", "flatten_cname"), "MX": ("ipv4_only", "ipv6_only")}
_SETTINGS["TXT"] = _SETTINGS["MX"]
_ORDER_FIELDS = ("type", "name", "content", "ttl", "proxied")


# -- errors -------------------------------------------------------------------------------------------


class CloudflareError(Exception):
    """An error answer in Cloudflare's v4 envelope: an HTTP status and ``{"code", "message"}`` items."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{item['code']} {item['message']}" for item in errors))
        self.status = status
        self.errors = errors

    def body(self) -> dict[str, Any]:
        """The JSON answer: ``{"result": null, "success": false, "errors": [...], "messages": []}``."""
        return {"result": None, "success": False, "errors": self.errors, "messages": []}


def cloudflare_error(status: int, code: int, message: str, *chain: tuple[int, str]) -> CloudflareError:
    """One error item (with an ``error_chain`` when ``chain`` is given)."""
    item: dict[str, Any] = {"code": code, "message": message}
    if chain:
        item["error_chain"] = [{"code": chained, "message": text} for chained, text in chain]
    return CloudflareError(status, [item])


def _validation_error(code: int, message: str) -> CloudflareError:
    return cloudflare_error(400, 1004, "DNS Validation Error", (code, message))


def _invalid_body(detail: str) -> CloudflareError:
    # Cloudflare answers only "Request body is invalid."; the chain says which field, for the reader.
    return cloudflare_error(400, 9207, "Request body is invalid.", (9207, detail))


def record_not_found() -> CloudflareError:
    """404 81044, as Cloudflare answers for a record id the zone does not hold."""
    return cloudflare_error(404, 81044, "Record does not exist.")


# -- zones and tokens from flags ----------------------------------------------------------------------


def zone_name(value: str) -> str:
    """A zone name as the sandbox stores it (the registration rules; a trailing dot is accepted)."""
    try:
        return normalize_domain_name(value.strip().rstrip("."))
    except DomainNameError as exc:
        raise ValueError(f"Cloudflare zone name: {exc}") from exc


@dataclass(frozen=True)
class CloudflareZoneSpec:
    """A zone declared at start (``--cloudflare-zone ID=NAME``); validated and normalized on construction."""

    id: str
    """32 lowercase hex digits."""
    name: str
    """The zone apex, lowercase, without trailing dot."""

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ValueError(f"a Cloudflare zone id is 32 lowercase hex digits, not {self.id!r}")
        object.__setattr__(self, "name", zone_name(self.name))

    @classmethod
    def parse(cls, text: str) -> CloudflareZoneSpec:
        """Parse ``ID=NAME``; raise ValueError saying what to send."""
        zone_id, sep, name = text.partition("=")
        if not sep:
            raise ValueError(
                f"a Cloudflare zone is ID=NAME, e.g. {DEFAULT_CLOUDFLARE_ZONE_ID}=acme.com, not {text!r}"
            )
        return cls(id=zone_id.strip(), name=name)


DEFAULT_CLOUDFLARE_ZONE = CloudflareZoneSpec(DEFAULT_CLOUDFLARE_ZONE_ID, DEFAULT_CLOUDFLARE_ZONE_NAME)
"""The dev zone that always exists unless a declared zone takes its id or its name."""


def parse_token(value: str) -> str:
    """A Cloudflare API token given to the sandbox; raise ValueError unless the plugin would accept it."""
    if not CLOUDFLARE_TOKEN_PATTERN.fullmatch(value):
        raise ValueError(
            f"a Cloudflare API token is 40 to 80 characters of A-Z a-z 0-9 _ - "
            f"(what pulumi-cloudflare accepts), not one of {len(value)} characters"
        )
    return value


# -- zones and records --------------------------------------------------------------------------------


@dataclass
class CloudflareZone:
    """A zone of the stand-in."""

    id: str
    name: str
    created_at: float
    """When the zone was added (sandbox clock); DNS is authoritative for it from then on."""

    def to_api(self) -> dict[str, Any]:
        """The zone object of ``GET /zones`` (the fields a zone lookup reads)."""
        created = format_time(self.created_at)
        return {
            "id": self.id,
            "name": self.name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": ["ns1.dns.sandbox.test", "ns2.dns.sandbox.test"],
            "original_name_servers": None,
            "original_registrar": None,
            "original_dnshost": None,
            "created_on": created,
            "modified_on": created,
            "activated_on": created,
            "meta": {"phishing_detected": False},
            "owner": {"id": None, "type": "user", "email": None},
            "account": {"id": "0" * 32, "name": "Anyreach sandbox"},
            "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
            "plan": {"id": "0" * 32, "name": "Enterprise Website", "legacy_id": "enterprise"},
        }


@dataclass
class CloudflareRecord:
    """A DNS record of a zone, with the instants the API and the DNS view need."""

    id: str
    zone_id: str
    name: str
    """Fully qualified, lowercase punycode, no trailing dot."""
    type: str
    content: str
    """As stored (the form reads answer): TXT split when needed, MX/CNAME targets normalized."""
    ttl: int
    proxied: bool = False
    priority: int | None = None
    """MX preference; None on other types."""
    comment: str | None = None
    tags: list[str] = field(default_factory=list)
    settings: dict[str, bool] = field(default_factory=dict)
    private_routing: bool | None = None
    created_at: float = 0.0
    modified_at: float = 0.0
    comment_modified_at: float | None = None
    tags_modified_at: float | None = None
    published_at: float = 0.0
    """When its DNS data (name, type, content, priority) last changed; DNS serves it from
    ``propagation_delay`` later."""

    def to_api(self, content: str | None = None) -> dict[str, Any]:
        """The record object of the API; ``content`` replaces the stored one (write answers echo the
        request)."""
        item: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "content": self.content if content is None else content,
        }
        if self.type == "MX":
            item["priority"] = self.priority
        item.update(proxiable=self.type == "CNAME", proxied=self.proxied, ttl=self.ttl)
        if self.type != "CNAME" or any(self.settings.values()):
            item["settings"] = dict(self.settings)
        if self.private_routing is not None:
            item["private_routing"] = self.private_routing
        item.update(
            meta={},
            comment=self.comment,
            tags=list(self.tags),
            created_on=format_time(self.created_at),
            modified_on=format_time(self.modified_at),
        )
        if self.comment_modified_at is not None:
            item["comment_modified_on"] = format_time(self.comment_modified_at)
        if self.tags_modified_at is not None:
            item["tags_modified_on"] = format_time(self.tags_modified_at)
        return item

    def dns_entry(self) -> DnsEntry:
        """What the DNS server serves for this record."""
        if self.type == "TXT":
            strings = txt_strings(self.content)
            return DnsEntry(self.name, "TXT", self.content if strings is None else "".join(strings))
        return DnsEntry(self.name, self.type, self.content, self.priority if self.type == "MX" else None)

    def identity(self) -> tuple[str, str, str, int | None]:
        """What makes two records identical (81058): name, type, content and the MX priority."""
        return (self.name, self.type, self.content, self.priority)


@dataclass(frozen=True)
class _Removal:
    """What DNS served for a record until an update or a delete, for lagging DNS views."""

    entry: DnsEntry
    published_at: float
    removed_at: float


@dataclass(frozen=True)
class ListQuery:
    """The query of a record list: filters, order and page (from ``request.args``)."""

    filters: tuple[tuple[str, str, str], ...] = ()
    """(field, operator, value): field name/content/comment/type/proxied/search; operator exact, contains,
    startswith, endswith, present, absent. Tag filters are not modelled (ignored)."""
    match_any: bool = False
    order: str | None = None
    descending: bool = False
    page: int = 1
    per_page: int = LIST_PER_PAGE[0]

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> ListQuery:
        """Read the query parameters cloudflare-go sends (``name=`` alone is ``name.exact=``)."""
        filters: list[tuple[str, str, str]] = []
        for key, value in args.items():
            field_name, _, operator = key.partition(".")
            if field_name in ("name", "content", "comment") and operator in (
                "",
                "exact",
                "contains",
                "startswith",
                "endswith",
                "present",
                "absent",
            ):
                if operator in ("present", "absent") and field_name != "comment":
                    continue
                filters.append((field_name, operator or "exact", value))
            elif key in ("type", "proxied", "search"):
                filters.append((key, "exact", value))
        order = args.get("order")
        return cls(
            filters=tuple(filters),
            match_any=args.get("match", "all").lower() == "any",
            order=order if order in _ORDER_FIELDS else None,
            descending=args.get("direction", "asc").lower() == "desc",
            page=_int_arg(args.get("page"), 1, 1, 1 << 31),
            per_page=_int_arg(args.get("per_page"), *LIST_PER_PAGE),
        )


def _int_arg(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(float(value)) if value is not None else default
    except ValueError:
        number = default
    return min(max(number, low), high)


def page_info(total: int, page: int, per_page: int, count: int) -> dict[str, int]:
    """``result_info`` of a list answer."""
    return {
        "page": page,
        "per_page": per_page,
        "count": count,
        "total_count": total,
        "total_pages": max(1, math.ceil(total / per_page)),
    }


# -- the store ----------------------------------------------------------------------------------------


class CloudflareStore:
    """Zones, tokens and records of the stand-in, and the DNS view of the records (no lock of its own)."""

    def __init__(
        self, zones: Iterable[CloudflareZoneSpec], tokens: Iterable[str], seed: int | None, now: float
    ) -> None:
        self._start_zones = _start_zones(zones)
        self._start_tokens = (DEFAULT_CLOUDFLARE_TOKEN, *tokens)
        self._seed = seed
        self._rng = random.Random(f"cloudflare/{seed}")
        self.revision = 0
        """Grows with every change (the caller saves and settles verification when it moved)."""
        self._tokens: set[str] = set(self._start_tokens)
        self._zones: dict[str, CloudflareZone] = {}
        self._records: dict[str, CloudflareRecord] = {}
        self._served: dict[DnsEntry, dict[str, float]] = {}
        """What the records serve: DNS entry -> {record id: published_at} (verification asks it often)."""
        self._removed: list[_Removal] = []
        self._add_start_zones(now)

    # -- tokens ---------------------------------------------------------------------------------------

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is a Cloudflare API token the stand-in accepts."""
        return token in self._tokens

    def add_token(self, token: str) -> None:
        """Accept another token from now on."""
        self._tokens.add(parse_token(token))

    def revoke_token(self, token: str) -> bool:
        """Refuse ``token`` from now on (9109); return whether it was accepted."""
        if token not in self._tokens:
            return False
        self._tokens.discard(token)
        return True

    # -- zones ----------------------------------------------------------------------------------------

    def zone(self, zone_id: str) -> CloudflareZone | None:
        """The zone of that id, or None."""
        return self._zones.get(zone_id)

    def zones(self) -> list[CloudflareZone]:
        """Every zone, oldest first."""
        return list(self._zones.values())

    def add_zone(self, zone_id: str | None, name: str, now: float) -> CloudflareZone:
        """Add a zone (a new id when ``zone_id`` is None); ValueError on a bad or taken id or name."""
        spec = CloudflareZoneSpec(zone_id if zone_id is not None else self._new_id(), name)
        if spec.id in self._zones:
            raise KeyError(f"a Cloudflare zone with id {spec.id} already exists")
        if any(zone.name == spec.name for zone in self._zones.values()):
            raise KeyError(f"a Cloudflare zone named {spec.name} already exists")
        zone = CloudflareZone(spec.id, spec.name, now)
        self._zones[zone.id] = zone
        self.revision += 1
        return zone

    # -- records --------------------------------------------------------------------------------------

    def records(self, zone_id: str | None = None) -> list[CloudflareRecord]:
        """Every record (of one zone), oldest first."""
        return [record for record in self._records.values() if zone_id is None or record.zone_id == zone_id]

    def get(self, zone: CloudflareZone, record_id: str) -> CloudflareRecord:
        """One record of the zone, or 81044."""
        record = self._records.get(record_id)
        if record is None or record.zone_id != zone.id:
            raise record_not_found()
        return record

    def list_records(
        self, zone: CloudflareZone, query: ListQuery
    ) -> tuple[list[CloudflareRecord], dict[str, int]]:
        """One page of the zone's records matching the query, and its ``result_info``."""
        records = self.records(zone.id)
        if query.filters:
            tests = [_record_filter(*item) for item in query.filters]
            combine = any if query.match_any else all
            records = [record for record in records if combine(test(record) for test in tests)]
        key = _order_key(query.order)
        records.sort(key=key, reverse=query.descending)
        start = (query.page - 1) * query.per_page
        page = records[start : start + query.per_page]
        return page, page_info(len(records), query.page, query.per_page, len(page))

    def create(self, zone: CloudflareZone, body: object, now: float) -> tuple[CloudflareRecord, str]:
        """Create a record from a POST body; return it and the content to answer (as sent)."""
        fields = _validated(zone, _body_object(body), partial=None)
        record = CloudflareRecord(
            id=self._new_id(),
            zone_id=zone.id,
            created_at=now,
            modified_at=now,
            published_at=now,
            **fields.values,
        )
        self._check_conflicts(record)
        record.comment_modified_at = now if record.comment else None
        record.tags_modified_at = now if record.tags else None
        self._put(record)
        self.revision += 1
        return record, fields.sent_content

    def update(
        self, zone: CloudflareZone, record_id: str, body: object, now: float, *, patch: bool
    ) -> tuple[CloudflareRecord, str]:
        """PUT (every field, absent ones back to their defaults) or PATCH (the fields given) a record."""
        current = self.get(zone, record_id)
        fields = _validated(zone, _body_object(body), partial=current if patch else None)
        candidate = replace(current, **fields.values)
        self._check_conflicts(candidate)
        if candidate.identity() != current.identity():
            self._removed.append(_Removal(current.dns_entry(), current.published_at, now))
            candidate.published_at = now
        if candidate.comment != current.comment:
            candidate.comment_modified_at = now if candidate.comment else None
        if candidate.tags != current.tags:
            candidate.tags_modified_at = now if candidate.tags else None
        candidate.modified_at = now
        self._put(candidate)
        self.revision += 1
        content = fields.sent_content if "content" in fields.given else candidate.content
        return candidate, content

    def delete(self, zone: CloudflareZone, record_id: str, now: float) -> CloudflareRecord:
        """Delete a record; DNS stops serving it at once."""
        record = self.get(zone, record_id)
        self._drop(record)
        self._removed.append(_Removal(record.dns_entry(), record.published_at, now))
        self.revision += 1
        return record

    # -- DNS ------------------------------------------------------------------------------------------

    def holds(self, entry: DnsEntry) -> bool:
        """Whether some record serves exactly ``entry`` (visible yet or not)."""
        return bool(self._served.get(entry))

    def visible_from(self, entry: DnsEntry, delay: float) -> float | None:
        """When DNS starts (started) serving ``entry`` from a record, or None when no record holds it."""
        published = self._served.get(entry)
        return min(published.values()) + delay if published else None

    def dns_view(
        self, at: float, delay: float, now: float, history: float
    ) -> tuple[list[str], list[DnsEntry], list[tuple[float, str]]]:
        """As of ``at``: the zone names, the entries DNS serves and the (instant, name) of every change.

        Removals older than ``history`` seconds before ``now`` are forgotten.
        """
        self._removed = [item for item in self._removed if item.removed_at >= now - history]
        zones = [zone.name for zone in self._zones.values() if zone.created_at <= at]
        changes = [(zone.created_at, zone.name) for zone in self._zones.values() if zone.created_at <= at]
        entries: list[DnsEntry] = []
        spans: list[tuple[DnsEntry, float, float | None]] = [
            (record.dns_entry(), record.published_at, None) for record in self._records.values()
        ]
        spans += [(item.entry, item.published_at, item.removed_at) for item in self._removed]
        for entry, published_at, removed_at in spans:
            if removed_at is not None and removed_at <= at:
                changes.append((removed_at, entry.name))
                continue
            visible = published_at + delay
            if visible <= at:
                entries.append(entry)
                changes.append((visible, entry.name))
        return zones, entries, changes

    # -- admin, reset and the state file --------------------------------------------------------------

    def reset(self, now: float) -> None:
        """Back to the start-up zones and tokens, no records, the id sequence from the seed."""
        self._rng = random.Random(f"cloudflare/{self._seed}")
        self._tokens = set(self._start_tokens)
        self._zones.clear()
        self._records.clear()
        self._served.clear()
        self._removed.clear()
        self._add_start_zones(now)
        self.revision += 1

    def to_json(self) -> dict[str, Any]:
        """Zones and records for the state file."""
        return {
            "zones": [asdict(zone) for zone in self._zones.values()],
            "records": [asdict(record) for record in self._records.values()],
        }

    def load(self, data: Mapping[str, Any], now: float) -> None:
        """Restore ``to_json``; start-up zones whose id and name are both free are added."""
        self._zones = {item["id"]: CloudflareZone(**item) for item in data.get("zones", [])}
        self._records.clear()
        self._served.clear()
        for item in data.get("records", []):
            self._put(CloudflareRecord(**item))
        self._removed.clear()
        self._add_start_zones(now)

    # -- internals ------------------------------------------------------------------------------------

    def _put(self, record: CloudflareRecord) -> None:
        """Store ``record`` (a new one, or the new version of one) and index what it serves."""
        previous = self._records.get(record.id)
        if previous is not None:
            self._drop(previous)
        self._records[record.id] = record
        self._served.setdefault(record.dns_entry(), {})[record.id] = record.published_at

    def _drop(self, record: CloudflareRecord) -> None:
        del self._records[record.id]
        entry = record.dns_entry()
        serving = self._served.get(entry, {})
        serving.pop(record.id, None)
        if not serving:
            self._served.pop(entry, None)

    def _add_start_zones(self, now: float) -> None:
        names = {zone.name for zone in self._zones.values()}
        for spec in self._start_zones:
            if spec.id not in self._zones and spec.name not in names:
                self._zones[spec.id] = CloudflareZone(spec.id, spec.name, now)
                names.add(spec.name)

    def _new_id(self) -> str:
        while True:
            candidate = (
                f"{self._rng.getrandbits(128):032x}" if self._seed is not None else secrets.token_hex(16)
            )
            if candidate not in self._records and candidate not in self._zones:
                return candidate

    def _check_conflicts(self, record: CloudflareRecord) -> None:
        for other in self._records.values():
            if other.id == record.id or other.zone_id != record.zone_id:
                continue
            if other.identity() == record.identity():
                raise cloudflare_error(400, 81058, "An identical record already exists.")
            if record.type == "CNAME" and other.type == "CNAME" and other.name == record.name:
                raise cloudflare_error(
                    400, 81053, "An A, AAAA, or CNAME record with that host already exists."
                )


def _start_zones(declared: Iterable[CloudflareZoneSpec]) -> tuple[CloudflareZoneSpec, ...]:
    zones = tuple(declared)
    default = DEFAULT_CLOUDFLARE_ZONE
    if any(zone.id == default.id or zone.name == default.name for zone in zones):
        return zones
    return (default, *zones)


# -- request bodies -----------------------------------------------------------------------------------


@dataclass
class _Fields:
    values: dict[str, Any]
    """Keyword arguments of ``CloudflareRecord`` (every user-settable field)."""
    given: set[str]
    """The fields the body named."""
    sent_content: str
    """The content as the request sent it (the create/update answer echoes it)."""


_DEFAULTS: dict[str, Any] = {
    "ttl": TTL_AUTOMATIC,
    "proxied": False,
    "priority": None,
    "comment": None,
    "tags": [],
    "settings": {},
    "private_routing": None,
}


def _body_object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid_body(
            'the body must be a JSON object such as {"type": "TXT", "name": ..., "content": ...}'
        )
    return body


def _validated(zone: CloudflareZone, body: dict[str, Any], partial: CloudflareRecord | None) -> _Fields:
    """The record fields of a POST/PUT body (``partial`` None) or of a PATCH body applied to ``partial``."""
    given = {key for key in body if key in ("name", "type", "content", *_DEFAULTS)}
    if partial is None:
        merged: dict[str, Any] = dict(_DEFAULTS)
    else:
        merged = {key: getattr(partial, key) for key in ("name", "type", "content", *_DEFAULTS)}
    for key in given:
        merged[key] = body[key]
    record_type = _text_field(merged, "type").upper()
    if record_type not in _CLOUDFLARE_TYPES:
        raise _validation_error(1004, f"Invalid record type {record_type!r}.")
    if record_type not in _STORED_TYPES:
        raise _validation_error(1004, f"The sandbox stores CNAME, MX and TXT records, not {record_type}.")
    name = record_full_name(_text_field(merged, "name"), zone.name)
    sent_content = _text_field(merged, "content")
    content = _stored_content(record_type, sent_content)
    values: dict[str, Any] = {
        "name": name,
        "type": record_type,
        "content": content,
        "ttl": _ttl(merged["ttl"]),
        "proxied": _bool_field(merged, "proxied", False),
        "priority": _priority(record_type, merged["priority"]),
        "comment": _comment(merged["comment"]),
        "tags": _tags(merged["tags"]),
        "settings": _settings(record_type, merged["settings"]),
        "private_routing": _optional_bool(merged, "private_routing"),
    }
    if values["proxied"] and record_type != "CNAME":
        raise _validation_error(9004, "This record type cannot be proxied.")
    return _Fields(values, given, sent_content)


def _text_field(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    if not isinstance(value, str):
        raise _invalid_body(f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _bool_field(values: Mapping[str, Any], key: str, default: bool) -> bool:
    value = values.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _invalid_body(f"{key!r} must be true or false")
    return value


def _optional_bool(values: Mapping[str, Any], key: str) -> bool | None:
    value = values.get(key)
    if value is not None and not isinstance(value, bool):
        raise _invalid_body(f"{key!r} must be true or false")
    return value


def _number(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid_body(f"{key!r} must be a number")
    return float(value)


def _ttl(value: object) -> int:
    ttl = TTL_AUTOMATIC if value is None else _number(value, "ttl")
    if not (ttl == TTL_AUTOMATIC or (TTL_MIN <= ttl <= TTL_MAX and float(ttl).is_integer())):
        raise _validation_error(
            9021, f"TTL must be between {TTL_MIN} and {TTL_MAX} seconds, or {TTL_AUTOMATIC} for Automatic."
        )
    return int(ttl)


def _priority(record_type: str, value: object) -> int | None:
    if record_type != "MX":
        return None  # "ignored for other record types"
    if value is None:
        raise _validation_error(1004, "MX records require a priority (0 to 65535).")
    priority = _number(value, "priority")
    if not (0 <= priority <= PRIORITY_MAX and priority.is_integer()):
        raise _validation_error(1004, f"Priority must be an integer between 0 and {PRIORITY_MAX}.")
    return int(priority)


def _comment(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _invalid_body("'comment' must be a string or null")
    return value


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise _invalid_body("'tags' must be a list of strings such as [\"owner:dns-team\"]")
    return list(dict.fromkeys(value))


def _settings(record_type: str, value: object) -> dict[str, bool]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid_body("'settings' must be an object")
    known = _SETTINGS[record_type]
    settings: dict[str, bool] = {}
    for key, flag in value.items():
        if key not in known:
            continue  # settings of other record types are ignored
        if flag is None:
            continue
        if not isinstance(flag, bool):
            raise _invalid_body(f"'settings.{key}' must be true or false")
        settings[key] = flag
    return settings


# -- names and contents -------------------------------------------------------------------------------


def record_full_name(name: str, zone: str) -> str:
    """The fully qualified name a record ``name`` stands for in ``zone`` (see the module docstring)."""
    raw = name.strip()
    if raw in ("@", zone, zone + "."):
        return zone
    absolute = raw.endswith(".")
    text = raw[:-1] if absolute else raw
    ascii_name = _punycode(text, name)
    if ascii_name == zone or ascii_name.endswith("." + zone):
        full = ascii_name
    elif absolute:
        raise _validation_error(1004, f"The record name {name!r} is not in the zone {zone}.")
    else:
        full = f"{ascii_name}.{zone}"
    labels = full.split(".")
    if len(full) > 253 or not all(
        _LABEL.fullmatch(label) or (label == "*" and index == 0) for index, label in enumerate(labels)
    ):
        raise _validation_error(1004, f"DNS name is invalid: {name!r}.")
    return full


def _punycode(text: str, original: str) -> str:
    labels = []
    for label in text.split("."):
        if label.isascii():
            labels.append(label.lower())
            continue
        try:
            labels.append(idna.encode(label, uts46=True).decode("ascii"))
        except idna.IDNAError as exc:
            raise _validation_error(1004, f"DNS name is invalid: {original!r} ({exc}).") from exc
    return ".".join(labels)


def _stored_content(record_type: str, content: str) -> str:
    if record_type == "TXT":
        if content == "":
            raise _validation_error(1004, "Content for TXT record is invalid: it is empty.")
        return stored_txt(content)
    host = content.strip().lower()
    host = host[:-1] if host.endswith(".") else host
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise _validation_error(
            1004, f"Content for {record_type} record is invalid: {content!r} is not a host name."
        )
    return host


def txt_strings(content: str) -> list[str] | None:
    """The character-strings of TXT content written as quoted strings (``"a" "b"``), or None when the
    content is not such a sequence (it is then one text, served as it is). Backslash escapes are undone."""
    text = content.strip()
    if len(text) < 2 or not text.startswith('"') or not text.endswith('"'):
        return None
    strings: list[str] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        if text[index] != '"':
            return None
        index += 1
        current: list[str] = []
        while index < len(text) and text[index] != '"':
            if text[index] == "\\" and index + 1 < len(text):
                index += 1
            current.append(text[index])
            index += 1
        if index >= len(text):
            return None
        strings.append("".join(current))
        index += 1
    return strings


def stored_txt(content: str) -> str:
    """TXT content as Cloudflare stores it: a quoted string over 255 bytes becomes quoted 255-byte chunks."""
    strings = txt_strings(content)
    if strings is None or all(len(string.encode()) <= TXT_STRING_BYTES for string in strings):
        return content
    chunks = [chunk for string in strings for chunk in _byte_chunks(string)]
    return " ".join('"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"' for chunk in chunks)


def _byte_chunks(text: str) -> list[str]:
    """``text`` cut into pieces of at most 255 UTF-8 bytes, never inside a character."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode())
        if size + width > TXT_STRING_BYTES:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    chunks.append("".join(current))
    return chunks


# -- list filters -------------------------------------------------------------------------------------


def _record_filter(field_name: str, operator: str, value: str) -> Callable[[CloudflareRecord], bool]:
    wanted = value.lower()
    if field_name == "type":
        return lambda record: record.type == value.upper()
    if field_name == "proxied":
        return lambda record: record.proxied == (wanted == "true")
    if field_name == "search":
        return lambda record: any(
            wanted in (text or "").lower() for text in (record.name, record.content, record.comment)
        )

    def test(record: CloudflareRecord) -> bool:
        actual = getattr(record, field_name)
        if operator == "present":
            return bool(actual)
        if operator == "absent":
            return not actual
        text = (actual or "").lower()
        if operator == "contains":
            return wanted in text
        if operator == "startswith":
            return text.startswith(wanted)
        if operator == "endswith":
            return text.endswith(wanted)
        return actual is not None and text == wanted

    return test


def _order_key(order: str | None) -> Callable[[CloudflareRecord], tuple[Any, ...]]:
    if order is None:
        return lambda record: (record.type, record.name, record.created_at, record.id)
    return lambda record: (getattr(record, order), record.created_at, record.id)


# -- time and ids -------------------------------------------------------------------------------------


def format_time(seconds: float) -> str:
    """RFC 3339 UTC with microseconds, as Cloudflare writes ``created_on`` (``2014-01-01T05:20:00.123Z``)."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def token_id(token: str) -> str:
    """A stable 32-hex id for a token (``/user/tokens/verify`` answers it; the token itself never appears)."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]
