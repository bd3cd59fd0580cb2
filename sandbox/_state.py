"""The sandbox's whole state behind one lock: domains, the DNS view, settings, faults and counters.

Every public method takes the lock, reads the clock once, settles the verification state machine of
the domains it touches (see ``sandbox._verification``) and, with a state file configured, rewrites
that file atomically when something changed. The DNS view is also what the DNS server serves
(``dns_snapshot``), so verification and DNS always agree.

The DNS view has two sources, both served and both seen by verification: the entries published through
the admin API (or ``--auto-publish``), keyed by registered domain, and the records of the Cloudflare
stand-in (``sandbox._cloudflare``), keyed by zone. A domain's record counts as published when either
source serves its expected value (DNS form: TXT text, MX host and priority), from the earlier of the two.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox._cloudflare import CloudflareStore
from sandbox._config import Credential, SandboxConfig
from sandbox._dns import NAMESERVER_ZONE, NAMESERVERS, DnsEntry, DnsSnapshot, zone_serial
from sandbox._domain_names import DomainNameError, normalize_domain_name
from sandbox._errors import ApiError
from sandbox._faults import RateDecision, TokenBucket, pick_error
from sandbox._model import (
    DomainState,
    Publication,
    RecordState,
    build_records,
    format_timestamp,
    relative_record_name,
)
from sandbox._settings import FaultSettings, SandboxSettings, updated
from sandbox._state_file import DnsKey, load_state, save_state
from sandbox._verification import Timing, VisibleAt, settle, start_attempt

__all__ = ["DNS_HISTORY_SECONDS", "Admission", "SandboxState", "unquote_txt"]

SUPPORTED_PROVIDER = "resend"
DROPPED = "dropped"
"""Counter key used instead of a status code for a response dropped on purpose."""

DNS_HISTORY_SECONDS = 3600.0
"""How long unpublished entries are remembered, so that a lagging DNS server can still serve them."""


@dataclass(frozen=True)
class Admission:
    """What the faults decide for one public request before it is handled."""

    rate: RateDecision | None
    """Rate-limit outcome and headers; None when rate limiting is off."""
    error_status: int | None
    """A 5xx status to answer with instead of handling the request, or None."""


@dataclass(frozen=True)
class _Removal:
    """A DNS entry that was unpublished, kept for lagging DNS views."""

    key: DnsKey
    publication: Publication
    removed_at: float


class SandboxState:
    """Thread-safe state of one sandbox server; also the ``DnsSource`` of its DNS servers."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        """The configuration the sandbox started with."""
        self._lock = threading.RLock()
        self._clock = config.clock
        self._rng = random.Random(config.seed)
        self._credentials = config.credentials_by_token()
        self.settings: SandboxSettings = config.settings()
        """Current run-time settings (``/_sandbox/settings``)."""
        self.faults: FaultSettings = config.faults()
        """Current faults (``/_sandbox/faults``)."""
        self._bucket = (
            None
            if self.faults.rate_limit_rps is None
            else TokenBucket(self.faults.rate_limit_rps, self._clock())
        )
        self._settings_changed_at = -math.inf
        self._domains: dict[str, DomainState] = {}
        self._dns: dict[DnsKey, Publication] = {}
        self._removed: list[_Removal] = []
        self._dns_endpoint: tuple[str, int] | None = None
        self._counts: dict[str, dict[str, int]] = {}
        self._total = 0
        self._rate_limited = 0
        self._dropped = 0
        self._dirty = False
        self._cloudflare = CloudflareStore(
            config.cloudflare_zones, config.cloudflare_tokens, config.seed, self._clock()
        )
        if config.state_file is not None and config.state_file.exists():
            domains, self._dns, cloudflare = load_state(config.state_file)
            self._domains = {domain.id: domain for domain in domains}
            if cloudflare is not None:
                try:
                    self._cloudflare.load(cloudflare, self._clock())
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ValueError(
                        f"reading sandbox state ({config.state_file}): cloudflare: {exc}"
                    ) from exc

    # -- credentials and faults -------------------------------------------------------------------

    def credential(self, token: str) -> Credential | None:
        """The credential of a bearer token, or None if the sandbox does not know it."""
        with self._lock:
            return self._credentials.get(token) if token else None

    def add_credential(self, credential: Credential) -> None:
        """Accept another bearer token from now on (a token issued while the sandbox runs)."""
        with self._lock:
            self._credentials[credential.token] = credential

    def revoke_credential(self, token: str) -> bool:
        """Refuse ``token`` from now on (401); returns whether the sandbox knew it. The built-in
        ``dev-token`` can be revoked too; ``reset`` brings back the start-up credentials."""
        with self._lock:
            return self._credentials.pop(token, None) is not None

    def latency_seconds(self) -> float:
        """Delay to add to the current public request."""
        with self._lock:
            return self.faults.latency_ms / 1000

    def admit(self) -> Admission:
        """Apply the rate limit and roll for an injected error, for one public request."""
        with self._lock:
            decision = self._bucket.take(self._clock()) if self._bucket is not None else None
            if decision is not None and not decision.allowed:
                return Admission(decision, None)
            return Admission(decision, pick_error(self.faults.error_rate, self._rng))

    def dns_truncate_udp(self) -> bool:
        """Whether the DNS servers answer UDP queries truncated right now (a fault)."""
        with self._lock:
            return self.faults.dns_truncate_udp

    # -- public API ---------------------------------------------------------------------------------

    def register(self, organization: str, domain: object, provider: object) -> tuple[dict[str, Any], bool]:
        """Register a domain; return its object and whether this response must be dropped."""
        name = _validate_registration(domain, provider)
        with self._transaction() as now:
            if any(existing.domain == name for existing in self._domains.values()):
                raise ApiError(409, "conflict", f"The domain {name} is already registered.")
            registered = DomainState(
                id=self._new_id(),
                domain=name,
                organization=organization,
                provider=SUPPORTED_PROVIDER,
                region=self.config.region,
                created_at=now,
                records=build_records(name, self.config.region),
            )
            self._domains[registered.id] = registered
            if self.settings.auto_publish:
                for record in registered.records:
                    self._dns.setdefault(record.key(name), Publication(now, record.priority))
            self._dirty = True
            dropped = self.faults.drop_register_responses > 0
            if dropped:
                self.faults.drop_register_responses -= 1
            return self._report(registered, now), dropped

    def list_domains(self, organization: str) -> list[dict[str, Any]]:
        """Every domain of the organization, oldest first."""
        with self._transaction() as now:
            owned = [domain for domain in self._domains.values() if domain.organization == organization]
            return [self._report(domain, now) for domain in owned]

    def get_domain(self, organization: str, domain_id: str) -> dict[str, Any]:
        """One domain of the organization (a passive read)."""
        with self._transaction() as now:
            return self._report(self._find(organization, domain_id), now)

    def refresh(self, organization: str, domain_id: str) -> dict[str, Any]:
        """A passive re-read: never starts an attempt."""
        return self.get_domain(organization, domain_id)

    def verify(self, organization: str, domain_id: str) -> dict[str, Any]:
        """Start a verification attempt now, then re-read."""
        with self._transaction() as now:
            domain = self._find(organization, domain_id)
            self._settle(domain, now)
            start_attempt(domain, now, self._visible_at(domain), self._timing())
            self._dirty = True
            return self._report(domain, now)

    def delete(self, organization: str, domain_id: str) -> dict[str, Any]:
        """Forget a domain. Its DNS entries stay: they live at the DNS provider, not at Resend."""
        with self._transaction():
            domain = self._find(organization, domain_id)
            del self._domains[domain.id]
            self._dirty = True
            return {"id": domain.id, "deleted": True}

    # -- counters -----------------------------------------------------------------------------------

    def count(self, route: str, status: int | str) -> None:
        """Count one public request by route template and status (or ``dropped``)."""
        with self._lock:
            by_status = self._counts.setdefault(route, {})
            by_status[str(status)] = by_status.get(str(status), 0) + 1
            self._total += 1
            if status == 429:
                self._rate_limited += 1
            if status == DROPPED:
                self._dropped += 1

    def stats(self) -> dict[str, Any]:
        """Counters of public requests since the start or the last reset."""
        with self._lock:
            return {
                "total": self._total,
                "by_route": {route: dict(counts) for route, counts in self._counts.items()},
                "rate_limited": self._rate_limited,
                "dropped_responses": self._dropped,
            }

    def reset_stats(self) -> None:
        """Zero the counters."""
        with self._lock:
            self._counts.clear()
            self._total = self._rate_limited = self._dropped = 0

    # -- admin --------------------------------------------------------------------------------------

    def admin_domains(self) -> list[dict[str, Any]]:
        """Every domain of every organization, with the organization, DNS state and timestamps.

        Reading here never counts as a public answer (``first_reported_verified_at`` stays as it is).
        """
        with self._transaction() as now:
            result = []
            for domain in self._domains.values():
                self._settle(domain, now)
                item = {"organization": domain.organization, **domain.to_public()}
                for record, shown in zip(domain.records, item["dns_records"], strict=True):
                    key = record.key(domain.domain)
                    shown["published"] = key in self._dns or self._cloudflare.holds(
                        _expected_entry(key, record)
                    )
                started = domain.attempt_started_at
                item["verification_started_at"] = None if started is None else format_timestamp(started)
                item["verified_at"] = domain.verified_at
                item["first_reported_verified_at"] = domain.first_reported_verified_at
                result.append(item)
            return result

    def publish(
        self, domain_name: str, record_type: str | None, name: str | None, value: str | None
    ) -> dict[str, Any]:
        """Publish the matching records of a registered domain in the sandbox DNS (a wrong value too)."""
        with self._transaction() as now:
            domain = self._by_name(admin_domain_name(domain_name))
            if domain is None:
                raise ApiError(
                    404, "not_found", f"No registered domain {domain_name!r} to publish records of."
                )
            records = _match_records(domain, record_type, name)
            if value is not None and len(records) != 1:
                raise ApiError(400, "bad_request", "A value can only be published for exactly one record.")
            self._settle(domain, now)
            changed = 0
            for record in records:
                key = (domain.domain, record.type, record.name, record.value if value is None else value)
                if key not in self._dns:
                    self._dns[key] = Publication(now, record.priority)
                    changed += 1
            self._settle(domain, now)
            self._dirty = self._dirty or changed > 0
            return {"domain": domain.domain, "changed": changed}

    def unpublish(self, domain_name: str, record_type: str | None, name: str | None) -> dict[str, Any]:
        """Remove the matching DNS entries (every value) of a domain from the sandbox DNS."""
        with self._transaction() as now:
            target = admin_domain_name(domain_name)
            domain = self._by_name(target)
            if domain is not None:
                self._settle(domain, now)
                _match_records(domain, record_type, name)  # 404 when the filters name no record
            keys = [key for key in self._dns if _key_matches(key, target, record_type, name)]
            if domain is None and not keys:
                raise ApiError(404, "not_found", f"Nothing of {domain_name!r} is registered or published.")
            for key in keys:
                self._removed.append(_Removal(key, self._dns.pop(key), now))
            if domain is not None:
                # Right after the change, at the same instant: a verified record removed now drifts now.
                self._settle(domain, now)
            self._dirty = self._dirty or bool(keys)
            return {"domain": target, "changed": len(keys)}

    def get_settings(self) -> dict[str, Any]:
        """Current settings."""
        with self._lock:
            return self.settings.model_dump()

    def update_settings(self, changes: Mapping[str, object]) -> dict[str, Any]:
        """Change settings (all or nothing); the past is judged with the old timings first."""
        with self._transaction() as now:
            candidate = updated(self.settings, changes, "setting")
            for domain in self._domains.values():
                self._settle(domain, now)
            if candidate != self.settings:
                self.settings = candidate
                self._settings_changed_at = now
            return self.settings.model_dump()

    def get_faults(self) -> dict[str, Any]:
        """Current faults."""
        with self._lock:
            return self.faults.model_dump()

    def update_faults(self, changes: Mapping[str, object]) -> dict[str, Any]:
        """Change faults (all or nothing); a new rate limit starts with a full bucket."""
        with self._lock:
            candidate = updated(self.faults, changes, "fault")
            if candidate.rate_limit_rps != self.faults.rate_limit_rps:
                rate = candidate.rate_limit_rps
                self._bucket = None if rate is None else TokenBucket(rate, self._clock())
            self.faults = candidate
            return self.faults.model_dump()

    def reset(self) -> None:
        """Forget every domain, DNS entry, counter, fault and credential added or revoked at run time
        (settings stay), and start the random
        sequence (ids, injected errors) again from the seed, so a seeded run repeats after a reset."""
        with self._transaction():
            self._rng = random.Random(self.config.seed)
            self._credentials = self.config.credentials_by_token()
            self._domains.clear()
            self._dns.clear()
            self._removed.clear()
            self._cloudflare.reset(self._clock())
            self.faults = FaultSettings()
            self._bucket = None
            self._dirty = True
        self.reset_stats()

    # -- DNS ----------------------------------------------------------------------------------------

    def attach_dns(self, host: str, port: int) -> None:
        """Record where a DNS server serves this state (``GET /_sandbox/dns`` reports it)."""
        with self._lock:
            self._dns_endpoint = (host, port)

    def detach_dns(self) -> None:
        """The DNS server stopped."""
        with self._lock:
            self._dns_endpoint = None

    def dns_view(self) -> dict[str, Any]:
        """``{"host", "port", "nameservers"}``; port None when no DNS server runs."""
        with self._lock:
            host, port = self._dns_endpoint or (self.config.host, None)
            return {"host": host, "port": port, "nameservers": list(NAMESERVERS)}

    def dns_snapshot(self, lag_seconds: float = 0.0) -> DnsSnapshot:
        """What DNS serves as of (now - ``lag_seconds``).

        Entries are served from ``published_at + propagation_delay`` until they are unpublished.
        Zones: every registered domain (from its registration), every domain with entries in the
        DNS view, registered or not, every Cloudflare zone (from its creation), plus
        ``dns.sandbox.test``. Serials follow the last change of what each zone serves.
        """
        with self._lock:
            now = self._clock()
            at = now - lag_seconds
            delay = self.settings.propagation_delay
            self._removed = [item for item in self._removed if item.removed_at >= now - DNS_HISTORY_SECONDS]
            changes: dict[str, list[float]] = {}
            for domain in self._domains.values():
                if domain.created_at <= at:
                    changes.setdefault(domain.domain, []).append(domain.created_at)
            candidates: list[tuple[DnsKey, Publication, float | None]] = [
                (key, publication, None) for key, publication in self._dns.items()
            ]
            candidates += [(item.key, item.publication, item.removed_at) for item in self._removed]
            entries = []
            for key, publication, removed_at in candidates:
                if removed_at is not None and removed_at <= at:
                    changes.setdefault(key[0], []).append(removed_at)
                    continue
                if publication.published_at > at:
                    continue
                visible_from = publication.published_at + delay
                changes.setdefault(key[0], [])
                if visible_from <= at:
                    changes[key[0]].append(visible_from)
                    entries.append(_dns_entry(key, publication))
            cloudflare_zones, cloudflare_entries, cloudflare_changes = self._cloudflare.dns_view(
                at, delay, now, DNS_HISTORY_SECONDS
            )
            zones = frozenset(changes) | frozenset(cloudflare_zones) | {NAMESERVER_ZONE}
            for instant, name in cloudflare_changes:
                zone = _closest_zone(name, zones)
                if zone is not None:
                    changes.setdefault(zone, []).append(instant)
            entries.extend(cloudflare_entries)
            serials = {zone: zone_serial(*instants) for zone, instants in changes.items()}
            return DnsSnapshot(zones=zones, entries=tuple(entries), serials=serials)

    # -- the Cloudflare stand-in ------------------------------------------------------------------------

    @contextlib.contextmanager
    def cloudflare(self) -> Iterator[tuple[CloudflareStore, float]]:
        """The Cloudflare store and the current instant, under the lock (``sandbox._cloudflare_api``).

        Every domain is settled right before, and, when the store changed, right after: a record created,
        changed or deleted in Cloudflare is a change of the DNS view like publish and unpublish.
        """
        with self._transaction() as now:
            for domain in self._domains.values():
                self._settle(domain, now)
            revision = self._cloudflare.revision
            yield self._cloudflare, now
            if self._cloudflare.revision != revision:
                for domain in self._domains.values():
                    self._settle(domain, now)
                self._dirty = True

    # -- internals ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[float]:
        with self._lock:
            try:
                yield self._clock()
            finally:
                if self._dirty:
                    self._dirty = False
                    if self.config.state_file is not None:
                        save_state(
                            self.config.state_file,
                            list(self._domains.values()),
                            self._dns,
                            self._cloudflare.to_json(),
                        )

    def _new_id(self) -> str:
        while True:
            suffix = (
                f"{self._rng.getrandbits(96):024x}" if self.config.seed is not None else secrets.token_hex(12)
            )
            domain_id = f"dom_{suffix}"
            if domain_id not in self._domains:
                return domain_id

    def _find(self, organization: str, domain_id: str) -> DomainState:
        domain = self._domains.get(domain_id)
        # Another organization's domain is indistinguishable from a missing one.
        if domain is None or domain.organization != organization:
            raise ApiError(404, "not_found", f"Email domain {domain_id} not found.")
        return domain

    def _by_name(self, name: str) -> DomainState | None:
        return next((domain for domain in self._domains.values() if domain.domain == name), None)

    def _timing(self) -> Timing:
        return Timing(
            verify_window=self.settings.verify_window,
            check_delay=self.settings.check_delay,
            negative_cache=self.settings.negative_cache,
            not_before=self._settings_changed_at,
        )

    def _visible_at(self, domain: DomainState) -> VisibleAt:
        delay = self.settings.propagation_delay

        def visible_at(record: RecordState) -> float | None:
            key = record.key(domain.domain)
            publication = self._dns.get(key)
            instants = [] if publication is None else [publication.published_at + delay]
            from_cloudflare = self._cloudflare.visible_from(_expected_entry(key, record), delay)
            if from_cloudflare is not None:
                instants.append(from_cloudflare)
            return min(instants) if instants else None

        return visible_at

    def _settle(self, domain: DomainState, now: float) -> None:
        changed = settle(domain, now, self._visible_at(domain), self._timing())
        self._dirty = self._dirty or changed

    def _report(self, domain: DomainState, now: float) -> dict[str, Any]:
        """The domain object of a public answer; the first one saying ``verified`` is timestamped."""
        self._settle(domain, now)
        body = domain.to_public()
        if body["status"] == "verified" and domain.first_reported_verified_at is None:
            domain.first_reported_verified_at = now
            self._dirty = True
        return body


def admin_domain_name(value: str) -> str:
    """A domain name sent to the admin API, normalized by the registration rules.

    The admin API also accepts a trailing dot and surrounding whitespace (names copied from zone
    files); anything else the registration rules refuse is a 422 naming the problem.
    """
    try:
        return normalize_domain_name(value.strip().rstrip("."))
    except DomainNameError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc


def _validate_registration(domain: object, provider: object) -> str:
    if domain is None:
        raise ApiError(422, "validation_error", 'Field "domain" is required: send {"domain": "acme.com"}.')
    if not isinstance(domain, str):
        raise ApiError(422, "validation_error", 'Field "domain" must be a string such as "acme.com".')
    if provider is not None and (not isinstance(provider, str) or provider.lower() != SUPPORTED_PROVIDER):
        raise ApiError(
            422,
            "validation_error",
            f"Provider {provider!r} is not supported: only 'resend' is; leave the field out to use it.",
        )
    try:
        return normalize_domain_name(domain)
    except DomainNameError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc


def _match_records(domain: DomainState, record_type: str | None, name: str | None) -> list[RecordState]:
    matching = [
        record
        for record in domain.records
        if (record_type is None or record.type == record_type.upper())
        and (name is None or record.name == relative_record_name(name, domain.domain))
    ]
    if not matching:
        raise ApiError(
            404,
            "not_found",
            f"No record of {domain.domain} matches type={record_type!r} name={name!r}.",
        )
    return matching


def _key_matches(key: DnsKey, domain: str, record_type: str | None, name: str | None) -> bool:
    return (
        key[0] == domain
        and (record_type is None or key[1] == record_type.upper())
        and (name is None or key[2] == relative_record_name(name, domain))
    )


def _expected_entry(key: DnsKey, record: RecordState) -> DnsEntry:
    """What DNS serves when a domain's record is published with its expected value."""
    return _dns_entry(key, Publication(0.0, record.priority))


