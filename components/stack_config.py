"""The stack program's configuration: read every ``anyreach:*`` key, check it all, then build nothing.

``__main__.py`` calls :func:`load_stack_config` before it creates a single resource, so a mistake in
``Pulumi.<stack>.yaml`` fails the preview with one message that lists every problem, names the key and
says how to fix it, instead of failing halfway through an update.

Two shapes, exclusive::

    anyreach:domain: acme.com            # one domain
    anyreach:zoneId: 0123...cdef         # optional: publish in this Cloudflare zone

    anyreach:domains:                    # several domains
      - domain: acme.com
        zoneId: 0123...cdef
      - domain: agents.acme.com          # no zoneId: manual DNS
        verificationTimeoutSeconds: 3600

Stack-wide ``verificationTimeoutSeconds``, ``pollIntervalSeconds``, ``maxVerifyAttempts``, ``recordTtl``,
``protect`` and ``retainOnDelete`` apply to every domain unless an entry sets its own. The keys are
pydantic models over the field types of :mod:`components.fields` (the component's arguments use the same
ones), with camelCase aliases. ``token``, ``organization`` and ``baseUrl`` are read by the dynamic
providers' ``configure()``, never here (so no credential value passes through this module).

Exceptions::

    StackConfigError(ValueError)   one or more keys are missing, malformed or contradictory
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError

from components.fields import (
    DnsCheckOptions,
    DomainSettings,
    DomainTuning,
    VerifiedEmailDomainArgs,
    allows_mixed_scripts,
    check_lookalike,
    describe_problem,
    field_problems,
    is_blank,
    json_text,
    normalization_warning,
    problem,
)

__all__ = [
    "CREDENTIAL_KEYS",
    "DOMAIN_ENTRY_KEYS",
    "NAMESPACE",
    "STACK_KEYS",
    "DomainConfig",
    "StackConfig",
    "StackConfigError",
    "load_stack_config",
    "parse_stack_config",
]

NAMESPACE = "anyreach"
"""The project name, hence the namespace of the project's config keys."""

CREDENTIAL_KEYS = ("token", "organization", "baseUrl")
"""Keys the dynamic providers read in ``configure()``; the program never reads their values."""


class DomainEntry(DomainSettings):
    """One entry of ``anyreach:domains`` (also how ``anyreach:domain`` and its keys are checked)."""

    model_config = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)


def _alias(name: str) -> str:
    info = DomainEntry.model_fields.get(name)
    return info.alias if info is not None and info.alias else name


_SINGLE_DOMAIN_KEYS = ("domain", "zoneId", "dkimCnameTokens")
DOMAIN_ENTRY_KEYS = (*_SINGLE_DOMAIN_KEYS, *(_alias(name) for name in DomainTuning.model_fields))
"""Keys an entry of ``anyreach:domains`` may hold."""
_ENTRY_EXAMPLE = '[{"domain": "acme.com", "zoneId": "<zone id>"}]'


def _json_list(value: Any) -> Any:
    """Objects and lists arrive from the engine as JSON text (or already parsed: tests, other hosts)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise problem(
                f"is not valid JSON ({exc.msg}); write it as YAML in Pulumi.<stack>.yaml, "
                f"e.g. {_ENTRY_EXAMPLE}"
            ) from None
    if not isinstance(value, list):
        raise problem(f"must be a list of objects such as {_ENTRY_EXAMPLE}, not a {type(value).__name__}")
    return value


class _StackSettings(DomainTuning, DnsCheckOptions):
    """The stack-wide keys: the tuning every domain inherits unless its entry sets its own, the DNS check's
    options, then the stack's own keys. Field order is the order problems are reported in."""

    model_config = ConfigDict(extra="ignore", validate_by_alias=True, validate_by_name=False)

    allow_mixed_script_domains: Annotated[tuple[str, ...], BeforeValidator(json_text)] = Field(
        default=(), alias="allowMixedScriptDomains"
    )
    domains: Annotated[
        list[DomainEntry] | None, BeforeValidator(lambda v: None if is_blank(v) else _json_list(v))
    ] = None


STACK_KEYS = (
    *_SINGLE_DOMAIN_KEYS,
    *(_StackSettings.model_fields[name].alias or name for name in _StackSettings.model_fields),
    *CREDENTIAL_KEYS,
)
"""Every key of the ``anyreach`` namespace this project knows (without the ``anyreach:`` prefix)."""


