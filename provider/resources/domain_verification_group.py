"""The ``DomainVerificationGroup`` dynamic resource: waits until every Email Domain of a set is verified.

One resource for many domains, so that they all wait at the same time: the SDK's provider host runs every
dynamic resource of a stack on four threads, and the engine runs at most ``--parallel`` steps at once; a
resource per domain would hold one of each for as long as its domain takes (domains verified in waves of
four). This one holds a single thread and a single engine slot and hands each domain to the process-wide
poller (:mod:`provider.verify.poller`), which checks DNS first and shares the request budget between them.

Lifecycle: ``check`` validates the members without calling the API; ``diff`` updates (never replaces)
when a member is added, removed or changed, or was not verified when last seen; ``create`` and ``update``
wait for the members that need it (an unchanged member verified when last seen costs nothing); ``read``
re-reads every member's status, so ``pulumi refresh`` notices a domain that lost its verification and
the next ``pulumi up`` verifies it again; ``delete`` does nothing remotely.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pulumi
import pulumi.dynamic
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from provider.api.errors import ENTITY, AnyreachError, CancelledError
from provider.api.find import read_domain_once
from provider.api.models import Domain
from provider.dns.checker import DnsCheckMode, DnsCheckSettings, ExpectedRecord, parse_resolvers
from provider.host.registrations import take_registration
from provider.resources.base import AnyreachProvider, AnyreachResource
from provider.resources.connection import connect, wait_for_verification
from provider.resources.record_state import DnsRecordState
from provider.resources.resource_inputs import check_failures, contains_unknown
from provider.resources.verification_tuning import VerificationTuning
from provider.verify.poller import VerificationRequest

__all__ = [
    "DomainVerificationGroup",
    "DomainVerificationGroupArgs",
    "DomainVerificationGroupProvider",
    "DomainVerificationGroupState",
    "MemberResult",
    "VerificationGroupError",
    "VerificationMember",
]


class VerificationMember(VerificationTuning):
    """One domain of the group, and how long and how often to wait for it (:class:`VerificationTuning`)."""

    domain_id: str = Field(min_length=1)
    """The platform's id of the domain (an ``EmailDomain``'s id)."""
    domain: str = Field(min_length=1)
    """The domain name (the key of ``results``)."""
    dns_records: list[ExpectedRecord] = Field(default_factory=list)
    """Every record the stack publishes for it, as DNS must serve it (``type``, full ``name``, ``value``,
    MX ``priority``); empty skips the DNS and plan checks."""

    def request(self, dns_check: DnsCheckSettings) -> VerificationRequest:
        """What the poller needs to wait for this member."""
        return VerificationRequest(
            domain_id=self.domain_id,
            domain=self.domain,
            records=tuple(self.dns_records),
            settings=self.settings(),
            dns_check=dns_check,
        )


class DomainVerificationGroupArgs(BaseModel):
    """Inputs of a ``DomainVerificationGroup``."""

    model_config = ConfigDict(extra="ignore")

    members: list[VerificationMember] = Field(default_factory=list)
    """The domains to verify."""
    dns_check: DnsCheckMode | None = None
    """How records are checked in DNS before verification is initiated; None: ``authoritative``."""
    dns_resolvers: list[str] | None = None
    """Resolvers as ``host[:port]``; None: the system's."""
    dns_nameserver_port: int | None = Field(default=None, ge=1, le=65535)
    """Port of the authoritative nameservers; None: 53."""

    def dns_settings(self) -> DnsCheckSettings:
        """The DNS checker's settings: those that are set, the checker's defaults for the others."""
        defaults = DnsCheckSettings()
        return DnsCheckSettings(
            mode=self.dns_check or defaults.mode,
            resolvers=parse_resolvers(self.dns_resolvers or ()),
            nameserver_port=self.dns_nameserver_port or defaults.nameserver_port,
        )


