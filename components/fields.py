"""The settings of a verified email domain, defined once for the component's arguments and the stack config.

Each field is a pydantic ``Annotated`` type whose validator states its rule once (the TTL bounds, what a
zone id looks like, which numbers are accepted, how a domain is normalized). ``VerifiedEmailDomainArgs``
uses them with Python names, the stack config with camelCase keys; :func:`describe_errors` turns a
pydantic error into lines that name the key the way the caller wrote it
(``anyreach:domains[2].recordTtl is 10: use 1 (automatic) ...``) and, for stack config, add the command
that sets it.

Every message is written relative to its key: ``<key> is 'soon', not a positive number of seconds``; a
message that starts with ``:`` follows the key directly (``<key>: domain 'x' must not ...``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from provider.dns.checker import DnsCheckMode, Endpoint, InvalidEndpointError, parse_resolvers
from provider.rules.domain_name import PLATFORM_DOMAIN, InvalidDomainError, canonical_domain, normalize_domain
from provider.rules.lookalikes import describe_normalization, mixed_script_labels
from provider.rules.records import host_name
from provider.verify.poller import DEFAULT_MAX_VERIFY_ATTEMPTS, DEFAULT_VERIFICATION_TIMEOUT_SECONDS

__all__ = [
    "AUTOMATIC_TTL",
    "DEFAULT_COMMENT_PREFIX",
    "MAX_TTL",
    "MIN_TTL",
    "DkimTokens",
    "DnsCheckField",
    "DnsCheckOptions",
    "DnsResolvers",
    "DomainName",
    "DomainSettings",
    "DomainTuning",
    "Flag",
    "NameserverPort",
    "PositiveSeconds",
    "PositiveWholeNumber",
    "RecordTtl",
    "TunesVerification",
    "VerifiedEmailDomainArgs",
    "WhenUnset",
    "ZoneId",
    "allows_mixed_scripts",
    "check_lookalike",
    "describe_errors",
    "describe_problem",
    "field_problems",
    "fields_marked",
    "is_blank",
    "json_text",
    "normalization_warning",
    "problem",
]

AUTOMATIC_TTL = 1
"""Cloudflare's "automatic" TTL."""
MIN_TTL = 30
"""Shortest explicit TTL Cloudflare accepts, in seconds."""
MAX_TTL = 86400
"""Longest TTL Cloudflare accepts, in seconds."""
DEFAULT_COMMENT_PREFIX = "anyreach"
"""First word of every Cloudflare record comment, so records the component owns are easy to spot."""

_ZONE_ID = re.compile(r"^[0-9a-f]{32}$")


def is_blank(value: Any) -> bool:
    """Whether a value means "not set": None, an empty or blank string, an empty list, or the JSON text
    ``[]`` (Pulumi.yaml declares optional keys with empty defaults, which the engine passes as text)."""
    if isinstance(value, str):
        return value.strip() in ("", "[]")
    return value is None or value == []


