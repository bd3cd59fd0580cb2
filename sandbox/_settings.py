"""Every setting of the sandbox, defined once as a pydantic field.

A field's bounds validate it (at start-up and on every admin update), its description documents it
(``--help`` and the flag table of sandbox/README.md, printed by ``python -m sandbox --flags-markdown``)
and its ``json_schema_extra`` names its command-line flag. Nothing else lists the settings.

SandboxSettings     run-time settings, read and changed through ``/_sandbox/settings``
FaultSettings       injected faults, read and changed through ``/_sandbox/faults``
SettingsError       a rejected value or key; the message names the key and what is accepted

``updated(current, changes, what)`` applies a partial update (all or nothing);
``add_arguments(parser, model)``, ``arguments_to_fields(namespace)`` and ``flags_markdown(model)``
derive the command line and its documentation from a model's fields.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

__all__ = [
    "FaultSettings",
    "SandboxSettings",
    "SettingsError",
    "add_arguments",
    "arguments_to_fields",
    "cli",
    "describe_validation_error",
    "flags_markdown",
    "updated",
]

ModelT = TypeVar("ModelT", bound=BaseModel)


def cli(
    flag: str,
    metavar: str | tuple[str, ...] | None = None,
    *,
    shown_default: str | None = None,
    unit: str | None = None,
    null_means: str | None = None,
) -> dict[str, Any]:
    """Field metadata (``json_schema_extra``) that puts a field on the command line.

    ``flag`` and ``metavar`` as argparse takes them; ``shown_default`` replaces the default in the
    docs (e.g. ``off``); ``unit`` and ``null_means`` complete the "what is accepted" text of errors.
    """
    extra: dict[str, Any] = {"flag": flag}
    for key, value in (
        ("metavar", list(metavar) if isinstance(metavar, tuple) else metavar),
        ("shown_default", shown_default),
        ("unit", unit),
        ("null_means", null_means),
    ):
        if value is not None:
            extra[key] = value
    return extra


class SettingsError(ValueError):
    """A setting was refused: an unknown key or a value out of bounds (nothing was applied)."""


class SandboxSettings(BaseModel):
    """Timings and behaviour that ``/_sandbox/settings`` reads and changes at run time.

    Each field is documented by its ``description`` (also the ``--help`` text and the README row).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)

    propagation_delay: float = Field(
        5.0,
        ge=0,
        strict=True,
        description=(
            "seconds from publishing a record to the sandbox DNS serving it (and verification seeing it)"
        ),
        json_schema_extra=cli("--propagation-delay", "SECONDS", unit="seconds"),
    )
    verify_window: float = Field(
        300.0,
        gt=0,
        strict=True,
        description="how long a verification attempt lasts; records not verified before its end fail",
        json_schema_extra=cli("--verify-window", "SECONDS", unit="seconds"),
    )
    auto_publish: bool = Field(
        False,
        strict=True,
        description="publish every record in the sandbox DNS right after registration",
        json_schema_extra=cli("--auto-publish"),
    )
    check_delay: float = Field(
        1.0,
        ge=0,
        strict=True,
        description=(
            "the provider checks asynchronously: a domain stays pending at least this long after verify"
        ),
        json_schema_extra=cli("--check-delay", "SECONDS", unit="seconds"),
    )
    negative_cache: float = Field(
        0.0,
        ge=0,
        strict=True,
        description=(
            "the provider remembers a miss: a record not visible when verify is called cannot verify "
            "until this long after the call"
        ),
        json_schema_extra=cli("--negative-cache", "SECONDS", unit="seconds"),
    )


