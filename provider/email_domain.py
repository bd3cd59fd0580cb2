"""Legacy import path, kept for good: stacks made by release 1dc6cf7 and before pickled
``provider.email_domain.EmailDomainProvider`` into their state (docs/design.md, section 6).
The resource lives in :mod:`provider.resources.email_domain`."""

from provider.resources.email_domain import EmailDomain, EmailDomainProvider

__all__ = ["EmailDomain", "EmailDomainProvider"]
