"""Shared glue of the dynamic providers: credentials, clients, preview unknowns, and the
``find_``/``status_``/``wait_`` helpers of an Email Domain.

Credentials: the Pulumi provider host deserializes each provider from state and calls its
``configure()`` with the whole stack config (secrets decrypted). The providers pass that config to
:func:`remember_configuration`, which keeps the ``anyreach:*`` values in a module-level holder: the
provider instances themselves hold nothing, because they are pickled (by reference) into every
resource's ``__provider`` input. :func:`open_client` resolves the credentials only when an API call is
needed, from the remembered config or, key by key, from the environment.

Waiting: :func:`wait_domain_verified` polls with backoff under its own deadline (custom timeouts never
reach dynamic providers, and the engine's Cancel does nothing); each poll takes a slot of the client's
process-wide request budget and sleeps outside any lock, so many domains waiting at once take turns.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN as UNKNOWN_SENTINEL
from pydantic import BaseModel, ConfigDict, ValidationError

from provider.client import EmailDomainsClient
from provider.config import (
    BASE_URL_CONFIG_KEY,
    ORGANIZATION_CONFIG_KEY,
    TOKEN_CONFIG_KEY,
    resolve_credentials,
)
from provider.domain_name import normalize_domain
from provider.errors import (
    AnyreachError,
    ConfigurationError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from provider.models import DnsRecord, Domain, DomainStatus

__all__ = [
    "CLIENT_OPTIONS",
    "CONFIG_KEYS",
    "DEFAULT_MAX_POLL_INTERVAL_SECONDS",
    "DEFAULT_MAX_VERIFY_ATTEMPTS",
    "DEFAULT_POLL_INTERVAL_SECONDS",
    "DEFAULT_VERIFICATION_TIMEOUT_SECONDS",
    "TRANSIENT_ERRORS",
    "DnsRecordState",
    "DomainVerificationError",
    "VerificationSettings",
    "canonical_domain",
    "check_failures",
    "contains_unknown",
    "find_domain_by_id",
    "find_domain_by_name",
    "forget_configuration",
    "open_client",
    "record_full_name",
    "remember_configuration",
    "status_domain_verification",
    "unplanned_records",
    "unplanned_records_error",
    "wait_domain_verified",
]

CONFIG_KEYS = (TOKEN_CONFIG_KEY, ORGANIZATION_CONFIG_KEY, BASE_URL_CONFIG_KEY)
"""The stack config keys the providers read (everything else in the stack config is ignored)."""

CLIENT_OPTIONS: dict[str, Any] = {}
"""Extra keyword arguments for every client the providers create (``timeout``, ``retry_deadline``,
``budget``...). Empty in production: the client's defaults and the process-wide budget apply. Tests
replace it to shorten deadlines."""

DEFAULT_VERIFICATION_TIMEOUT_SECONDS = 1200.0
"""How long a DomainVerification waits (20 min); see :class:`provider.DomainVerification` for why."""
DEFAULT_POLL_INTERVAL_SECONDS = 5.0
"""First pause between two status polls."""
DEFAULT_MAX_POLL_INTERVAL_SECONDS = 60.0
"""Longest pause between two status polls after backoff."""
DEFAULT_MAX_VERIFY_ATTEMPTS = 3
"""How many times verification is initiated (the first time, then after each ``failed``)."""
_BACKOFF_FACTOR = 1.5

TRANSIENT_ERRORS: tuple[type[AnyreachError], ...] = (
    TransportError,
    ServerError,
    RateLimitedError,
    UnexpectedResponseError,
)
"""Failures that say nothing about the domain itself: a poll that hits one tries again later."""

_configuration: dict[str, str] = {}
_configuration_lock = threading.Lock()


# -- credentials and clients ---------------------------------------------------------------------


def remember_configuration(config: Any) -> None:
    """Keep the ``anyreach:*`` values of the stack config that ``configure()`` received.

    ``config`` is a :class:`pulumi.dynamic.Config` or any mapping; ``None`` or a config without
    those keys leaves the environment as the only source. The values live in this module, never on a
    provider instance (which is pickled into state).
    """
    values: dict[str, str] = {}
    getter = getattr(config, "get", None)
    if callable(getter):
        for key in CONFIG_KEYS:
            value = getter(key)
            if value is not None and str(value).strip():
                values[key] = str(value)
    with _configuration_lock:
        _configuration.clear()
        _configuration.update(values)


def forget_configuration() -> None:
    """Drop what :func:`remember_configuration` kept (the environment becomes the only source)."""
    with _configuration_lock:
        _configuration.clear()


def open_client(doing: str, target: str) -> EmailDomainsClient:
    """Create a client from the remembered stack config, falling back to the environment.

    Args:
        doing: what the caller is about to do, for the message (``"registering"``).
        target: the domain name or id it is about.

    Raises:
        ConfigurationError: the token or organization is set nowhere; the message names the stack
            config keys and the environment variables.
    """
    with _configuration_lock:
        config = dict(_configuration)
    try:
        credentials = resolve_credentials(config)
        return credentials.client(**CLIENT_OPTIONS)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{doing} Email Domain ({target}): {exc}") from exc


# -- preview unknowns and input validation -------------------------------------------------------


def contains_unknown(value: Any) -> bool:
    """Whether ``value`` is, or holds, a value the engine does not know yet (preview only)."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN_SENTINEL
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(item) for item in value)
    return False


