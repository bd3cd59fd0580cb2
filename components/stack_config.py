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

Stack-wide ``verificationTimeoutSeconds``, ``pollIntervalSeconds``, ``maxVerifyAttempts`` and
``recordTtl`` apply to every domain unless an entry sets its own. ``token``, ``organization`` and
``baseUrl`` are read by the dynamic providers' ``configure()``, never here (so no credential value passes
through this module).

Exceptions::

    StackConfigError(ValueError)   one or more keys are missing, malformed or contradictory
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provider.domain_name import PLATFORM_DOMAIN, normalize_domain

if TYPE_CHECKING:
    from components.verified_email_domain import VerifiedEmailDomainArgs

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

_TUNING_KEYS = ("verificationTimeoutSeconds", "pollIntervalSeconds", "maxVerifyAttempts", "recordTtl")

STACK_KEYS = ("domain", "zoneId", "dkimCnameTokens", "domains", *_TUNING_KEYS, *CREDENTIAL_KEYS)
"""Every key of the ``anyreach`` namespace this project knows (without the ``anyreach:`` prefix)."""

DOMAIN_ENTRY_KEYS = ("domain", "zoneId", "dkimCnameTokens", *_TUNING_KEYS)
"""Keys an entry of ``anyreach:domains`` may hold."""

_ZONE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_EXAMPLE_ZONE = "0123456789abcdef0123456789abcdef"


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


@dataclass(frozen=True)
class DomainConfig:
    """One domain the stack manages, validated."""

    domain: str
    """Canonical domain name (lowercase, punycode), or the platform domain."""
    zone_id: str | None = None
    """Cloudflare zone id; None for manual DNS (and for the platform domain)."""
    verification_timeout_seconds: float | None = None
    """How long ``up`` waits for verification; None keeps the verification's default."""
    poll_interval_seconds: float | None = None
    """Pause between status reads while waiting; None keeps the default."""
    max_verify_attempts: int | None = None
    """How many times verification may be re-initiated; None keeps the default."""
    ttl: int = 1
    """TTL of the Cloudflare records (1 = automatic)."""
    dkim_cname_tokens: tuple[str, ...] | None = None
    """Tokens of legacy DKIM CNAME records, for domains registered before the DKIM TXT record."""

    @property
    def resource_name(self) -> str:
        """The component's logical name: the domain itself, so URNs and previews read naturally."""
        return self.domain

    def to_args(self) -> VerifiedEmailDomainArgs:
        """The component arguments for this domain."""
        # Imported here so that parsing config does not import Pulumi resources.
        from components.verified_email_domain import VerifiedEmailDomainArgs

        return VerifiedEmailDomainArgs(
            domain=self.domain,
            zone_id=self.zone_id,
            ttl=self.ttl,
            verification_timeout_seconds=self.verification_timeout_seconds,
            poll_interval_seconds=self.poll_interval_seconds,
            max_verify_attempts=self.max_verify_attempts,
            dkim_cname_tokens=self.dkim_cname_tokens,
        )


@dataclass(frozen=True)
class StackConfig:
    """The whole validated configuration of the stack program."""

    domains: tuple[DomainConfig, ...]
    """The domains to manage, in config order, no duplicates."""
    warnings: tuple[str, ...] = field(default=())
    """Things that are allowed but probably wrong (an unknown ``anyreach:*`` key, for instance)."""


def _full(key: str) -> str:
    return f"{NAMESPACE}:{key}"


def _blank(value: Any) -> bool:
    # Pulumi.yaml declares optional keys with empty defaults ("" or an empty list, which the engine
    # passes as the JSON text "[]"); empty means unset.
    if isinstance(value, str):
        return value.strip() in ("", "[]")
    return value is None or value == []


_EXAMPLE_VALUES = {"verificationTimeoutSeconds": "1200", "pollIntervalSeconds": "5", "maxVerifyAttempts": "3"}


def _set_command(where: str) -> str:
    """The command that sets ``where`` (a list entry's key needs ``--path``) to a sensible example."""
    example = _EXAMPLE_VALUES.get(where.rsplit(".", 1)[-1].rsplit(":", 1)[-1], "1")
    path = "--path " if "[" in where else ""
    return f"`pulumi config set {path}'{where}' {example}`"