class MemberResult(BaseModel):
    """A member's domain as last seen."""

    model_config = ConfigDict(extra="ignore")

    domain_id: str
    """The platform's id of the domain."""
    status: str
    """``pending``, ``verified``, ``failed``, or ``deleted`` when the platform no longer has it."""
    verified: bool
    """Whether it was verified when last seen."""
    dns_records: list[DnsRecordState] = Field(default_factory=list)
    """Its records with their own status."""

    @classmethod
    def observe(cls, domain: Domain) -> MemberResult:
        """The result for the platform's view of the domain."""
        return cls(
            domain_id=domain.id,
            status=domain.status.value,
            verified=domain.is_verified,
            dns_records=DnsRecordState.list_of(domain),
        )


class DomainVerificationGroupState(DomainVerificationGroupArgs):
    """Outputs: the inputs, each member's result keyed by domain name, and whether all are verified."""

    results: dict[str, MemberResult] = Field(default_factory=dict)
    """Each member's domain as last seen, by domain name."""
    verified: bool = False
    """Whether every member was verified when last seen."""

    @classmethod
    def of(
        cls, args: DomainVerificationGroupArgs, results: dict[str, MemberResult]
    ) -> DomainVerificationGroupState:
        """The state of the group (filled here only)."""
        return cls(
            **args.model_dump(),
            results=results,
            verified=bool(results) and all(result.verified for result in results.values()),
        )

    def outputs(self) -> dict[str, Any]:
        """The outputs as the engine stores them."""
        return self.model_dump(mode="json")


class VerificationGroupError(AnyreachError):
    """One or more domains of a group did not verify; the message is each domain's own error in turn,
    so its first line names the first failing domain (``waiting for Email Domain (acme.com) ...``).

    Attributes:
        errors: the error of each domain that failed, by domain name.
        verified: the domains that did verify.
    """

    def __init__(self, errors: dict[str, AnyreachError], verified: Sequence[str]) -> None:
        self.errors = dict(errors)
        self.verified = list(verified)
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [str(error) for error in self.errors.values()]
        if any(isinstance(error, CancelledError) for error in self.errors.values()):
            parts.append(
                f"Cancelled: {len(self.errors)} of {len(self.errors) + len(self.verified)} {ENTITY}s not "
                f"verified ({', '.join(self.errors)}); verified: {', '.join(self.verified) or 'none'}. "
                f"{CancelledError.RESUME}: registered domains are not registered again, and verified ones "
                "are only re-read."
            )
        elif len(self.errors) > 1 or self.verified:
            parts.append(
                f"{len(self.errors)} of {len(self.errors) + len(self.verified)} {ENTITY}s did not verify: "
                f"{', '.join(self.errors)}. The others are verified; running `pulumi up` again re-reads them "
                "without verifying them again."
            )
        return "\n\n".join(parts)


def _verify_members(
    args: DomainVerificationGroupArgs, members: Sequence[VerificationMember], known: dict[str, MemberResult]
) -> dict[str, MemberResult]:
    """Verify ``members`` (the others keep their ``known`` result); raise if any did not verify."""
    dns_check = args.dns_settings()
    requests = [member.request(dns_check) for member in members]
    # A domain this deployment registered moments ago starts from what registration saw: no first read.
    requests = [
        replace(request, seen=take_registration(request.domain_id, request.domain)) for request in requests
    ]
    outcomes = wait_for_verification(requests)
    errors: dict[str, AnyreachError] = {}
    results = dict(known)
    for name, outcome in outcomes.items():
        if isinstance(outcome, Domain):
            results[name] = MemberResult.observe(outcome)
        elif isinstance(outcome, AnyreachError):
            errors[name] = outcome
        else:
            raise outcome  # a bug: keep its traceback
    if errors:
        raise VerificationGroupError(errors, [name for name in results if name not in errors])
    return results


_EXPECTED_RECORD = TypeAdapter(ExpectedRecord)


