"""The sandbox's whole state behind one lock: domains, the DNS view, settings, faults and counters.

Every public method takes the lock, reads the clock once, settles the verification state machine of
the domains it touches (see ``sandbox._verification``) and, with a state file configured, rewrites
that file atomically when something changed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import secrets
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.domain_name import InvalidDomainError, normalize_domain
from sandbox._config import Credential, SandboxConfig
from sandbox._errors import ApiError
from sandbox._faults import FaultSettings, RateDecision, TokenBucket
from sandbox._model import DomainState, RecordState, build_records, format_timestamp, relative_record_name
from sandbox._verification import settle, start_attempt

__all__ = ["Admission", "SandboxState", "Settings"]

STATE_FILE_VERSION = 1
SUPPORTED_PROVIDER = "resend"
DROPPED = "dropped"
"""Counter key used instead of a status code for a response dropped on purpose."""

DnsKey = tuple[str, str, str, str]


@dataclass
class Settings:
    """Timings and behaviour that ``/_sandbox/settings`` can change at run time."""

    propagation_delay: float
    verify_window: float
    auto_publish: bool

    def to_json(self) -> dict[str, Any]:
        """The admin API view."""
        return {
            "propagation_delay": self.propagation_delay,
            "verify_window": self.verify_window,
            "auto_publish": self.auto_publish,
        }

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update from the admin API; raise ValueError naming a bad field."""
        for key, value in changes.items():
            if key == "propagation_delay":
                if not _is_number(value) or value < 0:
                    raise ValueError("propagation_delay must be a number of seconds >= 0")
                self.propagation_delay = float(value)
            elif key == "verify_window":
                if not _is_number(value) or value <= 0:
                    raise ValueError("verify_window must be a number of seconds > 0")
                self.verify_window = float(value)
            elif key == "auto_publish":
                if not isinstance(value, bool):
                    raise ValueError("auto_publish must be true or false")
                self.auto_publish = value
            else:
                known = ", ".join(self.to_json())
                raise ValueError(f"unknown setting {key!r}: known settings are {known}")


@dataclass(frozen=True)
class Admission:
    """What the faults decide for one public request before it is handled."""

    rate: RateDecision | None
    """Rate-limit outcome and headers; None when rate limiting is off."""
    error_status: int | None
    """A 5xx status to answer with instead of handling the request, or None."""


