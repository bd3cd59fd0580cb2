"""What this deployment registered: the platform's answer to each registration (or adoption) that an
``EmailDomain`` made in this provider host, taken once by the verification that follows it.

The engine runs one provider host per deployment (one ``pulumi up``, one pass), which serves every dynamic
resource of the stack: a domain found here was registered or adopted by this very deployment, moments
ago, and what registration saw (its status and records) is as fresh as a read would be. So the
verification of a domain the stack just registered starts from that answer instead of reading the domain
again (:attr:`provider.verify.poller.VerificationRequest.seen`): three requests per verified domain
(register, verify, the read that sees it verified) instead of four.

Nothing else is trusted: a domain the state already knew (an earlier ``up``, a cancelled one, one that a
``refresh`` found unverified) is not here, and its verification reads it first, as before. An answer is
taken once, so a second verification of the same domain in one deployment reads it too.
"""

from __future__ import annotations

import threading

from provider.api.models import Domain
from provider.rules.domain_name import canonical_domain

__all__ = ["forget_registrations", "remember_registration", "take_registration"]

_registered: dict[tuple[str, str], Domain] = {}
_lock = threading.Lock()


def _key(domain_id: str, name: str) -> tuple[str, str]:
    return str(domain_id), canonical_domain(name)


def remember_registration(domain: Domain) -> None:
    """Keep what the register (or adoption) of ``domain`` answered, for its verification."""
    with _lock:
        _registered[_key(domain.id, domain.domain)] = domain


def take_registration(domain_id: str, name: str) -> Domain | None:
    """What this deployment's registration of domain ``name`` (id ``domain_id``) saw, once; None if this
    deployment did not register it (or its answer was taken already)."""
    with _lock:
        return _registered.pop(_key(domain_id, name), None)


def forget_registrations() -> None:
    """Drop every answer (tests that run several deployments in one process)."""
    with _lock:
        _registered.clear()