class FaultSettings(BaseModel):
    """The faults injected now, read and changed through ``/_sandbox/faults``.

    Each field is documented by its ``description`` (also the ``--help`` text and the README row).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)

    rate_limit_rps: float | None = Field(
        None,
        gt=0,
        strict=True,
        description="requests per second across the server: a token bucket (burst max(1, RPS)), 429 above it",
        json_schema_extra=cli("--rate-limit", "RPS", shown_default="off", null_means="turns the limit off"),
    )
    error_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        strict=True,
        description="share of public requests answered 500/502/503, decided before any side effect",
        json_schema_extra=cli("--error-rate", "FRACTION"),
    )
    latency_ms: float = Field(
        0.0,
        ge=0,
        strict=True,
        description="delay added to every public request",
        json_schema_extra=cli("--latency-ms", "MS", unit="milliseconds"),
    )
    drop_register_responses: int = Field(
        0,
        ge=0,
        strict=True,
        description="commit the next N registrations, then cut the connection instead of answering",
        json_schema_extra=cli("--drop-register-responses", "N"),
    )
    dns_truncate_udp: bool = Field(
        False,
        strict=True,
        description="answer every UDP DNS query with TC set and no records, so that clients retry over TCP",
        json_schema_extra=cli("--dns-truncate-udp"),
    )


# -- validation messages ------------------------------------------------------------------------------


def updated(current: ModelT, changes: Mapping[str, object], what: str) -> ModelT:
    """``current`` with ``changes`` applied, validated as a whole; raise ``SettingsError`` otherwise.

    ``what`` names one item in messages (``setting``, ``fault``). ``current`` is never modified.
    """
    model = type(current)
    try:
        return model.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc, model, what=what)) from exc


def describe_validation_error(
    error: ValidationError, model: type[BaseModel], *, what: str = "setting", flags: bool = False
) -> str:
    """One sentence per problem, naming the key (and its flag when ``flags``) and what it accepts."""
    problems = []
    for item in error.errors():
        key = str(item["loc"][0]) if item["loc"] else ""
        field = model.model_fields.get(key)
        if item["type"] == "extra_forbidden" or field is None:
            known = ", ".join(name for name in model.model_fields if _has_flag(model.model_fields[name]))
            problems.append(f"unknown {what} {key!r}: known {what}s are {known}")
            continue
        label = key
        flag = _extra(field).get("flag")
        if flags and flag:
            label = f"{key} ({flag})"
        accepted = accepted_values(field)
        if accepted is None:  # a field without a simple rule, e.g. credentials: pydantic's reason
            reason = item["msg"].removeprefix("Value error, ")
            problems.append(f"{label}: {reason}")
        else:
            problems.append(f"{label} must be {accepted}, not {item['input']!r}")
    return "; ".join(problems)


def accepted_values(field: FieldInfo) -> str | None:
    """What a field accepts, in words (``a number of seconds >= 0``), or None for complex fields."""
    optional, base = _unwrap_optional(field.annotation)
    extra = _extra(field)
    if base is bool:
        text = "true or false"
    elif base is int:
        text = "an integer"
    elif base is float:
        text = f"a number of {extra['unit']}" if "unit" in extra else "a number"
    elif base is str:
        text = "a non-empty text" if _bounds(field).get("min_length") else "a text"
    else:
        return None
    bounds = _bounds(field)
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    if "ge" in bounds and "le" in bounds:
        text += f" between {_number(low)} and {_number(high)}"
    else:
        if low is not None:
            text += f" {'>=' if 'ge' in bounds else '>'} {_number(low)}"
        if high is not None:
            text += f"{',' if low is not None else ''} {'<=' if 'le' in bounds else '<'} {_number(high)}"
    if optional:
        text += f", or null ({extra.get('null_means', 'none')})"
    return text


def _bounds(field: FieldInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in field.metadata:
        for name in ("ge", "gt", "le", "lt", "min_length"):
            if isinstance(item, annotated_types.BaseMetadata) and hasattr(item, name):
                found[name] = getattr(item, name)
    return found


def _unwrap_optional(annotation: Any) -> tuple[bool, Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return True, args[0]
    return False, annotation


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _extra(field: FieldInfo) -> dict[str, Any]:
    extra = field.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _has_flag(field: FieldInfo) -> bool:
    return "flag" in _extra(field)


# -- command line -------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, model: type[BaseModel]) -> None:
    """One argparse option per field of ``model`` that has a flag, in field order.

    Options default to "not given" (``argparse.SUPPRESS``) so that the model's own defaults apply;
    ``arguments_to_fields`` turns the parsed namespace into keyword arguments of the model.
    """
    for name, field in model.model_fields.items():
        extra = _extra(field)
        if "flag" not in extra:
            continue
        help_text = field.description or ""
        _, base = _unwrap_optional(field.annotation)
        options: dict[str, Any] = {"dest": name, "default": argparse.SUPPRESS}
        if base is bool:
            options["action"] = "store_true"
        elif typing.get_origin(base) is tuple:
            metavar = tuple(extra.get("metavar", ()))
            options.update(action="append", nargs=len(metavar), metavar=metavar)
        else:
            options["type"] = base if base in (int, float, str, Path) else str
            if "metavar" in extra:
                options["metavar"] = extra["metavar"]
            if shown_default(field):
                help_text += f" (default: {shown_default(field)})"
        parser.add_argument(extra["flag"], help=help_text.replace("%", "%%"), **options)


def arguments_to_fields(namespace: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line, keyed by field name (absent ones left out)."""
    return dict(vars(namespace))


def shown_default(field: FieldInfo) -> str:
    """The default as the docs show it: ``off``/``none`` for empty ones, numbers without ``.0``."""
    extra = _extra(field)
    if "shown_default" in extra:
        return str(extra["shown_default"])
    default = field.get_default(call_default_factory=True)
    if default is False:
        return "off"
    if default is None or default == ():
        return "none"
    return _number(default)


def flags_markdown(model: type[BaseModel]) -> str:
    """The README's flag table: one row per flag of ``model``, from the same field definitions."""
    rows = ["| flag | default | effect |", "|---|---|---|"]
    for field in model.model_fields.values():
        extra = _extra(field)
        if "flag" not in extra:
            continue
        metavar = extra.get("metavar")
        words = [extra["flag"], *([metavar] if isinstance(metavar, str) else metavar or [])]
        shown = shown_default(field)
        default = f"`{shown}`" if shown else ""
        rows.append(f"| `{' '.join(words)}` | {default} | {field.description} |")
    return "\n".join(rows) + "\n"
