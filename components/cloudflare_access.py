"""Before ``pulumi up`` changes anything, check that Cloudflare accepts the API token the plugin will use.

The Cloudflare plugin reports a refused token as the API's own words (``403 ... 9109 Invalid access
token``) on each record it fails to write, without saying which setting holds the token. The stack program
therefore asks Cloudflare once per zone, before it declares any resource, and fails with a message that
names where the token came from and how to set another:

* the stack config ``cloudflare:apiToken`` (set with ``--secret``), which the plugin prefers, else
* the environment variable ``CLOUDFLARE_API_TOKEN``;

and the address the plugin talks to: ``cloudflare:baseUrl``, else ``CLOUDFLARE_BASE_URL``, else Cloudflare's
API. Only an answer that says the token or the zone is wrong fails the update; when Cloudflare cannot be
reached, the check says so in a warning and leaves the error to the plugin.

Exceptions::

    CloudflareAccessError(ValueError)  the token is missing, malformed or refused for a zone
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

__all__ = [
    "BASE_URL_CONFIG_KEY",
    "BASE_URL_ENV_VAR",
    "DEFAULT_CLOUDFLARE_API",
    "TOKEN_CONFIG_KEY",
    "TOKEN_ENV_VAR",
    "CloudflareAccessError",
    "CloudflareCredential",
    "check_cloudflare_access",
    "cloudflare_credential",
]

TOKEN_CONFIG_KEY = "cloudflare:apiToken"  # noqa: S105 - a config key, not a secret
"""Stack config key of the Cloudflare API token (the plugin's own; it wins over the environment)."""
TOKEN_ENV_VAR = "CLOUDFLARE_API_TOKEN"  # noqa: S105 - a variable name, not a secret
"""Environment variable of the Cloudflare API token."""
BASE_URL_CONFIG_KEY = "cloudflare:baseUrl"
"""Stack config key of the Cloudflare API address (the plugin's own)."""
BASE_URL_ENV_VAR = "CLOUDFLARE_BASE_URL"
"""Environment variable of the Cloudflare API address."""
DEFAULT_CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"
"""Where the plugin sends its requests when neither address setting is given."""

# The plugin refuses an `api_token` of another form (terraform-provider-cloudflare, provider.go).
_TOKEN_FORM = re.compile(r"^[0-9A-Za-z_-]{40,80}$")
# Answers that mean "this token may not do that here"; anything else is left for the plugin to report.
_REFUSED_STATUS = (400, 401, 403)
_HOW_TO_SET = (
    f"Set a Cloudflare API token with Zone > DNS > Edit on the zone: `pulumi config set --secret "
    f"{TOKEN_CONFIG_KEY} <token>`, or export {TOKEN_ENV_VAR} (the stack config wins when both are set)."
)


class CloudflareAccessError(ValueError):
    """Cloudflare will not let the plugin write the records: no token, a malformed one, or a refusal."""


@dataclass(frozen=True)
class CloudflareCredential:
    """The token and address the Cloudflare plugin will use, and where the token came from."""

    token: str | None
    """The API token; None when neither the stack config nor the environment holds one."""
    source: str
    """Where the token came from, in words: ``the stack config (cloudflare:apiToken)`` or
    ``the environment (CLOUDFLARE_API_TOKEN)``."""
    base_url: str
    """The API address, without a trailing slash."""


def cloudflare_credential(
    config: Mapping[str, str | None], environ: Mapping[str, str]
) -> CloudflareCredential:
    """What the plugin will use, decided as the plugin decides: the stack config, else the environment.

    ``config`` maps ``cloudflare:*`` keys to the stack's values (None or blank: unset).
    """
    token = (config.get(TOKEN_CONFIG_KEY) or "").strip()
    source = f"the stack config ({TOKEN_CONFIG_KEY})"
    if not token:
        token = environ.get(TOKEN_ENV_VAR, "").strip()
        source = f"the environment ({TOKEN_ENV_VAR})"
    base_url = (config.get(BASE_URL_CONFIG_KEY) or "").strip() or environ.get(BASE_URL_ENV_VAR, "").strip()
    return CloudflareCredential(
        token=token or None, source=source, base_url=(base_url or DEFAULT_CLOUDFLARE_API).rstrip("/")
    )


def check_cloudflare_access(
    credential: CloudflareCredential,
    zones: Mapping[str, Sequence[str]],
    *,
    warn: Callable[[str], None],
    transport: httpx.BaseTransport | None = None,
    timeout: float = 15.0,
) -> None:
    """Raise ``CloudflareAccessError`` unless Cloudflare lets ``credential`` read each zone's DNS records.

    ``zones`` maps each zone id to the domains published there (for the message). One request per zone,
    the smallest page of its DNS records: a token allowed to edit them may read them. ``warn`` receives
    what keeps the check from concluding (Cloudflare unreachable, an unexpected answer); the update then
    goes on and the plugin reports its own error if there is one.
    """
    if not zones:
        return
    doing = _doing(zones)
    if credential.token is None:
        raise CloudflareAccessError(
            f"{doing}: no Cloudflare API token: neither the stack config ({TOKEN_CONFIG_KEY}) nor the "
            f"environment ({TOKEN_ENV_VAR}) holds one. {_HOW_TO_SET}"
        )
    if not _TOKEN_FORM.match(credential.token):
        raise CloudflareAccessError(
            f"{doing}: the Cloudflare API token from {credential.source} is not a Cloudflare API token "
            f"(40 to 80 letters, digits, '-' or '_'; the plugin refuses any other form). {_HOW_TO_SET}"
        )
    headers = {"Authorization": f"Bearer {credential.token}"}
    with httpx.Client(
        base_url=credential.base_url + "/", headers=headers, timeout=timeout, transport=transport
    ) as client:
        for zone_id, domains in zones.items():
            try:
                answer = client.get(f"zones/{zone_id}/dns_records", params={"per_page": 5})
            except httpx.HTTPError as exc:
                warn(
                    f"{_doing({zone_id: domains})}: could not check the Cloudflare API token at "
                    f"{credential.base_url} ({type(exc).__name__}: {exc}); going on"
                )
                return
            if answer.status_code in _REFUSED_STATUS:
                raise CloudflareAccessError(_refusal(credential, zone_id, domains, answer))
            if answer.status_code >= 300:
                warn(
                    f"{_doing({zone_id: domains})}: checking the Cloudflare API token, Cloudflare answered "
                    f"HTTP {answer.status_code} {_errors(answer)}; going on"
                )


def _doing(zones: Mapping[str, Sequence[str]]) -> str:
    domains = ", ".join(domain for names in zones.values() for domain in names)
    listed = ", ".join(zones)
    return f"publishing the DNS records of Email Domain ({domains}) in Cloudflare (zone {listed})"


def _refusal(
    credential: CloudflareCredential, zone_id: str, domains: Sequence[str], answer: httpx.Response
) -> str:
    codes = _codes(answer)
    said = f"Cloudflare answered HTTP {answer.status_code} {_errors(answer)}"
    if 9109 in codes or answer.status_code == 401:
        problem = f"Cloudflare refused the API token from {credential.source} ({said})"
    elif 10000 in codes:
        problem = (
            f"the API token from {credential.source} may not reach zone {zone_id} ({said}): the token lacks "
            f"Zone > DNS > Edit on it, or no zone has this id (the zone's Overview page shows its id)"
        )
    else:
        problem = f"the API token from {credential.source} was refused for zone {zone_id} ({said})"
    return f"{_doing({zone_id: domains})}: {problem}. {_HOW_TO_SET}"


def _codes(answer: httpx.Response) -> set[int]:
    try:
        errors = answer.json().get("errors") or []
        return {int(error["code"]) for error in errors if isinstance(error, dict) and "code" in error}
    except (ValueError, AttributeError, TypeError, KeyError):
        return set()


def _errors(answer: httpx.Response) -> str:
    """``9109 Invalid access token``: Cloudflare's error codes and messages, never the request's headers."""
    try:
        errors = answer.json().get("errors") or []
        described = [
            f"{error.get('code')} {error.get('message')}" for error in errors if isinstance(error, dict)
        ]
    except (ValueError, AttributeError):
        described = []
    return "; ".join(described) or "(no error detail)"