def problem(text: str, example: str | None = None) -> PydanticCustomError:
    """A validation error whose message is ``text`` (relative to the key); ``example`` is a value the
    stack config's ``pulumi config set`` hint may show."""
    context: dict[str, Any] = {"text": text}
    if example is not None:
        context["example"] = example
    return PydanticCustomError("anyreach", "{text}", context)


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply ``check`` to set values; blank values mean unset (None)."""

    def validate(value: Any) -> Any:
        return None if is_blank(value) else check(value)

    return validate


def _number(value: Any, *, whole: bool, example: str) -> float | int:
    """A positive number (or whole number) from a number or its text."""
    parsed: float | None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int | float):
        parsed = float(value)
    else:
        try:
            parsed = float(str(value).strip())
        except ValueError:
            parsed = None
    if parsed is None or not math.isfinite(parsed) or parsed <= 0 or (whole and not parsed.is_integer()):
        kind = "a positive whole number" if whole else "a positive number of seconds"
        raise problem(f"is {value!r}, not {kind}", example)
    return int(parsed) if whole else parsed


def _seconds(example: str) -> BeforeValidator:
    return BeforeValidator(_optional(lambda value: _number(value, whole=False, example=example)))


def _whole(example: str) -> BeforeValidator:
    return BeforeValidator(_optional(lambda value: _number(value, whole=True, example=example)))


# The examples of `pulumi config set` hints: the verification's own defaults where they make a good one.
PositiveSeconds = Annotated[float | None, _seconds(f"{DEFAULT_VERIFICATION_TIMEOUT_SECONDS:g}")]
"""A positive number of seconds (fractions allowed); unset is None."""
PollSeconds = Annotated[float | None, _seconds("5")]
"""A poll interval: a positive number of seconds; unset is None."""
PositiveWholeNumber = Annotated[int | None, _whole(str(DEFAULT_MAX_VERIFY_ATTEMPTS))]
"""A positive whole number; unset is None."""


def _ttl(value: Any) -> int:
    number = int(_number(value, whole=True, example="1"))
    if not (number == AUTOMATIC_TTL or MIN_TTL <= number <= MAX_TTL):
        raise problem(
            f"is {number}: use {AUTOMATIC_TTL} (automatic) or a whole number of seconds in "
            f"{MIN_TTL}..{MAX_TTL}"
        )
    return number


RecordTtl = Annotated[int | None, BeforeValidator(_optional(_ttl))]
"""TTL of the Cloudflare records: 1 (automatic) or 30..86400 seconds; unset is None."""


def _zone_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # an Output (component arguments): known only at run time, Cloudflare checks it
    if not _ZONE_ID.match(value.strip().lower()):
        # The value is not echoed: a pasted API token in the wrong key must not reach a log.
        raise problem(
            f"is not a Cloudflare zone id (expected 32 hexadecimal characters, got {len(value)}); copy the "
            "Zone ID from the zone's Overview page in the Cloudflare dashboard, or remove the key to publish "
            "the records by hand"
        )
    return value.strip().lower()


ZoneId = Annotated[Any, BeforeValidator(_optional(_zone_id))]
"""A Cloudflare zone id (32 hex characters, lowercased) or an Output of one; unset is None."""


def _domain(value: Any) -> str:
    if is_blank(value):
        raise problem("is missing or empty; set it to the domain to manage, such as 'acme.com'")
    if not isinstance(value, str):
        raise problem("must be a domain name as text, such as 'acme.com'")
    if canonical_domain(value) == PLATFORM_DOMAIN:
        return PLATFORM_DOMAIN
    try:
        return normalize_domain(value)
    except InvalidDomainError as exc:
        raise problem(f": {exc}") from exc


DomainName = Annotated[str, BeforeValidator(_domain)]
"""A domain name in the API's canonical form, or the platform domain ``agents.anyreach.ai``."""


def _tokens(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and item.strip() for item in value
    ):
        raise problem('must be a list of DKIM CNAME tokens, such as ["token1", "token2", "token3"]')
    return tuple(item.strip().lower() for item in value)


DkimTokens = Annotated[tuple[str, ...] | None, BeforeValidator(_optional(_tokens))]
"""Tokens of legacy DKIM CNAME records; unset is None."""


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise problem(f"is {value!r}, not true or false", "true")


Flag = Annotated[bool | None, BeforeValidator(_optional(_flag))]
"""true or false (also as text); unset is None."""


def _dns_check(value: Any) -> DnsCheckMode:
    try:
        return DnsCheckMode.parse(value)
    except ValueError:
        modes = ", ".join(mode.value for mode in DnsCheckMode)
        raise problem(f"is {value!r}; use one of {modes}", DnsCheckMode.AUTHORITATIVE.value) from None


DnsCheckField = Annotated[DnsCheckMode | None, BeforeValidator(_optional(_dns_check))]
"""How the DNS records are checked before verification is initiated; unset is None."""


def _resolvers(value: Any) -> tuple[Endpoint, ...]:
    items = value if isinstance(value, list | tuple) else None
    if items is None:
        raise problem('must be a list of resolvers such as ["1.1.1.1", "127.0.0.1:5353"]')
    try:
        return parse_resolvers([str(item) for item in items])
    except InvalidEndpointError as exc:
        raise problem(f"has {exc.text!r}: {exc}") from exc


