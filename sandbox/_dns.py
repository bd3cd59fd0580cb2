"""A DNS server over the sandbox's DNS view, on UDP and TCP, built on dnspython's message classes.

DnsEntry       one record the server serves: TXT, MX or CNAME at a fully qualified name
DnsSnapshot    the zones the server is authoritative for and the records visible at one instant
DnsSource      what the server reads a snapshot from (``SandboxState`` is one)
DnsServer      serves a source on one port, UDP and TCP, from a single selector thread

The server is authoritative for every zone of the snapshot (plus ``dns.sandbox.test``, the zone of
its own nameservers) and answers recursive queries from the same data, so one server can play both
the resolver and the authoritative nameservers of a test. A name outside every zone is REFUSED.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rrset

__all__ = [
    "NAMESERVERS",
    "NAMESERVER_ZONE",
    "RECORD_TTL",
    "DnsEntry",
    "DnsServer",
    "DnsSnapshot",
    "DnsSource",
    "build_response",
    "zone_serial",
]

logger = logging.getLogger("sandbox.dns")

NAMESERVER_ZONE = "dns.sandbox.test"
"""The zone of the sandbox's own nameservers; always served."""

NAMESERVERS = ("ns1.dns.sandbox.test", "ns2.dns.sandbox.test")
"""The NS records of every zone; both resolve to the address the server is bound to."""

RECORD_TTL = 5
"""TTL of every record and the SOA minimum (negative-caching TTL): short, so resolvers re-ask soon."""

SOA_REFRESH, SOA_RETRY, SOA_EXPIRE = 60, 10, 600
"""SOA timers; nothing transfers zones from the sandbox, they only have to be plausible."""

UDP_LIMIT = 512
"""Largest UDP answer for a query without EDNS (RFC 1035); larger ones are truncated."""

OUR_UDP_PAYLOAD = 1232
"""The EDNS payload size the server advertises (the DNS flag day 2020 value)."""

TCP_IDLE_SECONDS = 30.0
"""A TCP connection without traffic for this long is closed (RFC 7766 asks servers to time out)."""

_TXT_CHUNK = 255


@dataclass(frozen=True)
class DnsEntry:
    """One record the DNS server serves."""

    name: str
    """Fully qualified, lowercase, no trailing dot: ``send.acme.com``; the apex is ``acme.com``."""
    type: str
    """``TXT``, ``MX`` or ``CNAME``."""
    value: str
    """TXT: the text itself, without zone-file quotes; MX/CNAME: the target host name."""
    priority: int | None = None
    """MX preference; None on other types."""


@dataclass(frozen=True)
class DnsSnapshot:
    """What DNS serves at one instant."""

    zones: frozenset[str]
    """Every zone the server is authoritative for (``acme.com``), lowercase, no trailing dot."""
    entries: tuple[DnsEntry, ...]
    """Every record visible at that instant."""
    serials: Mapping[str, int] = field(default_factory=dict, compare=False)
    """SOA serial per zone (grows when the zone's data changes); a zone missing here gets serial 1."""


class DnsSource(Protocol):
    """Where a ``DnsServer`` reads its data."""

    def dns_snapshot(self, lag_seconds: float = 0.0) -> DnsSnapshot:
        """What DNS serves as of (now - ``lag_seconds``)."""
        ...


# -- answering one query ----------------------------------------------------------------------------


def build_response(
    query: dns.message.Message, snapshot: DnsSnapshot, nameserver_address: str
) -> dns.message.Message:
    """The answer to ``query`` from ``snapshot``; ``nameserver_address`` is what ns1/ns2 resolve to.

    Pure: no sockets, no size limits (the caller truncates UDP answers).
    """
    response = dns.message.make_response(query, our_payload=OUR_UDP_PAYLOAD)
    if query.flags & dns.flags.RD:
        response.flags |= dns.flags.RA
    if query.opcode() != dns.opcode.QUERY:
        response.set_rcode(dns.rcode.NOTIMP)
        return response
    if len(query.question) != 1:
        response.set_rcode(dns.rcode.FORMERR)
        return response
    question = query.question[0]
    if question.rdclass not in (dns.rdataclass.IN, dns.rdataclass.ANY):
        response.set_rcode(dns.rcode.REFUSED)
        return response
    if question.rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
        # Zone transfers are not offered: a test server has no secondaries.
        response.set_rcode(dns.rcode.REFUSED)
        return response
    _zone_data(snapshot, nameserver_address).answer(question.name, question.rdtype, response)
    return response