def _did_you_mean(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not close:
        close = [name for name in known if name.lower() == key.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    """Collects problems while reading values, so that all of them are reported together."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def json_value(self, where: str, value: Any, example: str) -> Any:
        """Config objects arrive as JSON text from the engine, or already parsed (tests, other hosts)."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(
                f"{where} is not valid JSON ({exc.msg}); write it as YAML in Pulumi.<stack>.yaml, "
                f"e.g. {example}"
            )
            return None

    def number(self, where: str, value: Any, *, integer: bool = False) -> float | int | None:
        """A positive number (or whole number), from a number or its text; None when unset."""
        if _blank(value):
            return None
        kind = "a positive whole number" if integer else "a positive number of seconds"
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
        if (
            parsed is None
            or not math.isfinite(parsed)
            or parsed <= 0
            or (integer and not parsed.is_integer())
        ):
            self.fail(f"{where} is {value!r}, not {kind}; for example {_set_command(where)}")
            return None
        return int(parsed) if integer else parsed

    def ttl(self, where: str, value: Any) -> int | None:
        if _blank(value):
            return None
        number = self.number(where, value, integer=True)
        if number is None:
            return None
        if not (number == 1 or 30 <= number <= 86400):
            self.fail(f"{where} is {number}: use 1 (automatic) or a whole number of seconds in 30..86400")
            return None
        return int(number)

    def zone_id(self, where: str, value: Any) -> str | None:
        if _blank(value):
            return None
        if not isinstance(value, str) or not _ZONE_ID_RE.match(value.strip().lower()):
            # The value is not echoed: a pasted API token in the wrong key must not reach a log.
            length = len(value) if isinstance(value, str) else type(value).__name__
            self.fail(
                f"{where} is not a Cloudflare zone id (expected 32 hexadecimal characters, got {length}); "
                "copy the Zone ID from the zone's Overview page in the Cloudflare dashboard, or remove the "
                "key to publish the records by hand"
            )
            return None
        return value.strip().lower()

    def domain(self, where: str, value: Any) -> str | None:
        if _blank(value):
            self.fail(f"{where} is missing or empty; set it to the domain to manage, such as 'acme.com'")
            return None
        if not isinstance(value, str):
            self.fail(f"{where} must be a domain name as text, such as 'acme.com'")
            return None
        if value.strip().rstrip(".").lower() == PLATFORM_DOMAIN:
            return PLATFORM_DOMAIN
        try:
            return normalize_domain(value)
        except ValueError as exc:
            self.fail(f"{where}: {exc}")
            return None

    def tokens(self, where: str, value: Any) -> tuple[str, ...] | None:
        if _blank(value):
            return None
        parsed = self.json_value(where, value, '["token1", "token2", "token3"]')
        if parsed is None:
            return None
        if not isinstance(parsed, list) or not all(isinstance(item, str) and item.strip() for item in parsed):
            self.fail(f'{where} must be a list of DKIM CNAME tokens, such as ["token1", "token2", "token3"]')
            return None
        return tuple(item.strip().lower() for item in parsed)


def _domain_config(
    reader: _Reader,
    values: Mapping[str, Any],
    where: Callable[[str], str],
    defaults: Mapping[str, Any],
) -> DomainConfig | None:
    """Read one domain's keys (``where`` renders a key's name for messages); None when it has problems."""
    before = len(reader.problems)
    domain = reader.domain(where("domain"), values.get("domain"))
    zone_id = reader.zone_id(where("zoneId"), values.get("zoneId"))
    tokens = reader.tokens(where("dkimCnameTokens"), values.get("dkimCnameTokens"))
    timeout = reader.number(where("verificationTimeoutSeconds"), values.get("verificationTimeoutSeconds"))
    interval = reader.number(where("pollIntervalSeconds"), values.get("pollIntervalSeconds"))
    attempts = reader.number(where("maxVerifyAttempts"), values.get("maxVerifyAttempts"), integer=True)
    ttl = reader.ttl(where("recordTtl"), values.get("recordTtl"))
    if domain == PLATFORM_DOMAIN and zone_id is not None:
        reader.fail(
            f"{where('zoneId')} is set for {PLATFORM_DOMAIN}, the platform's default domain, which needs no "
            "DNS records; remove the zoneId"
        )
    if len(reader.problems) > before or domain is None:
        return None
    return DomainConfig(
        domain=domain,
        zone_id=zone_id,
        verification_timeout_seconds=timeout if timeout is not None else defaults.get("timeout"),
        poll_interval_seconds=interval if interval is not None else defaults.get("interval"),
        max_verify_attempts=int(attempts) if attempts is not None else defaults.get("attempts"),
        ttl=ttl if ttl is not None else defaults.get("ttl") or 1,
        dkim_cname_tokens=tokens,
    )


def parse_stack_config(values: Mapping[str, Any]) -> StackConfig:
    """Validate the stack config and return what the program builds; raise ``StackConfigError`` otherwise.

    ``values`` maps full keys (``anyreach:domain``) to their values as the engine passes them: text,
    with objects and lists as JSON text (already-parsed values are accepted too). Keys of other
    namespaces (``cloudflare:apiToken``...) are ignored, and their values never read.
    """
    reader = _Reader()
    prefix = f"{NAMESPACE}:"
    ours = {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}
    warnings = [
        f"{_full(key)} is not a key this project reads{_did_you_mean(key, STACK_KEYS)}; it is ignored"
        for key in sorted(ours)
        if key not in STACK_KEYS
    ]

    defaults = {
        "timeout": reader.number(_full("verificationTimeoutSeconds"), ours.get("verificationTimeoutSeconds")),
        "interval": reader.number(_full("pollIntervalSeconds"), ours.get("pollIntervalSeconds")),
        "attempts": reader.number(_full("maxVerifyAttempts"), ours.get("maxVerifyAttempts"), integer=True),
        "ttl": reader.ttl(_full("recordTtl"), ours.get("recordTtl")),
    }
    single_set = not _blank(ours.get("domain"))
    list_set = not _blank(ours.get("domains"))
    domains: list[DomainConfig] = []

    if single_set and list_set:
        reader.fail(
            f"both {_full('domain')} and {_full('domains')} are set; keep one: {_full('domain')} for one "
            f"domain, or {_full('domains')} (a list) for several"
        )
    elif list_set:
        for key in ("zoneId", "dkimCnameTokens"):
            if not _blank(ours.get(key)):
                reader.fail(
                    f"{_full(key)} applies to {_full('domain')} only; with {_full('domains')}, set {key} in "
                    "each entry of the list"
                )
        domains = _read_domain_list(reader, ours["domains"], defaults)
    elif single_set:
        entry = {key: ours.get(key) for key in DOMAIN_ENTRY_KEYS if key not in _TUNING_KEYS}
        config = _domain_config(reader, entry, _full, defaults)
        if config is not None:
            domains = [config]
    else:
        reader.fail(
            f"no domain is configured: run `pulumi config set {_full('domain')} acme.com` (add "
            f"`pulumi config set {_full('zoneId')} <zone id>` to publish the records in Cloudflare), or list "
            f"several under {_full('domains')} in Pulumi.<stack>.yaml"
        )

    if reader.problems:
        raise StackConfigError(reader.problems, warnings)
    return StackConfig(domains=tuple(domains), warnings=tuple(warnings))


def _entry_key(where_entry: str, name: str) -> str:
    """``anyreach:domains[2].zoneId``: how messages name a key of one list entry."""
    return f"{where_entry}.{name}"


def _read_domain_list(reader: _Reader, raw: Any, defaults: Mapping[str, Any]) -> list[DomainConfig]:
    key = _full("domains")
    example = '[{"domain": "acme.com", "zoneId": "<zone id>"}]'
    parsed = reader.json_value(key, raw, example)
    if parsed is None:
        return []
    if not isinstance(parsed, list):
        reader.fail(f"{key} must be a list of objects such as {example}, not a {type(parsed).__name__}")
        return []
    domains: list[DomainConfig] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(parsed):
        where_entry = f"{key}[{index}]"
        if isinstance(entry, str):
            reader.fail(f"{where_entry} must be an object; write `- domain: {entry}` instead of `- {entry}`")
            continue
        if not isinstance(entry, dict):
            reader.fail(f"{where_entry} must be an object such as {{domain: acme.com, zoneId: <zone id>}}")
            continue
        for unknown in sorted(set(entry) - set(DOMAIN_ENTRY_KEYS)):
            reader.fail(
                f"{where_entry}.{unknown} is not a key of a domain entry"
                f"{_did_you_mean(unknown, DOMAIN_ENTRY_KEYS)}; known keys: {', '.join(DOMAIN_ENTRY_KEYS)}"
            )
        config = _domain_config(reader, entry, functools.partial(_entry_key, where_entry), defaults)
        if config is None:
            continue
        if config.domain in first_index:
            reader.fail(
                f"{where_entry}.domain repeats {config.domain} "
                f"(already {key}[{first_index[config.domain]}]); list each domain once"
            )
            continue
        first_index[config.domain] = index
        domains.append(config)
    return domains


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
