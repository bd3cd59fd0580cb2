"""The sandbox's DNS server, queried with dnspython over UDP and TCP on 127.0.0.1 (DELAY=10 s)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from sandbox import NAMESERVERS, DnsEntry, DnsServer, DnsSnapshot
from sandbox.testing import ManualClock, SandboxServer

RegisterFn = Callable[[str], dict[str, Any]]
LOOPBACK = "127.0.0.1"
SPF_TEXT = "v=spf1 include:amazonses.com ~all"
DELAY = 10.0
"""The propagation delay of the timed server (tests/sandbox/conftest.py)."""


def _query(port: int, name: str, rdtype: str, *, tcp: bool = False, **make: Any) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **make)
    if tcp:
        return dns.query.tcp(query, LOOPBACK, port=port, timeout=5)
    return dns.query.udp(query, LOOPBACK, port=port, timeout=5)


def _answer(response: dns.message.Message) -> list[str]:
    return sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)


def _rcode(response: dns.message.Message) -> str:
    return dns.rcode.to_text(response.rcode())


def _soa_in_authority(response: dns.message.Message, zone: str) -> bool:
    return [(rrset.name.to_text(), rrset.rdtype) for rrset in response.authority] == [
        (zone + ".", dns.rdatatype.SOA)
    ]


@pytest.fixture
def acme(timed: SandboxServer, register: RegisterFn) -> int:
    """acme.com registered, nothing published; returns the DNS port."""
    register("acme.com")
    return timed.dns_port


@pytest.fixture
def published(timed: SandboxServer, clock: ManualClock, acme: int) -> int:
    """acme.com registered, every record published and visible; returns the DNS port."""
    timed.publish("acme.com")
    clock.advance(DELAY)
    return acme


class StaticSource:
    """A ``DnsSource`` serving fixed entries, for records the sandbox API cannot publish (CNAME)."""

    def __init__(self, zones: set[str], entries: list[DnsEntry]) -> None:
        self.snapshot = DnsSnapshot(frozenset(zones), tuple(entries))

    def dns_snapshot(self, lag_seconds: float = 0.0) -> DnsSnapshot:
        return self.snapshot


@pytest.fixture
def static_server() -> Iterator[DnsServer]:
    """A DnsServer on a free port with a CNAME and a TXT in example.test."""
    source = StaticSource(
        {"example.test"},
        [
            DnsEntry("www.example.test", "CNAME", "Target.Example.NET"),
            DnsEntry("example.test", "TXT", "hello"),
        ],
    )
    with DnsServer(source) as server:
        yield server


# -- zone plumbing: SOA, NS, nameserver addresses ---------------------------------------------------------


def test_soa_at_the_apex_of_a_registered_domain(acme: int) -> None:
    response = _query(acme, "acme.com", "SOA")

    assert _rcode(response) == "NOERROR"
    assert response.flags & dns.flags.AA
    [soa] = response.answer[0]
    assert soa.mname.to_text() == "ns1.dns.sandbox.test."
    assert soa.rname.to_text() == "hostmaster.acme.com."
    assert soa.minimum == 5
    assert soa.serial >= 1


def test_ns_at_the_apex_names_both_nameservers(acme: int) -> None:
    response = _query(acme, "acme.com", "NS")

    assert _answer(response) == [f"{ns}." for ns in NAMESERVERS]


@pytest.mark.parametrize("nameserver", NAMESERVERS)
def test_nameservers_resolve_to_the_servers_own_address(timed: SandboxServer, nameserver: str) -> None:
    response = _query(timed.dns_port, nameserver, "A")

    assert _answer(response) == [LOOPBACK]
    assert response.flags & dns.flags.AA


# -- records --------------------------------------------------------------------------------------------


def test_records_are_served_only_after_the_propagation_delay(
    timed: SandboxServer, clock: ManualClock, acme: int
) -> None:
    timed.publish("acme.com")

    clock.advance(DELAY - 0.1)
    assert _rcode(_query(acme, "_dmarc.acme.com", "TXT")) == "NXDOMAIN"
    clock.advance(0.1)
    assert _answer(_query(acme, "_dmarc.acme.com", "TXT")) == ['"v=DMARC1; p=none;"']


def test_txt_is_served_without_the_api_quotes(published: int) -> None:
    response = _query(published, "send.acme.com", "TXT")

    [[txt]] = response.answer
    assert txt.strings == (SPF_TEXT.encode(),)


def test_dkim_txt_carries_the_key_of_the_api_record(
    timed: SandboxServer, register: RegisterFn, clock: ManualClock
) -> None:
    value = register("dkim.com")["dns_records"][0]["value"]
    timed.publish("dkim.com", type="TXT", name="resend._domainkey")
    clock.advance(DELAY)

    [[txt]] = _query(timed.dns_port, "resend._domainkey.dkim.com", "TXT").answer

    assert b"".join(txt.strings).decode() == value


def test_long_txt_is_split_into_255_byte_strings(timed: SandboxServer, clock: ManualClock, acme: int) -> None:
    text = "v=DMARC1; p=none; rua=mailto:" + "x" * 570
    timed.publish("acme.com", type="TXT", name="_dmarc", value=text)
    clock.advance(DELAY)

    [[txt]] = _query(acme, "_dmarc.acme.com", "TXT", tcp=True).answer

    assert [len(chunk) for chunk in txt.strings] == [255, 255, len(text) - 510]
    assert b"".join(txt.strings).decode() == text


def test_mx_answers_carry_preference_and_exchange(published: int) -> None:
    assert _answer(_query(published, "acme.com", "MX")) == ["10 inbound-smtp.us-east-1.amazonaws.com."]
    assert _answer(_query(published, "send.acme.com", "MX")) == ["10 feedback-smtp.us-east-1.amazonses.com."]


def test_a_wrong_value_is_served_as_published(timed: SandboxServer, clock: ManualClock, acme: int) -> None:
    timed.publish("acme.com", type="MX", name="@", value="MX.Elsewhere.EXAMPLE.")
    timed.publish("acme.com", type="TXT", name="_dmarc", value="v=DMARC1; p=reject;")
    clock.advance(DELAY)

    assert _answer(_query(acme, "acme.com", "MX")) == ["10 mx.elsewhere.example."]
    assert _answer(_query(acme, "_dmarc.acme.com", "TXT")) == ['"v=DMARC1; p=reject;"']


def test_records_outlive_the_deleted_domain(
    api: Any, timed: SandboxServer, register: RegisterFn, clock: ManualClock
) -> None:
    domain_id = register("gone.com")["id"]
    timed.publish("gone.com")
    clock.advance(DELAY)
    api.delete(f"/core/email-domains/{domain_id}")

    assert _answer(_query(timed.dns_port, "_dmarc.gone.com", "TXT")) == ['"v=DMARC1; p=none;"']


def test_unpublished_record_disappears_at_once(timed: SandboxServer, published: int) -> None:
    timed.unpublish("acme.com", type="TXT", name="_dmarc")

    assert _rcode(_query(published, "_dmarc.acme.com", "TXT")) == "NXDOMAIN"


def test_cname_answers_queries_of_other_types(static_server: DnsServer) -> None:
    for rdtype in ("CNAME", "A", "TXT"):
        response = _query(static_server.port, "www.example.test", rdtype)
        assert _answer(response) == ["target.example.net."], rdtype
        assert response.answer[0].rdtype == dns.rdatatype.CNAME


# -- negative answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [
        ("acme.com", "TXT"),  # the apex exists (SOA, NS)
        ("send.acme.com", "A"),  # other types exist at the name
        ("_domainkey.acme.com", "TXT"),  # an empty non-terminal: resend._domainkey is below it
        ("send.acme.com", "CAA"),  # a type the sandbox never serves
    ],
)
def test_existing_name_without_the_type_is_nodata(published: int, name: str, rdtype: str) -> None:
    response = _query(published, name, rdtype)

    assert _rcode(response) == "NOERROR"
    assert response.answer == []
    assert response.flags & dns.flags.AA
    assert _soa_in_authority(response, "acme.com")


def test_missing_name_inside_a_zone_is_nxdomain_with_the_soa(published: int) -> None:
    response = _query(published, "nothing.acme.com", "TXT")

    assert _rcode(response) == "NXDOMAIN"
    assert response.flags & dns.flags.AA
    assert _soa_in_authority(response, "acme.com")


def test_name_outside_every_zone_is_refused(acme: int) -> None:
    response = _query(acme, "example.org", "TXT")

    assert _rcode(response) == "REFUSED"
    assert not response.flags & dns.flags.AA
    assert response.answer == response.authority == []


def test_recursive_and_iterative_queries_get_the_same_data(published: int) -> None:
    recursive = _query(published, "send.acme.com", "MX")
    iterative = _query(published, "send.acme.com", "MX", flags=0)

    assert recursive.flags & dns.flags.RA
    assert not iterative.flags & dns.flags.RA
    assert iterative.flags & dns.flags.AA
    assert _answer(recursive) == _answer(iterative)


def test_other_classes_are_refused(acme: int) -> None:
    response = _query(acme, "version.bind", "TXT", rdclass=dns.rdataclass.CH)

    assert _rcode(response) == "REFUSED"


def test_malformed_query_answers_formerr_with_its_id(acme: int) -> None:
    wire = dns.message.make_query("acme.com", "SOA", id=4242).to_wire()[:-3]  # the question cut short

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(wire, (LOOPBACK, acme))
        response = dns.message.from_wire(sock.recv(512))

    assert response.id == 4242
    assert _rcode(response) == "FORMERR"
    assert _rcode(_query(acme, "acme.com", "SOA")) == "NOERROR"  # still serving


# -- transports -------------------------------------------------------------------------------------------


def test_udp_answer_over_512_bytes_is_truncated_and_tcp_has_it(
    timed: SandboxServer, clock: ManualClock, acme: int
) -> None:
    text = "x" * 600
    timed.publish("acme.com", type="TXT", name="_dmarc", value=text)
    clock.advance(DELAY)

    plain = _query(acme, "_dmarc.acme.com", "TXT")
    with_edns = _query(acme, "_dmarc.acme.com", "TXT", use_edns=0, payload=4096)
    fallback, used_tcp = dns.query.udp_with_fallback(
        dns.message.make_query("_dmarc.acme.com", "TXT"), LOOPBACK, port=acme, timeout=5
    )

    assert plain.flags & dns.flags.TC
    assert plain.answer == []
    assert not with_edns.flags & dns.flags.TC  # the client said it takes 4096 bytes
    assert b"".join(with_edns.answer[0][0].strings).decode() == text
    assert used_tcp
    assert b"".join(fallback.answer[0][0].strings).decode() == text


def test_truncate_udp_makes_every_client_retry_over_tcp(static_server: DnsServer) -> None:
    source = StaticSource({"example.test"}, [DnsEntry("example.test", "TXT", "hello")])
    with DnsServer(source, truncate_udp=True) as server:
        udp = _query(server.port, "example.test", "TXT")
        fallback, used_tcp = dns.query.udp_with_fallback(
            dns.message.make_query("example.test", "TXT"), LOOPBACK, port=server.port, timeout=5
        )

    assert udp.flags & dns.flags.TC
    assert udp.answer == []
    assert used_tcp
    assert _answer(fallback) == ['"hello"']


def test_several_queries_on_one_tcp_connection(published: int) -> None:
    names = ["_dmarc.acme.com", "send.acme.com", "resend._domainkey.acme.com"]

    with socket.create_connection((LOOPBACK, published), timeout=5) as sock:
        queries = [dns.message.make_query(name, "TXT") for name in names]
        for query in queries:  # all sent before reading: the server must frame each one
            dns.query.send_tcp(sock, query)
        responses = [dns.query.receive_tcp(sock)[0] for _ in queries]

    assert [response.id for response in responses] == [query.id for query in queries]
    assert all(len(response.answer) == 1 for response in responses)


def test_lagging_server_serves_the_data_of_n_seconds_ago(
    timed: SandboxServer, clock: ManualClock, acme: int
) -> None:
    clock.advance(60)  # the zone exists 30 s ago too: the lagging server is authoritative for it
    with DnsServer(timed.state, lag_seconds=30) as behind:
        timed.publish("acme.com", type="TXT", name="_dmarc")
        clock.advance(DELAY)
        assert _answer(_query(acme, "_dmarc.acme.com", "TXT")) == ['"v=DMARC1; p=none;"']
        assert _rcode(_query(behind.port, "_dmarc.acme.com", "TXT")) == "NXDOMAIN"
        assert _serial(acme) > _serial(behind.port)

        clock.advance(30)
        assert _answer(_query(behind.port, "_dmarc.acme.com", "TXT")) == ['"v=DMARC1; p=none;"']
        timed.unpublish("acme.com", type="TXT", name="_dmarc")
        assert _rcode(_query(acme, "_dmarc.acme.com", "TXT")) == "NXDOMAIN"
        assert _answer(_query(behind.port, "_dmarc.acme.com", "TXT")) == ['"v=DMARC1; p=none;"']

        clock.advance(30)
        assert _rcode(_query(behind.port, "_dmarc.acme.com", "TXT")) == "NXDOMAIN"


def _serial(port: int) -> int:
    [soa] = _query(port, "acme.com", "SOA").answer[0]
    return int(soa.serial)


def test_stop_closes_both_sockets_and_ends_the_thread() -> None:
    server = DnsServer(StaticSource({"example.test"}, [])).start()
    port = server.port
    assert _rcode(_query(port, "example.test", "SOA", tcp=True)) == "NOERROR"
    idle = socket.create_connection((LOOPBACK, port), timeout=5)  # a client that never sends

    server.stop()

    assert not any(thread.name == f"sandbox-dns-{port}" for thread in threading.enumerate())
    try:
        closed = idle.recv(1) == b""
    except ConnectionResetError:  # closed before the server accepted it: the kernel resets it
        closed = True
    idle.close()
    assert closed
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind((LOOPBACK, port))  # both ports are free again
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((LOOPBACK, port))
    server.stop()  # a second stop does nothing


def test_starting_twice_is_an_error(static_server: DnsServer) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        static_server.start()


def test_port_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = DnsServer(StaticSource(set(), [])).port