def check_failures(model: type[BaseModel], inputs: Mapping[str, Any]) -> list[pulumi.dynamic.CheckFailure]:
    """Validate the known inputs against ``model``; unknown ones (preview) pass unchecked.

    Returns one failure per offending property, named as the input is named.
    """
    fields = model.model_fields
    unknown = {name for name in fields if contains_unknown(inputs.get(name))}
    known = {name: value for name, value in inputs.items() if name in fields and name not in unknown}
    try:
        model.model_validate(known)
    except ValidationError as exc:
        failures: dict[str, str] = {}
        for error in exc.errors():
            prop = str(error["loc"][0]) if error["loc"] else "inputs"
            if prop in unknown:
                continue  # "missing" only because it is not known yet
            where = ".".join(str(part) for part in error["loc"][1:])
            reason = f"{where}: {error['msg']}" if where else str(error["msg"])
            failures.setdefault(prop, f"{prop}: {reason}")
        return [pulumi.dynamic.CheckFailure(prop, reason) for prop, reason in failures.items()]
    return []


def canonical_domain(value: Any) -> str:
    """A domain name in the form the API stores, leniently (for comparisons only)."""
    text = str(value)
    try:
        return normalize_domain(text)
    except ValueError:
        return text.strip().rstrip(".").lower()


# -- state ---------------------------------------------------------------------------------------


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


def record_full_name(name: str, domain: str) -> str:
    """The fully qualified name of a record: ``@`` is ``domain``, relative names are joined with it,
    and a name that already ends in ``domain`` (tracking records come that way) is kept."""
    host = name.strip().rstrip(".").lower()
    zone = domain.strip().rstrip(".").lower()
    if host in ("", "@") or host == zone:
        return zone
    if host.endswith("." + zone):
        return host
    return f"{host}.{zone}"


def _display_value(record: DnsRecord) -> str:
    return f"{record.priority} {record.value}" if record.priority is not None else record.value


def _record_line(record: DnsRecord, domain: str) -> str:
    full_name = record_full_name(record.name, domain)
    return (
        f"  - {record.type} {full_name} = {_display_value(record)} (status {record.status.value}); "
        f"check with `dig +short {record.type} {full_name}`"
    )


def unplanned_records(domain: Domain, expected: Iterable[Mapping[str, Any]]) -> list[DnsRecord]:
    """Records the platform asks for that are not in ``expected`` (``{"type", "name"}`` dicts whose
    names may be relative to the domain or full)."""
    planned = {
        (
            str(item.get("type", "")).strip().upper(),
            record_full_name(str(item.get("name", "")), domain.domain),
        )
        for item in expected
    }
    return [
        record
        for record in domain.dns_records
        if (record.type, record_full_name(record.name, domain.domain)) not in planned
    ]


# -- find / status / wait ------------------------------------------------------------------------


def find_domain_by_id(client: EmailDomainsClient, domain_id: str) -> Domain:
    """Read the domain through the refresh endpoint: a passive re-read that needs only read scope.

    Raises:
        NotFoundError: the domain is gone (or was never this organization's).
    """
    return client.refresh(domain_id)


def find_domain_by_name(client: EmailDomainsClient, name: str) -> Domain | None:
    """This organization's domain called ``name``, or ``None`` (another organization may hold it)."""
    return client.find_by_domain(name)


def status_domain_verification(
    client: EmailDomainsClient, domain_id: str
) -> tuple[Domain | None, AnyreachError | None]:
    """One refresh step of the waiter.

    Returns the re-read domain, or ``(None, error)`` when the API could not answer this time (a
    transient error after the client's own retries): the waiter tries again at its next poll instead
    of failing. Errors about the domain itself (gone, no permission) are raised.
    """
    try:
        return client.refresh(domain_id), None
    except TRANSIENT_ERRORS as exc:
        return None, exc


def _initiate_verification(
    client: EmailDomainsClient, domain_id: str
) -> tuple[Domain | None, AnyreachError | None]:
    """Re-initiate verification; ``(None, error)`` on a transient failure (not counted as an attempt)."""
    try:
        return client.verify(domain_id), None
    except TRANSIENT_ERRORS as exc:
        return None, exc


