"""What every dynamic resource of this package shares: its provider's ``configure()`` and pickling, and
the way a resource is declared (its outputs derived from its State model, the program-run marker).

A resource module declares an Args model (its inputs), a State model (Args plus what the platform computed:
the outputs) and a provider whose lifecycle methods stay thin, as pulumi-go-provider's ``infer`` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
import pulumi.dynamic
from pydantic import BaseModel

from provider.entry_points import StablyPickled
from provider.host import provider_host
from provider.host.program_exit import end_program_when_closed
from provider.host.program_run import record_program_run
from provider.resources.connection import remember_configuration

__all__ = ["AnyreachProvider", "AnyreachResource"]


class AnyreachProvider(StablyPickled, pulumi.dynamic.ResourceProvider):
    """Base of the dynamic providers: no instance state (each pickles as
    ``provider.entry_points.dynamic_provider(kind)``), credentials from ``configure()``."""

    kind: ClassVar[str]

    def configure(self, req: pulumi.dynamic.ConfigureRequest) -> None:
        """Remember the stack's ``anyreach:*`` config (module-level, never on this instance, which is pickled
        into state), and set up the provider host (:mod:`provider.host.provider_host`)."""
        provider_host.install()
        remember_configuration(req.config)


class AnyreachResource(pulumi.dynamic.Resource):
    """Base of the dynamic resources: every field of ``state_model`` is an output, so the engine registers
    each one (those that are not inputs are unknown until create or read fills them)."""

    state_model: ClassVar[type[BaseModel]]
    """The resource's State model: its inputs and its outputs, declared once."""

    def __init__(
        self,
        provider: AnyreachProvider,
        resource_name: str,
        inputs: dict[str, Any],
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        props = {
            output_name(name, field.alias): None for name, field in self.state_model.model_fields.items()
        }
        unknown = set(inputs) - set(props)
        if unknown:
            raise TypeError(f"{type(self).__name__}: {sorted(unknown)} are not fields of {self.state_model}")
        props.update(inputs)
        # The program runs in this deployment: say so to the provider host (provider.host.program_run).
        record_program_run()
        # And its process ends at once when the engine closes it (provider.host.program_exit).
        end_program_when_closed()
        super().__init__(provider, resource_name, props, opts)


def output_name(name: str, alias: str | None) -> str:
    """The key of a field in inputs and outputs: its alias if it has one (the API's field name)."""
    return alias or name
