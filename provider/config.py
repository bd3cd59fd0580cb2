"""Where the client's credentials come from: the stack config, else the environment.

A Pulumi dynamic provider receives the whole stack config, secrets decrypted, in ``configure()``;
:func:`resolve_credentials` reads ``anyreach:token``, ``anyreach:organization`` and
``anyreach:baseUrl`` from it and falls back, key by key, to ``ANYREACH_TOKEN``,
``ANYREACH_ORGANIZATION`` and ``ANYREACH_BASE_URL``. Credentials never travel in resource inputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from provider.client import DEFAULT_BASE_URL, EmailDomainsClient, validate_base_url
from provider.errors import ConfigurationError

__all__ = [
    "BASE_URL_CONFIG_KEY",
    "BASE_URL_ENV_VAR",
    "ORGANIZATION_CONFIG_KEY",
    "ORGANIZATION_ENV_VAR",
    "TOKEN_CONFIG_KEY",
    "TOKEN_ENV_VAR",
    "Credentials",
    "resolve_credentials",
]

TOKEN_CONFIG_KEY = "anyreach:token"  # noqa: S105 - a config key, not a secret
"""Stack config key of the API token (set it with ``--secret``)."""
ORGANIZATION_CONFIG_KEY = "anyreach:organization"
"""Stack config key of the organization id."""
BASE_URL_CONFIG_KEY = "anyreach:baseUrl"
"""Stack config key of the API address (optional; default the production API)."""
TOKEN_ENV_VAR = "ANYREACH_TOKEN"  # noqa: S105 - a variable name, not a secret
"""Environment variable read when the stack config has no token."""
ORGANIZATION_ENV_VAR = "ANYREACH_ORGANIZATION"
"""Environment variable read when the stack config has no organization."""
BASE_URL_ENV_VAR = "ANYREACH_BASE_URL"
"""Environment variable read when the stack config has no base URL."""


@dataclass(frozen=True)
class Credentials:
    """What a client needs to act for one organization. The token is left out of the repr, and
    pickling is refused, so that it cannot land in Pulumi state or a log by accident."""

    token: str = field(repr=False)
    """API token (Bearer)."""
    organization: str
    """Organization id, sent as ``X-Anyreach-Org``."""
    base_url: str = DEFAULT_BASE_URL
    """API address, without a trailing slash."""

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "Credentials cannot be pickled: they hold the API token; resolve them again where they "
            "are needed (resolve_credentials) instead of storing them"
        )

    def client(self, **kwargs: Any) -> EmailDomainsClient:
        """Create a client with these credentials; ``kwargs`` go to :class:`EmailDomainsClient`
        (``transport``, ``timeout``, ``retry_deadline``, ``budget``...)."""
        return EmailDomainsClient(self.token, self.organization, self.base_url, **kwargs)


def _first_set(config: Mapping[str, str], key: str, environ: Mapping[str, str], env_var: str) -> str:
    """The stack config value if set and not blank, else the environment's, else ``""``."""
    for value in (config.get(key), environ.get(env_var)):
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def resolve_credentials(
    config: Mapping[str, str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Read the credentials from the stack config, falling back key by key to the environment.

    Args:
        config: the stack config as a dynamic provider's ``configure()`` receives it
            (``{"anyreach:token": ..., ...}``); ``None`` reads the environment only.
        environ: the environment to fall back on (default ``os.environ``; injectable for tests).

    Raises:
        ConfigurationError: the token or the organization is set nowhere (the message names both
            ways to set it), or the base URL is unusable.
    """
    config = config or {}
    environ = os.environ if environ is None else environ
    token = _first_set(config, TOKEN_CONFIG_KEY, environ, TOKEN_ENV_VAR)
    organization = _first_set(config, ORGANIZATION_CONFIG_KEY, environ, ORGANIZATION_ENV_VAR)
    base_url = _first_set(config, BASE_URL_CONFIG_KEY, environ, BASE_URL_ENV_VAR) or DEFAULT_BASE_URL
    missing = [name for name, value in (("token", token), ("organization", organization)) if not value]
    if missing:
        raise ConfigurationError(
            f"Anyreach credentials are missing ({' and '.join(missing)}): set the stack config "
            f"`pulumi config set --secret {TOKEN_CONFIG_KEY} <token>` and "
            f"`pulumi config set {ORGANIZATION_CONFIG_KEY} <org>`, or the environment variables "
            f"{TOKEN_ENV_VAR} and {ORGANIZATION_ENV_VAR}"
        )
    return Credentials(token=token, organization=organization, base_url=validate_base_url(base_url))
