"""Where the API credentials come from, and which source wins.

Three sources, in the order they are trusted:

* the **stack config** of this run (``anyreach:token``, ``anyreach:organization``, ``anyreach:baseUrl``):
  the dynamic providers receive the whole stack config, secrets decrypted, in ``configure()``;
* the **environment** (``ANYREACH_TOKEN``, ``ANYREACH_ORGANIZATION``, ``ANYREACH_BASE_URL``) of the
  ``pulumi`` command that runs;
* the **copy stored with the stack**: the engine keeps the stack config it last gave the providers (in the
  state, encrypted with the stack's secrets provider) and hands that copy to ``configure()`` when it does
  not run the program (``pulumi refresh`` and ``pulumi destroy`` without ``--run-program``). It may hold a
  token the user has since rotated or removed.

When the program runs, the stack config is current and wins over the environment, key by key. When it
does not, the environment (always current) wins over the stored copy, and the stored copy may read but is
never used to delete (see :attr:`Credentials.may_delete`). Credentials never travel in resource inputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn

from provider.api.client import DEFAULT_BASE_URL, EmailDomainsClient
from provider.api.errors import ConfigurationError

__all__ = [
    "BASE_URL_CONFIG_KEY",
    "BASE_URL_ENV_VAR",
    "CONFIG_KEYS",
    "ORGANIZATION_CONFIG_KEY",
    "ORGANIZATION_ENV_VAR",
    "TOKEN_CONFIG_KEY",
    "TOKEN_ENV_VAR",
    "CredentialSource",
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
"""Environment variable of the API token."""
ORGANIZATION_ENV_VAR = "ANYREACH_ORGANIZATION"
"""Environment variable of the organization id."""
BASE_URL_ENV_VAR = "ANYREACH_BASE_URL"
"""Environment variable of the API address."""

CONFIG_KEYS = (TOKEN_CONFIG_KEY, ORGANIZATION_CONFIG_KEY, BASE_URL_CONFIG_KEY)
"""The stack config keys the providers read (everything else in the stack config is ignored)."""


class CredentialSource(StrEnum):
    """Where one credential came from, as messages name it."""

    STACK_CONFIG = "stack config"
    """The stack config of this run (the program ran)."""
    ENVIRONMENT = "environment"
    """An ``ANYREACH_*`` environment variable of the running ``pulumi`` command."""
    STORED_COPY = "the copy of the stack config stored with the stack"
    """The engine's copy of the stack config from the last run of the program (refresh/destroy only)."""
    DEFAULT = "default"
    """Nothing was set (the base URL then is the production API)."""


@dataclass(frozen=True)
class Credentials:
    """What a client needs to act for one organization, and where each part came from.

    The token is left out of the repr, and pickling is refused, so that it cannot land in Pulumi state
    or a log by accident.
    """

    token: str = field(repr=False)
    """API token (Bearer)."""
    organization: str
    """Organization id, sent as ``X-Anyreach-Org``."""
    base_url: str = DEFAULT_BASE_URL
    """API address."""
    token_source: CredentialSource = CredentialSource.STACK_CONFIG
    """Where the token came from."""
    organization_source: CredentialSource = CredentialSource.STACK_CONFIG
    """Where the organization id came from."""
    base_url_source: CredentialSource = CredentialSource.DEFAULT
    """Where the base URL came from."""

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "Credentials cannot be pickled: they hold the API token; resolve them again where they "
            "are needed (resolve_credentials) instead of storing them"
        )

    @property
    def may_delete(self) -> bool:
        """Whether these credentials may delete: not when the token is the stored copy, which may be a
        token the user has since removed or replaced (with a read-only one, say)."""
        return self.token_source is not CredentialSource.STORED_COPY

    def client(self, **kwargs: Any) -> EmailDomainsClient:
        """Create a client with these credentials; ``kwargs`` go to :class:`EmailDomainsClient`
        (``transport``, ``timeout``, ``retry_deadline``, ``budget``...).

        Raises:
            ConfigurationError: a credential is malformed or the base URL is unusable.
        """
        return EmailDomainsClient(self.token, self.organization, self.base_url, **kwargs)


def _credential_value(
    config: Mapping[str, Any], key: str, environ: Mapping[str, str], env_var: str, config_is_current: bool
) -> tuple[str, CredentialSource]:
    """The value of one credential and its source, by the precedence of the module docstring."""
    config_source = CredentialSource.STACK_CONFIG if config_is_current else CredentialSource.STORED_COPY
    candidates = [(config.get(key), config_source), (environ.get(env_var), CredentialSource.ENVIRONMENT)]
    if not config_is_current:
        candidates.reverse()
    for value, source in candidates:
        if value is not None and str(value).strip():
            return str(value).strip(), source
    return "", CredentialSource.DEFAULT


def resolve_credentials(
    config: Mapping[str, Any] | None = None,
    *,
    config_is_current: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Credentials:
    """Read the credentials from the stack config and the environment, key by key.

    Args:
        config: the stack config as ``configure()`` received it (``{"anyreach:token": ..., ...}``);
            ``None`` reads the environment only.
        config_is_current: whether ``config`` is this run's stack config (the program ran) rather than
            the copy stored with the stack; decides which source wins.
        environ: the environment (default ``os.environ``; injectable for tests).

    Raises:
        ConfigurationError: the token or the organization is set nowhere; the message names the stack
            config keys and the environment variables.
    """
    config = config or {}
    environ = os.environ if environ is None else environ
    token, token_source = _credential_value(
        config, TOKEN_CONFIG_KEY, environ, TOKEN_ENV_VAR, config_is_current
    )
    organization, organization_source = _credential_value(
        config, ORGANIZATION_CONFIG_KEY, environ, ORGANIZATION_ENV_VAR, config_is_current
    )
    base_url, base_url_source = _credential_value(
        config, BASE_URL_CONFIG_KEY, environ, BASE_URL_ENV_VAR, config_is_current
    )
    missing = [name for name, value in (("token", token), ("organization", organization)) if not value]
    if missing:
        raise ConfigurationError(
            f"Anyreach credentials are missing ({' and '.join(missing)}): set the stack config "
            f"`pulumi config set --secret {TOKEN_CONFIG_KEY} <token>` and "
            f"`pulumi config set {ORGANIZATION_CONFIG_KEY} <org>`, or the environment variables "
            f"{TOKEN_ENV_VAR} and {ORGANIZATION_ENV_VAR}"
        )
    return Credentials(
        token=token,
        organization=organization,
        base_url=base_url or DEFAULT_BASE_URL,
        token_source=token_source,
        organization_source=organization_source,
        base_url_source=base_url_source,
    )