class SandboxState:
    """Thread-safe state of one sandbox server."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._clock = config.clock
        self._rng = random.Random(config.seed)
        self._credentials = config.credentials_by_token()
        self.settings = Settings(config.propagation_delay, config.verify_window, config.auto_publish)
        self.faults = FaultSettings()
        self._bucket: TokenBucket | None = None
        self._set_faults(
            {
                "rate_limit_rps": config.rate_limit_rps,
                "error_rate": config.error_rate,
                "latency_ms": config.latency_ms,
                "drop_register_responses": config.drop_register_responses,
            }
        )
        self._domains: dict[str, DomainState] = {}
        self._dns: dict[DnsKey, float] = {}
        self._counts: dict[str, dict[str, int]] = {}
        self._total = 0
        self._rate_limited = 0
        self._dropped = 0
        self._dirty = False
        if config.state_file is not None and config.state_file.exists():
            self._load(config.state_file)

    # -- credentials and faults -------------------------------------------------------------------

    def credential(self, token: str) -> Credential | None:
        """The credential of a bearer token, or None if the sandbox does not know it."""
        return self._credentials.get(token) if token else None

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
            return Admission(decision, self.faults.pick_error(self._rng))

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
                    self._dns.setdefault(record.key(name), now)
            self._dirty = True
            dropped = self.faults.drop_register_responses > 0
            if dropped:
                self.faults.drop_register_responses -= 1
            return self._public(registered, now), dropped

    def list_domains(self, organization: str) -> list[dict[str, Any]]:
        """Every domain of the organization, oldest first."""
        with self._transaction() as now:
            owned = [domain for domain in self._domains.values() if domain.organization == organization]
            for domain in owned:
                self._settle(domain, now)
            return [self._public(domain, now) for domain in owned]

    def get_domain(self, organization: str, domain_id: str) -> dict[str, Any]:
        """One domain of the organization (a passive read)."""
        with self._transaction() as now:
            domain = self._find(organization, domain_id)
            self._settle(domain, now)
            return self._public(domain, now)

    def refresh(self, organization: str, domain_id: str) -> dict[str, Any]:
        """A passive re-read: never starts an attempt."""
        return self.get_domain(organization, domain_id)

    def verify(self, organization: str, domain_id: str) -> dict[str, Any]:
        """Start a verification attempt now, then re-read."""
        with self._transaction() as now:
            domain = self._find(organization, domain_id)
            self._settle(domain, now)
            start_attempt(domain, now)
            self._settle(domain, now)
            self._dirty = True
            return self._public(domain, now)

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
        """Every domain of every organization, with the organization and each record's DNS state."""
        with self._transaction() as now:
            result = []
            for domain in self._domains.values():
                self._settle(domain, now)
                item = {"organization": domain.organization, **self._public(domain, now)}
                for record, shown in zip(domain.records, item["dns_records"], strict=True):
                    shown["published"] = self._is_published(domain, record)
                item["verification_started_at"] = (
                    None if domain.attempt_started_at is None else format_timestamp(domain.attempt_started_at)
                )
                result.append(item)
            return result

    def publish(
        self, domain_name: str, record_type: str | None, name: str | None, value: str | None
    ) -> dict[str, Any]:
        """Publish the matching records of a registered domain in the sandbox DNS (a wrong value too)."""
        with self._transaction() as now:
            domain = self._by_name(domain_name)
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
                    self._dns[key] = now
                    changed += 1
            self._dirty = self._dirty or changed > 0
            return {"domain": domain.domain, "changed": changed}

    def unpublish(self, domain_name: str, record_type: str | None, name: str | None) -> dict[str, Any]:
        """Remove the matching DNS entries (every value) of a domain from the sandbox DNS."""
        with self._transaction() as now:
            domain = self._by_name(domain_name)
            target = domain.domain if domain is not None else _admin_domain_name(domain_name)
            if domain is not None:
                self._settle(domain, now)
                _match_records(domain, record_type, name)  # 404 when the filters name no record
            keys = [key for key in self._dns if _key_matches(key, target, record_type, name)]
            if domain is None and not keys:
                raise ApiError(404, "not_found", f"Nothing of {domain_name!r} is registered or published.")
            for key in keys:
                del self._dns[key]
            self._dirty = self._dirty or bool(keys)
            return {"domain": target, "changed": len(keys)}

    def get_settings(self) -> dict[str, Any]:
        """Current settings."""
        with self._lock:
            return self.settings.to_json()

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change settings; the past is judged with the old timings first."""
        with self._transaction() as now:
            candidate = Settings(**self.settings.to_json())
            candidate.update(changes)
            for domain in self._domains.values():
                self._settle(domain, now)
            self.settings = candidate
            return self.settings.to_json()

    def get_faults(self) -> dict[str, Any]:
        """Current faults."""
        with self._lock:
            return self.faults.to_json()

    def update_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change faults; a new rate limit starts with a full bucket."""
        with self._lock:
            self._set_faults(changes)
            return self.faults.to_json()

    def reset(self) -> None:
        """Forget every domain, DNS entry, counter and fault (settings stay)."""
        with self._transaction():
            self._domains.clear()
            self._dns.clear()
            self.faults = FaultSettings()
            self._bucket = None
            self._dirty = True
        self.reset_stats()

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
                        self._save(self.config.state_file)

    def _set_faults(self, changes: dict[str, Any]) -> None:
        candidate = FaultSettings(**self.faults.to_json())
        candidate.update(changes)
        if candidate.rate_limit_rps != self.faults.rate_limit_rps or self._bucket is None:
            rate = candidate.rate_limit_rps
            self._bucket = None if rate is None else TokenBucket(rate, self._clock())
        self.faults = candidate

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

    def _by_name(self, domain_name: str) -> DomainState | None:
        wanted = _admin_domain_name(domain_name)
        return next((domain for domain in self._domains.values() if domain.domain == wanted), None)

    def _is_published(self, domain: DomainState, record: RecordState) -> bool:
        return record.key(domain.domain) in self._dns

    def _settle(self, domain: DomainState, now: float) -> None:
        changed = settle(
            domain,
            now,
            lambda record: self._dns.get(record.key(domain.domain)),
            self.settings.propagation_delay,
            self.settings.verify_window,
        )
        self._dirty = self._dirty or changed

    def _public(self, domain: DomainState, now: float) -> dict[str, Any]:
        # Always settled first, so the derived status is current.
        self._settle(domain, now)
        return domain.to_public()

    def _save(self, path: Path) -> None:
        document = {
            "version": STATE_FILE_VERSION,
            "domains": [domain.to_json() for domain in self._domains.values()],
            "dns": [
                {"domain": key[0], "type": key[1], "name": key[2], "value": key[3], "published_at": at}
                for key, at in self._dns.items()
            ],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a crash never leaves a half-written state file.
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
        try:
            with handle:
                json.dump(document, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(handle.name)
            raise

    def _load(self, path: Path) -> None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("version") != STATE_FILE_VERSION:
                raise ValueError(f"unsupported version {document.get('version')!r}")
            domains = [DomainState.from_json(item) for item in document["domains"]]
            dns = {
                (item["domain"], item["type"], item["name"], item["value"]): float(item["published_at"])
                for item in document["dns"]
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"reading sandbox state ({path}): {exc}") from exc
        self._domains = {domain.id: domain for domain in domains}
        self._dns = dns


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
        return normalize_domain(domain)
    except InvalidDomainError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc


def _admin_domain_name(domain_name: str) -> str:
    try:
        return normalize_domain(domain_name)
    except InvalidDomainError:
        return domain_name.strip().lower().rstrip(".")


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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
