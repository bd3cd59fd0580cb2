"""How the resources reach the API: the stack config ``configure()`` received, the credentials resolved from
it, a client per call, and the Pulumi-specific part of every API error.

The Pulumi provider host deserializes each provider from state and calls its ``configure()`` with the whole
stack config (secrets decrypted). The providers pass it to :func:`remember_configuration`, which keeps the
``anyreach:*`` values in this module: the provider instances hold nothing, because they are pickled into
every resource's ``__provider`` input. :func:`connect` resolves the credentials only when an API call is
needed (see :mod:`provider.resources.credentials` for which source wins), opens a client, and turns the
client's errors into resource errors: named after the domain rather than its id, with the fix in Pulumi
terms and the source of the failing credential (:func:`pulumi_hint`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pulumi

from provider.api.client import EmailDomainsClient
from provider.api.errors import (
    ENTITY,
    AnyreachError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    TransportError,
)
from provider.api.models import Domain
from provider.host import program_run
from provider.resources.credentials import (
    BASE_URL_CONFIG_KEY,
    BASE_URL_ENV_VAR,
    CONFIG_KEYS,
    ORGANIZATION_CONFIG_KEY,
    ORGANIZATION_ENV_VAR,
    TOKEN_CONFIG_KEY,
    TOKEN_ENV_VAR,
    Credentials,
    CredentialSource,
    resolve_credentials,
)
from provider.verify.domains import verify_domains
from provider.verify.poller import VerificationRequest, shared_poller

__all__ = [
    "connect",
    "current_credentials",
    "forget_configuration",
    "open_client",
    "pulumi_hint",
    "remember_configuration",
    "retargeted",
    "wait_for_verification",
]

_configuration: dict[str, str] = {}
_configuration_lock = threading.Lock()


def remember_configuration(config: Any) -> None:
    """Keep the ``anyreach:*`` credentials of the stack config that ``configure()`` received.

    ``config`` is a :class:`pulumi.dynamic.Config` or any mapping with ``get``; ``None`` or a config
    without those keys leaves the environment as the only source. The values live in this module, never
    on a provider instance (which is pickled into state).
    """
    values: dict[str, str] = {}
    getter = getattr(config, "get", None)
    if callable(getter):
        for key in CONFIG_KEYS:
            value = getter(key)
            if value is not None and str(value).strip():
                values[key] = str(value)
    with _configuration_lock:
        _configuration.clear()
        _configuration.update(values)


def forget_configuration() -> None:
    """Drop what :func:`remember_configuration` kept (the environment becomes the only source)."""
    with _configuration_lock:
        _configuration.clear()


def current_credentials(doing: str, domain: str) -> Credentials:
    """The credentials for a call about ``domain``, from the remembered config and the environment.

    Raises:
        ConfigurationError: the token or organization is set nowhere; the message names the domain, the
            stack config keys and the environment variables.
    """
    with _configuration_lock:
        config: Mapping[str, str] = dict(_configuration)
    try:
        return resolve_credentials(config, config_is_current=program_run.program_ran() is not False)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{doing} {ENTITY} ({domain}): {exc}") from exc


@contextmanager
def connect(doing: str, domain: str, credentials: Credentials | None = None) -> Iterator[EmailDomainsClient]:
    """A client for calls about ``domain`` (its name, for messages); closed when the block ends.

    Every error of the client that leaves the block names ``domain`` and says what to do in Pulumi
    terms, including where a rejected credential came from.

    Raises:
        ConfigurationError: credentials missing or unusable (nothing was sent).
        ApiError, TransportError: the call failed, retargeted as described.
    """
    if credentials is None:
        credentials = current_credentials(doing, domain)
    client = open_client(doing, domain, credentials)
    with client:
        try:
            yield client
        except (ApiError, TransportError) as exc:
            raise retargeted(exc, domain, credentials) from exc


def open_client(doing: str, domain: str, credentials: Credentials) -> EmailDomainsClient:
    """A client for calls about ``domain`` that outlive one block (the caller closes it).

    Raises:
        ConfigurationError: the credentials are unusable; the message names the domain and the sources.
    """
    try:
        return credentials.client()
    except ConfigurationError as exc:
        raise ConfigurationError(f"{doing} {ENTITY} ({domain}): {exc} ({_sources(credentials)})") from exc


def retargeted(error: AnyreachError, domain: str, credentials: Credentials) -> AnyreachError:
    """``error`` naming ``domain`` and saying what to do in Pulumi terms (other errors unchanged)."""
    if isinstance(error, ApiError | TransportError):
        return error.retargeted(domain, pulumi_hint(error, credentials))
    return error


def _sources(credentials: Credentials) -> str:
    return (
        f"token from {_where(credentials.token_source, TOKEN_CONFIG_KEY, TOKEN_ENV_VAR)}, organization from "
        f"{_where(credentials.organization_source, ORGANIZATION_CONFIG_KEY, ORGANIZATION_ENV_VAR)}, base URL "
        f"from {_where(credentials.base_url_source, BASE_URL_CONFIG_KEY, BASE_URL_ENV_VAR)}"
    )


def _where(source: CredentialSource, key: str, env_var: str) -> str:
    """``the stack config (anyreach:token)``: where one credential came from, in words."""
    if source is CredentialSource.ENVIRONMENT:
        return f"the environment ({env_var})"
    if source is CredentialSource.DEFAULT:
        return "the default"
    return f"{source.value} ({key})"


def _how_to_set(source: CredentialSource, key: str, env_var: str, example: str, secret: bool) -> str:
    """The command that replaces a credential from ``source``."""
    flag = "--secret " if secret else ""
    config_command = f"`pulumi config set {flag}{key} {example}`"
    if source is CredentialSource.ENVIRONMENT:
        return f"export a valid value in {env_var} (or unset it and set {config_command})"
    if source is CredentialSource.STORED_COPY:
        return (
            f"this command did not run the program, so the engine used the {key} it stored with the stack at "
            "the last `pulumi up`; if you have changed it since, run the command again with --run-program "
            f"(e.g. `pulumi refresh --run-program`, `pulumi destroy --run-program`) so the current stack "
            f"config is used, or export {env_var}. Otherwise set a valid one with {config_command} and run "
            "`pulumi up`"
        )
    return f"set a valid one with {config_command} (or unset it and export {env_var})"


def pulumi_hint(error: AnyreachError, credentials: Credentials) -> str | None:
    """What to do about ``error`` in Pulumi terms, naming where the failing credential came from; None
    keeps the client's own advice (it names no credential)."""
    token_where = _where(credentials.token_source, TOKEN_CONFIG_KEY, TOKEN_ENV_VAR)
    token_fix = _how_to_set(credentials.token_source, TOKEN_CONFIG_KEY, TOKEN_ENV_VAR, "<token>", True)
    if isinstance(error, AuthenticationError):
        return f"The API token from {token_where} is invalid, expired or revoked: {token_fix}"
    if isinstance(error, PermissionDeniedError):
        if error.wrong_organization:
            org_where = _where(credentials.organization_source, ORGANIZATION_CONFIG_KEY, ORGANIZATION_ENV_VAR)
            org_fix = _how_to_set(
                credentials.organization_source, ORGANIZATION_CONFIG_KEY, ORGANIZATION_ENV_VAR, "<org>", False
            )
            return (
                f"The API token from {token_where} does not belong to organization "
                f"{credentials.organization} (from {org_where}): {org_fix}"
            )
        return f"{error.scope_needed}; the token from {token_where} lacks it: {token_fix}"
    if isinstance(error, TransportError) and not error.request_sent:
        url_where = _where(credentials.base_url_source, BASE_URL_CONFIG_KEY, BASE_URL_ENV_VAR)
        return (
            f"Check that the API address {credentials.base_url} (from {url_where}) is right and reachable: "
            f"`pulumi config set {BASE_URL_CONFIG_KEY} <url>` or {BASE_URL_ENV_VAR}"
        )
    return None


def wait_for_verification(requests: Sequence[VerificationRequest]) -> dict[str, Domain | BaseException]:
    """Wait until every request's domain is verified, with the stack's credentials, through the
    process-wide poller; each outcome by domain name (errors named after the domain, with the fix in Pulumi
    terms). Progress goes to the Pulumi log."""
    if not requests:
        return {}
    credentials = current_credentials("waiting for", requests[0].domain)
    poller = shared_poller()
    with open_client("waiting for", requests[0].domain, credentials) as client:
        return verify_domains(
            requests,
            client,
            poller,
            retarget=lambda domain, error: retargeted(error, domain, credentials),
            log=pulumi.log.info,
        )
