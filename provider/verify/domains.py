"""``verify_domains``: wait until every domain of a set is verified, all at the same time, through the
process-wide poller (:mod:`provider.verify.poller`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import wait

from provider.api.client import EmailDomainsClient
from provider.api.errors import AnyreachError
from provider.api.models import Domain
from provider.verify.poller import VerificationPoller, VerificationRequest

__all__ = ["verify_domains"]

logger = logging.getLogger(__name__)


def _unchanged(_domain: str, error: AnyreachError) -> AnyreachError:
    return error


def verify_domains(
    requests: Sequence[VerificationRequest],
    client: EmailDomainsClient,
    poller: VerificationPoller,
    *,
    retarget: Callable[[str, AnyreachError], AnyreachError] = _unchanged,
    log: Callable[[str], None] = logger.info,
) -> dict[str, Domain | BaseException]:
    """Wait until every request's domain is verified, all at the same time; return each outcome by domain
    name (the verified domain, or the error it ended with).

    Args:
        requests: the domains to wait for.
        client: used for every call (httpx clients are thread-safe; one client for all the domains loads
            the CA bundle once); the caller closes it.
        poller: the poller that runs the waits (:func:`provider.verify.poller.shared_poller`).
        retarget: turns a client error about a domain (its name) into the caller's error.
        log: reports progress.
    """
    futures = {
        request.domain: poller.submit(
            request,
            client,
            retarget=functools.partial(retarget, request.domain),
            log=log,
        )
        for request in requests
    }
    wait(futures.values())
    outcomes: dict[str, Domain | BaseException] = {}
    for name, future in futures.items():
        error = future.exception()
        outcomes[name] = error if error is not None else future.result()
    return outcomes
