"""Anyreach Email Domains: typed API client, its models and errors, and the Pulumi resources.

Importing this package has no side effects: no client, budget or network connection is created
until a caller asks for one.
"""

import importlib
from typing import TYPE_CHECKING, Any

from provider.api.budget import RATE_ENV_VAR, RequestBudget, shared_budget
from provider.api.client import (
    CLIENT_VERSION,
    DEFAULT_BASE_URL,
    MANAGE_SCOPE,
    READ_SCOPE,
    EmailDomainsClient,
    validate_base_url,
)
from provider.api.errors import (
    AnyreachError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DomainVerificationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from provider.api.models import DnsRecord, Domain, DomainStatus, parse_domain_list
from provider.resources.credentials import Credentials, CredentialSource, resolve_credentials
from provider.rules.domain_name import (
    PLATFORM_DOMAIN,
    InvalidDomainError,
    canonical_domain,
    is_platform_domain,
    normalize_domain,
)

__all__ = [
    "CLIENT_VERSION",
    "DEFAULT_BASE_URL",
    "MANAGE_SCOPE",
    "PLATFORM_DOMAIN",
    "RATE_ENV_VAR",
    "READ_SCOPE",
    "AnyreachError",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "CredentialSource",
    "Credentials",
    "DnsRecord",
    "Domain",
    "DomainStatus",
    "DomainVerificationError",
    "EmailDomainsClient",
    "InvalidDomainError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestBudget",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
    "canonical_domain",
    "is_platform_domain",
    "normalize_domain",
    "parse_domain_list",
    "resolve_credentials",
    "shared_budget",
    "validate_base_url",
]

# The Pulumi dynamic resources and their providers (their import paths are part of the state: the
# providers are pickled by reference into every resource's `__provider` input). They are imported on
# first use, so that the client, the models and the domain-name rules (which the sandbox uses) do not
# pull in the Pulumi SDK.
_RESOURCE_MODULES = {
    "DomainVerification": "provider.resources.domain_verification",
    "DomainVerificationProvider": "provider.resources.domain_verification",
    "DomainVerificationGroup": "provider.resources.domain_verification_group",
    "DomainVerificationGroupProvider": "provider.resources.domain_verification_group",
    "EmailDomain": "provider.resources.email_domain",
    "EmailDomainProvider": "provider.resources.email_domain",
}

if TYPE_CHECKING:
    # Redundant aliases mark these as re-exports for type checkers and linters.
    from provider.resources.domain_verification import DomainVerification as DomainVerification
    from provider.resources.domain_verification import (
        DomainVerificationProvider as DomainVerificationProvider,
    )
    from provider.resources.domain_verification_group import (
        DomainVerificationGroup as DomainVerificationGroup,
    )
    from provider.resources.domain_verification_group import (
        DomainVerificationGroupProvider as DomainVerificationGroupProvider,
    )
    from provider.resources.email_domain import EmailDomain as EmailDomain
    from provider.resources.email_domain import EmailDomainProvider as EmailDomainProvider


def __getattr__(name: str) -> Any:
    """Import a Pulumi resource export on first access."""
    module = _RESOURCE_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'provider' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ += sorted(_RESOURCE_MODULES)