class StackConfigError(ValueError):
    """The stack config cannot be used; ``problems`` holds one message per problem, each naming its key."""

    def __init__(self, problems: Sequence[str], warnings: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings)
        """Warnings found on the way (unknown keys): a typo there often explains a problem."""
        if len(self.problems) == 1:
            message = f"reading stack config: {self.problems[0]}"
        else:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            message = f"reading stack config: {len(self.problems)} problems:\n{listed}"
        super().__init__(message)


class DomainConfig(VerifiedEmailDomainArgs):
    """One domain the stack manages, validated: the component's arguments for it (each setting the entry's
    own, else the stack-wide one, else what an unset setting means), with ``allow_mixed_scripts`` set when
    ``anyreach:allowMixedScriptDomains`` lists the name."""

    @property
    def resource_name(self) -> str:
        """The component's logical name: the domain itself, so URNs and previews read naturally."""
        return self.domain

    def to_args(self) -> VerifiedEmailDomainArgs:
        """The component arguments for this domain (this config is one already)."""
        return self


@dataclass(frozen=True)
class StackConfig:
    """The whole validated configuration of the stack program."""

    domains: tuple[DomainConfig, ...]
    """The domains to manage, in config order, no duplicates."""
    warnings: tuple[str, ...] = field(default=())
    """Things that are allowed but probably wrong (an unknown ``anyreach:*`` key, a name that changed)."""
    dns: DnsCheckOptions = field(default_factory=DnsCheckOptions)
    """``anyreach:dnsCheck``, ``anyreach:dnsResolvers`` and ``anyreach:dnsNameserverPort``."""


def _full(key: str) -> str:
    return f"{NAMESPACE}:{key}"


def _key(location: Sequence[str | int], base: str = "") -> str:
    """``anyreach:domains[2].recordTtl`` from a pydantic location."""
    text = base
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return _full(text)


def _set_command(where: str, example: str) -> str:
    """The command that sets ``where`` (a list entry's key needs ``--path``) to ``example``."""
    path = "--path " if "[" in where else ""
    return f"`pulumi config set {path}'{where}' {example}`"