def _member_key(member: Any) -> Any:
    """What makes two members the same for ``diff`` (order of records does not matter)."""
    if not isinstance(member, dict):
        return member
    records = member.get("dns_records") or []
    return (
        member.get("domain_id"),
        member.get("domain"),
        sorted(map(_record_key, records)),
        *(member.get(name) for name in VerificationTuning.model_fields),
    )


def _record_key(record: Any) -> str:
    """A published record as DNS must serve it: state holds records normalized (``ExpectedRecord``), the
    inputs as written, and both must compare equal."""
    try:
        return repr(_EXPECTED_RECORD.validate_python(record))
    except ValidationError:
        return repr(sorted(record.items())) if isinstance(record, dict) else repr(record)


_DNS_INPUTS = ("dns_check", "dns_resolvers", "dns_nameserver_port")


class DomainVerificationGroupProvider(AnyreachProvider):
    """Dynamic provider of :class:`DomainVerificationGroup`. Holds no state; pickled as
    ``provider.entry_points.dynamic_provider("DomainVerificationGroup")``."""

    kind = "DomainVerificationGroup"

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        """Validate the known inputs; no API call, unknown values pass through."""
        failures = check_failures(DomainVerificationGroupArgs, news)
        members = news.get("members")
        if not failures and isinstance(members, list) and not contains_unknown(members):
            names = [str(member.get("domain")) for member in members if isinstance(member, dict)]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                failures.append(
                    pulumi.dynamic.CheckFailure(
                        "members",
                        f"members: each domain may be in a group once; repeated: {', '.join(repeated)}",
                    )
                )
        return pulumi.dynamic.CheckResult(dict(news), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        """Update (never replace) when members or DNS settings change, or a member was not verified when
        last seen (read saw it lose its verification, or the last update failed for it)."""
        changed = []
        new_members = news.get("members")
        if contains_unknown(new_members) or sorted(
            map(repr, map(_member_key, olds.get("members") or []))
        ) != sorted(map(repr, map(_member_key, new_members or []))):
            changed.append("members")
        changed += [
            name
            for name in _DNS_INPUTS
            if contains_unknown(news.get(name)) or olds.get(name) != news.get(name)
        ]
        if olds.get("verified") is not True:
            changed.append("verified")
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=[])

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        """Wait until every member is verified (verifying only those that are not)."""
        args = DomainVerificationGroupArgs.model_validate(props)
        results = _verify_members(args, args.members, {})
        return pulumi.dynamic.CreateResult(
            f"verification-group-{uuid.uuid4().hex[:12]}", self._state(args, results)
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        """Verify the members that are new, changed, or were not verified when last seen."""
        args = DomainVerificationGroupArgs.model_validate(news)
        old = DomainVerificationGroupState.model_validate(olds)
        old_members = {member.domain: member for member in old.members}
        # A member that is unchanged and was verified when last seen costs nothing, whatever the DNS
        # settings became: they only matter before verifying.
        known: dict[str, MemberResult] = {}
        pending = []
        for member in args.members:
            previous, result = old_members.get(member.domain), old.results.get(member.domain)
            unchanged = previous is not None and _member_key(previous.model_dump()) == _member_key(
                member.model_dump()
            )
            if unchanged and result is not None and result.verified:
                known[member.domain] = result
            else:
                pending.append(member)
        results = _verify_members(args, pending, known)
        return pulumi.dynamic.UpdateResult(self._state(args, results))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Re-read every member's status; warn about any that lost its verification or is gone."""
        state = DomainVerificationGroupState.model_validate(props)
        results: dict[str, MemberResult] = {}
        for member in state.members:
            with connect("refreshing", member.domain) as client:
                domain = read_domain_once(client, member.domain_id)  # shared with its EmailDomain
            before = state.results.get(member.domain)
            if domain is None:
                pulumi.log.warn(
                    f"refreshing {ENTITY} ({member.domain}) verification: the domain no longer exists on the "
                    f"platform (id {member.domain_id}); the next `pulumi up` registers and verifies it again"
                )
                results[member.domain] = MemberResult(
                    domain_id=member.domain_id, status="deleted", verified=False
                )
                continue
            results[member.domain] = MemberResult.observe(domain)
            if before is not None and before.verified and not domain.is_verified:
                pulumi.log.warn(
                    f"refreshing {ENTITY} ({member.domain}) verification: the domain is no longer verified "
                    f"(status {domain.status.value}); the next `pulumi up` verifies it again. Check that its "
                    "DNS records are still published."
                )
        return pulumi.dynamic.ReadResult(id_, self._state(state, results))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do remotely: a verification lives and dies with its domains."""

    @staticmethod
    def _state(args: DomainVerificationGroupArgs, results: dict[str, MemberResult]) -> dict[str, Any]:
        plain = DomainVerificationGroupArgs.model_validate(args.model_dump())
        return DomainVerificationGroupState.of(plain, results).outputs()


class DomainVerificationGroup(AnyreachResource, module="anyreach", name="DomainVerificationGroup"):
    """Waits until every Email Domain of a set is verified, all at the same time.

    Each member names a domain (its id and name), the records the stack publishes for it, and how long
    to wait. Create (and update) checks each unverified member's records in DNS until every authoritative
    nameserver serves them (``dns_check``), then initiates verification and polls its status, all members
    at once through one process-wide poller and request budget; a domain that is already verified is
    only read. It fails, after every member has ended, with each failing domain's own message (records
    not served in DNS with what each nameserver returned, or not verified by the platform), and running
    ``pulumi up`` again resumes. ``results`` holds each member's status by domain name.

    Usually made by :class:`components.VerificationGroup`; one per stack is enough.
    """

    state_model = DomainVerificationGroupState

    # What type checkers see of the outputs, which are the fields of `state_model` (a test holds the two
    # together: tests/provider/test_resource_outputs.py).
    members: pulumi.Output[list[dict[str, Any]]]
    """The members, their records normalized (type upper case, full names lower case)."""
    dns_check: pulumi.Output[str | None]
    """How records are checked in DNS before verification; None: ``authoritative``."""
    dns_resolvers: pulumi.Output[list[str] | None]
    """Resolvers of the DNS check as ``host[:port]``; None: the system's."""
    dns_nameserver_port: pulumi.Output[int | None]
    """Port of the authoritative nameservers; None: 53."""
    results: pulumi.Output[dict[str, dict[str, Any]]]
    """Each member's domain as last seen, by domain name: ``domain_id``, ``status``, ``verified``,
    ``dns_records``."""
    verified: pulumi.Output[bool]
    """Whether every member was verified when last seen."""

    def __init__(
        self,
        resource_name: str,
        members: pulumi.Input[list[pulumi.Input[dict[str, Any]]]],
        dns_check: pulumi.Input[str] | None = None,
        dns_resolvers: pulumi.Input[list[str]] | None = None,
        dns_nameserver_port: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Wait for the domains of ``members`` (dicts of ``VerificationMember``'s fields).

        Args:
            resource_name: the Pulumi resource name.
            members: one dict per domain: ``domain_id``, ``domain``, ``dns_records`` (``type``, full
                ``name``, ``value``, ``priority``), and optionally ``timeout_seconds``,
                ``poll_interval_seconds``, ``max_verify_attempts``.
            dns_check: ``authoritative`` (default), ``recursive`` or ``off``.
            dns_resolvers: resolvers as ``host[:port]`` (default: the system's).
            dns_nameserver_port: port of the authoritative nameservers (default 53).
            opts: resource options.
        """
        inputs: dict[str, Any] = {
            "members": members,
            "dns_check": dns_check,
            "dns_resolvers": dns_resolvers,
            "dns_nameserver_port": dns_nameserver_port,
        }
        super().__init__(DomainVerificationGroupProvider(), resource_name, inputs, opts)
