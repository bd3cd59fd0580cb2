"""The ``EmailDomain`` dynamic resource: one domain registered on the Anyreach platform.

Lifecycle in brief: ``check`` normalizes the name without calling the API; ``diff`` replaces on a
change of domain or provider and on nothing else; ``create`` registers, adopting a domain this
organization already holds (409) or whose register answer was lost, and fills state from that answer
(one request: the 2 requests/s budget is shared by every domain of the stack); ``read``
re-reads through the refresh endpoint and drops a domain that is gone; ``delete`` deletes, and a domain
already gone is a warning, not an error.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi.dynamic
from pydantic import BaseModel, ConfigDict, Field

from provider.api.client import EmailDomainsClient
from provider.api.errors import (
    ENTITY,
    AnyreachError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from provider.api.find import find_domain_by_id, find_domain_by_name, read_domain_once
from provider.api.models import Domain
from provider.host.provider_host import raise_if_cancelled
from provider.host.registrations import remember_registration
from provider.resources.base import AnyreachProvider, AnyreachResource
from provider.resources.connection import connect, current_credentials
from provider.resources.credentials import TOKEN_CONFIG_KEY, TOKEN_ENV_VAR
from provider.resources.record_state import DnsRecordState
from provider.resources.resource_inputs import contains_unknown
from provider.rules.domain_name import InvalidDomainError, canonical_domain, normalize_domain

__all__ = [
    "DEFAULT_EMAIL_PROVIDER",
    "EmailDomain",
    "EmailDomainArgs",
    "EmailDomainProvider",
    "EmailDomainState",
    "register_or_adopt_domain",
]

DEFAULT_EMAIL_PROVIDER = "resend"
"""The email provider the API uses when none is given (the API page: "Leave as the default")."""

REGISTER_ATTEMPTS = 3
"""Register calls per create when answers are lost; each lost answer is followed by a look-up."""

_PROVIDER_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
# Failures after which the domain may exist although register did not say so.
_ANSWER_LOST = (TransportError, ServerError, UnexpectedResponseError)


class EmailDomainArgs(BaseModel):
    """Inputs of an ``EmailDomain`` once ``check`` has normalized them."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    domain: str
    """The bare domain to register, in the API's canonical form (lower case, punycode)."""
    email_provider: str = Field(default=DEFAULT_EMAIL_PROVIDER, alias="provider")
    """The email provider behind the domain; ``provider`` in inputs and state (the API's field name)."""


class EmailDomainState(EmailDomainArgs):
    """Outputs of an ``EmailDomain``: its inputs as the platform holds them, plus what it computed."""

    status: str
    """Normalized verification status: ``pending``, ``verified`` or ``failed``."""
    raw_status: str | None = None
    """The provider's own status word, informational."""
    region: str | None = None
    """Provider region, if the platform reports one."""
    dns_records: list[DnsRecordState]
    """Every record to publish."""

    @classmethod
    def from_domain(cls, domain: Domain) -> EmailDomainState:
        """State of the resource from the platform's view of the domain (state is filled here only)."""
        return cls(
            domain=domain.domain,
            email_provider=domain.provider,
            status=domain.status.value,
            raw_status=domain.raw_status,
            region=domain.region,
            dns_records=DnsRecordState.list_of(domain),
        )

    def outputs(self) -> dict[str, Any]:
        """The outputs as the engine stores them."""
        return self.model_dump(mode="json", by_alias=True)


def _normalize_provider_name(value: Any) -> str:
    """The provider name in lower case, or ``ValueError`` saying what a valid one looks like."""
    text = value.strip().lower() if isinstance(value, str) else None
    if not text or not _PROVIDER_NAME.fullmatch(text):
        raise ValueError(
            f"provider {value!r} is not an email provider name: leave it unset for the default "
            f"({DEFAULT_EMAIL_PROVIDER!r}), or give a name such as {DEFAULT_EMAIL_PROVIDER!r}"
        )
    return text


