"""Pulumi components users instantiate: ``VerifiedEmailDomain`` and the stack program's config reader.

``components.record_plan`` holds the static record plan and the formatting that keeps ``pulumi refresh``
free of drift; ``components.fields`` the rules of each setting, shared by the component's arguments and
``components.stack_config``, which reads and checks the ``anyreach:*`` stack config.
"""

from components.record_plan import RecordPlanMismatchError
from components.stack_config import DomainConfig, StackConfig, StackConfigError, load_stack_config
from components.verification_group import VerificationGroup
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
    "VerificationGroup",
    "VerifiedEmailDomain",
    "VerifiedEmailDomainArgs",
    "load_stack_config",
]
