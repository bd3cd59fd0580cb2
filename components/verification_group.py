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

from provider import DomainVerificationGroup
from provider.dns.checker import DnsCheckMode, Endpoint

__all__ = ["VerificationGroup"]


def _entry(domain: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return results[domain]


class VerificationGroup:
    """Collects domains to verify with one ``DomainVerificationGroup`` resource.

    Args:
        name: the Pulumi name of the resource the group makes.
        dns_check: ``authoritative`` (default), ``recursive`` or ``off``: how the records are checked in DNS
            before verification is initiated.
        dns_resolvers: resolvers for the DNS check (default: the system's).
        dns_nameserver_port: port the authoritative nameservers answer on (default 53).
        opts: options of the resource (e.g. its parent).
    """

    def __init__(
        self,
        name: str,
        *,
        dns_check: DnsCheckMode | str | None = None,
        dns_resolvers: Sequence[Endpoint | str] | None = None,
        dns_nameserver_port: int | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        self.name = name
        self._dns_check = DnsCheckMode(dns_check).value if dns_check is not None else None
        self._dns_resolvers = (
            [str(resolver) for resolver in dns_resolvers] if dns_resolvers is not None else None
        )
        self._dns_nameserver_port = dns_nameserver_port
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
            dns_check=self._dns_check,
            dns_resolvers=self._dns_resolvers,
            dns_nameserver_port=self._dns_nameserver_port,
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
