"""Each dynamic resource's ``pulumi.Output`` annotations (what type checkers and users see) agree with its
State model (what the engine registers and stores): the same outputs, of the same types."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import pkgutil
import sys
import types
import typing
from typing import Any

import pulumi
import pytest
from pydantic import BaseModel

import provider.resources
from provider.resources.base import AnyreachResource, output_name


def _resources() -> list[type[AnyreachResource]]:
    for module in pkgutil.iter_modules(provider.resources.__path__):
        importlib.import_module(f"provider.resources.{module.name}")
    resources = [cls for cls in AnyreachResource.__subclasses__() if cls.__module__.startswith("provider.")]
    return sorted(resources, key=lambda cls: cls.__name__)


def stored_type(annotation: Any) -> Any:
    """The type of an output that holds a field of type ``annotation``, as the engine returns it (JSON:
    models and dataclasses become dicts, enums their values)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(stored_type(arg) for arg in args)]  # noqa: UP007 - built from a tuple
    if origin is list:
        return list[stored_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[str, stored_type(args[1])]  # type: ignore[misc]
    if isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)
    ):
        return dict[str, Any]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str
    return annotation


def declared_outputs(resource: type[AnyreachResource]) -> dict[str, Any]:
    """The resource class's own ``pulumi.Output[...]`` annotations: name -> the type inside ``Output``."""
    # Only this class's own annotations: the SDK's base classes hold some that do not evaluate.
    namespace = vars(sys.modules[resource.__module__])
    outputs = {}
    for name, text in vars(resource).get("__annotations__", {}).items():
        hint = eval(text, namespace) if isinstance(text, str) else text  # noqa: S307 - our own source
        if typing.get_origin(hint) is pulumi.Output:
            (inner,) = typing.get_args(hint)
            outputs[name] = stored_type(inner)
    return outputs


def state_outputs(resource: type[AnyreachResource]) -> dict[str, Any]:
    """The outputs the State model makes: key (alias or name) -> stored type."""
    return {
        output_name(name, field.alias): stored_type(field.annotation)
        for name, field in resource.state_model.model_fields.items()
    }


def test_every_resource_of_the_package_is_checked() -> None:
    assert [resource.__name__ for resource in _resources()] == [
        "DomainVerification",
        "DomainVerificationGroup",
        "EmailDomain",
    ]


@pytest.mark.parametrize("resource", _resources(), ids=lambda resource: resource.__name__)
def test_output_annotations_are_the_state_models_fields(resource: type[AnyreachResource]) -> None:
    assert declared_outputs(resource) == state_outputs(resource)