def _zone_data(snapshot: DnsSnapshot, nameserver_address: str) -> _ZoneData:
    """The index of ``snapshot``: built once per distinct snapshot, not once per query.

    Building it creates every record's rdata (about 50 ms for 64 domains here), while the data changes only
    when a record appears or goes: per query, a DNS check of 64 waiting domains (hundreds of queries a second)
    fell behind by seconds.
    """
    return _zone_index(snapshot, tuple(sorted(snapshot.serials.items())), nameserver_address)


@functools.lru_cache(maxsize=8)
def _zone_index(
    snapshot: DnsSnapshot, serials: tuple[tuple[str, int], ...], nameserver_address: str
) -> _ZoneData:
    # ``serials`` is part of the key: the snapshot's own equality leaves them out.
    del serials
    return _ZoneData(snapshot, nameserver_address)


class _ZoneData:
    """The records of a snapshot indexed by owner name, with SOA/NS/A added for every zone."""

    def __init__(self, snapshot: DnsSnapshot, nameserver_address: str) -> None:
        self.zones = {zone.lower().rstrip(".") for zone in snapshot.zones} | {NAMESERVER_ZONE}
        self.rdatas: dict[str, dict[int, list[dns.rdata.Rdata]]] = {}
        self.existing: set[str] = set()
        """Names that exist: owners of records and every name between them and their zone apex."""
        self.serials = snapshot.serials
        for zone in self.zones:
            self._add(zone, self._soa(zone))
            for nameserver in NAMESERVERS:
                self._add(zone, _ns(nameserver))
        address_type = _address_rdata(nameserver_address)
        for nameserver in NAMESERVERS:
            self._add(nameserver, address_type)
        for entry in snapshot.entries:
            rdata = _entry_rdata(entry)
            if rdata is not None and self.zone_of(entry.name) is not None:
                self._add(entry.name, rdata)

    def zone_of(self, name: str) -> str | None:
        """The closest enclosing zone of ``name``, or None when the server is not authoritative."""
        candidate = name
        while candidate:
            if candidate in self.zones:
                return candidate
            candidate = candidate.partition(".")[2]
        return None

    def answer(self, qname: dns.name.Name, qtype: int, response: dns.message.Message) -> None:
        """Fill ``response`` (rcode, AA, answer or authority) for one question."""
        name = qname.to_text(omit_final_dot=True).lower() if qname != dns.name.root else ""
        zone = self.zone_of(name)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return
        response.flags |= dns.flags.AA
        at_name = self.rdatas.get(name, {})
        if qtype == dns.rdatatype.ANY:
            wanted = list(at_name)
        elif qtype in at_name:
            wanted = [qtype]
        elif dns.rdatatype.CNAME in at_name:
            # An alias answers for every type; resolving its target is the client's business.
            wanted = [dns.rdatatype.CNAME]
        else:
            wanted = []
        for rdtype in wanted:
            response.answer.append(dns.rrset.from_rdata_list(qname, RECORD_TTL, at_name[rdtype]))
        if wanted:
            return
        if name not in self.existing:
            response.set_rcode(dns.rcode.NXDOMAIN)
        # NODATA and NXDOMAIN both carry the SOA, whose minimum is the negative-caching TTL.
        soa = self.rdatas[zone][dns.rdatatype.SOA]
        response.authority.append(dns.rrset.from_rdata_list(_absolute(zone), RECORD_TTL, soa))

    def _add(self, name: str, rdata: dns.rdata.Rdata) -> None:
        by_type = self.rdatas.setdefault(name, {})
        existing = by_type.setdefault(rdata.rdtype, [])
        if rdata not in existing:
            existing.append(rdata)
        zone = self.zone_of(name)
        candidate = name
        while candidate and candidate not in self.existing:
            self.existing.add(candidate)
            if candidate == zone:
                break
            candidate = candidate.partition(".")[2]

    def _soa(self, zone: str) -> dns.rdata.Rdata:
        serial = self.serials.get(zone, 1) % 2**32 or 1
        return dns.rdtypes.ANY.SOA.SOA(
            dns.rdataclass.IN,
            dns.rdatatype.SOA,
            _absolute(NAMESERVERS[0]),
            _absolute(f"hostmaster.{zone}"),
            serial,
            SOA_REFRESH,
            SOA_RETRY,
            SOA_EXPIRE,
            RECORD_TTL,
        )


