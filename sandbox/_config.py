"""Start-up configuration of the sandbox: where it listens, credentials, timings and faults.

``SandboxConfig`` is ``StartupSettings`` + ``SandboxSettings`` + ``FaultSettings`` (sandbox._settings):
every field is defined once, validated on construction, and turned into a command-line flag.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox._cloudflare import (
    DEFAULT_CLOUDFLARE_TOKEN,
    DEFAULT_CLOUDFLARE_ZONE_ID,
    DEFAULT_CLOUDFLARE_ZONE_NAME,
    CloudflareZoneSpec,
    parse_token,
)
from sandbox._settings import FaultSettings, SandboxSettings, cli

__all__ = [
    "DEFAULT_CREDENTIAL",
    "DEFAULT_ORGANIZATION",
    "DEFAULT_TOKEN",
    "SCOPE_MANAGE",
    "SCOPE_READ",
    "Credential",
    "SandboxConfig",
    "StartupSettings",
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
            raise ValueError(
                "a credential needs a non-empty TOKEN and ORG, e.g. --token tok org_x email_domains:read"
            )
        return cls(token=token, organization=organization, scopes=parsed)


DEFAULT_CREDENTIAL = Credential(DEFAULT_TOKEN, DEFAULT_ORGANIZATION, frozenset({SCOPE_MANAGE}))
"""``dev-token`` / ``org_dev`` / ``email_domains:manage``: always accepted."""


class StartupSettings(BaseModel):
    """Settings read once at start (no admin API changes them).

    Each field is documented by its ``description`` (also the ``--help`` text and the README row).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)

    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="interface the HTTP API and the DNS server listen on",
        json_schema_extra=cli("--host", "HOST"),
    )
    port: int = Field(
        8787,
        ge=0,
        le=65535,
        description="HTTP port; 0 picks a free one (the start line shows it)",
        json_schema_extra=cli("--port", "PORT"),
    )
    dns_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description=(
            "serve the sandbox DNS on this port of HOST, UDP and TCP; 0 picks a free one (the start line "
            "shows it); without it no DNS server runs"
        ),
        json_schema_extra=cli("--dns-port", "PORT", shown_default="off", null_means="no DNS server"),
    )
    credentials: tuple[Credential, ...] = Field(
        (),
        description=(
            "another credential, SCOPES comma separated (email_domains:read, email_domains:manage); "
            f"repeatable. {DEFAULT_TOKEN} / {DEFAULT_ORGANIZATION} / {SCOPE_MANAGE} always exists"
        ),
        json_schema_extra=cli("--token", ("TOKEN", "ORG", "SCOPES"), shown_default=""),
    )
    cloudflare_zones: tuple[CloudflareZoneSpec, ...] = Field(
        (),
        description=(
            "a zone of the Cloudflare DNS API stand-in (ID: 32 lowercase hex digits); repeatable. "
            f"{DEFAULT_CLOUDFLARE_ZONE_ID}={DEFAULT_CLOUDFLARE_ZONE_NAME} always exists unless a zone given "
            "here takes its id or its name"
        ),
        json_schema_extra=cli("--cloudflare-zone", ("ID=NAME",), shown_default=""),
    )
    cloudflare_tokens: tuple[str, ...] = Field(
        (),
        description=(
            "another API token the Cloudflare stand-in accepts (40 to 80 of A-Z a-z 0-9 _ -); repeatable. "
            f"{DEFAULT_CLOUDFLARE_TOKEN} always works"
        ),
        json_schema_extra=cli("--cloudflare-token", ("TOKEN",), shown_default=""),
    )
    state_file: Path | None = Field(
        None,
        description=(
            "load domains, DNS and the Cloudflare zones and records at start; rewritten atomically "
            "(temp file + rename) after every change"
        ),
        json_schema_extra=cli("--state", "FILE", null_means="state in memory only"),
    )
    seed: int | None = Field(
        None,
        description="seed for ids and injected errors, for repeatable runs",
        json_schema_extra=cli("--seed", "N", null_means="fresh randomness"),
    )
    region: str = Field(
        "us-east-1",
        min_length=1,
        description="region named in the record values and the domain object",
        json_schema_extra=cli("--region", "REGION"),
    )
    threads: int = Field(
        8,
        ge=1,
        description="waitress worker threads",
        json_schema_extra=cli("--threads", "N"),
    )
    clock: Callable[[], float] = Field(
        time.time,
        exclude=True,
        description="seconds since the epoch; injectable (sandbox.testing.ManualClock) so tests move time",
    )
    sleep: Callable[[float], None] = Field(
        time.sleep,
        exclude=True,
        description="how injected latency waits; injectable (sandbox.testing.RecordingSleep) to observe it",
    )

    @field_validator("credentials", mode="before")
    @classmethod
    def _parse_command_line_credentials(cls, value: Any) -> Any:
        # ``--token TOKEN ORG SCOPES`` arrives as lists of three strings.
        if isinstance(value, list | tuple):
            return tuple(
                Credential.parse(*item)
                if isinstance(item, list | tuple) and len(item) == 3 and all(isinstance(p, str) for p in item)
                else item
                for item in value
            )
        return value

    @field_validator("cloudflare_zones", mode="before")
    @classmethod
    def _parse_command_line_zones(cls, value: Any) -> Any:
        # ``--cloudflare-zone ID=NAME`` arrives as lists of one string; plain ``ID=NAME`` strings work too.
        if isinstance(value, list | tuple):
            return tuple(
                CloudflareZoneSpec.parse(_single(item)) if _is_text(item) else item for item in value
            )
        return value

    @field_validator("cloudflare_tokens", mode="before")
    @classmethod
    def _parse_command_line_tokens(cls, value: Any) -> Any:
        # ``--cloudflare-token TOKEN`` arrives as lists of one string.
        if isinstance(value, list | tuple):
            return tuple(parse_token(_single(item)) if _is_text(item) else item for item in value)
        return value


def _is_text(item: object) -> bool:
    return isinstance(item, str) or (
        isinstance(item, list | tuple) and len(item) == 1 and isinstance(item[0], str)
    )


def _single(item: str | list[str] | tuple[str, ...]) -> str:
    return item if isinstance(item, str) else item[0]


class SandboxConfig(FaultSettings, SandboxSettings, StartupSettings):
    """Everything the sandbox is started with: start-up settings, run-time settings and faults.

    Keyword arguments only, e.g. ``SandboxConfig(clock=clock, propagation_delay=10)``; a bad value
    raises ``pydantic.ValidationError`` (a ``ValueError``). Settings and faults can change later
    through the admin API.
    """

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, validate_assignment=True, arbitrary_types_allowed=True
    )

    def settings(self) -> SandboxSettings:
        """The run-time settings the sandbox starts with."""
        return SandboxSettings.model_validate(self.model_dump(include=set(SandboxSettings.model_fields)))

    def faults(self) -> FaultSettings:
        """The faults the sandbox starts with."""
        return FaultSettings.model_validate(self.model_dump(include=set(FaultSettings.model_fields)))

    def credentials_by_token(self) -> dict[str, Credential]:
        """Every accepted credential keyed by token, the default one included."""
        accepted = {DEFAULT_CREDENTIAL.token: DEFAULT_CREDENTIAL}
        accepted.update({credential.token: credential for credential in self.credentials})
        return accepted