def _did_you_mean(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not close:
        close = [name for name in known if name.lower() == key.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _problems(error: ValidationError, base: str = "") -> list[str]:
    """Our messages for a validation error of the stack keys (``base`` prefixes single-domain keys)."""
    lines = []
    for found in field_problems(error, alias_of=_alias):
        where = _key(found.location, base)
        last = found.location[-1] if found.location else ""
        if found.kind == "extra_forbidden":
            lines.append(
                f"{where} is not a key of a domain entry{_did_you_mean(str(last), DOMAIN_ENTRY_KEYS)}; "
                f"known keys: {', '.join(DOMAIN_ENTRY_KEYS)}"
            )
        elif found.kind == "model_type" and isinstance(found.value, str):
            lines.append(
                f"{where} must be an object; write `- domain: {found.value}` instead of `- {found.value}`"
            )
        elif found.kind == "model_type":
            lines.append(f"{where} must be an object such as {{domain: acme.com, zoneId: <zone id>}}")
        elif found.example is not None:
            lines.append(
                f"{describe_problem(where, found.text)}; for example {_set_command(where, found.example)}"
            )
        else:
            lines.append(describe_problem(where, found.text))
    return lines


def _entries(
    ours: Mapping[str, Any], settings: _StackSettings | None, problems: list[str]
) -> list[tuple[str, DomainEntry, Any]]:
    """Every domain entry with its key prefix and the name as written."""
    single_set = not is_blank(ours.get("domain"))
    list_set = not is_blank(ours.get("domains"))
    if single_set and list_set:
        problems.append(
            f"both {_full('domain')} and {_full('domains')} are set; keep one: {_full('domain')} for one "
            f"domain, or {_full('domains')} (a list) for several"
        )
        return []
    if list_set:
        for key in ("zoneId", "dkimCnameTokens"):
            if not is_blank(ours.get(key)):
                problems.append(
                    f"{_full(key)} applies to {_full('domain')} only; with {_full('domains')}, set {key} in "
                    "each entry of the list"
                )
        raw = json_text(ours.get("domains"))
        entries = settings.domains if settings is not None and settings.domains is not None else []
        return [(f"domains[{index}]", entry, raw[index].get("domain")) for index, entry in enumerate(entries)]
    if single_set:
        raw_entry = {key: json_text(ours[key]) for key in _SINGLE_DOMAIN_KEYS if not is_blank(ours.get(key))}
        try:
            return [("", DomainEntry.model_validate(raw_entry), ours.get("domain"))]
        except ValidationError as exc:
            problems.extend(_problems(exc))
            return []
    problems.append(
        f"no domain is configured: run `pulumi config set {_full('domain')} acme.com` (add "
        f"`pulumi config set {_full('zoneId')} <zone id>` to publish the records in Cloudflare), or list "
        f"several under {_full('domains')} in Pulumi.<stack>.yaml"
    )
    return []


def parse_stack_config(values: Mapping[str, Any]) -> StackConfig:
    """Validate the stack config and return what the program builds; raise ``StackConfigError`` otherwise.

    ``values`` maps full keys (``anyreach:domain``) to their values as the engine passes them: text,
    with objects and lists as JSON text (already-parsed values are accepted too). Keys of other
    namespaces (``cloudflare:apiToken``...) are ignored, and their values never read.
    """
    prefix = f"{NAMESPACE}:"
    ours = {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}
    warnings = [
        f"{_full(key)} is not a key this project reads{_did_you_mean(key, STACK_KEYS)}; it is ignored"
        for key in sorted(ours)
        if key not in STACK_KEYS
    ]
    problems: list[str] = []
    stack_keys = {key: value for key, value in ours.items() if key not in CREDENTIAL_KEYS}
    settings: _StackSettings | None
    try:
        settings = _StackSettings.model_validate(stack_keys)
    except ValidationError as exc:
        problems.extend(_problems(exc))
        settings = None
    entries = _entries(ours, settings, problems)
    allowed = settings.allow_mixed_script_domains if settings is not None else ()
    domains: list[DomainConfig] = []
    first: dict[str, tuple[str, Any]] = {}
    for where_entry, entry, written in entries:
        domain_key = _full(f"{where_entry}.domain" if where_entry else "domain")
        try:
            check_lookalike(str(written), entry.domain, allowed)
        except ValueError as exc:
            problems.append(describe_problem(domain_key, str(exc)))
            continue
        warning = normalization_warning(domain_key, str(written), entry.domain)
        if warning is not None:
            warnings.append(warning)
        if entry.domain in first:
            other_key, other_written = first[entry.domain]
            problems.append(
                f"{domain_key} repeats {entry.domain} (already {other_key.removesuffix('.domain')}); "
                f"list each domain once (written {written!r} here and {other_written!r} there)"
            )
            continue
        first[entry.domain] = (domain_key, written)
        if settings is not None:
            domains.append(_domain_config(entry, settings, allowed, written))
    if problems:
        raise StackConfigError(problems, warnings)
    assert settings is not None
    return StackConfig(
        domains=tuple(domains),
        warnings=tuple(warnings),
        # Already validated: the stack settings are DNS check options too.
        dns=DnsCheckOptions.model_construct(
            **{name: getattr(settings, name) for name in DnsCheckOptions.model_fields}
        ),
    )


def _domain_config(
    entry: DomainEntry, stack: _StackSettings, allowed: Sequence[str], written: Any
) -> DomainConfig:
    """An entry's own values, else the stack-wide ones (every setting of ``DomainTuning``)."""
    inherited = {
        name: getattr(stack, name) for name in DomainTuning.model_fields if getattr(entry, name) is None
    }
    return DomainConfig.model_validate(
        {
            **entry.model_dump(),
            **inherited,
            "allow_mixed_scripts": allows_mixed_scripts(str(written), entry.domain, allowed),
        }
    )


def load_stack_config() -> StackConfig:
    """Read the running stack's config (every ``anyreach:*`` key) and parse it; see ``parse_stack_config``."""
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {}
    # The language host passes the whole config in PULUMI_CONFIG and loads it into the runtime; read both
    # so that no key is missed, then normalize the legacy `anyreach:config:key` spelling.
    merged.update(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    values: dict[str, Any] = {}
    for key, value in merged.items():
        namespace, _, rest = key.partition(":")
        if rest.startswith("config:"):
            rest = rest[len("config:") :]
        if namespace == NAMESPACE and rest not in CREDENTIAL_KEYS:
            values[f"{namespace}:{rest}"] = value
        elif namespace == NAMESPACE:
            # Present, but its value (a token, perhaps) stays out of this module.
            values[f"{namespace}:{rest}"] = None
    return parse_stack_config(values)
