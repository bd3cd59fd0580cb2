"""Pulumi components users instantiate: ``VerifiedEmailDomain`` and the stack program's config reader.

``components.records`` holds the static record plan and the formatting that keeps ``pulumi refresh``
free of drift; ``components.stack_config`` reads and checks the ``anyreach:*`` stack config.
"""

from components.records import RecordPlanMismatchError
from components.stack_config import DomainConfig, StackConfig, StackConfigError, load_stack_config
from components.verified_email_domain import (
    TYPE_TOKEN,
    VerifiedEmailDomain,
    VerifiedEmailDomainArgs,
)

__all__ = [
    "TYPE_TOKEN",
    "DomainConfig",
    "RecordPlanMismatchError",
    "StackConfig",
    "StackConfigError",
    "VerifiedEmailDomain",
    "VerifiedEmailDomainArgs",
    "load_stack_config",
]
