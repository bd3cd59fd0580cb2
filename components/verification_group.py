"""``VerificationGroup``: one verification resource shared by many ``VerifiedEmailDomain`` components.

A component alone makes its own ``DomainVerificationGroup`` of one domain. Components given the same
group add their domain to it instead, and the group makes one ``DomainVerificationGroup`` for all of them
when it is closed, so that every domain waits at the same time while the group holds a single thread of
the provider host and a single slot of the engine (docs/design.md, "Verifying many domains at once")::

    with VerificationGroup("email-domain-verifications") as verifications:
        VerifiedEmailDomain("acme", domain="acme.com", zone_id=zone.id, verification_group=verifications)
        VerifiedEmailDomain("globex", domain="globex.com", verification_group=verifications)

Each component's ``status`` and ``verified`` come from its domain's entry in the group's results: they
are deferred outputs, resolved when the group is closed. A group that the program never closes is closed
when the program's body returns (before the SDK waits for outstanding work), so forgetting ``close()``
does not hang ``pulumi up``; components created later (inside an ``apply``) cannot join it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import pulumi
from pydantic import ValidationError

from components.fields import DnsCheckOptions, describe_errors
from provider import DomainVerificationGroup

__all__ = ["VerificationGroup"]


def _entry(domain: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return results[domain]


class VerificationGroup:
    """Collects domains to verify with one ``DomainVerificationGroup`` resource.

    Args:
        name: the Pulumi name of the resource the group makes.
        dns: how the records are checked in DNS before verification is initiated
            (:class:`components.fields.DnsCheckOptions`, as the stack config reads them); or give its fields
            as keywords: ``dns_check`` (``authoritative``, the default, ``recursive`` or ``off``),
            ``dns_resolvers`` (default: the system's), ``dns_nameserver_port`` (default 53).
        opts: options of the resource (e.g. its parent).

    Raises:
        ValueError: a DNS option is not valid (the message names it); nothing was created.
    """

    def __init__(
        self,
        name: str,
        dns: DnsCheckOptions | None = None,
        *,
        opts: pulumi.ResourceOptions | None = None,
        **dns_options: Any,
    ) -> None:
        self.name = name
        if dns is not None and dns_options:
            raise TypeError(f"creating verification group {name}: pass either dns or its keywords, not both")
        if dns is None:
            unknown = sorted(set(dns_options) - set(DnsCheckOptions.model_fields))
            if unknown:
                raise TypeError(f"VerificationGroup() got an unexpected keyword argument {unknown[0]!r}")
            given = {key: value for key, value in dns_options.items() if value is not None}
            try:
                dns = DnsCheckOptions.model_validate(given, by_name=True, by_alias=False)
            except ValidationError as exc:
                problems = describe_errors(exc, lambda location: ".".join(map(str, location)))
                raise ValueError(f"creating verification group {name}: {'; '.join(problems)}") from None
        self._dns_inputs = dns.group_inputs()
        self._opts = opts
        self._members: list[pulumi.Output[dict[str, Any]]] = []
        self._depends_on: list[pulumi.Resource] = []
        self._waiting: list[tuple[str, Callable[[pulumi.Output[dict[str, Any]]], None]]] = []
        self._domains: set[str] = set()
        self._closed = False
        self.resource: DomainVerificationGroup | None = None
        """The resource, once the group is closed (None if no domain joined)."""
        with contextlib.suppress(RuntimeError):
            # The program's body runs synchronously inside the SDK's event loop: a callback scheduled
            # now runs once the body has returned, before the SDK waits for outstanding work.
            asyncio.get_running_loop().call_soon(self._close_if_open)

    def add(
        self, domain: str, member: pulumi.Input[dict[str, Any]], depends_on: Sequence[pulumi.Resource]
    ) -> pulumi.Output[dict[str, Any]]:
        """Add ``domain`` (its member dict, see ``provider.DomainVerificationGroup``) and return its entry of
        the group's results, resolved when the group is closed.

        Raises:
            ValueError: the group is closed, or already has ``domain``.
        """
        if self._closed:
            raise ValueError(
                f"adding {domain} to verification group {self.name}: the group is closed (its resource "
                "exists); create the component before the group's `with` block ends"
            )
        if domain in self._domains:
            raise ValueError(f"adding {domain} to verification group {self.name}: it is in the group already")
        self._domains.add(domain)
        self._members.append(pulumi.Output.from_input(member))
        self._depends_on.extend(depends_on)
        result: pulumi.Output[dict[str, Any]]
        resolve: Callable[[pulumi.Output[dict[str, Any]]], None]
        result, resolve = pulumi.deferred_output()
        self._waiting.append((domain, resolve))
        return result

    def close(self) -> DomainVerificationGroup | None:
        """Make the resource for every domain added so far (none if there is none) and resolve their
        results. Closing twice does nothing more."""
        if self._closed:
            return self.resource
        self._closed = True
        if not self._members:
            return None
        opts = pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=self._depends_on))
        self.resource = DomainVerificationGroup(
            self.name,
            members=pulumi.Output.all(*self._members),
            **self._dns_inputs,
            opts=opts,
        )
        results = self.resource.results
        for domain, resolve in self._waiting:
            resolve(results.apply(functools.partial(_entry, domain)))
        return self.resource

    def _close_if_open(self) -> None:
        if not self._closed:
            self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
