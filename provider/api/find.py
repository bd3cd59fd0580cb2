"""Finders: read one Email Domain, turning "not found" into ``None`` instead of an error.

A domain that is gone is an outcome the resources handle (a warning and a removal from state, or an
adoption), not a failure, so the finders return ``None`` for it and raise only for real failures.
"""

from __future__ import annotations

from provider.api.client import EmailDomainsClient
from provider.api.errors import NotFoundError
from provider.api.models import Domain
from provider.api.read_cache import shared_read_cache

__all__ = ["find_domain_by_id", "find_domain_by_name", "read_domain_once"]


def find_domain_by_id(client: EmailDomainsClient, domain_id: str) -> Domain | None:
    """The domain with id ``domain_id``, re-read through the refresh endpoint (a passive re-read that
    needs only read scope), or ``None`` when it is gone (or was never this organization's)."""
    try:
        return client.refresh(domain_id)
    except NotFoundError:
        return None


def read_domain_once(client: EmailDomainsClient, domain_id: str) -> Domain | None:
    """:func:`find_domain_by_id`, shared by every reader of the process for a short while
    (:mod:`provider.api.read_cache`): what ``read()`` uses, so that a refresh reads each domain once per pass
    however many resources hold it. Never for a wait (it must see the latest status)."""
    key = (client.base_url, client.organization, str(domain_id))
    return shared_read_cache().read(key, lambda: find_domain_by_id(client, domain_id))


def find_domain_by_name(client: EmailDomainsClient, name: str) -> Domain | None:
    """This organization's domain called ``name``, or ``None`` (another organization may hold it)."""
    return client.find_by_domain(name)
