"""Resource inputs as the engine sends them: values not known yet (preview) and the validation of the rest.

During a preview, inputs that depend on resources not created yet arrive as ``pulumi.output.Unknown`` (or
the engine's unknown sentinel string). ``check`` must let them pass and validate everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi.dynamic
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN as UNKNOWN_SENTINEL
from pydantic import BaseModel, ValidationError

__all__ = ["check_failures", "contains_unknown"]


def contains_unknown(value: Any) -> bool:
    """Whether ``value`` is, or holds, a value the engine does not know yet (preview only)."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN_SENTINEL
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(item) for item in value)
    return False


def check_failures(model: type[BaseModel], inputs: Mapping[str, Any]) -> list[pulumi.dynamic.CheckFailure]:
    """Validate the known inputs against ``model``; unknown ones (preview) pass unchecked.

    Returns one failure per offending property, named as the input is named.
    """
    fields = model.model_fields
    unknown = {name for name in fields if contains_unknown(inputs.get(name))}
    known = {name: value for name, value in inputs.items() if name in fields and name not in unknown}
    try:
        model.model_validate(known)
    except ValidationError as exc:
        failures: dict[str, str] = {}
        for error in exc.errors():
            prop = str(error["loc"][0]) if error["loc"] else "inputs"
            if prop in unknown:
                continue  # "missing" only because it is not known yet
            where = ".".join(str(part) for part in error["loc"][1:])
            reason = f"{where}: {error['msg']}" if where else str(error["msg"])
            failures.setdefault(prop, f"{prop}: {reason}")
        return [pulumi.dynamic.CheckFailure(prop, reason) for prop, reason in failures.items()]
    return []
