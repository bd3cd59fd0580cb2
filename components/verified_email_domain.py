"""``VerifiedEmailDomain``: register an email domain, publish its DNS records, wait until it is verified.

One component, three modes, chosen from the arguments alone so that a preview already shows the whole
resource graph:

- ``cloudflare`` (a ``zone_id`` is given): an ``EmailDomain``, one ``cloudflare.DnsRecord`` per record, and
  a ``DomainVerification`` that depends on every record.
- ``manual`` (no ``zone_id``): the ``EmailDomain`` and the ``DomainVerification`` only; the records are
  outputs with full names, ready to paste at any DNS provider, and a log line lists them while the
  verification waits for them.
- ``platform`` (the domain is ``agents.anyreach.ai``): nothing to register or publish; the outputs say the
  domain is ready to use.

The records are planned statically (``components.records``): names, types, ttl and comments are known
before the platform answers, only ``content`` and MX ``priority`` come from the registered domain's
``dns_records`` through ``apply``. No resource is ever created inside ``apply``, so a preview of a new
domain lists every record ``up`` will create. If the platform returns other records than planned, the
content ``apply`` fails at once with a message naming them (the verification's ``expected_records`` checks
the same thing again on the provider side), instead of publishing part of the set and timing out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_cloudflare as cloudflare

from components.records import (
    PlannedRecord,
    format_records_for_humans,
    match_records,
    plan_records,
    records_fingerprint,
    records_to_publish,
)
from provider import DomainVerification, EmailDomain
from provider.domain_name import PLATFORM_DOMAIN, normalize_domain

__all__ = [
    "CLOUDFLARE_COMMENT_MAX_LENGTH",
    "DEFAULT_COMMENT_PREFIX",
    "DEFAULT_TTL",
    "TYPE_TOKEN",
    "DnsMode",
    "VerifiedEmailDomain",
    "VerifiedEmailDomainArgs",
]

TYPE_TOKEN = "anyreach:email:VerifiedEmailDomain"  # noqa: S105 - a Pulumi type token, not a secret
"""The component's type token, as it appears in previews and URNs."""

DEFAULT_TTL = 1
"""Cloudflare's 'automatic' TTL."""

DEFAULT_COMMENT_PREFIX = "anyreach"
"""First word of every Cloudflare record comment, so records the component owns are easy to spot."""

CLOUDFLARE_COMMENT_MAX_LENGTH = 100
"""Longest record comment Cloudflare accepts on every plan (free zones allow 100 characters)."""

DnsMode = Literal["cloudflare", "manual", "platform"]
"""How the domain's records get published: by the component in Cloudflare, by hand, or not at all."""


@dataclass(frozen=True)
class VerifiedEmailDomainArgs:
    """The arguments of a ``VerifiedEmailDomain``.

    Only ``domain`` and ``zone_id`` decide what exists; every other field can change later without
    replacing the registered domain or any DNS record.
    """

    domain: str
    """The domain to send and receive on, such as ``acme.com`` (lowercased, Unicode converted to punycode).
    ``agents.anyreach.ai`` selects the platform domain: nothing is registered or published."""
    zone_id: pulumi.Input[str] | None = None
    """Cloudflare zone id (32 hex characters) that holds the domain; the records are published there.
    None selects manual DNS mode: the records are outputs for you to publish at any DNS provider."""
    email_provider: str | None = None
    """Email provider the platform registers the domain with; None keeps the platform's default (resend).
    Changing it registers the domain again."""
    ttl: int = DEFAULT_TTL
    """TTL of the Cloudflare records in seconds: 1 (automatic, the default) or 30..86400."""
    verification_timeout_seconds: float | None = None
    """How long ``pulumi up`` waits for the domain to verify; None keeps the verification's default."""
    poll_interval_seconds: float | None = None
    """Pause between two status reads while waiting; None keeps the verification's default."""
    max_verify_attempts: int | None = None
    """How many times verification may be re-initiated on a failed check; None keeps the default."""
    dkim_cname_tokens: Sequence[str] | None = None
    """For domains registered before the single DKIM TXT record: the tokens of the three legacy
    ``<token>._domainkey`` CNAME records, published instead of the DKIM TXT record."""
    comment_prefix: str = DEFAULT_COMMENT_PREFIX
    """First words of each Cloudflare record comment; the comment goes on with the purpose and domain."""


@dataclass(frozen=True)
class _Settings:
    """The validated arguments: a canonical domain and the mode it implies."""

    args: VerifiedEmailDomainArgs
    domain: str
    mode: DnsMode


