"""Check in DNS that a domain's records are published, before asking the email platform to verify them.

Asking the platform to verify costs API budget (about 2 requests per second per team) and starts an
attempt that fails if a record is still missing at its end. A DNS query costs nothing, so a waiter
polls :meth:`DnsChecker.check` every few seconds and calls verify only once every record resolves,
as cert-manager and lego do before they answer an ACME DNS-01 challenge.

Modes (:class:`DnsCheckMode`):

- ``authoritative`` (default): find the record's zone with an SOA walk through the resolvers, the
  zone's nameservers (NS) and their addresses, then ask every nameserver directly, without recursion.
  The record counts as served only when every one of them returns the expected value, so no resolver
  cache (negative answers included) can make the platform see something else.
- ``recursive``: ask every configured resolver (or the system's) with recursion; each must return the
  expected value. For setups where the nameservers cannot be reached directly.
- ``off``: no query; every record counts as served.

A TXT or MX record whose name is an alias (CNAME) elsewhere is followed within one answer only: a
resolver follows the alias, a nameserver stops at its zone's edge, so in authoritative mode such a
record shows as missing with the alias named in the answer's detail (the recursive mode follows it).

DNS failures never raise out of :meth:`DnsChecker.check`: a timeout, SERVFAIL or a zone that cannot
be found becomes an :data:`Outcome.ERROR` answer with its reason, so the caller keeps polling, and
:meth:`DnsCheckResult.describe` says per record and per server what came back and which ``dig``
command shows it. Only bad settings or bad records raise ``ValueError``, when they are built.

This module knows DNS only (dnspython): no Pulumi, no HTTP client.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

from provider.rules.records import host_name, txt_text

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "RECORD_TYPES",
    "SYSTEM_RESOLV_CONF",
    "DnsCheckMode",
    "DnsCheckResult",
    "DnsCheckSettings",
    "DnsChecker",
    "Endpoint",
    "ExpectedRecord",
    "InvalidEndpointError",
    "Outcome",
    "RecordCheck",
    "ServerAnswer",
    "parse_endpoint",
    "parse_resolvers",
    "system_resolvers",
]

DEFAULT_TIMEOUT = 2.0
"""Seconds to wait for one DNS answer."""

MAX_TIMEOUT = 60.0
"""Longest per-query timeout accepted: a poll that waits longer than this is no longer a poll."""

SYSTEM_RESOLV_CONF = "/etc/resolv.conf"
"""Where the system's resolvers are read from when no resolver is configured."""

RECORD_TYPES = ("TXT", "MX", "CNAME")
"""The record types the email platform asks for."""

_EDNS_PAYLOAD = 1232
"""UDP payload size advertised with EDNS: the size DNS flag day 2020 settled on (no IP fragmentation)."""

_MAX_ALIASES = 16
"""Longest CNAME chain followed inside one answer (a loop or a silly chain stops here)."""

_SHORTEN_OVER = 100
"""Values longer than this are shortened in messages (a DKIM key is ~220 characters)."""

_ENDPOINT_FIX = (
    "use an IP address with an optional port, such as 1.1.1.1 or 127.0.0.1:5353 ([::1]:53 for IPv6)"
)
_HOST_NAME = re.compile(
    r"(?=.{1,253}\.?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?"
)
_DIGITS = re.compile(r"[0-9]+")


# -- settings ---------------------------------------------------------------------------------------


class DnsCheckMode(StrEnum):
    """Which servers must serve a record before it counts as published."""

    AUTHORITATIVE = "authoritative"
    """Every authoritative nameserver of the record's zone, asked directly without recursion."""
    RECURSIVE = "recursive"
    """Every configured resolver (or the system's), asked with recursion."""
    OFF = "off"
    """No DNS check: every record counts as served."""

    @classmethod
    def parse(cls, value: object) -> DnsCheckMode:
        """The mode ``value`` names, in any case and with spaces around it (``" Recursive "``): how the stack
        config, the components and :class:`DnsCheckSettings` read a mode.

        Raises:
            ValueError: ``value`` names no mode; the message lists the modes.
        """
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            modes = ", ".join(repr(mode.value) for mode in cls)
            raise ValueError(f"DNS check mode {value!r} is not one of {modes}") from None


class InvalidEndpointError(ValueError):
    """A DNS server address that cannot be used; the message names the problem and the fix."""

    def __init__(self, text: object, problem: str, fix: str = _ENDPOINT_FIX) -> None:
        self.text = text
        """The value given."""
        self.problem = problem
        """What is wrong with it."""
        self.fix = fix
        """What to write instead."""
        super().__init__(f"DNS server {text!r} {problem}: {fix}")


