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

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from provider.dns.checker import DnsCheckMode, Endpoint, parse_endpoint
from provider.rules.domain_name import PLATFORM_DOMAIN, InvalidDomainError, canonical_domain, normalize_domain
from provider.rules.lookalikes import describe_normalization, mixed_script_labels
from provider.rules.records import host_name

__all__ = [
    "AUTOMATIC_TTL",
    "MAX_TTL",
    "MIN_TTL",
    "DkimTokens",
    "DnsCheckField",
    "DnsResolvers",
    "DomainName",
    "DomainSettings",
    "Flag",
    "NameserverPort",
    "PositiveSeconds",
    "PositiveWholeNumber",
    "RecordTtl",
    "ZoneId",
    "allows_mixed_scripts",
    "check_lookalike",
    "describe_errors",
    "describe_problem",
    "field_problems",
    "is_blank",
    "normalization_warning",
    "problem",
]

AUTOMATIC_TTL = 1
"""Cloudflare's "automatic" TTL."""
MIN_TTL = 30
"""Shortest explicit TTL Cloudflare accepts, in seconds."""
MAX_TTL = 86400
"""Longest TTL Cloudflare accepts, in seconds."""

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


PositiveSeconds = Annotated[float | None, _seconds("1200")]
"""A positive number of seconds (fractions allowed); unset is None."""
PollSeconds = Annotated[float | None, _seconds("5")]
"""A poll interval: a positive number of seconds; unset is None."""
PositiveWholeNumber = Annotated[int | None, _whole("3")]
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
        return DnsCheckMode(str(value).strip().lower())
    except ValueError:
        modes = ", ".join(mode.value for mode in DnsCheckMode)
        raise problem(f"is {value!r}; use one of {modes}", DnsCheckMode.AUTHORITATIVE.value) from None


DnsCheckField = Annotated[DnsCheckMode | None, BeforeValidator(_optional(_dns_check))]
"""How the DNS records are checked before verification is initiated; unset is None."""


def _resolvers(value: Any) -> tuple[Endpoint, ...]:
    items = value if isinstance(value, list | tuple) else None
    if items is None:
        raise problem('must be a list of resolvers such as ["1.1.1.1", "127.0.0.1:5353"]')
    endpoints = []
    for item in items:
        try:
            endpoints.append(parse_endpoint(str(item)))
        except ValueError as exc:
            raise problem(f"has {item!r}: {exc}") from exc
    return tuple(endpoints)


DnsResolvers = Annotated[tuple[Endpoint, ...] | None, BeforeValidator(_optional(_resolvers))]
"""DNS resolvers as ``host[:port]``; unset (None) means the system's."""


def _port(value: Any) -> int:
    number = int(_number(value, whole=True, example="53"))
    if number > 65535:
        raise problem(f"is {number}, not a port number (1..65535)", "53")
    return number


NameserverPort = Annotated[int | None, BeforeValidator(_optional(_port))]
"""The port the authoritative nameservers answer on (53 on the Internet); unset is None."""


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


class DomainTuning(BaseModel):
    """How a domain is published, verified and kept: settings a stack config may give stack-wide and per
    domain, and the component takes as arguments (camelCase aliases for the stack config)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    verification_timeout_seconds: PositiveSeconds = Field(default=None, alias="verificationTimeoutSeconds")
    """How long ``pulumi up`` waits for the domain to verify; None keeps the default."""
    poll_interval_seconds: PollSeconds = Field(default=None, alias="pollIntervalSeconds")
    """First pause between initiating verification and reading its status; None keeps the default."""
    max_verify_attempts: PositiveWholeNumber = Field(default=None, alias="maxVerifyAttempts")
    """How many times verification may be initiated; None keeps the default."""
    ttl: RecordTtl = Field(default=None, alias="recordTtl")
    """TTL of the Cloudflare records; None is automatic (1)."""
    protect: Flag = None
    """Protect the registered domain and its records: ``pulumi destroy`` and removals fail."""
    retain_on_delete: Flag = Field(default=None, alias="retainOnDelete")
    """Leave the domain registered and its records published when the stack stops managing them."""


class DomainSettings(DomainTuning):
    """The settings of one verified email domain, shared by the component's arguments (Python names) and
    the entries of the stack config (camelCase keys); each rule lives in the field types above."""

    # Required: the default is validated, so a missing domain gets the same message as an empty one.
    domain: DomainName = Field(default="", validate_default=True)
    """The domain to send and receive on (canonical form), or the platform domain."""
    zone_id: ZoneId = Field(default=None, alias="zoneId")
    """Cloudflare zone id; None for manual DNS."""
    dkim_cname_tokens: DkimTokens = Field(default=None, alias="dkimCnameTokens")
    """Tokens of legacy DKIM CNAME records."""

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
