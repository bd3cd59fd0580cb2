"""How long and how often a domain is waited for, as resource inputs: declared once for the members of a
``DomainVerificationGroup`` and the legacy ``DomainVerification`` (and fed by the component settings of
:mod:`components.fields` that name these fields).

Each field is optional: None keeps the poller's default, whose one home is
:class:`provider.verify.poller.VerificationSettings` (``DEFAULT_VERIFICATION_TIMEOUT_SECONDS``,
``DEFAULT_POLL_INTERVAL_SECONDS``, ``DEFAULT_MAX_VERIFY_ATTEMPTS``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from provider.verify.poller import VerificationSettings

__all__ = ["VerificationTuning"]


class VerificationTuning(BaseModel):
    """The inputs that tune the wait for one domain; each field names a field of ``VerificationSettings``."""

    model_config = ConfigDict(extra="ignore")

    timeout_seconds: float | None = Field(default=None, gt=0)
    """How long to wait for the domain; None for the default (``DEFAULT_VERIFICATION_TIMEOUT_SECONDS``)."""
    poll_interval_seconds: float | None = Field(default=None, gt=0)
    """First pause between status reads; None for the default (``DEFAULT_POLL_INTERVAL_SECONDS``)."""
    max_verify_attempts: int | None = Field(default=None, ge=1)
    """How many times verification may be initiated; None for the default
    (``DEFAULT_MAX_VERIFY_ATTEMPTS``)."""

    def settings(self) -> VerificationSettings:
        """How to wait: the fields that are set, the poller's defaults for the others."""
        given = {name: getattr(self, name) for name in VerificationTuning.model_fields}
        return VerificationSettings(**{name: value for name, value in given.items() if value is not None})