def _validate(args: VerifiedEmailDomainArgs, name: str) -> _Settings:
    """Check every argument before a child exists, so that bad input fails the preview, not the up."""
    doing = f"creating Verified Email Domain ({name})"
    if not isinstance(args.domain, str):
        raise TypeError(f"{doing}: domain must be a plain string known at preview time, not an Output")
    candidate = args.domain.strip().rstrip(".").lower()
    if candidate == PLATFORM_DOMAIN:
        if args.zone_id is not None:
            raise ValueError(
                f"{doing}: {PLATFORM_DOMAIN} is the platform's default domain and needs no DNS records; "
                "remove zone_id"
            )
        return _Settings(args, PLATFORM_DOMAIN, "platform")
    try:
        domain = normalize_domain(args.domain)
    except ValueError as exc:
        raise ValueError(f"{doing}: {exc}") from exc
    if isinstance(args.zone_id, str) and not args.zone_id.strip():
        raise ValueError(f"{doing}: zone_id is empty; pass the Cloudflare zone id, or None for manual DNS")
    if (
        isinstance(args.ttl, bool)
        or not isinstance(args.ttl, int)
        or not (args.ttl == 1 or 30 <= args.ttl <= 86400)
    ):
        raise ValueError(f"{doing}: ttl {args.ttl!r} is not 1 (automatic) or a whole number in 30..86400")
    for field_name in ("verification_timeout_seconds", "poll_interval_seconds", "max_verify_attempts"):
        value = getattr(args, field_name)
        whole = field_name == "max_verify_attempts"
        kinds = int if whole else int | float
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds) or value <= 0):
            kind = "a positive whole number" if whole else "a positive number"
            raise ValueError(f"{doing}: {field_name} {value!r} must be {kind} or None")
    if isinstance(args.dkim_cname_tokens, str):
        raise TypeError(f"{doing}: dkim_cname_tokens must be a list of tokens, not one string")
    return _Settings(args, domain, "cloudflare" if args.zone_id is not None else "manual")


def _record_comment(prefix: str, planned: PlannedRecord, domain: str) -> str:
    """``anyreach: DKIM signing key for acme.com``, cut to the length Cloudflare accepts on every plan."""
    comment = f"{prefix}: {planned.purpose} for {domain}" if prefix else f"{planned.purpose} for {domain}"
    return comment[:CLOUDFLARE_COMMENT_MAX_LENGTH]


def _pick(role: str, key: str) -> Callable[[Mapping[str, Mapping[str, Any]]], Any]:
    """An apply callback reading one field of one published record (binds ``role`` now, not at call time)."""

    def read(by_role: Mapping[str, Mapping[str, Any]]) -> Any:
        return by_role[role][key]

    return read


