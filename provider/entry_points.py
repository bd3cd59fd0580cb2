"""The stable entry points that stack state refers to. Never move or rename this module or its names.

The Pulumi SDK pickles each dynamic resource's provider into its ``__provider`` input, and the engine
keeps that blob in the resource's outputs too; ``pulumi refresh`` and ``pulumi destroy`` unpickle the
copy in the outputs, which only a create or an update rewrites. A blob that names a module path therefore
lives as long as the stack, and moving that module would strand every stack made before the move.

So each provider pickles as a call to :func:`dynamic_provider` with the resource's kind (a short, stable
name) and no instance state; the mapping from kind to class below is the only thing a later restructuring
edits. Blobs written by releases before this module existed name their classes directly
(``provider.email_domain.EmailDomainProvider``,
``provider.domain_verification.DomainVerificationProvider``);
those paths stay importable for good (docs/design.md, "What state refers to").
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

__all__ = ["PROVIDER_CLASSES", "StablyPickled", "dynamic_provider"]

PROVIDER_CLASSES: dict[str, tuple[str, str]] = {
    "EmailDomain": ("provider.resources.email_domain", "EmailDomainProvider"),
    "DomainVerification": ("provider.resources.domain_verification", "DomainVerificationProvider"),
    "DomainVerificationGroup": (
        "provider.resources.domain_verification_group",
        "DomainVerificationGroupProvider",
    ),
}
"""Resource kind -> (module, class) of its dynamic provider. Kinds are never removed or renamed."""


def dynamic_provider(kind: str) -> Any:
    """A new provider for resources of ``kind`` (what a ``__provider`` blob unpickles to).

    Raises:
        KeyError: an unknown kind (a blob from a newer release than the code running it).
    """
    try:
        module_name, class_name = PROVIDER_CLASSES[kind]
    except KeyError:
        raise KeyError(
            f"unpickling the dynamic provider of {kind!r}: this release does not know that resource kind; "
            "the stack was last updated by a newer release of this project: use that release"
        ) from None
    return getattr(importlib.import_module(module_name), class_name)()


class StablyPickled:
    """Mixin of the dynamic providers: pickle as ``dynamic_provider(kind)``, by a stable path, carrying
    no instance state (the providers keep none: credentials live in :mod:`provider.resources.connection`)."""

    kind: ClassVar[str]
    """The resource kind, a key of :data:`PROVIDER_CLASSES`."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (dynamic_provider, (self.kind,))
