"""The ``DomainVerification`` dynamic resource: waits until an Email Domain is verified.

Modelled on ``aws_ses_domain_identity_verification``: a resource of its own whose create waits, whose
delete does nothing remotely, and whose read notices when the domain lost its verification, so that
the next ``pulumi up`` verifies again.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic
from pydantic import BaseModel, ConfigDict, Field

from provider.api.find import read_domain_once
from provider.api.models import Domain
from provider.resources.base import AnyreachProvider, AnyreachResource
from provider.resources.connection import connect, wait_for_verification
from provider.resources.record_state import DnsRecordState
from provider.resources.resource_inputs import check_failures, contains_unknown
from provider.resources.verification_tuning import VerificationTuning
from provider.rules.records import host_name
from provider.verify.poller import VerificationRequest

__all__ = [
    "DomainVerification",
    "DomainVerificationArgs",
    "DomainVerificationProvider",
    "DomainVerificationState",
    "PublishedRecordKey",
]

# Inputs whose change makes the next `pulumi up` run the verification again (an update, never a
# replace): the published records, the records to expect, and how to wait.
_UPDATE_TRIGGERS = ("records_fingerprint", "expected_records", *VerificationTuning.model_fields)


class PublishedRecordKey(BaseModel):
    """A record the caller publishes, by its type and its name (relative to the domain, ``@``, or full):
    the items of the ``expected_records`` input. Only the key: this resource checks no DNS, so it needs
    no value (the group's members give whole records, :class:`provider.dns.checker.ExpectedRecord`)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=1)
    """Record type, e.g. ``TXT``."""
    name: str = Field(min_length=1)
    """Record name: ``send``, ``@`` or ``send.acme.com``."""


class DomainVerificationArgs(VerificationTuning):
    """Inputs of a ``DomainVerification``: the domain, its records, and how to wait
    (:class:`VerificationTuning`)."""

    domain_id: str = Field(min_length=1)
    """The platform's id of the domain (an ``EmailDomain``'s id)."""
    records_fingerprint: str | None = None
    """Any string that changes whenever the published records change."""
    expected_records: list[PublishedRecordKey] | None = None
    """The records the caller publishes; ``None`` skips the check."""


class DomainVerificationState(DomainVerificationArgs):
    """Outputs of a ``DomainVerification``: its inputs plus the domain's status when last seen."""

    domain: str
    """The domain name."""
    status: str
    """Normalized status of the domain: ``pending``, ``verified`` or ``failed``."""
    dns_records: list[DnsRecordState]
    """The records with their own status."""
    verified: bool
    """Whether the domain was verified when last seen."""

    @classmethod
    def observe(cls, args: DomainVerificationArgs, domain: Domain) -> DomainVerificationState:
        """State from the inputs and the platform's view of the domain (state is filled here only)."""
        return cls(
            **args.model_dump(),
            domain=domain.domain,
            status=domain.status.value,
            dns_records=DnsRecordState.list_of(domain),
            verified=domain.is_verified,
        )

    def outputs(self) -> dict[str, Any]:
        """The outputs as the engine stores them."""
        return self.model_dump(mode="json")


def _planned_key(records: Any) -> Any:
    """Comparable form of ``expected_records``: order and case do not matter."""
    if not isinstance(records, list):
        return records
    return sorted(
        (str(item.get("type", "")).strip().upper(), host_name(str(item.get("name", ""))))
        if isinstance(item, dict)
        else ("", repr(item))
        for item in records
    )


def _differs(name: str, old: Any, new: Any) -> bool:
    if contains_unknown(new):
        return True
    if name == "expected_records":
        return _planned_key(old) != _planned_key(new)
    return bool(old != new)


def _verify(args: DomainVerificationArgs) -> DomainVerificationState:
    """Create and update: wait through the process-wide poller (verify unless already verified)."""
    planned = tuple((record.type, record.name) for record in args.expected_records or ()) or None
    request = VerificationRequest(
        domain_id=args.domain_id, domain=args.domain_id, planned=planned, settings=args.settings()
    )
    outcome = wait_for_verification([request])[args.domain_id]
    if isinstance(outcome, BaseException):
        raise outcome
    return DomainVerificationState.observe(args, outcome)


class DomainVerificationProvider(AnyreachProvider):
    """Dynamic provider of :class:`DomainVerification`.

    Holds no state: it is pickled as ``provider.entry_points.dynamic_provider("DomainVerification")``
    into every resource's ``__provider`` input. Stacks made by releases before that module name this
    class directly, so it stays here. Credentials come as for :class:`provider.EmailDomainProvider`.
    """

    kind = "DomainVerification"

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        """Validate the known inputs; no API call, unknown values pass through."""
        return pulumi.dynamic.CheckResult(dict(news), check_failures(DomainVerificationArgs, news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        """Another domain replaces; changed records or settings update (verify again); so does an
        old state that is not verified (read saw the domain lose its verification)."""
        if _differs("domain_id", olds.get("domain_id"), news.get("domain_id")):
            return pulumi.dynamic.DiffResult(changes=True, replaces=["domain_id"])
        changed = [name for name in _UPDATE_TRIGGERS if _differs(name, olds.get(name), news.get(name))]
        if olds.get("verified") is not True:
            changed.append("verified")
        return pulumi.dynamic.DiffResult(changes=bool(changed), replaces=[])

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        """Wait until the domain is verified (verifying it first unless it already is)."""
        args = DomainVerificationArgs.model_validate(props)
        state = _verify(args)
        return pulumi.dynamic.CreateResult(args.domain_id, state.outputs())

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        """Verify again: the records, the settings or the domain's verification changed."""
        return pulumi.dynamic.UpdateResult(_verify(DomainVerificationArgs.model_validate(news)).outputs())

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Report the domain's current status; drop the verification when the domain is gone."""
        args = DomainVerificationArgs.model_validate({"domain_id": id_, **props})
        label = props.get("domain") or args.domain_id
        with connect("refreshing", label) as client:
            domain = read_domain_once(client, args.domain_id)
        if domain is None:
            pulumi.log.warn(
                f"refreshing Email Domain ({label}) verification: the domain no longer exists on the "
                f"platform (id {args.domain_id}); removing the verification from the stack state"
            )
            return pulumi.dynamic.ReadResult("", {})
        state = DomainVerificationState.observe(args, domain)
        if props.get("verified") is True and not state.verified:
            pulumi.log.warn(
                f"refreshing Email Domain ({domain.domain}) verification: the domain is no longer "
                f"verified (status {state.status}); the next `pulumi up` verifies it again. Check that "
                "its DNS records are still published."
            )
        return pulumi.dynamic.ReadResult(id_, state.outputs())

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do remotely: the verification lives and dies with the domain."""


class DomainVerification(AnyreachResource, module="anyreach", name="DomainVerification"):
    """Waits until one Email Domain is verified (the resource of releases before
    :class:`provider.DomainVerificationGroup`; stacks made by them still hold it).

    Prefer :class:`provider.DomainVerificationGroup` (through ``components.VerificationGroup``): a
    ``DomainVerification`` holds one of the provider host's four threads and one of the engine's parallel
    slots while it waits, so several of them wait in waves. It waits the same way, through the
    process-wide poller of :mod:`provider.verify.poller` (it checks no DNS: it does not know the values).

    Create (and update) finishes at once when the domain is already verified: verify would mark it
    pending again. Otherwise it initiates verification, then polls the status until the domain is
    verified; a ``failed`` attempt is re-initiated, up to ``max_verify_attempts`` times in all. At the
    deadline it fails with a message listing each record not verified yet. A change of any input is an
    update that verifies again, never a replace. Delete does nothing remotely. If ``pulumi refresh`` finds
    the domain no longer verified, the next ``pulumi up`` verifies it again; if the domain is gone, the
    verification leaves the state too. How long and how often it waits: :class:`VerificationTuning`
    (unset fields keep the poller's defaults, :mod:`provider.verify.poller`).
    """

    state_model = DomainVerificationState

    # What type checkers see of the outputs, which are the fields of `state_model` (a test holds the two
    # together: tests/provider/test_resource_outputs.py).
    domain_id: pulumi.Output[str]
    """The platform's id of the verified domain; also this resource's id."""
    records_fingerprint: pulumi.Output[str | None]
    """The fingerprint of the published records, as given."""
    expected_records: pulumi.Output[list[dict[str, Any]] | None]
    """The records the caller publishes (``type``, ``name``), as given."""
    timeout_seconds: pulumi.Output[float | None]
    """How long to wait, as given; None: the default."""
    poll_interval_seconds: pulumi.Output[float | None]
    """First pause between status reads, as given; None: the default."""
    max_verify_attempts: pulumi.Output[int | None]
    """How many times verification may be initiated, as given; None: the default."""
    domain: pulumi.Output[str]
    """The domain name."""
    status: pulumi.Output[str]
    """The domain's status when last seen: ``pending``, ``verified`` or ``failed``."""
    dns_records: pulumi.Output[list[dict[str, Any]]]
    """The domain's records with their own status, as in ``EmailDomain.dns_records``."""
    verified: pulumi.Output[bool]
    """Whether the domain was verified when last seen (always true right after create or update)."""

    def __init__(
        self,
        resource_name: str,
        domain_id: pulumi.Input[str],
        records_fingerprint: pulumi.Input[str] | None = None,
        expected_records: pulumi.Input[list[dict[str, Any]]] | None = None,
        timeout_seconds: pulumi.Input[float] | None = None,
        poll_interval_seconds: pulumi.Input[float] | None = None,
        max_verify_attempts: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Wait for the domain ``domain_id`` to verify.

        Args:
            resource_name: the Pulumi resource name.
            domain_id: the ``EmailDomain``'s id.
            records_fingerprint: any string that changes whenever the published records change (e.g.
                a hash of their contents); a change verifies again.
            expected_records: the records the caller publishes, as ``{"type", "name"}`` dicts (name
                relative to the domain, ``@``, or full). If the platform asks for a record not in
                this list, fail at once naming it, instead of waiting for a record nobody publishes.
                ``None`` skips the check.
            timeout_seconds, poll_interval_seconds, max_verify_attempts: how long and how often to wait
                (:class:`VerificationTuning`); None keeps the poller's default.
            opts: resource options.
        """
        inputs: dict[str, Any] = {
            "domain_id": domain_id,
            "records_fingerprint": records_fingerprint,
            "expected_records": expected_records,
            "timeout_seconds": timeout_seconds,
            "poll_interval_seconds": poll_interval_seconds,
            "max_verify_attempts": max_verify_attempts,
        }
        super().__init__(DomainVerificationProvider(), resource_name, inputs, opts)
