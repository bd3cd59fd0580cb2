"""Status steps of an Email Domain: one call each, returning "not this time" instead of failing.

The waiter calls these on every poll. A transient failure (:data:`provider.api.errors.TRANSIENT_ERRORS`:
the API or the network, after the client's own retries) says nothing about the domain, so it comes back as
``(None, error)`` and the waiter tries again later; failures about the domain itself (gone, no permission)
are raised.
"""

from __future__ import annotations

from provider.api.client import EmailDomainsClient
from provider.api.errors import TRANSIENT_ERRORS, AnyreachError
from provider.api.models import Domain

__all__ = ["StatusStep", "initiate_verification", "status_domain"]

StatusStep = tuple[Domain | None, AnyreachError | None]
"""The re-read domain, or ``(None, the transient error)``."""


def status_domain(client: EmailDomainsClient, domain_id: str) -> StatusStep:
    """Re-read the domain passively (refresh: never re-initiates verification)."""
    try:
        return client.refresh(domain_id), None
    except TRANSIENT_ERRORS as exc:
        return None, exc


def initiate_verification(client: EmailDomainsClient, domain_id: str) -> StatusStep:
    """Re-initiate the provider's DNS check (verify); a transient failure is not an attempt."""
    try:
        return client.verify(domain_id), None
    except TRANSIENT_ERRORS as exc:
        return None, exc
