"""``VerifiedEmailDomain``: register an email domain, publish its DNS records, wait until it is verified.

One component, three modes, chosen from the arguments alone so that a preview already shows the whole
resource graph:

- ``cloudflare`` (a ``zone_id`` is given): an ``EmailDomain`` and one ``cloudflare.DnsRecord`` per record;
- ``manual`` (no ``zone_id``): the ``EmailDomain`` only; the records are outputs with full names, ready to
  paste at any DNS provider, and a log line lists them while the verification waits for them;
- ``platform`` (the domain is ``agents.anyreach.ai``): nothing to register or publish; the outputs say the
  domain is ready to use.

The verification is a ``DomainVerificationGroup`` that depends on every record: the component's own
(``<name>-verification``), or a :class:`components.VerificationGroup` shared with other components so
that all their domains wait at once. The records are planned statically (``components.record_plan``):
names, types, ttl and comments are known before the platform answers, only ``content`` and MX
``priority`` come from the registered domain's ``dns_records`` through ``apply``. No resource is ever
created inside ``apply``, so a preview of a new domain lists every record ``up`` will create. If the
platform returns other records than planned, the content ``apply`` fails at once with a message naming
them (the verification checks the same thing again on the provider side), instead of publishing part of
the set and timing out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import pulumi
from pydantic import ValidationError

from components.fields import (
    DEFAULT_COMMENT_PREFIX,
    VerifiedEmailDomainArgs,
    describe_errors,
    normalization_warning,
)
from components.record_plan import (
    PlannedRecord,
    format_records_for_humans,
    match_records,
    plan_records,
    records_to_publish,
)
from components.verification_group import VerificationGroup
from provider import EmailDomain
from provider.dns.checker import ExpectedRecord
from provider.rules.domain_name import PLATFORM_DOMAIN

if TYPE_CHECKING:
    import pulumi_cloudflare as cloudflare

__all__ = [
    "CLOUDFLARE_COMMENT_MAX_LENGTH",
    "DEFAULT_COMMENT_PREFIX",
    "TYPE_TOKEN",
    "DnsMode",
    "VerifiedEmailDomain",
    "VerifiedEmailDomainArgs",
]

TYPE_TOKEN = "anyreach:email:VerifiedEmailDomain"  # noqa: S105 - a Pulumi type token, not a secret
"""The component's type token, as it appears in previews and URNs."""

CLOUDFLARE_COMMENT_MAX_LENGTH = 100
"""Longest record comment Cloudflare accepts on every plan (free zones allow 100 characters)."""

DnsMode = Literal["cloudflare", "manual", "platform"]
"""How the domain's records get published: by the component in Cloudflare, by hand, or not at all."""


def _validate(name: str, given: Mapping[str, Any]) -> VerifiedEmailDomainArgs:
    """Check every argument before a child exists, so that bad input fails the preview, not the up."""
    doing = f"creating Verified Email Domain ({name})"
    domain = given.get("domain")
    if domain is None:
        raise TypeError(f"{doing}: domain is required")
    if not isinstance(domain, str):
        raise TypeError(f"{doing}: domain must be a plain string known at preview time, not an Output")
    zone_id = given.get("zone_id")
    if isinstance(zone_id, str) and not zone_id.strip():
        raise ValueError(f"{doing}: zone_id is empty; pass the Cloudflare zone id, or None for manual DNS")
    if isinstance(given.get("dkim_cname_tokens"), str):
        raise TypeError(f"{doing}: dkim_cname_tokens must be a list of tokens, not one string")
    try:
        args = VerifiedEmailDomainArgs.model_validate(dict(given))
    except ValidationError as exc:
        problems = describe_errors(exc, lambda location: ".".join(map(str, location)) or "arguments")
        # A bad domain's message names the domain itself ("domain 'x' must ..."): no need to say it twice.
        raise ValueError(f"{doing}: {'; '.join(p.removeprefix('domain: ') for p in problems)}") from None
    warning = normalization_warning(f"{doing}: domain", domain, args.domain)
    if warning is not None:
        pulumi.log.warn(warning)
    return args


def _record_comment(prefix: str, planned: PlannedRecord, domain: str) -> str:
    """``anyreach: DKIM signing key for acme.com``, cut to the length Cloudflare accepts on every plan."""
    comment = f"{prefix}: {planned.purpose} for {domain}" if prefix else f"{planned.purpose} for {domain}"
    return comment[:CLOUDFLARE_COMMENT_MAX_LENGTH]


def _expected(published: Mapping[str, Any]) -> dict[str, Any]:
    """A published record as the verification member gives it: what DNS must serve (``ExpectedRecord``)."""
    return {field.name: published[field.name] for field in dataclasses.fields(ExpectedRecord)}


def _field_of(by_role: pulumi.Output[dict[str, dict[str, Any]]], role: str, key: str) -> pulumi.Output[Any]:
    """One field of one published record (``role`` and ``key`` are bound now, not when the apply runs)."""
    return by_role.apply(lambda records: records[role][key])