def _absolute(name: str) -> dns.name.Name:
    return dns.name.from_text(name.rstrip(".") + ".")


def _ns(nameserver: str) -> dns.rdata.Rdata:
    return dns.rdtypes.ANY.NS.NS(dns.rdataclass.IN, dns.rdatatype.NS, _absolute(nameserver))


def _address_rdata(address: str) -> dns.rdata.Rdata:
    if ipaddress.ip_address(address).version == 6:
        return dns.rdtypes.IN.AAAA.AAAA(dns.rdataclass.IN, dns.rdatatype.AAAA, address)
    return dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, address)


def _entry_rdata(entry: DnsEntry) -> dns.rdata.Rdata | None:
    """The rdata of an entry, or None (logged) when its value cannot be served, e.g. a bad host name."""
    try:
        _absolute(entry.name)  # an owner name DNS cannot carry is skipped, like a bad value
        kind = entry.type.upper()
        if kind == "TXT":
            text = entry.value.encode("utf-8")
            # A character-string holds at most 255 bytes; longer texts are several strings.
            chunks = [text[i : i + _TXT_CHUNK] for i in range(0, len(text), _TXT_CHUNK)] or [b""]
            return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
        if kind == "MX":
            preference = 10 if entry.priority is None else entry.priority
            return dns.rdtypes.ANY.MX.MX(
                dns.rdataclass.IN, dns.rdatatype.MX, preference, _absolute(entry.value.lower())
            )
        if kind == "CNAME":
            return dns.rdtypes.ANY.CNAME.CNAME(
                dns.rdataclass.IN, dns.rdatatype.CNAME, _absolute(entry.value.lower())
            )
    except (dns.exception.DNSException, ValueError) as exc:
        logger.warning("not serving %s %s %r: %s", entry.type, entry.name, entry.value, exc)
        return None
    logger.warning("not serving %s %s: unsupported type", entry.type, entry.name)
    return None


def _truncated(query: dns.message.Message, full: dns.message.Message) -> dns.message.Message:
    """The header and question of ``full`` with TC set and no records: the client retries over TCP."""
    truncated = dns.message.make_response(query, our_payload=OUR_UDP_PAYLOAD)
    truncated.flags = full.flags | dns.flags.TC
    truncated.set_rcode(full.rcode())
    return truncated


# -- the server ---------------------------------------------------------------------------------------


@dataclass
class _Connection:
    """One TCP client: bytes received but not yet handled, bytes to send, last activity."""

    sock: socket.socket
    received: bytearray = field(default_factory=bytearray)
    outgoing: bytearray = field(default_factory=bytearray)
    active_at: float = field(default_factory=time.monotonic)