def register_or_adopt_domain(client: EmailDomainsClient, name: str, email_provider: str) -> Domain:
    """Register ``name`` for the client's organization, or adopt it if the organization holds it.

    * 409 and the domain is in this organization's list: adopt it (also how an existing domain is
      brought under management). Not in the list: another organization holds it; fail saying so.
    * The answer is lost (transport error, 5xx, unreadable body): the server may have committed, so
      look the domain up before registering again. Never a duplicate, never an orphan.

    Raises:
        ConflictError: another organization holds the domain.
        ApiError, TransportError: registering failed and the domain does not exist.
    """
    lost: AnyreachError | None = None
    for _ in range(REGISTER_ATTEMPTS):
        try:
            return client.register(name, email_provider)
        except ConflictError as exc:
            existing = find_domain_by_name(client, name)
            if existing is None:
                raise ConflictError(
                    exc.operation,
                    exc.target,
                    exc.status_code,
                    exc.server_message,
                    code=exc.code,
                    hint=(
                        f"It is not among the domains of organization {client.organization}, so another "
                        "organization holds it. Release it in that organization (or point "
                        "anyreach:organization at it to manage it from there), or choose another domain"
                    ),
                ) from exc
            pulumi.log.warn(
                f"registering Email Domain ({name}): already registered to organization "
                f"{client.organization}; adopted it (id {existing.id}) instead of registering it again. "
                "It is now managed by this stack: deleting the resource deletes the domain."
            )
            return existing
        except _ANSWER_LOST as exc:
            existing = find_domain_by_name(client, name)
            if existing is not None:
                pulumi.log.info(
                    f"registering Email Domain ({name}): the answer was lost ({type(exc).__name__}) "
                    f"but the domain exists (id {existing.id}); using it"
                )
                return existing
            lost = exc
    assert lost is not None
    raise lost


class EmailDomainProvider(AnyreachProvider):
    """Dynamic provider of :class:`EmailDomain`.

    Holds no state: it is pickled as ``provider.entry_points.dynamic_provider("EmailDomain")`` into every
    resource's ``__provider`` input.
    Credentials come from ``configure()`` (stack config ``anyreach:token``, ``anyreach:organization``,
    ``anyreach:baseUrl``) and the environment (``ANYREACH_TOKEN``, ``ANYREACH_ORGANIZATION``,
    ``ANYREACH_BASE_URL``), as :mod:`provider.resources.credentials` says; only the methods that call
    the API need them.
    """

    kind = "EmailDomain"

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        """Normalize the domain and provider name; no API call, unknown values pass through."""
        inputs = dict(news)
        failures: list[pulumi.dynamic.CheckFailure] = []
        domain = news.get("domain")
        if domain is None:
            failures.append(
                pulumi.dynamic.CheckFailure(
                    "domain", "domain is required: the bare domain to register, such as 'acme.com'"
                )
            )
        elif not contains_unknown(domain):
            try:
                inputs["domain"] = normalize_domain(domain)
            except InvalidDomainError as exc:
                failures.append(pulumi.dynamic.CheckFailure("domain", str(exc)))
        provider = news.get("provider")
        if provider is None:
            inputs["provider"] = DEFAULT_EMAIL_PROVIDER
        elif not contains_unknown(provider):
            try:
                inputs["provider"] = _normalize_provider_name(provider)
            except ValueError as exc:
                failures.append(pulumi.dynamic.CheckFailure("provider", str(exc)))
        return pulumi.dynamic.CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        """Replace when the domain or the provider changes (or may change: unknown in preview);
        nothing else is updatable. ``olds`` are the old outputs, ``news`` the checked inputs."""
        new_domain, new_provider = news.get("domain"), news.get("provider") or DEFAULT_EMAIL_PROVIDER
        domain_changes = contains_unknown(new_domain) or (
            canonical_domain(olds.get("domain", "")) != canonical_domain(new_domain)
        )
        provider_changes = contains_unknown(new_provider) or (
            str(olds.get("provider") or DEFAULT_EMAIL_PROVIDER).lower() != str(new_provider).lower()
        )
        replaces = [
            name for name, changed in (("domain", domain_changes), ("provider", provider_changes)) if changed
        ]
        # Same domain, other provider: the new registration would meet the old one (409, then
        # adoption of the very domain the replace deletes next), so the old one must go first.
        same_domain = not domain_changes or contains_unknown(new_domain)
        return pulumi.dynamic.DiffResult(
            changes=bool(replaces),
            replaces=replaces,
            delete_before_replace=True if provider_changes and same_domain else None,
        )

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        """Register the domain (or adopt it)."""
        args = EmailDomainArgs.model_validate(props)
        raise_if_cancelled("registering", args.domain)
        with connect("registering", args.domain) as client:
            registered = register_or_adopt_domain(client, args.domain, args.email_provider)
        # The register (or look-up) answer is the domain object itself: state is filled from it, without
        # a second read that would spend one more request of the API's 2 requests/s; and the verification
        # that follows in this deployment starts from it too (provider.host.registrations).
        remember_registration(registered)
        return pulumi.dynamic.CreateResult(registered.id, EmailDomainState.from_domain(registered).outputs())

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Re-read the domain (refresh endpoint, read scope); drop it from state when it is gone."""
        label = props.get("domain") or id_
        with connect("refreshing", label) as client:
            domain = read_domain_once(client, id_)  # shared with the verification that holds it
        if domain is None:
            pulumi.log.warn(
                f"refreshing Email Domain ({label}): it no longer exists on the platform (id {id_}); "
                "removing it from the stack state. The next `pulumi up` registers it again."
            )
            return pulumi.dynamic.ReadResult("", {})
        return pulumi.dynamic.ReadResult(domain.id, EmailDomainState.from_domain(domain).outputs())

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the domain on the platform (permanent; a verified one with a warning that names it);
        one already gone is a warning. Never with the token stored with the stack (see
        :attr:`provider.resources.credentials.Credentials.may_delete`)."""
        label = props.get("domain") or id_
        credentials = current_credentials("deleting", label)
        if not credentials.may_delete:
            raise ConfigurationError(
                f"deleting {ENTITY} ({label}): not deleted. This command did not run the program, so "
                f"the only API token it has is the copy of {TOKEN_CONFIG_KEY} the engine stored with "
                "the stack at the last `pulumi up`, which may be a token you have since removed or "
                "replaced; it is never used to delete. Run `pulumi destroy --run-program` (or "
                "`pulumi up` after removing the domain from the stack) so the current stack config is "
                f"used, or export {TOKEN_ENV_VAR}."
            )
        with connect("deleting", label, credentials) as client:
            current = find_domain_by_id(client, id_)
            if current is not None and current.is_verified:
                pulumi.log.warn(
                    f"deleting {ENTITY} ({label}): it is verified; deleting it on the platform is permanent "
                    f"and every address on {current.domain} stops sending and receiving mail. To keep a "
                    "domain, set anyreach:protect or anyreach:retainOnDelete for it."
                )
            try:
                if current is not None:
                    client.delete(id_)
            except NotFoundError:
                current = None
        if current is None:
            pulumi.log.warn(
                f"deleting {ENTITY} ({label}): already gone from the platform (id {id_}); nothing to delete"
            )