class VerifiedEmailDomain(pulumi.ComponentResource):
    """An Anyreach email domain whose DNS records are published and whose verification ``up`` waits for.

    Children (names derive from the component's ``name``): ``<name>-domain`` (EmailDomain),
    ``<name>-dkim``, ``<name>-spf-mx``, ``<name>-spf-txt``, ``<name>-dmarc``, ``<name>-inbound-mx``
    (Cloudflare records, cloudflare mode only) and ``<name>-verification`` (DomainVerification).

    Pass the arguments either as keywords (``VerifiedEmailDomain("acme", domain="acme.com",
    zone_id=zone.id)``) or as one ``VerifiedEmailDomainArgs``, not both. A Cloudflare provider other than
    the default comes through ``opts=pulumi.ResourceOptions(providers={"cloudflare": provider})``.
    """

    domain: pulumi.Output[str]
    """The canonical domain name (lowercase, punycode)."""
    domain_id: pulumi.Output[str | None]
    """The platform's id of the registered domain; None for the platform domain."""
    dns_mode: pulumi.Output[str]
    """``cloudflare``, ``manual`` or ``platform``: who publishes the records."""
    status: pulumi.Output[str]
    """The domain's status once ``up`` finished: ``verified`` (``up`` fails otherwise)."""
    verified: pulumi.Output[bool]
    """True once the platform reports the domain verified: it can send and receive."""
    dns_records: pulumi.Output[list[dict[str, Any]]]
    """The records to publish, fully named: role, record, type, name, value, content, priority, ttl."""
    cloudflare_record_ids: pulumi.Output[dict[str, str]]
    """Cloudflare record id by role (``dkim``, ``spf-mx``, ...); empty outside cloudflare mode."""

    def __init__(
        self,
        name: str,
        args: VerifiedEmailDomainArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        domain: str | None = None,
        zone_id: pulumi.Input[str] | None = None,
        email_provider: str | None = None,
        ttl: int | None = None,
        verification_timeout_seconds: float | None = None,
        poll_interval_seconds: float | None = None,
        max_verify_attempts: int | None = None,
        dkim_cname_tokens: Sequence[str] | None = None,
        comment_prefix: str | None = None,
    ) -> None:
        """Create the component and its children; see ``VerifiedEmailDomainArgs`` for the arguments."""
        keywords = {
            "domain": domain,
            "zone_id": zone_id,
            "email_provider": email_provider,
            "ttl": ttl,
            "verification_timeout_seconds": verification_timeout_seconds,
            "poll_interval_seconds": poll_interval_seconds,
            "max_verify_attempts": max_verify_attempts,
            "dkim_cname_tokens": dkim_cname_tokens,
            "comment_prefix": comment_prefix,
        }
        given: dict[str, Any] = {key: value for key, value in keywords.items() if value is not None}
        if args is not None and given:
            raise TypeError(
                f"creating Verified Email Domain ({name}): pass either args or keyword arguments, not both "
                f"(got args and {', '.join(sorted(given))})"
            )
        if args is None:
            if domain is None:
                raise TypeError(f"creating Verified Email Domain ({name}): domain is required")
            args = VerifiedEmailDomainArgs(**given)
        # Validate before registering anything: a bad argument must not leave a half-made component.
        settings = _validate(args, name)
        super().__init__(TYPE_TOKEN, name, {}, opts)

        self.domain = pulumi.Output.from_input(settings.domain)
        self.dns_mode = pulumi.Output.from_input(settings.mode)
        if settings.mode == "platform":
            self._use_platform_domain()
        else:
            self._register_publish_verify(name, settings)
        self.register_outputs(
            {
                "domain": self.domain,
                "domain_id": self.domain_id,
                "dns_mode": self.dns_mode,
                "status": self.status,
                "verified": self.verified,
                "dns_records": self.dns_records,
                "cloudflare_record_ids": self.cloudflare_record_ids,
            }
        )

    def _use_platform_domain(self) -> None:
        """The platform domain works without registration: no children, outputs say it is ready."""
        self.domain_id = pulumi.Output.from_input(None)
        self.status = pulumi.Output.from_input("verified")
        self.verified = pulumi.Output.from_input(True)
        self.dns_records = pulumi.Output.from_input([])
        self.cloudflare_record_ids = pulumi.Output.from_input({})

    def _register_publish_verify(self, name: str, settings: _Settings) -> None:
        """Register the domain, publish the planned records (cloudflare mode), verify after all of them."""
        args, domain = settings.args, settings.domain
        plan = plan_records(args.dkim_cname_tokens)
        email_domain = EmailDomain(
            f"{name}-domain",
            domain=domain,
            provider=args.email_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Everything below derives from the platform's records through apply; resources are only ever
        # created here, outside apply, with names and types fixed by the plan.
        matched = email_domain.dns_records.apply(functools.partial(match_records, plan, domain=domain))
        published = matched.apply(
            lambda by_role: records_to_publish(plan, by_role, domain=domain, ttl=args.ttl)
        )
        by_role = published.apply(lambda records: {record["role"]: record for record in records})

        cloudflare_records: dict[str, cloudflare.DnsRecord] = {}
        if settings.mode == "cloudflare":
            for planned in plan:
                cloudflare_records[planned.role] = cloudflare.DnsRecord(
                    f"{name}-{planned.role}",
                    zone_id=args.zone_id,  # type: ignore[arg-type]  # not None in cloudflare mode
                    name=planned.full_name(domain),
                    type=planned.type,
                    content=by_role.apply(_pick(planned.role, "content")),
                    priority=by_role.apply(_pick(planned.role, "priority")) if planned.type == "MX" else None,
                    ttl=args.ttl,
                    proxied=False,
                    comment=_record_comment(args.comment_prefix, planned, domain),
                    opts=pulumi.ResourceOptions(parent=self),
                )

        fingerprint = pulumi.Output.all(published, args.zone_id).apply(
            lambda values: records_fingerprint(values[0], values[1])
        )
        verification = DomainVerification(
            f"{name}-verification",
            domain_id=email_domain.id,
            records_fingerprint=fingerprint,
            expected_records=[{"type": planned.type, "name": planned.name} for planned in plan],
            timeout_seconds=args.verification_timeout_seconds,
            poll_interval_seconds=args.poll_interval_seconds,
            max_verify_attempts=args.max_verify_attempts,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[email_domain, *cloudflare_records.values()]),
        )

        self.domain_id = email_domain.id
        self.status = verification.status
        self.verified = verification.verified
        if settings.mode == "manual":
            self.dns_records = pulumi.Output.all(published, email_domain.status).apply(
                lambda values: self._remind_to_publish(domain, values[0], values[1])
            )
        else:
            self.dns_records = published
        self.cloudflare_record_ids = (
            pulumi.Output.all(**{role: record.id for role, record in cloudflare_records.items()})
            if cloudflare_records
            else pulumi.Output.from_input({})
        )

    def _remind_to_publish(
        self, domain: str, records: list[dict[str, Any]], status: str | None
    ) -> list[dict[str, Any]]:
        """In manual mode, list the records in the update's log until the domain is known verified."""
        if status != "verified":
            # The status is the one last read (registration, or `pulumi refresh`), so the wording holds
            # whether the verification is still waiting or already done.
            pulumi.log.info(
                f"manual DNS: publish these records for {domain} at your DNS provider and keep them "
                f"in place:\n{format_records_for_humans(records)}",
                resource=self,
            )
        return records
