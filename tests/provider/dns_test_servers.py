"""DNS helpers for the DNS checker's tests: every server here listens on loopback only.

StaticSource       a fixed snapshot for the sandbox's DnsServer (records the sandbox API cannot make)
ScriptedDnsServer  a DNS server (UDP and TCP) whose every answer a test decides: forward, fail, stay silent
forward_to         a ScriptedDnsServer handler that forwards to a real server, with address overrides
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

from provider.dns.checker import Endpoint
from sandbox import DnsEntry, DnsSnapshot

LOOPBACK = "127.0.0.1"

Handler = Callable[[dns.message.Message], dns.message.Message | None]
"""Answers one query; None sends nothing back (the client times out)."""


class StaticSource:
    """A ``DnsSource`` that always serves the same zones and records."""

    def __init__(self, zones: Iterable[str], entries: Iterable[DnsEntry]) -> None:
        self.snapshot = DnsSnapshot(zones=frozenset(zones), entries=tuple(entries))

    def dns_snapshot(self, lag_seconds: float = 0.0) -> DnsSnapshot:
        """The fixed snapshot, whatever the lag."""
        return self.snapshot


@dataclass(frozen=True)
class ReceivedQuery:
    """One query a ScriptedDnsServer received."""

    name: str
    """Question name, without the trailing dot."""
    type: str
    """Question type, such as ``SOA``."""
    recursion_desired: bool
    """The RD flag: True for resolver-style queries, False for authoritative (``+norec``) ones."""
    transport: str
    """``udp`` or ``tcp``."""


class ScriptedDnsServer:
    """A DNS server on ``host`` (UDP and TCP, one port) that hands every query to ``handler``.

    It records what it received in ``queries``. Use as a context manager.
    """

    def __init__(self, handler: Handler, host: str = LOOPBACK, *, tcp: bool = True) -> None:
        self.handler = handler
        """Decides every answer; may be replaced while running."""
        self.host = host
        self.tcp = tcp
        """False serves UDP only: a TCP connection to the port is refused."""
        self.queries: list[ReceivedQuery] = []
        """Every query received, in order."""
        self._lock = threading.Lock()
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self.port = 0

    @property
    def endpoint(self) -> Endpoint:
        """Where it listens."""
        return Endpoint(self.host, self.port)

    def count(self, type: str | None = None, *, recursion_desired: bool | None = None) -> int:
        """How many queries came, of a ``type`` and/or with RD set or not."""
        with self._lock:
            return sum(
                1
                for query in self.queries
                if (type is None or query.type == type)
                and (recursion_desired is None or query.recursion_desired == recursion_desired)
            )

    def names_asked(self, type: str) -> list[str]:
        """The question names of every query of ``type``, in order."""
        with self._lock:
            return [query.name for query in self.queries if query.type == type]

    def start(self) -> Self:
        """Bind UDP and TCP on one free port and serve both from daemon threads."""
        owner = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                answer = owner._answer(data, "udp")
                if answer is not None:
                    sock.sendto(answer, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock = self.request
                while True:
                    header = _read_exactly(sock, 2)
                    if header is None:
                        return
                    body = _read_exactly(sock, int.from_bytes(header, "big"))
                    if body is None:
                        return
                    answer = owner._answer(body, "tcp")
                    if answer is None:
                        return
                    sock.sendall(len(answer).to_bytes(2, "big") + answer)

        servers: list[socketserver.BaseServer] = []
        for _attempt in range(20):
            udp = _UdpServer((self.host, 0), Udp)
            port = int(udp.server_address[1])
            if not self.tcp:
                servers = [udp]
                break
            try:
                servers = [udp, _TcpServer((self.host, port), Tcp)]
            except OSError:
                udp.server_close()
                continue
            break
        else:  # pragma: no cover - twenty taken ports in a row
            raise OSError("ScriptedDnsServer: no port free for both UDP and TCP")
        self.port = port
        self._servers = servers
        for server in servers:
            # A short poll interval: shutdown() waits for the loop to notice, and tests stop servers often.
            thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name=f"scripted-dns-{port}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop both servers and join their threads."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._servers, self._threads = [], []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, wire: bytes, transport: str) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        with self._lock:
            self.queries.append(
                ReceivedQuery(
                    question.name.to_text(omit_final_dot=True),
                    dns.rdatatype.to_text(question.rdtype),
                    bool(query.flags & dns.flags.RD),
                    transport,
                )
            )
        response = self.handler(query)
        return None if response is None else response.to_wire()


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def forward_to(upstream: Endpoint, addresses: Mapping[str, str] | None = None) -> Handler:
    """A handler that forwards every query to ``upstream``, except A/AAAA of the names in ``addresses``.

    ``addresses`` maps a host name to the address to answer instead (``{"ns2.dns.sandbox.test":
    "127.0.0.2"}``): a resolver that sends a zone's second nameserver somewhere else.
    """
    overrides = {dns.name.from_text(name): address for name, address in (addresses or {}).items()}

    def handle(query: dns.message.Message) -> dns.message.Message | None:
        question = query.question[0]
        address = overrides.get(question.name)
        if address is not None and question.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA | dns.flags.RA
            wanted = dns.rdatatype.AAAA if ":" in address else dns.rdatatype.A
            if question.rdtype == wanted:
                response.answer.append(dns.rrset.from_text(question.name, 5, "IN", wanted, address))
            return response
        response, _ = dns.query.udp_with_fallback(query, upstream.host, timeout=10, port=upstream.port)
        return response

    return handle


def answer_rcode(rcode: dns.rcode.Rcode) -> Handler:
    """A handler that answers every query with ``rcode`` and nothing else."""

    def handle(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        return response

    return handle


def silent(query: dns.message.Message) -> None:
    """A handler that never answers: the client times out."""
    return None


def by_recursion(recursive: Handler, authoritative: Handler) -> Handler:
    """One server playing two roles: RD queries go to ``recursive``, ``+norec`` ones to ``authoritative``."""

    def handle(query: dns.message.Message) -> dns.message.Message | None:
        return recursive(query) if query.flags & dns.flags.RD else authoritative(query)

    return handle


def referral_to(child_zone: str, nameservers: Iterable[str]) -> Handler:
    """A handler that answers like a parent zone's server: no AA, NS of ``child_zone`` in authority."""

    def handle(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.AA
        rrset = dns.rrset.from_text_list(child_zone + ".", 5, "IN", "NS", [ns + "." for ns in nameservers])
        response.authority.append(rrset)
        return response

    return handle


def truncated(query: dns.message.Message) -> dns.message.Message:
    """A handler that answers with TC set and no records: the client must ask again over TCP."""
    response = dns.message.make_response(query)
    response.flags |= dns.flags.TC
    return response


def loopback_alias_usable(address: str = "127.0.0.2") -> bool:
    """True when ``address`` (another loopback address, routed to lo on Linux) can be bound."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


def zone_answer(zone: str, rcode: dns.rcode.Rcode = dns.rcode.NXDOMAIN) -> Handler:
    """A handler that answers ``rcode`` with the SOA of ``zone`` in authority (``"."`` for the root)."""
    origin = dns.name.from_text(zone)

    def handle(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        response.set_rcode(rcode)
        soa = dns.rrset.from_text(
            origin, 5, "IN", "SOA", "a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400"
        )
        response.authority.append(soa)
        return response

    return handle