def _closest_zone(name: str, zones: frozenset[str]) -> str | None:
    candidate = name
    while candidate:
        if candidate in zones:
            return candidate
        candidate = candidate.partition(".")[2]
    return None


def _dns_entry(key: DnsKey, publication: Publication) -> DnsEntry:
    return _entry_of(key, publication.priority if key[1] == "MX" else None)


@functools.lru_cache(maxsize=4096)
def _entry_of(key: DnsKey, priority: int | None) -> DnsEntry:
    """What DNS serves for one publication (cached: every DNS answer builds a snapshot of all of them)."""
    domain, record_type, name, value = key
    full_name = domain if name == "@" else f"{name}.{domain}"
    if record_type == "TXT":
        return DnsEntry(full_name, record_type, unquote_txt(value))
    if record_type == "MX" and priority is None:
        priority = 10
    return DnsEntry(full_name, record_type, value.strip().lower().rstrip("."), priority)


def unquote_txt(value: str) -> str:
    """The text of a TXT value written as zone-file strings (``"v=spf1 ..."``); other values as they are.

    The API returns the SPF value with embedded quotes; DNS carries the text inside them. Several
    quoted strings (``"part one" "part two"``) are joined; ``\\"`` and ``\\\\`` are unescaped.
    """
    text = value.strip()
    if len(text) < 2 or not text.startswith('"') or not text.endswith('"'):
        return value
    parts: list[str] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        if text[index] != '"':
            return value  # not a sequence of quoted strings: serve it verbatim
        index += 1
        current: list[str] = []
        while index < len(text) and text[index] != '"':
            if text[index] == "\\" and index + 1 < len(text):
                index += 1
            current.append(text[index])
            index += 1
        if index >= len(text):
            return value  # an unterminated string
        parts.append("".join(current))
        index += 1
    return "".join(parts)