DnsResolvers = Annotated[tuple[Endpoint, ...] | None, BeforeValidator(_optional(_resolvers))]
"""DNS resolvers as ``host[:port]``; unset (None) means the system's."""


def _port(value: Any) -> int:
    number = int(_number(value, whole=True, example="53"))
    if number > 65535:
        raise problem(f"is {number}, not a port number (1..65535)", "53")
    return number


NameserverPort = Annotated[int | None, BeforeValidator(_optional(_port))]
"""The port the authoritative nameservers answer on (53 on the Internet); unset is None."""


def json_text(value: Any) -> Any:
    """A list or object the engine passed as JSON text, parsed (anything else as it is)."""
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


class DnsCheckOptions(BaseModel):
    """How a verification group checks the records in DNS before it initiates verification: settings the
    stack config gives stack-wide (camelCase keys) and :class:`components.VerificationGroup` takes as
    keywords. Declared here once; the group's resource receives them as :meth:`group_inputs`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    dns_check: DnsCheckField = Field(default=None, alias="dnsCheck")
    """``authoritative``, ``recursive`` or ``off``; None keeps the verification's default (authoritative)."""
    dns_resolvers: Annotated[DnsResolvers, BeforeValidator(json_text)] = Field(
        default=None, alias="dnsResolvers"
    )
    """Resolvers for the zone walk (or the checks in ``recursive`` mode); None means the system's."""
    dns_nameserver_port: NameserverPort = Field(default=None, alias="dnsNameserverPort")
    """Port the authoritative nameservers answer on; None means 53."""

    def group_inputs(self) -> dict[str, Any]:
        """The ``DomainVerificationGroup`` inputs: the mode and resolvers as text (as state keeps them)."""
        return {
            "dns_check": self.dns_check.value if self.dns_check is not None else None,
            "dns_resolvers": [str(resolver) for resolver in self.dns_resolvers]
            if self.dns_resolvers is not None
            else None,
            "dns_nameserver_port": self.dns_nameserver_port,
        }


def allows_mixed_scripts(written: str, canonical: str, allowed: Iterable[str]) -> bool:
    """Whether ``allowed`` (``anyreach:allowMixedScriptDomains``) lists the name, as written or canonical."""
    allow = {str(item).strip().lower() for item in allowed}
    return bool({written.strip().lower(), canonical} & allow)


def check_lookalike(written: str, canonical: str, allowed: Iterable[str]) -> None:
    """Refuse a name with a label that mixes scripts the way lookalikes do (UTS 39 "highly restrictive"),
    unless ``allowed`` lists it (by its written or canonical form).

    Raises:
        ValueError: relative to the domain's key, naming each label, its scripts and the fix.
    """
    if canonical == PLATFORM_DOMAIN or allows_mixed_scripts(written, canonical, allowed):
        return
    labels = mixed_script_labels(canonical)
    if labels:
        listing = "; ".join(label.describe() for label in labels)
        raise ValueError(
            f"is {written!r} (registered as {canonical}), whose labels mix scripts the way lookalike names "
            f"do: {listing}. If it is really the name you mean, list it in anyreach:allowMixedScriptDomains "
            "(component argument allow_mixed_scripts=True); otherwise type the name again in one script"
        )


def normalization_warning(where: str, written: str, canonical: str) -> str | None:
    """A warning when the registered name differs from the written one by more than case or a trailing
    dot (invisible characters removed, lookalike characters mapped, Unicode turned into punycode)."""
    change = describe_normalization(written, canonical)
    if change is not None:
        return f"{where}: {change.describe()}"
    if host_name(written) != canonical:
        # Only case changed in Unicode labels; the API, DNS and the stack still show the punycode form.
        return f"{where}: {written!r} is registered as {canonical}, its ASCII (punycode) form"
    return None


@dataclass(frozen=True)
class WhenUnset:
    """Field metadata: what a setting means when neither its domain nor the stack sets it (the component
    arguments resolve it; the stack config leaves it unset until a domain inherits nothing)."""

    value: Any
    """The value an unset setting takes."""