class DnsServer:
    """Serve a ``DnsSource`` over UDP and TCP on ``host``:``port`` (0 picks a port free for both).

    ``lag_seconds`` serves the data as it was that many seconds ago (a secondary that is behind).
    ``truncate_udp`` (a bool, or a callable read on every query) answers every UDP query with TC set
    and no records, so clients must retry over TCP. One daemon thread serves both transports;
    ``stop`` closes every socket and joins it. Use as a context manager or call start/stop.
    """

    def __init__(
        self,
        source: DnsSource,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lag_seconds: float = 0.0,
        truncate_udp: bool | Callable[[], bool] = False,
    ) -> None:
        if lag_seconds < 0:
            raise ValueError("lag_seconds must be >= 0: it says how far behind the served data is")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535 (0 picks a free one), not {port}")
        self._source = source
        self._host = host
        self._requested_port = port
        self._lag_seconds = lag_seconds
        self._truncate_udp = truncate_udp
        self._port: int | None = None
        self._nameserver_address = ""
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._wake_reader: socket.socket | None = None
        self._wake_writer: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._connections: dict[socket.socket, _Connection] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def host(self) -> str:
        """The address the server binds, as given (``127.0.0.1`` by default)."""
        return self._host

    @property
    def port(self) -> int:
        """The port the server listens on, UDP and TCP alike (known once started)."""
        if self._port is None:
            raise RuntimeError("reading DnsServer port: not started")
        return self._port

    @property
    def nameserver_address(self) -> str:
        """The address ns1/ns2.dns.sandbox.test resolve to: the bound address (loopback if wildcard)."""
        return self._nameserver_address

    def start(self) -> Self:
        """Bind both sockets and start serving; returns self. Starting twice is an error."""
        if self._thread is not None:
            raise RuntimeError("starting DnsServer: already running")
        udp, tcp = self._bind()
        bound = udp.getsockname()[0]
        self._nameserver_address = _reachable_address(bound)
        self._udp, self._tcp = udp, tcp
        self._port = int(udp.getsockname()[1])
        self._wake_reader, self._wake_writer = socket.socketpair()
        for sock in (udp, tcp, self._wake_reader):
            sock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(udp, selectors.EVENT_READ)
        self._selector.register(tcp, selectors.EVENT_READ)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name=f"sandbox-dns-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wake the thread, join it; it closes every socket on its way out."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        if self._wake_writer is not None:
            with contextlib.suppress(OSError):
                self._wake_writer.send(b"x")
        thread.join(timeout=10)
        if thread.is_alive():
            raise RuntimeError("stopping DnsServer: the serving thread did not end within 10 s")
        if self._wake_writer is not None:
            self._wake_writer.close()
        self._thread = None
        self._wake_reader = self._wake_writer = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- sockets --------------------------------------------------------------------------------------

    def _bind(self) -> tuple[socket.socket, socket.socket]:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # With port 0 the UDP port is picked first; TCP may find it taken, so try a few.
        attempts = 20 if self._requested_port == 0 else 1
        for attempt in range(attempts):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            tcp = socket.socket(family, socket.SOCK_STREAM)
            try:
                udp.bind((self._host, self._requested_port))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((self._host, udp.getsockname()[1]))
                tcp.listen(64)
            except OSError as exc:
                udp.close()
                tcp.close()
                if attempt == attempts - 1:
                    raise OSError(
                        f"starting DnsServer on {self._host}:{self._requested_port}: {exc.strerror or exc}"
                    ) from exc
                continue
            return udp, tcp
        raise AssertionError("unreachable")  # pragma: no cover

    def _serve(self) -> None:
        selector = self._selector
        assert selector is not None
        try:
            while not self._stopping.is_set():
                for key, mask in selector.select(timeout=1.0):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._wake_reader:
                        with contextlib.suppress(OSError):
                            sock.recv(64)
                    elif sock is self._udp:
                        self._on_udp(sock)
                    elif sock is self._tcp:
                        self._on_accept(sock, selector)
                    else:
                        self._on_connection(self._connections[sock], mask, selector)
                self._close_idle(selector)
        except Exception:  # pragma: no cover - a bug; logged so that a hung test explains itself
            logger.exception("the DNS server loop failed")
        finally:
            for connection in list(self._connections.values()):
                self._close(connection, selector)
            for listening in (self._udp, self._tcp, self._wake_reader):
                if listening is not None:
                    listening.close()
            selector.close()
            self._udp = self._tcp = None
            self._selector = None

    def _on_udp(self, sock: socket.socket) -> None:
        try:
            wire, address = sock.recvfrom(65535)
        except OSError:
            return
        answer = self._answer(wire, udp=True)
        if answer is not None:
            with contextlib.suppress(OSError):  # a full send buffer loses the datagram, as UDP may
                sock.sendto(answer, address)

    def _on_accept(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        self._connections[sock] = _Connection(sock)
        selector.register(sock, selectors.EVENT_READ)

    def _on_connection(self, connection: _Connection, mask: int, selector: selectors.BaseSelector) -> None:
        connection.active_at = time.monotonic()
        if mask & selectors.EVENT_READ:
            try:
                data = connection.sock.recv(65535)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            if data == b"":
                self._close(connection, selector)
                return
            if data:
                connection.received += data
                self._handle_tcp_messages(connection)
        if connection.outgoing:
            try:
                sent = connection.sock.send(connection.outgoing)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._close(connection, selector)
                return
            del connection.outgoing[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.outgoing else 0)
        selector.modify(connection.sock, events)

    def _handle_tcp_messages(self, connection: _Connection) -> None:
        # Each DNS message on TCP is preceded by its length in two bytes (RFC 1035 4.2.2).
        while len(connection.received) >= 2:
            length = int.from_bytes(connection.received[:2], "big")
            if len(connection.received) < 2 + length:
                return
            wire = bytes(connection.received[2 : 2 + length])
            del connection.received[: 2 + length]
            answer = self._answer(wire, udp=False)
            if answer is not None:
                connection.outgoing += len(answer).to_bytes(2, "big") + answer

    def _close(self, connection: _Connection, selector: selectors.BaseSelector) -> None:
        self._connections.pop(connection.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(connection.sock)
        connection.sock.close()

    def _close_idle(self, selector: selectors.BaseSelector) -> None:
        deadline = time.monotonic() - TCP_IDLE_SECONDS
        for connection in list(self._connections.values()):
            if connection.active_at < deadline:
                self._close(connection, selector)

    # -- answers ----------------------------------------------------------------------------------------

    def _answer(self, wire: bytes, *, udp: bool) -> bytes | None:
        """The wire answer to one query, or None when nothing should be sent back."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return _format_error(wire)
        if query.flags & dns.flags.QR:
            return None  # a response, not a query: answering it could start a loop
        try:
            response = build_response(
                query, self._source.dns_snapshot(self._lag_seconds), self._nameserver_address
            )
        except Exception:
            logger.exception("answering %s", query.question)
            response = dns.message.make_response(query, our_payload=OUR_UDP_PAYLOAD)
            response.set_rcode(dns.rcode.SERVFAIL)
        if udp and self._truncating():
            return _truncated(query, response).to_wire()
        limit = 65535
        if udp:
            limit = max(UDP_LIMIT, min(query.payload, 65535)) if query.edns >= 0 else UDP_LIMIT
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            return _truncated(query, response).to_wire()

    def _truncating(self) -> bool:
        truncate = self._truncate_udp
        return bool(truncate() if callable(truncate) else truncate)


def _format_error(wire: bytes) -> bytes | None:
    """FORMERR for a query dnspython cannot parse, echoing its id; None when not even a header came."""
    if len(wire) < 12:
        return None
    try:
        header = dns.message.from_wire(wire, question_only=True)
    except Exception:
        header = None
    if header is not None and header.flags & dns.flags.QR:
        return None
    response = dns.message.Message(id=int.from_bytes(wire[:2], "big"))
    response.flags = dns.flags.QR
    response.set_rcode(dns.rcode.FORMERR)
    return response.to_wire()


def _reachable_address(bound: str) -> str:
    address = ipaddress.ip_address(bound)
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return str(address)


def zone_serial(*instants: float) -> int:
    """An SOA serial from the instants a zone changed: the latest, in whole seconds (at least 1)."""
    return max(1, int(max(instants, default=1)) % 2**32)