@dataclass(frozen=True)
class Endpoint:
    """A DNS server to send queries to: an IP address and a port.

    ``str()`` gives ``127.0.0.1:5353``, or ``[::1]:53`` for IPv6. The address is stored in its
    canonical form (``::0001`` becomes ``::1``), so two spellings of one server compare equal.
    """

    host: str
    """IPv4 or IPv6 address, without brackets."""
    port: int = 53
    """UDP/TCP port."""

    def __post_init__(self) -> None:
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            raise InvalidEndpointError(
                self.host, "is not an IP address", "build endpoints from text with parse_endpoint()"
            ) from None
        object.__setattr__(self, "host", str(address))
        _check_port(self.port, self.host)

    @property
    def is_ipv6(self) -> bool:
        """True for an IPv6 address."""
        return ":" in self.host

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if self.is_ipv6 else f"{self.host}:{self.port}"


def parse_endpoint(text: str, default_port: int = 53) -> Endpoint:
    """Parse ``host[:port]`` into an :class:`Endpoint`.

    Accepted: ``1.1.1.1``, ``127.0.0.1:5353``, ``[::1]:5353``, ``[::1]``, a bare IPv6 address
    (``2606:4700::1111``, which takes ``default_port``), or a host name with an optional port
    (``dns.example.net:53``), resolved once, here, with ``socket.getaddrinfo``: the endpoint keeps the
    address, never the name. Raises :class:`InvalidEndpointError` (a ``ValueError``) naming the problem
    and the fix for anything else: URLs, paths, bad or out-of-range ports, names that do not resolve.
    """
    _check_port(default_port, "default_port")
    if not isinstance(text, str):
        raise InvalidEndpointError(text, f"must be text, not {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise InvalidEndpointError(text, "is empty")
    if "/" in raw or "@" in raw:
        raise InvalidEndpointError(text, "is not a host[:port] (URLs, paths and user names are not accepted)")
    if raw.startswith("["):
        host, port = _split_bracketed(text, raw, default_port)
        if not _is_ip(host, version=6):
            raise InvalidEndpointError(text, f"has {host!r} in brackets, which is not an IPv6 address")
        return Endpoint(host, port)
    if raw.count(":") >= 2:
        # Two colons or more can only be a bare IPv6 address: "host:port" has exactly one.
        if not _is_ip(raw, version=6):
            raise InvalidEndpointError(text, "is neither an IPv6 address nor host:port")
        return Endpoint(raw, default_port)
    host, colon, port_text = raw.partition(":")
    port = _parse_port(text, port_text) if colon else default_port
    if _is_ip(host, version=4):
        return Endpoint(host, port)
    if _DIGITS.fullmatch(host.replace(".", "")):
        raise InvalidEndpointError(text, f"has {host!r}, which is not a valid IPv4 address")
    if not _HOST_NAME.fullmatch(host.lower()):
        raise InvalidEndpointError(text, f"has {host!r}, which is neither an IP address nor a host name")
    return Endpoint(_resolve_host(text, host, port), port)


def parse_resolvers(resolvers: Iterable[str | Endpoint]) -> tuple[Endpoint, ...]:
    """Resolvers as configured, each ``host[:port]`` through :func:`parse_endpoint` (an :class:`Endpoint` is
    kept): how the stack config and the verification resource read them. ``str()`` of an endpoint writes it
    back as text that parses to the same endpoint (``127.0.0.1:5353``), which is how resolvers travel in
    resource inputs and state.

    Raises:
        InvalidEndpointError: for the first resolver that is not usable (its ``text``).
        ValueError: ``resolvers`` is one string rather than a sequence of them.
    """
    if isinstance(resolvers, str):
        raise ValueError(f"DNS resolvers must be a list of host[:port], not the string {resolvers!r}")
    return tuple(item if isinstance(item, Endpoint) else parse_endpoint(item) for item in resolvers)


def system_resolvers(path: str = SYSTEM_RESOLV_CONF) -> tuple[Endpoint, ...]:
    """The resolvers the system uses, read from ``path`` (``nameserver`` lines of resolv.conf).

    Raises ``ValueError`` when the file cannot be read or names no usable resolver.
    """
    try:
        resolver = dns.resolver.Resolver(filename=path, configure=True)
    except (OSError, dns.exception.DNSException) as error:
        raise ValueError(f"reading the system's resolvers from {path}: {_exception_text(error)}") from error
    endpoints: list[Endpoint] = []
    for nameserver in resolver.nameservers:
        if isinstance(nameserver, str):
            port = resolver.nameserver_ports.get(nameserver, resolver.port)
            endpoints.append(Endpoint(nameserver, port))
        elif isinstance(nameserver, dns.nameserver.Do53Nameserver):
            endpoints.append(Endpoint(nameserver.address, nameserver.port))
        # DNS-over-HTTPS/TLS/QUIC servers cannot come from resolv.conf; nothing to skip in practice.
    if not endpoints:
        raise ValueError(f"reading the system's resolvers from {path}: it names no nameserver")
    return tuple(endpoints)


@dataclass(frozen=True)
class DnsCheckSettings:
    """How :class:`DnsChecker` checks records. Invalid values raise ``ValueError`` here."""

    mode: DnsCheckMode = DnsCheckMode.AUTHORITATIVE
    """Which servers must serve a record; a mode name (``"recursive"``) is accepted too
    (:meth:`DnsCheckMode.parse`)."""
    resolvers: tuple[Endpoint, ...] = ()
    """Resolvers for the zone walk (authoritative mode) or the checks (recursive mode); empty = the
    system's, read from /etc/resolv.conf at every check (it may change while a checker lives)."""
    nameserver_port: int = 53
    """Port used to query the authoritative nameservers found by the NS walk (not 53 only in tests)."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds to wait for each query (UDP, then TCP again if the UDP answer was truncated)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", DnsCheckMode.parse(self.mode))
        if isinstance(self.resolvers, str | Endpoint) or not isinstance(self.resolvers, Iterable):
            raise ValueError(
                f"DNS check resolvers must be a sequence of Endpoint, not {type(self.resolvers).__name__}"
            )
        for index, resolver in enumerate(self.resolvers):
            if not isinstance(resolver, Endpoint):
                raise ValueError(
                    f"DNS check resolvers[{index}] is {resolver!r}, not an Endpoint: "
                    f"build it with parse_endpoint({str(resolver)!r})"
                )
        # The same server named twice is asked once (and reported once).
        object.__setattr__(self, "resolvers", tuple(dict.fromkeys(self.resolvers)))
        _check_port(self.nameserver_port, "nameserver_port")
        timeout = self.timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or not 0 < timeout <= MAX_TIMEOUT
        ):
            raise ValueError(
                f"DNS check timeout {timeout!r} must be a number of seconds above 0 "
                f"and at most {MAX_TIMEOUT:g}"
            )


# -- records and values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedRecord:
    """A record the platform needs to see in DNS. Invalid fields raise ``ValueError`` here."""

    type: str
    """``TXT``, ``MX`` or ``CNAME`` (stored uppercase)."""
    name: str
    """Fully qualified, without the trailing dot: ``send.acme.com`` (the apex is ``acme.com``).
    Stored lowercase without a trailing dot (:func:`provider.rules.records.record_full_name` qualifies
    relative names)."""
    value: str
    """TXT: the text; a value in zone-file quotes (``"v=spf1 ..."`` or quoted 255-character chunks
    ``"a" "b"``) is unquoted and joined. MX/CNAME: the target host (compared case-insensitively,
    a trailing dot ignored)."""
    priority: int | None = None
    """MX priority; None matches any priority. Must be None for TXT and CNAME."""

    def __post_init__(self) -> None:
        record_type = str(self.type).strip().upper()
        if record_type not in RECORD_TYPES:
            raise ValueError(f"DNS record type {self.type!r} is not one of {', '.join(RECORD_TYPES)}")
        object.__setattr__(self, "type", record_type)
        if not isinstance(self.name, str):
            raise ValueError(f"DNS record name must be text, not {type(self.name).__name__}")
        name = host_name(self.name)
        try:
            parsed = dns.name.from_text(name)
        except (dns.exception.DNSException, UnicodeError) as error:
            raise ValueError(f"DNS record name {self.name!r} is not a domain name: {error}") from None
        if not name or len(parsed.labels) < 3:
            raise ValueError(f"DNS record name {self.name!r} must be fully qualified, such as send.acme.com")
        object.__setattr__(self, "name", name)
        if not isinstance(self.value, str):
            raise ValueError(f"{record_type} {name} value must be text, not {type(self.value).__name__}")
        if record_type != "TXT" and not host_name(self.value):
            raise ValueError(f"{record_type} {name} needs a target host name, not {self.value!r}")
        if self.priority is not None:
            if record_type != "MX":
                raise ValueError(f"{record_type} {name} takes no priority (only MX records do)")
            if isinstance(self.priority, bool) or not isinstance(self.priority, int):
                raise ValueError(f"MX {name} priority must be a whole number, not {self.priority!r}")
            if not 0 <= self.priority <= 65535:
                raise ValueError(f"MX {name} priority {self.priority} is not between 0 and 65535")

    @property
    def expected(self) -> str:
        """The value to find, normalized: TXT text unquoted, host names lowercase without a trailing dot."""
        return txt_text(self.value) if self.type == "TXT" else host_name(self.value)

    def display_value(self) -> str:
        """The expected value as messages show it: TXT in quotes, MX with its priority."""
        if self.type == "TXT":
            return _quote(self.expected)
        if self.type == "MX" and self.priority is not None:
            return f"{self.priority} {self.expected}"
        return self.expected

    def __str__(self) -> str:
        return f"{self.type} {self.name} = {self.display_value()}"


# -- results ----------------------------------------------------------------------------------------


class Outcome(StrEnum):
    """What one server returned for one record."""

    SERVED = "served"
    """The expected value is among the records it returned."""
    MISSING = "missing"
    """NOERROR without a record of that type ("no answer"): the name exists, the record does not."""
    NXDOMAIN = "nxdomain"
    """The name does not exist."""
    WRONG_VALUE = "wrong_value"
    """Records of that type, none with the expected value (see ``ServerAnswer.found``)."""
    ERROR = "error"
    """No usable answer: timeout, SERVFAIL, REFUSED, network error, or the server could not be found."""


@dataclass(frozen=True)
class ServerAnswer:
    """One server's answer for one record."""

    server: str
    """Who was asked: ``ns1.dns.sandbox.test (127.0.0.1:5353)`` or ``resolver 127.0.0.1:5353``."""
    outcome: Outcome
    """What it returned."""
    found: tuple[str, ...] = ()
    """The values of that type it returned (TXT text, ``10 host`` for MX, host for CNAME)."""
    detail: str = ""
    """Why, when there is more to say: ``timed out after 2 s``, an alias followed, a referral."""
    dig: str = ""
    """A command that asks that very server: ``dig +norec @127.0.0.1 -p 5353 TXT _dmarc.acme.com``."""

    @property
    def served(self) -> bool:
        """True when this server returned the expected value."""
        return self.outcome is Outcome.SERVED

    def returned(self, record: ExpectedRecord | None = None) -> str:
        """What the server returned, in words: ``no answer (...)``, ``another value: "..."``, ``error: ...``.

        With the ``record`` asked about, the no-answer text names the missing type, and a long wrong
        value (shortened in the text) says where it starts to differ from the expected one.
        """
        detail = f" ({self.detail})" if self.detail else ""
        more = f"; {self.detail}" if self.detail else ""
        if self.outcome is Outcome.SERVED:
            return f"served{detail}"
        if self.outcome is Outcome.MISSING:
            what = f"no {record.type} record" if record else "no record of that type"
            return f"no answer (the name has {what}{more})"
        if self.outcome is Outcome.NXDOMAIN:
            return f"NXDOMAIN (the name does not exist{more})"
        if self.outcome is Outcome.WRONG_VALUE:
            expected = record.expected if record else None
            values = ", ".join(_quote(value, expected) for value in self.found) or "none"
            noun = "another value" if len(self.found) == 1 else "other values"
            return f"{noun}: {values}{detail}"
        return f"error: {self.detail or 'no usable answer'}"


@dataclass(frozen=True)
class RecordCheck:
    """The answers of every server asked about one record."""

    record: ExpectedRecord
    """The record checked."""
    zone: str | None
    """The zone the record belongs to (authoritative mode, once found); None otherwise."""
    answers: tuple[ServerAnswer, ...]
    """One answer per server: every nameserver name of the zone, or every resolver."""

    @property
    def served(self) -> bool:
        """True when there is at least one answer and every answer is SERVED."""
        return bool(self.answers) and all(answer.served for answer in self.answers)

    def describe(self) -> str:
        """One line: the record, then per server what it returned and, unless served, a dig command.

        Servers with the same answer and the same dig command (two names, one address) share one part.
        """
        groups: dict[tuple[Outcome, tuple[str, ...], str, str], list[str]] = {}
        for answer in self.answers:
            dig = "" if answer.served else answer.dig
            groups.setdefault((answer.outcome, answer.found, answer.detail, dig), []).append(answer.server)
        parts = []
        for (outcome, found, detail, dig), servers in groups.items():
            returned = ServerAnswer("", outcome, found, detail).returned(self.record)
            check = f", check with `{dig}`" if dig else ""
            parts.append(f"{', '.join(servers)}: {returned}{check}")
        return f"{self.record} - {'; '.join(parts) or 'no server asked'}"


@dataclass(frozen=True)
class DnsCheckResult:
    """The outcome of one :meth:`DnsChecker.check` call."""

    records: tuple[RecordCheck, ...]
    """One check per record, in the order given."""

    @property
    def all_served(self) -> bool:
        """True when every record is served (also when there was no record to check)."""
        return all(check.served for check in self.records)

    def pending(self) -> list[RecordCheck]:
        """The records not served yet, in the order given."""
        return [check for check in self.records if not check.served]

    def describe(self) -> str:
        """One line per record not served (see :meth:`RecordCheck.describe`); empty when all are."""
        return "\n".join(check.describe() for check in self.pending())


# -- the checker ------------------------------------------------------------------------------------


class DnsChecker:
    """Checks that records are served in DNS; see the module docstring for the modes.

    A checker holds only its settings: every :meth:`check` starts afresh (zone, NS and addresses are
    looked up again, since a checker may live for hours while NS sets change), so one checker can be
    shared between threads.
    """

    def __init__(self, settings: DnsCheckSettings) -> None:
        if not isinstance(settings, DnsCheckSettings):
            raise ValueError(f"DnsChecker needs DnsCheckSettings, not {type(settings).__name__}")
        # Rebuilding runs the validation again, so settings changed behind the frozen dataclass's back
        # (object.__setattr__) are caught here rather than in the middle of a poll.
        self.settings = DnsCheckSettings(
            settings.mode, settings.resolvers, settings.nameserver_port, settings.timeout
        )
        """The validated settings."""

    def check(self, records: Sequence[ExpectedRecord]) -> DnsCheckResult:
        """Ask DNS about every record; never raises for a DNS failure (it becomes an ERROR answer).

        Within one call every query is sent once: the zone's SOA, NS and nameserver addresses serve all
        records of the zone, and nameservers sharing an address are asked once (each still reported).
        """
        records = tuple(records)
        for record in records:
            if not isinstance(record, ExpectedRecord):
                raise ValueError(f"DnsChecker.check needs ExpectedRecord items, not {type(record).__name__}")
        if self.settings.mode is DnsCheckMode.OFF:
            skipped = ServerAnswer("nobody (DNS check mode is off)", Outcome.SERVED)
            return DnsCheckResult(tuple(RecordCheck(record, None, (skipped,)) for record in records))
        if not records:
            return DnsCheckResult(())
        resolvers = self.settings.resolvers
        if not resolvers:
            try:
                resolvers = system_resolvers()
            except ValueError as error:
                return DnsCheckResult(tuple(_no_resolver(record, str(error)) for record in records))
        run = _CheckRun(self.settings, resolvers)
        if self.settings.mode is DnsCheckMode.RECURSIVE:
            return DnsCheckResult(tuple(run.check_recursive(record) for record in records))
        return DnsCheckResult(tuple(run.check_authoritative(record) for record in records))


@dataclass(frozen=True)
class _Reply:
    """A DNS response, or why there is none."""

    response: dns.message.Message | None
    error: str = ""

    @property
    def rcode(self) -> dns.rcode.Rcode | None:
        """The response code, or None without a response."""
        return None if self.response is None else self.response.rcode()

    def usable(self) -> bool:
        """True for NOERROR and NXDOMAIN: answers that say something about the name."""
        return self.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)

    def problem(self) -> str:
        """Why this reply is not usable: ``timed out after 2 s``, ``answered SERVFAIL``."""
        if self.rcode is None:
            return self.error
        return f"answered {dns.rcode.to_text(self.rcode)}"