@dataclass(frozen=True)
class TunesVerification:
    """Field metadata: the setting is the verification member's field ``member_field`` (one of
    :class:`provider.resources.verification_tuning.VerificationTuning`'s), under the component's name."""

    member_field: str
    """The name of the field in the verification member."""


Marker = TypeVar("Marker")


def fields_marked(model: type[BaseModel], kind: type[Marker]) -> dict[str, Marker]:
    """The fields of ``model`` that carry metadata of ``kind`` (``WhenUnset``, ``TunesVerification``),
    with it."""
    return {
        name: marker
        for name, info in model.model_fields.items()
        for marker in info.metadata
        if isinstance(marker, kind)
    }


class DomainTuning(BaseModel):
    """How a domain is published, verified and kept: settings a stack config may give stack-wide and per
    domain, and the component takes as arguments (camelCase aliases for the stack config).

    Each setting is declared here once: its rule (the field type), its stack-config key (the alias), what
    it means when unset (``WhenUnset``; None otherwise: the verification's default) and, for the
    verification's settings, the member field it sets (``TunesVerification``). The component arguments
    (:class:`VerifiedEmailDomainArgs`), the stack config (:mod:`components.stack_config`) and the
    verification member (:meth:`verification_tuning`) are derived from these fields.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    verification_timeout_seconds: Annotated[PositiveSeconds, TunesVerification("timeout_seconds")] = Field(
        default=None, alias="verificationTimeoutSeconds"
    )
    """How long ``pulumi up`` waits for the domain to verify (DNS check included)."""
    poll_interval_seconds: Annotated[PollSeconds, TunesVerification("poll_interval_seconds")] = Field(
        default=None, alias="pollIntervalSeconds"
    )
    """First pause between initiating verification and reading its status."""
    max_verify_attempts: Annotated[PositiveWholeNumber, TunesVerification("max_verify_attempts")] = Field(
        default=None, alias="maxVerifyAttempts"
    )
    """How many times verification may be initiated."""
    ttl: Annotated[RecordTtl, WhenUnset(AUTOMATIC_TTL)] = Field(default=None, alias="recordTtl")
    """TTL of the Cloudflare records in seconds: 1 (automatic, the default) or 30..86400."""
    protect: Annotated[Flag, WhenUnset(False)] = None
    """Pulumi ``protect`` on the registered domain and its records: ``pulumi destroy`` and removals fail."""
    retain_on_delete: Annotated[Flag, WhenUnset(False)] = Field(default=None, alias="retainOnDelete")
    """Pulumi ``retainOnDelete`` on the registered domain and its records: removing the component (or
    destroying the stack) leaves the domain registered and its records published."""

    def verification_tuning(self) -> dict[str, Any]:
        """The settings that tune the verification, by the verification member's field names; unset ones
        are left out, so that the verification keeps its defaults."""
        tuning = fields_marked(type(self), TunesVerification).items()
        values = {marker.member_field: getattr(self, name) for name, marker in tuning}
        return {name: value for name, value in values.items() if value is not None}


class DomainSettings(DomainTuning):
    """The settings of one verified email domain, shared by the component's arguments (Python names) and
    the entries of the stack config (camelCase keys); each rule lives in the field types above."""

    # Required: the default is validated, so a missing domain gets the same message as an empty one.
    domain: DomainName = Field(default="", validate_default=True)
    """The domain to send and receive on, such as ``acme.com`` (lowercased, Unicode converted to
    punycode). ``agents.anyreach.ai`` selects the platform domain: nothing is registered or published."""
    zone_id: ZoneId = Field(default=None, alias="zoneId")
    """Cloudflare zone id (32 hex characters, or an Output) that holds the domain; the records are
    published there. None selects manual DNS mode: the records are outputs to publish anywhere."""
    dkim_cname_tokens: DkimTokens = Field(default=None, alias="dkimCnameTokens")
    """For domains registered before the single DKIM TXT record, the tokens of the legacy
    ``<token>._domainkey`` CNAME records, published instead of the DKIM TXT record."""

    @model_validator(mode="after")
    def _platform_domain_has_no_zone(self) -> DomainSettings:
        if self.domain == PLATFORM_DOMAIN and self.zone_id is not None:
            raise PydanticCustomError(
                "anyreach",
                "{text}",
                {
                    "text": f"is set for {PLATFORM_DOMAIN}, the platform's default domain, which needs no "
                    "DNS records; remove the {field}",
                    "at": "zone_id",
                },
            )
        return self


class VerifiedEmailDomainArgs(DomainSettings):
    """The arguments of a ``VerifiedEmailDomain`` (the settings above, by their Python names, plus the
    component's own), each unset setting resolved to its ``WhenUnset`` value (``ttl`` 1, the Pulumi
    options off).

    Only ``domain`` and ``zone_id`` decide what exists; every other field can change later without
    replacing the registered domain or any DNS record.
    """

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=False, loc_by_alias=False, extra="forbid"
    )

    email_provider: str | None = None
    """Email provider the platform registers the domain with; None keeps the platform's default (resend).
    Changing it registers the domain again."""
    comment_prefix: str = DEFAULT_COMMENT_PREFIX
    """First words of each Cloudflare record comment; the comment goes on with the purpose and domain."""
    allow_mixed_scripts: bool = False
    """Accept a name whose labels mix scripts the way lookalike names do (UTS 39); off by default."""

    @model_validator(mode="before")
    @classmethod
    def _resolve_unset(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        unset = {name: marker.value for name, marker in fields_marked(cls, WhenUnset).items()}
        return {**data, **{name: value for name, value in unset.items() if is_blank(data.get(name))}}

    @model_validator(mode="wrap")
    @classmethod
    def _no_lookalike(cls, data: Any, handler: Any) -> VerifiedEmailDomainArgs:
        args: VerifiedEmailDomainArgs = handler(data)
        written = data.get("domain") if isinstance(data, Mapping) else args.domain
        try:
            check_lookalike(str(written), args.domain, [args.domain] if args.allow_mixed_scripts else [])
        except ValueError as exc:
            raise ValueError(f"domain {exc}") from None
        return args


@dataclass(frozen=True)
class FieldProblem:
    """One validation problem: where (the key path as pydantic reports it) and the message."""

    location: tuple[str | int, ...]
    """Where, as pydantic reports it (field names or aliases, list indexes)."""
    text: str
    """The message, relative to the key."""
    example: str | None
    """A value to show in a ``pulumi config set`` hint, if the rule offers one."""
    kind: str
    """pydantic's error type (``anyreach`` for ours, ``extra_forbidden``, ``missing``...)."""
    value: Any
    """The value that was refused."""