@dataclass(frozen=True)
class VerificationSettings:
    """How :func:`wait_domain_verified` waits."""

    timeout_seconds: float = DEFAULT_VERIFICATION_TIMEOUT_SECONDS
    """Give up after this many seconds."""
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS
    """First pause between polls; each later pause is 1.5 times longer."""
    max_verify_attempts: int = DEFAULT_MAX_VERIFY_ATTEMPTS
    """How many times verification may be initiated (the first time plus re-tries after ``failed``)."""
    max_poll_interval_seconds: float = DEFAULT_MAX_POLL_INTERVAL_SECONDS
    """Upper bound of the pause between polls."""

    def __post_init__(self) -> None:
        numbers = (self.timeout_seconds, self.poll_interval_seconds, self.max_poll_interval_seconds)
        if not all(math.isfinite(n) and n > 0 for n in numbers) or self.max_verify_attempts < 1:
            raise ValueError("verification timeout and intervals must be positive, attempts at least 1")

    @property
    def longest_pause(self) -> float:
        """The cap of the backoff: the configured maximum, but at most a tenth of the timeout (so a
        short timeout still gets about ten polls) and never below the first interval."""
        return max(self.poll_interval_seconds, min(self.max_poll_interval_seconds, self.timeout_seconds / 10))


class DomainVerificationError(AnyreachError):
    """An Email Domain did not verify: timed out, failed every attempt, or cannot verify as planned.

    The message follows ``waiting for Email Domain (<domain>) verification: <cause>`` and lists each
    record that is not verified, with the command to check it and what to do.

    Attributes:
        domain: the domain name.
        domain_id: the platform's id of the domain.
        records: the records the message is about (not verified yet, or not planned).
    """

    def __init__(self, domain: str, domain_id: str, cause: str, records: list[DnsRecord]) -> None:
        self.domain = domain
        self.domain_id = domain_id
        self.cause = cause
        self.records = records
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"waiting for Email Domain ({self.domain}) verification: {self.cause}"


_WHAT_TO_DO = (
    "Publish each record at your DNS provider exactly as given (type, full name and value; TXT values "
    "may need quotes at some DNS providers), check that it resolves with the dig command shown (DNS "
    "changes can take minutes to hours to propagate), then run `pulumi up` again: it verifies again."
)


def _not_verified_error(
    domain: Domain, headline: str, last_error: AnyreachError | None
) -> DomainVerificationError:
    records = domain.unverified_records
    if records:
        listing = f"{len(records)} DNS record(s) not verified yet:\n" + "\n".join(
            _record_line(record, domain.domain) for record in records
        )
    else:
        listing = "the platform reports every record verified but not the domain yet; wait and retry."
    cause = f"{headline}; {listing}\n{_WHAT_TO_DO}"
    if last_error is not None:
        cause += f"\nThe last call to the API failed: {last_error}"
    return DomainVerificationError(domain.domain, domain.id, cause, records)


def unplanned_records_error(domain: Domain, records: list[DnsRecord]) -> DomainVerificationError:
    """The error raised at once when the platform asks for records the stack does not publish."""
    listing = "\n".join(_record_line(record, domain.domain) for record in records)
    cause = (
        f"the platform asks for {len(records)} DNS record(s) this stack does not publish, so "
        f"verification cannot succeed:\n{listing}\n"
        "Publish them too (add them to the records the stack manages, or create them at your DNS "
        "provider exactly as given), then run `pulumi up` again. The platform may have changed the "
        "shape of its records (e.g. DKIM as CNAME instead of TXT): check the records listed above."
    )
    return DomainVerificationError(domain.domain, domain.id, cause, records)


def wait_domain_verified(
    client: EmailDomainsClient,
    domain: Domain,
    settings: VerificationSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Domain:
    """Initiate verification of ``domain`` and poll until it is verified.

    Pending: poll the refresh endpoint with backoff. Failed: initiate verification again, at most
    ``settings.max_verify_attempts`` times in all. Verified: return the domain. A domain that is
    already verified is returned at once (verify would mark it pending again).

    Raises:
        DomainVerificationError: the deadline passed, or every attempt failed; the message lists each
            record not verified yet and what to check.
        NotFoundError, PermissionDeniedError, AuthenticationError: the domain itself cannot be polled.
    """
    deadline = clock() + settings.timeout_seconds
    pause = settings.poll_interval_seconds
    attempts = 0
    must_initiate = not domain.is_verified
    last_error: AnyreachError | None = None
    current = domain
    while not current.is_verified:
        if must_initiate:
            if attempts >= settings.max_verify_attempts:
                raise _not_verified_error(
                    current,
                    f"verification failed {attempts} time(s) (domain status {current.status.value})",
                    last_error,
                )
            started, last_error = _initiate_verification(client, current.id)
            if started is not None:
                current, attempts, must_initiate = started, attempts + 1, False
                continue  # the platform may already answer verified
        remaining = deadline - clock()
        if remaining <= 0:
            raise _not_verified_error(
                current,
                f"not verified within {settings.timeout_seconds:g} s (domain status "
                f"{current.status.value}, {attempts} verification attempt(s))",
                last_error,
            )
        # Sleeping here holds no lock: other resources' calls go on while this one waits.
        sleep(min(pause, remaining))
        pause = min(pause * _BACKOFF_FACTOR, settings.longest_pause)
        polled, last_error = status_domain_verification(client, current.id)
        if polled is not None:
            current = polled
            # A failed attempt is over: start another. A verify that could not be sent stays due.
            must_initiate = must_initiate or polled.status is DomainStatus.FAILED
    return current
