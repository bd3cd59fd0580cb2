"""Legacy import path, kept for good: stacks made by release 1dc6cf7 and before pickled
``provider.domain_verification.DomainVerificationProvider`` into their state (docs/design.md, section 6).
The resource lives in :mod:`provider.resources.domain_verification`."""

from provider.resources.domain_verification import DomainVerification, DomainVerificationProvider

__all__ = ["DomainVerification", "DomainVerificationProvider"]
