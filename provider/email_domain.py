"""The ``EmailDomain`` dynamic resource: one domain registered on the Anyreach platform.

Lifecycle in brief: ``check`` normalizes the name without calling the API; ``diff`` replaces on a
change of domain or provider and on nothing else; ``create`` registers, adopting a domain this
organization already holds (409) or whose register answer was lost, and ends by reading; ``read``
re-reads through the refresh endpoint and drops a domain that is gone; ``delete`` deletes, and a domain
already gone is a warning, not an error.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi.dynamic
from pydantic import BaseModel, ConfigDict

from provider._lifecycle import (
    DnsRecordState,
    canonical_domain,
    contains_unknown,
    find_domain_by_id,
    find_domain_by_name,
    open_client,
    remember_configuration,
)
from provider.client import EmailDomainsClient
from provider.domain_name import InvalidDomainError, normalize_domain
from provider.errors import (
    AnyreachError,
    ConflictError,
    NotFoundError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from provider.models import Domain

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

    model_config = ConfigDict(extra="ignore")

    domain: str
    """The bare domain to register, in the API's canonical form (lower case, punycode)."""
    provider: str = DEFAULT_EMAIL_PROVIDER
    """The email provider behind the domain."""


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
            provider=domain.provider,
            status=domain.status.value,
            raw_status=domain.raw_status,
            region=domain.region,
            dns_records=DnsRecordState.list_of(domain),
        )

    def outputs(self) -> dict[str, Any]:
        """The outputs as the engine stores them."""
        return self.model_dump(mode="json")


def _normalize_provider_name(value: Any) -> str:
    """The provider name in lower case, or ``ValueError`` saying what a valid one looks like."""
    text = value.strip().lower() if isinstance(value, str) else None
    if not text or not _PROVIDER_NAME.fullmatch(text):
        raise ValueError(
            f"provider {value!r} is not an email provider name: leave it unset for the default "
            f"({DEFAULT_EMAIL_PROVIDER!r}), or give a name such as {DEFAULT_EMAIL_PROVIDER!r}"
        )
    return text


def register_or_adopt_domain(client: EmailDomainsClient, name: str, provider: str) -> Domain:
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
            return client.register(name, provider)
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


class EmailDomainProvider(pulumi.dynamic.ResourceProvider):
    """Dynamic provider of :class:`EmailDomain`.

    Holds no state: it is pickled by reference into every resource's ``__provider`` input.
    Credentials come from ``configure()`` (stack config ``anyreach:token``, ``anyreach:organization``,
    ``anyreach:baseUrl``) or else from ``ANYREACH_TOKEN``, ``ANYREACH_ORGANIZATION``,
    ``ANYREACH_BASE_URL``; only the methods that call the API need them.
    """

    def configure(self, req: pulumi.dynamic.ConfigureRequest) -> None:
        """Remember the stack's ``anyreach:*`` config (module-level, never on this instance)."""
        remember_configuration(req.config)

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
        """Register the domain (or adopt it), then read it."""
        args = EmailDomainArgs.model_validate(props)
        with open_client("registering", args.domain) as client:
            registered = register_or_adopt_domain(client, args.domain, args.provider)
            state = _read_after_write(client, registered)
        return pulumi.dynamic.CreateResult(registered.id, state.outputs())

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Re-read the domain (refresh endpoint, read scope); drop it from state when it is gone."""
        label = props.get("domain") or id_
        try:
            with open_client("refreshing", label) as client:
                domain = find_domain_by_id(client, id_)
        except NotFoundError:
            pulumi.log.warn(
                f"refreshing Email Domain ({label}): it no longer exists on the platform (id {id_}); "
                "removing it from the stack state. The next `pulumi up` registers it again."
            )
            return pulumi.dynamic.ReadResult("", {})
        return pulumi.dynamic.ReadResult(domain.id, EmailDomainState.from_domain(domain).outputs())

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        """Nothing is updatable in place (``diff`` replaces instead); re-read so state is current."""
        with open_client("reading", news.get("domain") or id_) as client:
            domain = find_domain_by_id(client, id_)
        return pulumi.dynamic.UpdateResult(EmailDomainState.from_domain(domain).outputs())

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the domain on the platform (permanent); one already gone is a warning."""
        label = props.get("domain") or id_
        try:
            with open_client("deleting", label) as client:
                client.delete(id_)
        except NotFoundError:
            pulumi.log.warn(
                f"deleting Email Domain ({label}): already gone from the platform (id {id_}); "
                "nothing to delete"
            )


def _read_after_write(client: EmailDomainsClient, written: Domain) -> EmailDomainState:
    """End a create by reading, as every lifecycle fills state from one place; if only the read
    fails, the domain exists all the same, so keep what register answered rather than orphan it."""
    try:
        current = find_domain_by_id(client, written.id)
    except NotFoundError:
        raise
    except AnyreachError as exc:
        pulumi.log.warn(
            f"reading Email Domain ({written.domain}): {exc}; the state holds what registering returned"
        )
        current = written
    return EmailDomainState.from_domain(current)


class EmailDomain(pulumi.dynamic.Resource, module="anyreach", name="EmailDomain"):
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

    domain: pulumi.Output[str]
    """The registered domain, lower case (Unicode names in punycode), e.g. ``acme.com``."""
    provider: pulumi.Output[str]
    """The email provider behind the domain (``resend``)."""
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
        provider: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Register ``domain`` (the bare domain, e.g. ``acme.com``) with the email ``provider``
        (default ``resend``)."""
        props: dict[str, Any] = {
            "domain": domain,
            "provider": provider,
            "status": None,
            "raw_status": None,
            "region": None,
            "dns_records": None,
        }
        super().__init__(EmailDomainProvider(), resource_name, props, opts)