def field_problems(
    error: ValidationError, alias_of: Callable[[str], str] = lambda name: name
) -> list[FieldProblem]:
    """The problems of a pydantic error, with our messages (pydantic's own for what we did not write).

    A model-level rule names the field it is about (context ``at``); ``alias_of`` turns that field name
    into the key the caller wrote.
    """
    problems = []
    for item in error.errors():
        context = item.get("ctx") or {}
        text = str(context.get("text") or "") or _pydantic_text(item)
        location = tuple(item["loc"])
        if context.get("at"):
            key = alias_of(str(context["at"]))
            location += (key,)
            text = text.replace("{field}", key)
        problems.append(
            FieldProblem(location, text, context.get("example"), str(item.get("type", "")), item.get("input"))
        )
    return problems


def _pydantic_text(item: Any) -> str:
    kind = item.get("type", "")
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return "is not a known key"
    return f"is {item.get('input')!r}: {item.get('msg')}"


def describe_problem(where: str, text: str) -> str:
    """``<key> <message>``, or ``<key>: <message>`` for messages that start with a colon."""
    separator = "" if text.startswith(":") else " "
    return f"{where}{separator}{text}"


def describe_errors(error: ValidationError, key: Callable[[Sequence[str | int]], str]) -> list[str]:
    """One line per problem, ``<key> <message>``, with ``key`` rendering a pydantic location."""
    return [describe_problem(key(problem.location), problem.text) for problem in field_problems(error)]