class VerifiedEmailDomain(pulumi.ComponentResource):
    """An Anyreach email domain whose DNS records are published and whose verification ``up`` waits for.

    Children (names derive from the component's ``name``): ``<name>-domain`` (EmailDomain),
    ``<name>-dkim``, ``<name>-spf-mx``, ``<name>-spf-txt``, ``<name>-dmarc``, ``<name>-inbound-mx``
    (Cloudflare records, cloudflare mode only) and ``<name>-verification`` (a DomainVerificationGroup, unless
    the component joins a shared :class:`components.VerificationGroup`).

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
        verification_group: VerificationGroup | None = None,
        **keywords: Any,
    ) -> None:
        """Create the component and its children.

        The arguments are ``args`` or the keywords, which are the fields of ``VerifiedEmailDomainArgs``
        (a keyword set to None counts as not given). ``verification_group`` (a
        :class:`components.VerificationGroup`) verifies this domain together with the group's others;
        without one, the component makes its own ``<name>-verification``.

        Raises:
            TypeError: an unknown keyword, args and keywords together, or a domain that is not text.
            ValueError: an argument its rule refuses (:mod:`components.fields`).
        """
        self._verification_group = verification_group
        for keyword in keywords:
            if keyword not in VerifiedEmailDomainArgs.model_fields:
                # Python's own words, as when the keywords were listed in the signature.
                raise TypeError(
                    f"VerifiedEmailDomain.__init__() got an unexpected keyword argument {keyword!r}"
                )
        given: dict[str, Any] = {key: value for key, value in keywords.items() if value is not None}
        if args is not None and given:
            raise TypeError(
                f"creating Verified Email Domain ({name}): pass either args or keyword arguments, not both "
                f"(got args and {', '.join(sorted(given))})"
            )
        if args is not None:
            given = args.model_dump(exclude_unset=True)
        # Validate before registering anything: a bad argument must not leave a half-made component.
        self._args = _validate(name, given)
        super().__init__(TYPE_TOKEN, name, {}, opts)

        mode: DnsMode = (
            "platform"
            if self._args.domain == PLATFORM_DOMAIN
            else ("cloudflare" if self._args.zone_id is not None else "manual")
        )
        self.domain = pulumi.Output.from_input(self._args.domain)
        self.dns_mode = pulumi.Output.from_input(mode)
        if mode == "platform":
            self._use_platform_domain()
        else:
            self._register_publish_verify(name, self._args, mode)
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

    def _register_publish_verify(self, name: str, args: VerifiedEmailDomainArgs, mode: DnsMode) -> None:
        """Register the domain, publish the planned records (cloudflare mode), verify after all of them."""
        domain, ttl = args.domain, args.ttl
        assert ttl is not None  # an unset ttl is resolved by VerifiedEmailDomainArgs (WhenUnset)
        plan = plan_records(args.dkim_cname_tokens)
        # What must survive the stack: the domain and its records; the verification is only bookkeeping.
        kept = pulumi.ResourceOptions(
            parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete
        )
        email_domain = EmailDomain(
            f"{name}-domain", domain=domain, email_provider=args.email_provider, opts=kept
        )
        # Everything below derives from the platform's records through apply; resources are only ever
        # created here, outside apply, with names and types fixed by the plan.
        matched = email_domain.dns_records.apply(lambda records: match_records(plan, records, domain))
        published = matched.apply(lambda by_role: records_to_publish(plan, by_role, domain=domain, ttl=ttl))
        by_role = published.apply(lambda records: {record["role"]: record for record in records})

        cloudflare_records: dict[str, cloudflare.DnsRecord] = {}
        if mode == "cloudflare":
            # Imported here: the Cloudflare SDK takes about 3 s to import, which a program with no
            # Cloudflare domain (manual or platform mode) should not wait for before its first resource.
            import pulumi_cloudflare as cloudflare

            for planned in plan:
                cloudflare_records[planned.role] = cloudflare.DnsRecord(
                    f"{name}-{planned.role}",
                    zone_id=args.zone_id,  # type: ignore[arg-type]  # not None in cloudflare mode
                    name=planned.full_name(domain),
                    type=planned.type,
                    content=_field_of(by_role, planned.role, "content"),
                    priority=_field_of(by_role, planned.role, "priority") if planned.type == "MX" else None,
                    ttl=ttl,
                    proxied=False,
                    comment=_record_comment(args.comment_prefix, planned, domain),
                    opts=kept,
                )

        group = self._verification_group or VerificationGroup(
            f"{name}-verification", opts=pulumi.ResourceOptions(parent=self)
        )
        tuning = args.verification_tuning()
        member = pulumi.Output.all(email_domain.id, published).apply(
            lambda values: {
                "domain_id": values[0],
                "domain": domain,
                "dns_records": [_expected(record) for record in values[1]],
                **tuning,
            }
        )
        result = group.add(domain, member, depends_on=[email_domain, *cloudflare_records.values()])
        if self._verification_group is None:
            group.close()

        self.domain_id = email_domain.id
        self.status = result.apply(lambda entry: str(entry["status"]))
        self.verified = result.apply(lambda entry: bool(entry["verified"]))
        if mode == "manual":
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
