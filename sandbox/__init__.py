"""A local stand-in for the Anyreach Email Domains API, with DNS, timing and fault controls, and a stand-in
for Cloudflare's DNS records API (``/client/v4``) whose records the same DNS serves.

``create_app(config)`` builds the WSGI app (Flask); ``python -m sandbox`` serves it with waitress;
``sandbox.testing.SandboxServer`` runs it on a free loopback port inside a test. See README.md.
"""

from sandbox._app import create_app, sandbox_state
from sandbox._cloudflare import (
    DEFAULT_CLOUDFLARE_TOKEN,
    DEFAULT_CLOUDFLARE_ZONE_ID,
    DEFAULT_CLOUDFLARE_ZONE_NAME,
    CloudflareZoneSpec,
)
from sandbox._config import (
    DEFAULT_CREDENTIAL,
    DEFAULT_ORGANIZATION,
    DEFAULT_TOKEN,
    SCOPE_MANAGE,
    SCOPE_READ,
    Credential,
    SandboxConfig,
    StartupSettings,
)
from sandbox._dns import NAMESERVERS, DnsEntry, DnsServer, DnsSnapshot, DnsSource
from sandbox._domain_names import PLATFORM_DOMAIN, DomainNameError, normalize_domain_name
from sandbox._errors import ResponseDropped
from sandbox._settings import FaultSettings, SandboxSettings, SettingsError

__all__ = [
    "DEFAULT_CLOUDFLARE_TOKEN",
    "DEFAULT_CLOUDFLARE_ZONE_ID",
    "DEFAULT_CLOUDFLARE_ZONE_NAME",
    "DEFAULT_CREDENTIAL",
    "DEFAULT_ORGANIZATION",
    "DEFAULT_TOKEN",
    "NAMESERVERS",
    "PLATFORM_DOMAIN",
    "SCOPE_MANAGE",
    "SCOPE_READ",
    "CloudflareZoneSpec",
    "Credential",
    "DnsEntry",
    "DnsServer",
    "DnsSnapshot",
    "DnsSource",
    "DomainNameError",
    "FaultSettings",
    "ResponseDropped",
    "SandboxConfig",
    "SandboxSettings",
    "SettingsError",
    "StartupSettings",
    "create_app",
    "normalize_domain_name",
    "sandbox_state",
]