class EmailDomain(AnyreachResource, module="anyreach", name="EmailDomain"):
    """A custom email domain registered on the Anyreach platform.

    Registering creates the DNS records to publish (``dns_records``); a :class:`DomainVerification`
    waits for them to verify. If the organization already holds the domain, it is adopted: this is
    also how an existing domain is brought under management (``pulumi import`` does not work for
    dynamic resources). The resource id is the platform's domain id. Changing ``domain`` or
    ``provider`` replaces the resource; deleting it deletes the domain on the platform, permanently.

    Credentials: stack config ``anyreach:token`` (secret) and ``anyreach:organization`` (and optionally
    ``anyreach:baseUrl``), else the environment variables ``ANYREACH_TOKEN``,
    ``ANYREACH_ORGANIZATION``, ``ANYREACH_BASE_URL``.
    """

    state_model = EmailDomainState

    domain: pulumi.Output[str]
    """The registered domain, lower case (Unicode names in punycode), e.g. ``acme.com``."""
    provider: pulumi.Output[str]
    """The email provider behind the domain (``resend``); the output keeps the API's field name."""
    status: pulumi.Output[str]
    """Normalized verification status when last read: ``pending``, ``verified`` or ``failed``."""
    raw_status: pulumi.Output[str | None]
    """The provider's own status word (``not_started``, ``partially_verified``...), informational."""
    region: pulumi.Output[str | None]
    """The provider region of the domain, if the platform reports one."""
    dns_records: pulumi.Output[list[dict[str, Any]]]
    """The records to publish: dicts with ``record``, ``type``, ``name`` (relative to the domain, ``@`` =
    the domain), ``value``, ``priority`` (MX only, else ``None``) and ``status``."""

    def __init__(
        self,
        resource_name: str,
        domain: pulumi.Input[str],
        email_provider: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Register ``domain`` (the bare domain, e.g. ``acme.com``) with ``email_provider`` (default
        ``resend``; stored as the input ``provider``, the API's name for it)."""
        inputs: dict[str, Any] = {
            "provider": email_provider,
            "domain": domain,
        }
        super().__init__(EmailDomainProvider(), resource_name, inputs, opts)
