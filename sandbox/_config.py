"""Start-up configuration of the sandbox: credentials, timings and faults."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_CREDENTIAL",
    "DEFAULT_ORGANIZATION",
    "DEFAULT_TOKEN",
    "SCOPE_MANAGE",
    "SCOPE_READ",
    "Credential",
    "SandboxConfig",
]

SCOPE_READ = "email_domains:read"
"""Scope that allows list, read and refresh."""

SCOPE_MANAGE = "email_domains:manage"
"""Scope that allows every operation, register, verify and delete included."""

DEFAULT_TOKEN = "dev-token"  # noqa: S105 - a documented, local-only development credential
"""Bearer token of the credential that always exists."""

DEFAULT_ORGANIZATION = "org_dev"
"""Organization of the credential that always exists."""


@dataclass(frozen=True)
class Credential:
    """A bearer token the sandbox accepts, the organization it belongs to and its scopes."""

    token: str = field(repr=False)
    """The bearer token (kept out of repr so it never lands in a log line)."""
    organization: str
    """The organization id the token belongs to; requests must name it in ``X-Anyreach-Org``."""
    scopes: frozenset[str]
    """Granted scopes, e.g. ``{"email_domains:read"}``."""

    @classmethod
    def parse(cls, token: str, organization: str, scopes: str) -> Credential:
        """Build a credential from command-line text: scopes comma separated."""
        parsed = frozenset(scope.strip() for scope in scopes.split(",") if scope.strip())
        if not token or not organization:
            raise ValueError("a credential needs a non-empty token and organization")
        return cls(token=token, organization=organization, scopes=parsed)


DEFAULT_CREDENTIAL = Credential(DEFAULT_TOKEN, DEFAULT_ORGANIZATION, frozenset({SCOPE_MANAGE}))
"""``dev-token`` / ``org_dev`` / ``email_domains:manage``: always accepted."""


@dataclass
class SandboxConfig:
    """Everything the sandbox is started with. Settings and faults can change later via the admin API."""

    host: str = "127.0.0.1"
    """Interface to listen on (``python -m sandbox`` only)."""
    port: int = 8787
    """Port to listen on; 0 picks a free one (``python -m sandbox`` only)."""
    credentials: Sequence[Credential] = ()
    """Extra credentials; ``DEFAULT_CREDENTIAL`` is always accepted as well."""
    propagation_delay: float = 5.0
    """Seconds a record must have been published, within a verification attempt, to turn verified."""
    verify_window: float = 300.0
    """Seconds a verification attempt lasts; records still unverified at its end fail."""
    auto_publish: bool = False
    """Publish every record of a domain in the sandbox's DNS right after registration."""
    rate_limit_rps: float | None = None
    """Requests per second allowed across the whole server (token bucket); None turns limiting off."""
    error_rate: float = 0.0
    """Fraction (0..1) of public requests answered with a random 500/502/503 and no side effect."""
    latency_ms: float = 0.0
    """Delay added to every public request, in milliseconds."""
    drop_register_responses: int = 0
    """The next N registrations are committed, then their responses are dropped (a transport error)."""
    state_file: Path | None = None
    """JSON file loaded at start and rewritten atomically after every change; None keeps state in memory."""
    seed: int | None = None
    """Seed for ids and injected errors, for reproducible runs; None uses fresh randomness."""
    region: str = "us-east-1"
    """Region named in the records and the domain object."""
    threads: int = 8
    """Worker threads of the waitress server."""
    clock: Callable[[], float] = time.time
    """Seconds since the epoch; injectable so tests can move time instead of sleeping."""
    sleep: Callable[[float], None] = time.sleep
    """How injected latency waits; injectable so tests can observe it without waiting."""

    def __post_init__(self) -> None:
        if self.state_file is not None:
            self.state_file = Path(self.state_file)
        if self.propagation_delay < 0:
            raise ValueError("propagation_delay must be >= 0 seconds")
        if self.verify_window <= 0:
            raise ValueError("verify_window must be > 0 seconds")
        if self.rate_limit_rps is not None and self.rate_limit_rps <= 0:
            raise ValueError("rate_limit_rps must be > 0 (or None to turn rate limiting off)")
        if not 0 <= self.error_rate <= 1:
            raise ValueError("error_rate must be between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if self.drop_register_responses < 0:
            raise ValueError("drop_register_responses must be >= 0")

    def credentials_by_token(self) -> dict[str, Credential]:
        """Every accepted credential keyed by token, the default one included."""
        accepted = {DEFAULT_CREDENTIAL.token: DEFAULT_CREDENTIAL}
        accepted.update({credential.token: credential for credential in self.credentials})
        return accepted