@dataclass(frozen=True)
class _Lookup:
    """A zone or a nameserver set found through the resolvers, or why not (with a dig command)."""

    names: tuple[dns.name.Name, ...] = ()
    problem: str = ""
    dig: str = ""


@dataclass
class _CheckRun:
    """The state of one ``check()`` call: every query it sends, asked once."""

    settings: DnsCheckSettings
    resolvers: tuple[Endpoint, ...]
    _replies: dict[tuple[Endpoint, dns.name.Name, dns.rdatatype.RdataType, bool], _Reply] = field(
        default_factory=dict
    )
    # A server that timed out or could not be reached is not asked again in this call, so one dead
    # nameserver costs one timeout per check, not one per record. Keyed by role too (recursion or not):
    # one address may be a resolver and a nameserver, and a server may answer one role only.
    _unreachable: dict[tuple[Endpoint, bool], str] = field(default_factory=dict)
    _zones: dict[dns.name.Name, _Lookup] = field(default_factory=dict)

    # -- recursive mode

    def check_recursive(self, record: ExpectedRecord) -> RecordCheck:
        """Ask every resolver, with recursion."""
        qname, rdtype = _qname(record), dns.rdatatype.from_text(record.type)
        answers = []
        for resolver in self.resolvers:
            reply = self.ask(resolver, qname, rdtype, recursion=True)
            dig = _dig(resolver, record, recursion=True)
            answers.append(_judge(record, reply, f"resolver {resolver}", dig, authoritative=False))
        return RecordCheck(record, None, tuple(answers))

    # -- authoritative mode

    def check_authoritative(self, record: ExpectedRecord) -> RecordCheck:
        """Find the record's zone and its nameservers, then ask every nameserver without recursion."""
        qname = _qname(record)
        zone = self.zone_of(qname)
        if not zone.names:
            detail = f"could not find the zone of {record.name}: {zone.problem}"
            return RecordCheck(
                record, None, (ServerAnswer(self.resolver_label(), Outcome.ERROR, (), detail, zone.dig),)
            )
        zone_name = zone.names[0]
        zone_text = _text(zone_name)
        nameservers = self.nameservers_of(zone_name)
        if not nameservers.names:
            detail = f"could not find the nameservers of zone {zone_text}: {nameservers.problem}"
            answer = ServerAnswer(self.resolver_label(), Outcome.ERROR, (), detail, nameservers.dig)
            return RecordCheck(record, zone_text, (answer,))
        answers = tuple(self.ask_nameserver(nameserver, record) for nameserver in nameservers.names)
        return RecordCheck(record, zone_text, answers)

    def zone_of(self, name: dns.name.Name) -> _Lookup:
        """The zone holding ``name``: the first name upwards whose SOA the resolvers return.

        A NODATA or NXDOMAIN answer names the zone in its authority section, so most names take one
        query. A CNAME at a name means it is not a zone apex (a CNAME cannot sit beside an SOA), and an
        authority section then speaks of the alias target's zone: the walk goes on to the parent.
        """
        if name in self._zones:
            return self._zones[name]
        candidate = name
        while True:
            reply = self.ask_resolvers(candidate, dns.rdatatype.SOA)
            if reply.response is None:
                found = _Lookup(
                    problem=f"SOA {_text(candidate)}: {reply.error}",
                    dig=self.resolver_dig("SOA", candidate),
                )
                break
            zone = _zone_in(reply.response, candidate)
            if zone is not None:
                found = _Lookup((zone,))
                break
            if candidate == dns.name.root:
                found = _Lookup(problem="no SOA found up to the DNS root", dig=self.resolver_dig("SOA", name))
                break
            candidate = candidate.parent()
        if found.names == (dns.name.root,):
            # Only the root answered: the domain is not delegated (not registered, or no NS at the
            # registry yet). Asking the root servers every poll would be rude and say nothing new.
            found = _Lookup(
                problem="it is in no delegated zone (only the DNS root answered): is the domain registered "
                "and delegated to its nameservers?",
                dig=self.resolver_dig("SOA", name),
            )
        self._zones[name] = found
        return found

    def nameservers_of(self, zone: dns.name.Name) -> _Lookup:
        """The zone's NS names, sorted, as the resolvers return them."""
        reply = self.ask_resolvers(zone, dns.rdatatype.NS)
        dig = self.resolver_dig("NS", zone)
        if reply.response is None:
            return _Lookup(problem=f"NS {_text(zone)}: {reply.error}", dig=dig)
        rrset = reply.response.get_rrset(reply.response.answer, zone, dns.rdataclass.IN, dns.rdatatype.NS)
        if rrset is None:
            return _Lookup(problem=f"the resolvers returned no NS record for {_text(zone)}", dig=dig)
        return _Lookup(tuple(sorted({rdata.target for rdata in rrset})))

    def addresses_of(self, nameserver: dns.name.Name) -> tuple[tuple[Endpoint, ...], str, str]:
        """Where to ask ``nameserver``: its IPv4 addresses, or its IPv6 ones when it has none.

        IPv4 first because a host without an IPv6 route fails every IPv6 query; every address of a
        name is one server for our purpose, so one that answers is enough.
        """
        problems = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            reply = self.ask_resolvers(nameserver, rdtype)
            if reply.response is None:
                problems.append(f"{rdtype.name} {_text(nameserver)}: {reply.error}")
                continue
            owner = _follow_aliases(reply.response, nameserver, rdtype)
            rrset = reply.response.get_rrset(reply.response.answer, owner, dns.rdataclass.IN, rdtype)
            if rrset is not None:
                port = self.settings.nameserver_port
                return tuple(Endpoint(rdata.address, port) for rdata in rrset), "", ""
            # NOERROR without an address of this type: try the other family before giving up.
            what = "no address" if reply.rcode == dns.rcode.NOERROR else reply.problem()
            problems.append(f"{rdtype.name} {_text(nameserver)}: {what}")
        return (), "; ".join(problems), self.resolver_dig("A", nameserver)

    def ask_nameserver(self, nameserver: dns.name.Name, record: ExpectedRecord) -> ServerAnswer:
        """Ask one nameserver of the zone about ``record``, without recursion."""
        endpoints, problem, dig = self.addresses_of(nameserver)
        name = _text(nameserver)
        if not endpoints:
            detail = f"could not find the address of nameserver {name}: {problem}"
            return ServerAnswer(name, Outcome.ERROR, (), detail, dig)
        failures = []
        for endpoint in endpoints:
            reply = self.ask(endpoint, _qname(record), dns.rdatatype.from_text(record.type), recursion=False)
            if reply.response is not None:
                dig = _dig(endpoint, record, recursion=False)
                return _judge(record, reply, f"{name} ({endpoint})", dig, authoritative=True)
            failures.append((endpoint, reply.error))
        first = endpoints[0]
        if len(failures) == 1:
            detail = failures[0][1]
        else:
            detail = "; ".join(f"{endpoint}: {error}" for endpoint, error in failures)
        return ServerAnswer(
            f"{name} ({first})", Outcome.ERROR, (), detail, _dig(first, record, recursion=False)
        )

    # -- queries

    def ask_resolvers(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> _Reply:
        """The first usable answer (NOERROR or NXDOMAIN) from the resolvers, tried in order."""
        problems: list[tuple[Endpoint, str]] = []
        for resolver in self.resolvers:
            reply = self.ask(resolver, qname, rdtype, recursion=True)
            if reply.usable():
                return reply
            problems.append((resolver, reply.problem()))
        if len(problems) == 1:
            return _Reply(None, problems[0][1])  # the one resolver is named by the answer's server
        return _Reply(None, "; ".join(f"resolver {resolver}: {problem}" for resolver, problem in problems))

    def ask(
        self, server: Endpoint, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, recursion: bool
    ) -> _Reply:
        """One query, sent at most once per call; UDP, then TCP if the UDP answer was truncated."""
        key = (server, qname, rdtype, recursion)
        if key in self._replies:
            return self._replies[key]
        role = (server, recursion)
        if role in self._unreachable:
            reply = _Reply(None, f"{self._unreachable[role]} (earlier in this check; not asked again)")
        else:
            reply = _query(server, qname, rdtype, recursion=recursion, timeout=self.settings.timeout)
            if reply.response is None:
                self._unreachable[role] = reply.error
        self._replies[key] = reply
        return reply

    # -- labels

    def resolver_label(self) -> str:
        """``resolver 127.0.0.1:5353``, or ``resolvers a, b`` when several were configured."""
        noun = "resolver" if len(self.resolvers) == 1 else "resolvers"
        return f"{noun} {', '.join(str(resolver) for resolver in self.resolvers)}"

    def resolver_dig(self, record_type: str, qname: dns.name.Name) -> str:
        """A dig command that asks the first resolver."""
        return _dig_command(self.resolvers[0], record_type, _text(qname), recursion=True)


def _query(
    server: Endpoint,
    qname: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    *,
    recursion: bool,
    timeout: float,
) -> _Reply:
    query = dns.message.make_query(qname, rdtype, use_edns=0, payload=_EDNS_PAYLOAD)
    if not recursion:
        query.flags &= ~dns.flags.RD
    try:
        # ignore_unexpected/ignore_errors: a stray or malformed datagram is skipped, not taken as the
        # answer; the wait goes on until the timeout.
        response, _used_tcp = dns.query.udp_with_fallback(
            query, server.host, timeout=timeout, port=server.port, ignore_unexpected=True, ignore_errors=True
        )
    except dns.exception.Timeout:
        return _Reply(None, f"timed out after {timeout:g} s")
    except (OSError, EOFError) as error:
        return _Reply(None, f"network error: {_exception_text(error)}")
    except dns.exception.DNSException as error:
        return _Reply(None, f"unusable answer: {_exception_text(error)}")
    return _Reply(response)


def _judge(
    record: ExpectedRecord, reply: _Reply, server: str, dig: str, *, authoritative: bool
) -> ServerAnswer:
    """Turn one server's reply about ``record`` into a :class:`ServerAnswer`."""
    response = reply.response
    if response is None or not reply.usable():
        return ServerAnswer(server, Outcome.ERROR, (), reply.problem(), dig)
    qname, rdtype = _qname(record), dns.rdatatype.from_text(record.type)
    owner = _follow_aliases(response, qname, rdtype)
    alias = "" if owner == qname else f"{record.name} is an alias (CNAME) of {_text(owner)}"
    rrset = response.get_rrset(response.answer, owner, dns.rdataclass.IN, rdtype)
    if rrset is not None:
        found = tuple(sorted({_found_value(record.type, rdata) for rdata in rrset}))
        outcome = Outcome.SERVED if _matches(record, rrset) else Outcome.WRONG_VALUE
        return ServerAnswer(server, outcome, found, alias, dig)
    if response.rcode() == dns.rcode.NXDOMAIN:
        return ServerAnswer(server, Outcome.NXDOMAIN, (), alias and f"{alias}, which does not exist", dig)
    if authoritative and alias:
        # A nameserver answers for its own zones only: an alias into another zone ends here.
        detail = (
            f"{alias}, and the answer holds no {record.type} record for it (a nameserver does not follow "
            "aliases out of its zone): check the alias target"
        )
        return ServerAnswer(server, Outcome.MISSING, (), detail, dig)
    referral = _referral(response, qname) if authoritative and not response.flags & dns.flags.AA else None
    if referral:
        detail = f"it is not authoritative for {record.name} and refers to {referral}"
        return ServerAnswer(server, Outcome.ERROR, (), detail, dig)
    return ServerAnswer(server, Outcome.MISSING, (), alias, dig)


def _matches(record: ExpectedRecord, rrset: dns.rrset.RRset) -> bool:
    expected = record.expected
    for rdata in rrset:
        if record.type == "TXT" and _txt_of(rdata) == expected:
            return True
        if record.type == "MX" and host_name(rdata.exchange.to_text()) == expected:
            if record.priority is None or rdata.preference == record.priority:
                return True
        if record.type == "CNAME" and host_name(rdata.target.to_text()) == expected:
            return True
    return False


def _found_value(record_type: str, rdata: object) -> str:
    if record_type == "TXT":
        return _txt_of(rdata)
    if record_type == "MX":
        return f"{rdata.preference} {host_name(rdata.exchange.to_text())}"  # type: ignore[attr-defined]
    return host_name(rdata.target.to_text())  # type: ignore[attr-defined]


def _txt_of(rdata: object) -> str:
    # A TXT record is a list of strings of up to 255 bytes that together make one value.
    return b"".join(rdata.strings).decode("utf-8", "backslashreplace")  # type: ignore[attr-defined]


def _follow_aliases(
    response: dns.message.Message, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> dns.name.Name:
    """The owner name the answer ends at, following CNAMEs within the answer section."""
    owner = qname
    if rdtype == dns.rdatatype.CNAME:
        return owner
    seen = {owner}
    for _ in range(_MAX_ALIASES):
        if response.get_rrset(response.answer, owner, dns.rdataclass.IN, rdtype) is not None:
            return owner
        alias = response.get_rrset(response.answer, owner, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if alias is None or alias[0].target in seen:
            return owner
        owner = alias[0].target
        seen.add(owner)
    return owner


def _zone_in(response: dns.message.Message, candidate: dns.name.Name) -> dns.name.Name | None:
    """The zone an SOA query for ``candidate`` reveals, if any."""
    if response.get_rrset(response.answer, candidate, dns.rdataclass.IN, dns.rdatatype.SOA) is not None:
        return candidate
    if response.get_rrset(response.answer, candidate, dns.rdataclass.IN, dns.rdatatype.CNAME) is not None:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and candidate.is_subdomain(rrset.name):
            return rrset.name
    return None


def _referral(response: dns.message.Message, qname: dns.name.Name) -> str | None:
    """``ns1.x, ns2.x`` when a non-authoritative answer delegates ``qname`` elsewhere."""
    if any(rrset.rdtype == dns.rdatatype.SOA for rrset in response.authority):
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NS and qname.is_subdomain(rrset.name):
            return ", ".join(sorted(_text(rdata.target) for rdata in rrset))
    return None


def _no_resolver(record: ExpectedRecord, reason: str) -> RecordCheck:
    detail = f"no resolver to ask: {reason}; configure the DNS check's resolvers"
    return RecordCheck(record, None, (ServerAnswer("the system's resolvers", Outcome.ERROR, (), detail, ""),))


def _qname(record: ExpectedRecord) -> dns.name.Name:
    return dns.name.from_text(record.name)


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True) if name != dns.name.root else "."


def _dig(server: Endpoint, record: ExpectedRecord, *, recursion: bool) -> str:
    return _dig_command(server, record.type, record.name, recursion=recursion)


def _dig_command(server: Endpoint, record_type: str, name: str, *, recursion: bool) -> str:
    parts = ["dig"]
    if not recursion:
        parts.append("+norec")
    parts.append(f"@{server.host}")
    if server.port != 53:
        parts += ["-p", str(server.port)]
    parts += [record_type, name]
    return " ".join(parts)


def _quote(value: str, expected: str | None = None) -> str:
    """A value in double quotes for a message, shortened when long (a DKIM key is ~220 characters).

    With ``expected``, a shortened value also says at which character it starts to differ from it,
    since the part shown may well be identical.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if len(value) <= _SHORTEN_OVER:
        return f'"{escaped}"'
    note = f"{len(value)} characters"
    if expected is not None:
        pairs = enumerate(zip(value, expected, strict=False))
        differ = next((index for index, (ours, theirs) in pairs if ours != theirs), None)
        differ = min(len(value), len(expected)) if differ is None else differ
        note += f", differs from the expected value from character {differ + 1}"
    return f'"{escaped[:60]}...{escaped[-20:]}" ({note})'


def _split_bracketed(text: str, raw: str, default_port: int) -> tuple[str, int]:
    close = raw.find("]")
    if close < 0:
        raise InvalidEndpointError(text, "opens a bracket that is not closed")
    host, rest = raw[1:close], raw[close + 1 :]
    if not rest:
        return host, default_port
    if not rest.startswith(":"):
        raise InvalidEndpointError(text, f"has {rest!r} after the bracketed address")
    return host, _parse_port(text, rest[1:])


def _parse_port(text: str, port_text: str) -> int:
    if not _DIGITS.fullmatch(port_text):
        raise InvalidEndpointError(text, f"has port {port_text!r}, which is not a number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise InvalidEndpointError(text, f"has port {port}, which is not between 1 and 65535")
    return port


def _check_port(port: object, what: str) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port {port!r} of {what} must be a whole number between 1 and 65535")


def _is_ip(host: str, *, version: int) -> bool:
    try:
        return ipaddress.ip_address(host).version == version
    except ValueError:
        return False


def _resolve_host(text: str, host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP)
    except (OSError, UnicodeError) as error:
        raise InvalidEndpointError(text, f"names host {host!r}, which does not resolve ({error})") from None
    for family, _type, _proto, _canonical, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            return str(sockaddr[0])
    raise InvalidEndpointError(text, f"names host {host!r}, which has no IPv4 or IPv6 address")


def _exception_text(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
