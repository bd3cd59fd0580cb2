"""The DNS checker: endpoint parsing, value rules, messages, and checks against real DNS servers on loopback.

Every query goes to a server started by the test (the sandbox's ``DnsServer`` or a ``ScriptedDnsServer``)
on 127.0.0.1; the lagging-nameserver test also binds 127.0.0.2, another loopback address. No test reads
the system's resolvers: every checker gets explicit loopback resolvers. Time moves with a ManualClock.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

from provider.dns import checker as dns_check
from provider.dns.checker import (
    DnsChecker,
    DnsCheckMode,
    DnsCheckResult,
    DnsCheckSettings,
    Endpoint,
    ExpectedRecord,
    InvalidEndpointError,
    Outcome,
    RecordCheck,
    ServerAnswer,
    parse_endpoint,
    parse_resolvers,
    system_resolvers,
)
from provider.rules.records import host_name, record_full_name, txt_text
from sandbox import DnsEntry, DnsServer
from sandbox.testing import ManualClock, SandboxServer
from tests.provider.dns_test_servers import (
    LOOPBACK,
    ScriptedDnsServer,
    StaticSource,
    answer_rcode,
    by_recursion,
    forward_to,
    loopback_alias_usable,
    referral_to,
    silent,
    truncated,
    zone_answer,
)
from tests.support import START, FakeClock

BOTH_MODES = pytest.mark.parametrize("mode", [DnsCheckMode.AUTHORITATIVE, DnsCheckMode.RECURSIVE])
"""Run a test once per checking mode."""

GENEROUS_TIMEOUT = 5.0
"""Per-query timeout for servers that do answer: loopback answers come in milliseconds, even on a busy box."""

NS1, NS2 = "ns1.dns.sandbox.test", "ns2.dns.sandbox.test"

ROOT = Path(__file__).resolve().parents[2]


def test_the_dns_checker_imports_neither_pulumi_nor_the_sandbox() -> None:
    code = "import sys, provider.dns.checker; print(' '.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules = set(result.stdout.split())
    assert "dns.query" in modules
    assert not {"pulumi", "sandbox"} & modules


# -- endpoints ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.1.1.1", Endpoint("1.1.1.1", 53)),
        ("127.0.0.1:5353", Endpoint("127.0.0.1", 5353)),
        ("  8.8.8.8:53 ", Endpoint("8.8.8.8", 53)),
        ("[::1]:5353", Endpoint("::1", 5353)),
        ("[::1]", Endpoint("::1", 53)),
        ("::1", Endpoint("::1", 53)),
        ("2606:4700:4700::1111", Endpoint("2606:4700:4700::1111", 53)),
        ("[2606:4700:4700:0:0:0:0:1111]:853", Endpoint("2606:4700:4700::1111", 853)),
    ],
)
def test_parse_endpoint_accepts_addresses_with_optional_ports(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected


def test_parse_endpoint_uses_the_default_port_when_none_is_given() -> None:
    assert parse_endpoint("127.0.0.1", default_port=5353) == Endpoint("127.0.0.1", 5353)
    assert parse_endpoint("::1", default_port=5353) == Endpoint("::1", 5353)
    assert parse_endpoint("127.0.0.1:53", default_port=5353) == Endpoint("127.0.0.1", 53)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("1.1.1.1:", "port '', which is not a number"),
        ("1.1.1.1:dns", "port 'dns', which is not a number"),
        ("1.1.1.1:0", "port 0, which is not between 1 and 65535"),
        ("1.1.1.1:65536", "port 65536, which is not between 1 and 65535"),
        ("udp://1.1.1.1", "is not a host[:port]"),
        ("1.1.1.0/24", "is not a host[:port]"),
        ("[::1", "opens a bracket that is not closed"),
        ("[::1]5353", "has '5353' after the bracketed address"),
        ("[1.2.3.4]:53", "has '1.2.3.4' in brackets, which is not an IPv6 address"),
        ("1::2::3", "is neither an IPv6 address nor host:port"),
        ("300.1.1.1", "has '300.1.1.1', which is not a valid IPv4 address"),
        ("dns server", "which is neither an IP address nor a host name"),
        ("-bad-.example", "which is neither an IP address nor a host name"),
    ],
)
def test_parse_endpoint_rejects_anything_else_naming_the_problem_and_the_fix(text: str, problem: str) -> None:
    with pytest.raises(InvalidEndpointError) as raised:
        parse_endpoint(text)
    message = str(raised.value)
    assert message.startswith(f"DNS server {text!r} ")
    assert problem in message
    assert "use an IP address with an optional port, such as 1.1.1.1 or 127.0.0.1:5353" in message
    assert isinstance(raised.value, ValueError)


def test_parse_endpoint_resolves_a_host_name_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[Any, ...]] = []

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append((host, port))
        return [(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP, "", ("192.0.2.53", port))]

    monkeypatch.setattr(dns_check.socket, "getaddrinfo", fake_getaddrinfo)

    assert parse_endpoint("dns.internal.example:5353") == Endpoint("192.0.2.53", 5353)
    assert asked == [("dns.internal.example", 5353)]


def test_parse_endpoint_reports_a_host_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_getaddrinfo(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(dns_check.socket, "getaddrinfo", failing_getaddrinfo)

    with pytest.raises(
        InvalidEndpointError, match=r"names host 'dns\.nowhere\.example', which does not resolve"
    ):
        parse_endpoint("dns.nowhere.example")


def test_parse_endpoint_rejects_a_bad_default_port() -> None:
    with pytest.raises(ValueError, match="must be a whole number between 1 and 65535"):
        parse_endpoint("1.1.1.1", default_port=0)


def test_an_endpoint_prints_as_host_and_port_with_brackets_for_ipv6() -> None:
    assert str(Endpoint("127.0.0.1", 5353)) == "127.0.0.1:5353"
    assert str(Endpoint("::1")) == "[::1]:53"
    assert Endpoint("0:0:0:0:0:0:0:1").host == "::1"  # one spelling per address, so equal servers dedupe


@pytest.mark.parametrize(
    ("host", "port"), [("dns.example", 53), ("[::1]", 53), ("127.0.0.1", 0), ("1.1.1.1", True)]
)
def test_an_endpoint_needs_an_ip_address_and_a_valid_port(host: str, port: int) -> None:
    with pytest.raises(ValueError):
        Endpoint(host, port)


def test_system_resolvers_reads_the_nameserver_lines_of_a_resolv_conf(tmp_path: Path) -> None:
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text("search example\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n")

    assert system_resolvers(str(resolv_conf)) == (Endpoint("127.0.0.53"), Endpoint("::1"))


def test_system_resolvers_without_a_usable_file_is_a_value_error(tmp_path: Path) -> None:
    empty = tmp_path / "resolv.conf"
    empty.write_text("search example\n")
    with pytest.raises(ValueError, match=r"resolv\.conf"):
        system_resolvers(str(empty))
    with pytest.raises(ValueError, match="reading the system's resolvers from"):
        system_resolvers(str(tmp_path / "missing.conf"))


# -- settings -----------------------------------------------------------------------------------------


def test_settings_default_to_authoritative_checks_through_the_system_resolvers() -> None:
    settings = DnsCheckSettings()
    assert settings.mode is DnsCheckMode.AUTHORITATIVE
    assert settings.resolvers == ()
    assert settings.nameserver_port == 53
    assert settings.timeout == 2.0


def test_settings_accept_a_mode_name_and_a_list_of_resolvers() -> None:
    settings = DnsCheckSettings(mode="recursive", resolvers=[Endpoint("127.0.0.1", 5353)])  # type: ignore[arg-type]
    assert settings.mode is DnsCheckMode.RECURSIVE
    assert settings.resolvers == (Endpoint("127.0.0.1", 5353),)
    hash(settings)  # frozen and hashable: a list was turned into a tuple


def test_settings_ask_a_resolver_named_twice_once() -> None:
    twice = (Endpoint("127.0.0.1", 5353), Endpoint("127.0.0.2"), Endpoint("127.0.0.1", 5353))
    assert DnsCheckSettings(resolvers=twice).resolvers == twice[:2]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "strict"}, "DNS check mode 'strict' is not one of 'authoritative', 'recursive', 'off'"),
        (
            {"resolvers": ("1.1.1.1",)},
            r"resolvers\[0\] is '1.1.1.1', not an Endpoint: build it with parse_endpoint",
        ),
        ({"resolvers": "1.1.1.1"}, "must be a sequence of Endpoint, not str"),
        ({"nameserver_port": 0}, "port 0 of nameserver_port must be a whole number between 1 and 65535"),
        ({"nameserver_port": 70000}, "between 1 and 65535"),
        ({"timeout": 0}, "DNS check timeout 0 must be a number of seconds above 0"),
        ({"timeout": -1.0}, "above 0"),
        ({"timeout": math.nan}, "above 0"),
        ({"timeout": True}, "above 0"),
        ({"timeout": 600}, "at most 60"),
    ],
)
def test_bad_settings_are_a_value_error_that_names_the_setting(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DnsCheckSettings(**changes)


def test_a_mode_is_read_in_any_case() -> None:
    assert DnsCheckMode.parse(" Recursive ") is DnsCheckMode.RECURSIVE
    assert DnsCheckSettings(mode="OFF").mode is DnsCheckMode.OFF  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="DNS check mode 'fast' is not one of 'authoritative', 'recursive', 'off'"
    ):
        DnsCheckMode.parse("fast")


def test_resolvers_are_read_from_host_port_texts_and_written_back_the_same() -> None:
    resolvers = parse_resolvers(["127.0.0.1:5353", "[::0001]:5353", Endpoint("1.1.1.1")])
    assert resolvers == (Endpoint("127.0.0.1", 5353), Endpoint("::1", 5353), Endpoint("1.1.1.1"))
    assert [str(resolver) for resolver in resolvers] == ["127.0.0.1:5353", "[::1]:5353", "1.1.1.1:53"]
    assert parse_resolvers([str(resolver) for resolver in resolvers]) == resolvers
    with pytest.raises(InvalidEndpointError, match=r"DNS server 'udp://1\.1\.1\.1'") as caught:
        parse_resolvers(["1.1.1.1", "udp://1.1.1.1"])
    assert caught.value.text == "udp://1.1.1.1"
    with pytest.raises(ValueError, match=r"not the string '1\.1\.1\.1'"):
        parse_resolvers("1.1.1.1")


def test_the_checker_validates_its_settings_when_built() -> None:
    settings = DnsCheckSettings()
    object.__setattr__(settings, "timeout", -5)  # bypassing the frozen dataclass's own check
    with pytest.raises(ValueError, match="DNS check timeout -5"):
        DnsChecker(settings)
    with pytest.raises(ValueError, match="DnsChecker needs DnsCheckSettings, not dict"):
        DnsChecker({"mode": "off"})  # type: ignore[arg-type]


# -- records and values -------------------------------------------------------------------------------


def test_expected_records_are_normalized_type_upper_name_lower_without_the_dot() -> None:
    record = ExpectedRecord("txt", "_DMARC.Acme.com.", "v=DMARC1; p=none;")
    assert (record.type, record.name) == ("TXT", "_dmarc.acme.com")
    assert record == ExpectedRecord("TXT", "_dmarc.acme.com", "v=DMARC1; p=none;")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("A", "acme.com", "192.0.2.1"), "DNS record type 'A' is not one of TXT, MX, CNAME"),
        (("TXT", "acme", "x"), "must be fully qualified, such as send.acme.com"),
        (("TXT", "a..com", "x"), "is not a domain name"),
        (("MX", "send.acme.com", " . "), "MX send.acme.com needs a target host name"),
        (("CNAME", "x.acme.com", ""), "CNAME x.acme.com needs a target host name"),
        (("TXT", "send.acme.com", "x", 10), "TXT send.acme.com takes no priority"),
        (("MX", "send.acme.com", "mx.example", 70000), "priority 70000 is not between 0 and 65535"),
        (("MX", "send.acme.com", "mx.example", True), "priority must be a whole number"),
    ],
)
def test_bad_expected_records_are_a_value_error(fields: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExpectedRecord(*fields)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("v=DMARC1; p=none;", "v=DMARC1; p=none;"),
        ('"v=spf1 include:amazonses.com ~all"', "v=spf1 include:amazonses.com ~all"),
        ('  "v=spf1 -all"  ', "v=spf1 -all"),
        ('"p=MIGf" "MA0GCS"', "p=MIGfMA0GCS"),
        ('"say \\"hi\\"" "\\\\ \\065"', 'say "hi"\\ A'),
        ('""', ""),
        ('"unbalanced', '"unbalanced'),
        ('"a" b', '"a" b'),
        ('x "quoted" inside', 'x "quoted" inside'),
    ],
)
def test_txt_text_unquotes_zone_file_chunks_and_keeps_plain_text(value: str, text: str) -> None:
    assert txt_text(value) == text


def test_host_names_compare_case_insensitively_without_the_trailing_dot() -> None:
    assert host_name(" Feedback-SMTP.us-east-1.AmazonSES.com. ") == "feedback-smtp.us-east-1.amazonses.com"
    record = ExpectedRecord("MX", "send.acme.com", "Inbound-SMTP.example.", 10)
    assert record.expected == "inbound-smtp.example"
    assert str(record) == "MX send.acme.com = 10 inbound-smtp.example"


@pytest.mark.parametrize(
    ("name", "full"),
    [
        ("@", "acme.com"),
        ("", "acme.com"),
        ("acme.com", "acme.com"),
        ("send", "send.acme.com"),
        ("resend._domainkey", "resend._domainkey.acme.com"),
        ("links.acme.com", "links.acme.com"),
        ("Send", "send.acme.com"),
        ("bounce.other.org.", "bounce.other.org"),
    ],
)
def test_record_full_name_turns_api_names_into_full_names(name: str, full: str) -> None:
    assert record_full_name(name, "acme.com") == full


# -- messages -----------------------------------------------------------------------------------------

DMARC = ExpectedRecord("TXT", "_dmarc.acme.com", "v=DMARC1; p=none;")
SPF_MX = ExpectedRecord("MX", "send.acme.com", "feedback-smtp.us-east-1.amazonses.com", 10)
DIG_DMARC = "dig +norec @127.0.0.1 -p 5353 TXT _dmarc.acme.com"


def test_describe_groups_nameservers_that_gave_the_same_answer_from_one_address() -> None:
    answers = tuple(
        ServerAnswer(f"{ns} (127.0.0.1:5353)", Outcome.MISSING, dig=DIG_DMARC) for ns in (NS1, NS2)
    )
    check = RecordCheck(DMARC, "acme.com", answers)

    assert check.describe() == (
        'TXT _dmarc.acme.com = "v=DMARC1; p=none;" - '
        "ns1.dns.sandbox.test (127.0.0.1:5353), ns2.dns.sandbox.test (127.0.0.1:5353): "
        "no answer (the name has no TXT record), "
        "check with `dig +norec @127.0.0.1 -p 5353 TXT _dmarc.acme.com`"
    )


def test_describe_says_per_server_what_came_back_and_skips_served_records() -> None:
    dig_mx = "dig +norec @127.0.0.2 -p 5353 MX send.acme.com"
    result = DnsCheckResult(
        (
            RecordCheck(
                DMARC,
                "acme.com",
                (
                    ServerAnswer(
                        f"{NS1} (127.0.0.1:5353)", Outcome.SERVED, ("v=DMARC1; p=none;",), dig=DIG_DMARC
                    ),
                    ServerAnswer(
                        f"{NS2} (127.0.0.2:5353)", Outcome.NXDOMAIN, dig=DIG_DMARC.replace(".1 ", ".2 ")
                    ),
                ),
            ),
            RecordCheck(
                SPF_MX,
                "acme.com",
                (
                    ServerAnswer(
                        f"{NS1} (127.0.0.1:5353)",
                        Outcome.WRONG_VALUE,
                        ("20 feedback-smtp.us-east-1.amazonses.com",),
                        dig=dig_mx.replace(".2 ", ".1 "),
                    ),
                    ServerAnswer(
                        f"{NS2} (127.0.0.2:5353)", Outcome.ERROR, detail="timed out after 2 s", dig=dig_mx
                    ),
                ),
            ),
            RecordCheck(
                ExpectedRecord("CNAME", "x._domainkey.acme.com", "x.dkim.amazonses.com."),
                "acme.com",
                (ServerAnswer(f"{NS1} (127.0.0.1:5353)", Outcome.SERVED),),
            ),
        )
    )

    assert not result.all_served
    assert [check.record for check in result.pending()] == [DMARC, SPF_MX]
    assert result.describe().splitlines() == [
        'TXT _dmarc.acme.com = "v=DMARC1; p=none;" - ns1.dns.sandbox.test (127.0.0.1:5353): served; '
        "ns2.dns.sandbox.test (127.0.0.2:5353): NXDOMAIN (the name does not exist), "
        "check with `dig +norec @127.0.0.2 -p 5353 TXT _dmarc.acme.com`",
        "MX send.acme.com = 10 feedback-smtp.us-east-1.amazonses.com - "
        "ns1.dns.sandbox.test (127.0.0.1:5353): "
        'another value: "20 feedback-smtp.us-east-1.amazonses.com", '
        "check with `dig +norec @127.0.0.1 -p 5353 MX send.acme.com`; "
        "ns2.dns.sandbox.test (127.0.0.2:5353): error: timed out after 2 s, "
        "check with `dig +norec @127.0.0.2 -p 5353 MX send.acme.com`",
    ]


def test_describe_is_empty_when_every_record_is_served_and_a_check_without_answers_is_not_served() -> None:
    served = RecordCheck(DMARC, "acme.com", (ServerAnswer("resolver 127.0.0.1:53", Outcome.SERVED),))
    assert DnsCheckResult((served,)).describe() == ""
    assert DnsCheckResult((served,)).all_served
    assert DnsCheckResult(()).all_served
    unasked = RecordCheck(DMARC, None, ())
    assert not unasked.served
    assert unasked.describe() == 'TXT _dmarc.acme.com = "v=DMARC1; p=none;" - no server asked'


def test_describe_shortens_long_values_and_lists_several_found_values() -> None:
    key = "p=" + "A" * 214 + "IDAQAB"
    record = ExpectedRecord("TXT", "resend._domainkey.acme.com", key)
    answer = ServerAnswer("resolver 127.0.0.1:53", Outcome.WRONG_VALUE, ("p=old", "v=other"), dig="dig x")

    line = RecordCheck(record, None, (answer,)).describe()

    assert line.startswith(f'TXT resend._domainkey.acme.com = "{key[:60]}...{key[-20:]}" (222 characters) - ')
    assert 'resolver 127.0.0.1:53: other values: "p=old", "v=other", check with `dig x`' in line


def test_describe_says_where_a_long_wrong_value_starts_to_differ() -> None:
    key = "p=" + "A" * 214 + "IDAQAB"
    record = ExpectedRecord("TXT", "resend._domainkey.acme.com", key)
    found = key[:150] + "B" + key[151:]
    answer = ServerAnswer("resolver 127.0.0.1:53", Outcome.WRONG_VALUE, (found,), dig="dig x")

    line = RecordCheck(record, None, (answer,)).describe()

    assert f'another value: "{found[:60]}...{found[-20:]}" (222 characters, ' in line
    assert "differs from the expected value from character 151), check with `dig x`" in line


def test_dig_commands_name_the_server_the_port_and_recursion() -> None:
    assert dns_check._dig_command(Endpoint("127.0.0.1", 5353), "TXT", "a.acme.com", recursion=False) == (
        "dig +norec @127.0.0.1 -p 5353 TXT a.acme.com"
    )
    assert dns_check._dig_command(Endpoint("::1"), "MX", "acme.com", recursion=True) == "dig @::1 MX acme.com"


# -- checks against the sandbox's DNS server, with records the sandbox API does not make -------------------

LONG_TXT = "p=" + "".join(
    f"{index:03d}" for index in range(110)
)  # 332 characters: two TXT strings on the wire
STATIC_ENTRIES = (
    DnsEntry("_dmarc.acme.com", "TXT", "v=DMARC1; p=none;"),
    DnsEntry("send.acme.com", "TXT", "v=spf1 include:amazonses.com ~all"),
    DnsEntry("send.acme.com", "TXT", "google-site-verification=abc"),
    DnsEntry("send.acme.com", "MX", "feedback-smtp.us-east-1.amazonses.com", 10),
    DnsEntry("acme.com", "MX", "inbound-smtp.us-east-1.amazonaws.com", 10),
    DnsEntry("resend._domainkey.acme.com", "TXT", LONG_TXT),
    DnsEntry("tok._domainkey.acme.com", "CNAME", "tok.dkim.amazonses.com"),
    DnsEntry("alias.acme.com", "CNAME", "target.acme.com"),
    DnsEntry("target.acme.com", "TXT", "behind an alias"),
)
ALL_STATIC_RECORDS = (
    ExpectedRecord("TXT", "_dmarc.acme.com", "v=DMARC1; p=none;"),
    ExpectedRecord("TXT", "send.acme.com", '"v=spf1 include:amazonses.com ~all"'),
    ExpectedRecord("MX", "send.acme.com", "feedback-smtp.us-east-1.amazonses.com.", 10),
    ExpectedRecord("MX", "acme.com", "INBOUND-SMTP.us-east-1.amazonaws.com"),
    ExpectedRecord("TXT", "resend._domainkey.acme.com", f'"{LONG_TXT[:255]}" "{LONG_TXT[255:]}"'),
    ExpectedRecord("CNAME", "tok._domainkey.acme.com", "tok.dkim.amazonses.com."),
)


@pytest.fixture(scope="module")
def static_dns() -> Iterator[DnsServer]:
    """The sandbox's DNS server on 127.0.0.1, serving zone acme.com with fixed records."""
    with DnsServer(StaticSource(["acme.com"], STATIC_ENTRIES)) as server:
        yield server


def loopback_settings(
    resolver_port: int, mode: DnsCheckMode = DnsCheckMode.AUTHORITATIVE, **changes: Any
) -> DnsCheckSettings:
    """One resolver on 127.0.0.1:``resolver_port``, nameservers asked on the same port."""
    values: dict[str, Any] = {
        "mode": mode,
        "resolvers": (Endpoint(LOOPBACK, resolver_port),),
        "nameserver_port": resolver_port,
        "timeout": GENEROUS_TIMEOUT,
    }
    values.update(changes)
    return DnsCheckSettings(**values)


def outcomes(check: RecordCheck) -> list[tuple[str, Outcome]]:
    """(server, outcome) per answer."""
    return [(answer.server, answer.outcome) for answer in check.answers]


def test_authoritative_check_asks_every_nameserver_of_the_zone(static_dns: DnsServer) -> None:
    result = DnsChecker(loopback_settings(static_dns.port)).check(ALL_STATIC_RECORDS)

    assert result.all_served, result.describe()
    endpoint = f"127.0.0.1:{static_dns.port}"
    for check in result.records:
        assert check.zone == "acme.com"
        assert outcomes(check) == [
            (f"{NS1} ({endpoint})", Outcome.SERVED),
            (f"{NS2} ({endpoint})", Outcome.SERVED),
        ]
    spf = result.records[1].answers[0]
    assert spf.found == ("google-site-verification=abc", "v=spf1 include:amazonses.com ~all")
    assert spf.dig == f"dig +norec @127.0.0.1 -p {static_dns.port} TXT send.acme.com"


def test_recursive_check_asks_every_resolver(static_dns: DnsServer) -> None:
    result = DnsChecker(loopback_settings(static_dns.port, DnsCheckMode.RECURSIVE)).check(ALL_STATIC_RECORDS)

    assert result.all_served, result.describe()
    for check in result.records:
        assert check.zone is None
        assert outcomes(check) == [(f"resolver 127.0.0.1:{static_dns.port}", Outcome.SERVED)]
        assert check.answers[0].dig.startswith(f"dig @127.0.0.1 -p {static_dns.port} ")


@BOTH_MODES
def test_a_wrong_value_is_reported_with_the_values_found(static_dns: DnsServer, mode: DnsCheckMode) -> None:
    records = [
        ExpectedRecord("TXT", "send.acme.com", "v=spf1 include:other.example ~all"),
        ExpectedRecord("MX", "send.acme.com", "feedback-smtp.us-east-1.amazonses.com", 20),
        ExpectedRecord("CNAME", "tok._domainkey.acme.com", "tok.dkim.elsewhere.example"),
        ExpectedRecord("TXT", "_dmarc.acme.com", "v=DMARC1; p=reject;"),
    ]

    result = DnsChecker(loopback_settings(static_dns.port, mode)).check(records)

    found = [(check.answers[0].outcome, check.answers[0].found) for check in result.records]
    assert found == [
        (Outcome.WRONG_VALUE, ("google-site-verification=abc", "v=spf1 include:amazonses.com ~all")),
        (Outcome.WRONG_VALUE, ("10 feedback-smtp.us-east-1.amazonses.com",)),
        (Outcome.WRONG_VALUE, ("tok.dkim.amazonses.com",)),
        (Outcome.WRONG_VALUE, ("v=DMARC1; p=none;",)),
    ]
    assert 'another value: "10 feedback-smtp.us-east-1.amazonses.com"' in result.describe()


@BOTH_MODES
def test_a_missing_record_and_a_missing_name_are_told_apart(
    static_dns: DnsServer, mode: DnsCheckMode
) -> None:
    records = [
        ExpectedRecord("TXT", "acme.com", "v=spf1 -all"),  # the apex exists (SOA, NS, MX): NODATA
        ExpectedRecord("TXT", "nothing-here.acme.com", "x"),  # no such name: NXDOMAIN
        ExpectedRecord("TXT", "_domainkey.acme.com", "x"),  # an empty non-terminal exists: NODATA
    ]

    result = DnsChecker(loopback_settings(static_dns.port, mode)).check(records)

    assert [check.answers[0].outcome for check in result.records] == [
        Outcome.MISSING,
        Outcome.NXDOMAIN,
        Outcome.MISSING,
    ]
    lines = result.describe().splitlines()
    assert "no answer (the name has no TXT record)" in lines[0]
    assert "NXDOMAIN (the name does not exist)" in lines[1]


def test_a_name_outside_every_known_zone_reports_that_its_zone_was_not_found(static_dns: DnsServer) -> None:
    record = ExpectedRecord("TXT", "_dmarc.other.example", "v=DMARC1; p=none;")

    check = DnsChecker(loopback_settings(static_dns.port)).check([record]).records[0]

    assert check.zone is None
    [answer] = check.answers
    assert answer.outcome is Outcome.ERROR
    assert answer.server == f"resolver 127.0.0.1:{static_dns.port}"
    assert answer.detail == (
        "could not find the zone of _dmarc.other.example: SOA _dmarc.other.example: answered REFUSED"
    )
    assert answer.dig == f"dig @127.0.0.1 -p {static_dns.port} SOA _dmarc.other.example"


def test_a_zone_no_resolver_can_find_names_what_each_resolver_said(static_dns: DnsServer) -> None:
    record = ExpectedRecord("TXT", "_dmarc.other.example", "v=DMARC1; p=none;")
    with ScriptedDnsServer(answer_rcode(dns.rcode.SERVFAIL)) as failing:
        resolvers = (Endpoint(LOOPBACK, static_dns.port), failing.endpoint)
        check = DnsChecker(loopback_settings(static_dns.port, resolvers=resolvers)).check([record]).records[0]

    [answer] = check.answers
    assert answer.server == f"resolvers 127.0.0.1:{static_dns.port}, 127.0.0.1:{failing.port}"
    assert answer.detail == (
        "could not find the zone of _dmarc.other.example: SOA _dmarc.other.example: "
        f"resolver 127.0.0.1:{static_dns.port}: answered REFUSED; "
        f"resolver 127.0.0.1:{failing.port}: answered SERVFAIL"
    )
    assert answer.dig == f"dig @127.0.0.1 -p {static_dns.port} SOA _dmarc.other.example"


def test_a_record_at_an_alias_is_followed_by_a_resolver_but_not_by_a_nameserver(
    static_dns: DnsServer,
) -> None:
    record = ExpectedRecord("TXT", "alias.acme.com", "behind an alias")

    authoritative = DnsChecker(loopback_settings(static_dns.port)).check([record]).records[0]

    # The sandbox's nameserver answers the CNAME alone (it leaves the target to the client).
    assert authoritative.zone == "acme.com"  # the walk steps over the CNAME to the zone apex
    answer = authoritative.answers[0]
    assert answer.outcome is Outcome.MISSING
    assert answer.detail.startswith(
        "alias.acme.com is an alias (CNAME) of target.acme.com, and the answer holds"
    )


def test_a_resolver_answer_that_follows_an_alias_serves_the_record() -> None:
    def chasing_resolver(query: dns.message.Message) -> dns.message.Message:
        # What a recursive resolver returns for an alias: the CNAME chain, then the target's records.
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        response.answer.append(
            dns.rrset.from_text("alias.acme.com.", 5, "IN", "CNAME", "target.example.net.")
        )
        response.answer.append(
            dns.rrset.from_text("target.example.net.", 5, "IN", "TXT", '"behind an alias"')
        )
        return response

    record = ExpectedRecord("TXT", "alias.acme.com", "behind an alias")
    with ScriptedDnsServer(chasing_resolver) as resolver:
        check = (
            DnsChecker(loopback_settings(resolver.port, DnsCheckMode.RECURSIVE)).check([record]).records[0]
        )

    assert check.served
    assert check.answers[0].detail == "alias.acme.com is an alias (CNAME) of target.example.net"


def test_a_cname_record_is_checked_as_the_alias_itself(static_dns: DnsServer) -> None:
    record = ExpectedRecord("CNAME", "alias.acme.com", "target.acme.com")

    check = DnsChecker(loopback_settings(static_dns.port)).check([record]).records[0]

    assert check.served
    assert check.zone == "acme.com"


@BOTH_MODES
def test_a_truncated_udp_answer_is_asked_again_over_tcp(mode: DnsCheckMode) -> None:
    with DnsServer(StaticSource(["acme.com"], STATIC_ENTRIES), truncate_udp=True) as truncating:
        query = dns.message.make_query("_dmarc.acme.com", "TXT")
        assert (
            dns.query.udp(query, LOOPBACK, timeout=GENEROUS_TIMEOUT, port=truncating.port).flags
            & dns.flags.TC
        )

        result = DnsChecker(loopback_settings(truncating.port, mode)).check(ALL_STATIC_RECORDS)

    assert result.all_served, result.describe()


# -- failures of the servers themselves ---------------------------------------------------------------


def authoritative_behind(upstream: DnsServer, handler: Any) -> ScriptedDnsServer:
    """A server that resolves like ``upstream`` but answers ``+norec`` queries with ``handler``."""
    return ScriptedDnsServer(by_recursion(forward_to(Endpoint(LOOPBACK, upstream.port)), handler))


@pytest.mark.parametrize(
    ("rcode", "detail"), [(dns.rcode.SERVFAIL, "answered SERVFAIL"), (dns.rcode.REFUSED, "answered REFUSED")]
)
def test_a_nameserver_failing_is_an_error_answer(
    static_dns: DnsServer, rcode: dns.rcode.Rcode, detail: str
) -> None:
    with authoritative_behind(static_dns, answer_rcode(rcode)) as server:
        check = DnsChecker(loopback_settings(server.port)).check([DMARC]).records[0]

    assert [(answer.outcome, answer.detail) for answer in check.answers] == [(Outcome.ERROR, detail)] * 2


def test_a_silent_nameserver_times_out_once_per_check(static_dns: DnsServer) -> None:
    with authoritative_behind(static_dns, silent) as server:
        result = DnsChecker(loopback_settings(server.port, timeout=1.0)).check([DMARC, SPF_MX])
        queries_to_the_nameserver = server.count(recursion_desired=False)

    first, second = result.records
    assert [answer.detail for answer in first.answers] == ["timed out after 1 s"] * 2
    assert [answer.detail for answer in second.answers] == [
        "timed out after 1 s (earlier in this check; not asked again)"
    ] * 2
    assert queries_to_the_nameserver == 1  # one dead server costs one timeout per check, not one per record
    assert "error: timed out after 1 s, check with `dig +norec @127.0.0.1 -p" in result.describe()


def test_a_nameserver_that_truncates_udp_and_refuses_tcp_is_a_network_error(static_dns: DnsServer) -> None:
    handler = by_recursion(forward_to(Endpoint(LOOPBACK, static_dns.port)), truncated)
    with ScriptedDnsServer(handler, tcp=False) as server:
        check = DnsChecker(loopback_settings(server.port)).check([DMARC]).records[0]

    assert [(answer.outcome, answer.detail) for answer in check.answers] == [
        (Outcome.ERROR, "network error: Connection refused")
    ] * 2


def test_a_referral_from_a_nameserver_is_an_error_naming_the_delegation(static_dns: DnsServer) -> None:
    handler = referral_to("_dmarc.acme.com", ["ns1.elsewhere.example", "ns2.elsewhere.example"])
    with authoritative_behind(static_dns, handler) as server:
        check = DnsChecker(loopback_settings(server.port)).check([DMARC]).records[0]

    assert check.answers[0].outcome is Outcome.ERROR
    assert check.answers[0].detail == (
        "it is not authoritative for _dmarc.acme.com and refers to "
        "ns1.elsewhere.example, ns2.elsewhere.example"
    )


def test_a_domain_that_is_not_delegated_is_not_checked_at_the_root_servers() -> None:
    with ScriptedDnsServer(zone_answer(".")) as resolver:
        check = DnsChecker(loopback_settings(resolver.port)).check([DMARC]).records[0]
        asked = [(query.type, query.name) for query in resolver.queries]

    assert check.answers[0].outcome is Outcome.ERROR
    assert "is in no delegated zone (only the DNS root answered)" in check.answers[0].detail
    assert asked == [("SOA", "_dmarc.acme.com")]  # the root's SOA in authority ends the walk: no NS asked


@BOTH_MODES
def test_every_resolver_must_serve_the_record(static_dns: DnsServer, mode: DnsCheckMode) -> None:
    with ScriptedDnsServer(answer_rcode(dns.rcode.SERVFAIL)) as failing:
        resolvers = (Endpoint(LOOPBACK, static_dns.port), failing.endpoint)
        settings = loopback_settings(static_dns.port, mode, resolvers=resolvers)
        check = DnsChecker(settings).check([DMARC]).records[0]

    if mode is DnsCheckMode.RECURSIVE:
        assert outcomes(check) == [
            (f"resolver 127.0.0.1:{static_dns.port}", Outcome.SERVED),
            (f"resolver 127.0.0.1:{failing.port}", Outcome.ERROR),
        ]
        assert check.answers[1].detail == "answered SERVFAIL"
    else:
        # In authoritative mode the resolvers only find the zone: the first one that answers is enough.
        assert check.served, check.describe()


# -- what one check asks ------------------------------------------------------------------------------


def test_one_check_looks_up_a_zone_once_and_the_next_check_looks_again(static_dns: DnsServer) -> None:
    with ScriptedDnsServer(forward_to(Endpoint(LOOPBACK, static_dns.port))) as counting:
        checker = DnsChecker(loopback_settings(counting.port))
        records = ALL_STATIC_RECORDS  # six records at five names of one zone

        assert checker.check(records).all_served
        first = (counting.count("NS"), counting.count("A"), counting.count(recursion_desired=False))
        soa_names = counting.names_asked("SOA")
        assert checker.check(records).all_served
        second = (counting.count("NS"), counting.count("A"), counting.count(recursion_desired=False))

    # One NS query for the zone, one A query per nameserver name, one query per record for ns1 and ns2
    # together (they share an address), and one SOA query per distinct name (a name below a zone may
    # be a zone of its own, so each name is asked).
    assert first == (1, 2, 6)
    assert sorted(soa_names) == [
        "_dmarc.acme.com",
        "_domainkey.acme.com",  # the walk steps over the CNAME at tok._domainkey.acme.com
        "acme.com",
        "resend._domainkey.acme.com",
        "send.acme.com",
        "tok._domainkey.acme.com",
    ]
    assert second == (2, 4, 12)  # a new check walks again: NS sets change while a checker lives


def test_mode_off_serves_everything_without_a_query(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_system_resolvers(path: str = "") -> tuple[Endpoint, ...]:
        raise AssertionError("mode off must not read the system's resolvers")

    monkeypatch.setattr(dns_check, "system_resolvers", no_system_resolvers)
    with ScriptedDnsServer(silent) as server:
        result = DnsChecker(DnsCheckSettings(DnsCheckMode.OFF, (server.endpoint,))).check([DMARC, SPF_MX])
        assert DnsChecker(DnsCheckSettings(DnsCheckMode.OFF)).check([DMARC]).all_served
        received = len(server.queries)

    assert result.all_served
    assert received == 0
    assert result.records[0].answers == (ServerAnswer("nobody (DNS check mode is off)", Outcome.SERVED),)


def test_without_configured_resolvers_the_system_ones_are_read_at_every_check(
    static_dns: DnsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []

    def loopback_system_resolvers(path: str = dns_check.SYSTEM_RESOLV_CONF) -> tuple[Endpoint, ...]:
        reads.append(path)
        return (Endpoint(LOOPBACK, static_dns.port),)

    monkeypatch.setattr(dns_check, "system_resolvers", loopback_system_resolvers)
    checker = DnsChecker(DnsCheckSettings(DnsCheckMode.RECURSIVE, timeout=GENEROUS_TIMEOUT))

    assert checker.check([DMARC]).all_served
    assert checker.check([DMARC]).records[0].answers[0].server == f"resolver 127.0.0.1:{static_dns.port}"
    assert reads == ["/etc/resolv.conf", "/etc/resolv.conf"]


def test_no_system_resolver_is_an_error_answer_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(path: str = "") -> tuple[Endpoint, ...]:
        raise ValueError("reading the system's resolvers from /etc/resolv.conf: it names no nameserver")

    monkeypatch.setattr(dns_check, "system_resolvers", unreadable)

    check = DnsChecker(DnsCheckSettings()).check([DMARC]).records[0]

    assert check.answers[0].outcome is Outcome.ERROR
    assert check.answers[0].detail == (
        "no resolver to ask: reading the system's resolvers from /etc/resolv.conf: it names no nameserver; "
        "configure the DNS check's resolvers"
    )


def test_check_rejects_what_is_not_an_expected_record() -> None:
    with pytest.raises(ValueError, match="needs ExpectedRecord items, not dict"):
        DnsChecker(DnsCheckSettings(DnsCheckMode.OFF)).check([{"type": "TXT"}])  # type: ignore[list-item]


# -- against the sandbox: the API publishes, its DNS server serves ------------------------------------

PROPAGATION_DELAY = 10.0
"""Sandbox seconds between publishing a record and DNS serving it."""


@dataclasses.dataclass
class DnsSandbox:
    """A sandbox with a DNS server and a manual clock, and the domain registered in it."""

    server: SandboxServer
    clock: ManualClock
    domain: dict[str, Any]

    @property
    def records(self) -> list[ExpectedRecord]:
        """The records the API asks for, as the checker expects them."""
        return [
            ExpectedRecord(
                record["type"],
                record_full_name(record["name"], self.domain["domain"]),
                record["value"],
                record.get("priority"),
            )
            for record in self.domain["dns_records"]
        ]

    def record(self, type: str, name: str) -> ExpectedRecord:
        """The expected record of that type at that full name."""
        return next(record for record in self.records if (record.type, record.name) == (type, name))

    def settings(self, mode: DnsCheckMode, **changes: Any) -> DnsCheckSettings:
        """The sandbox's DNS server as the resolver and as the nameservers' port."""
        return loopback_settings(self.server.dns_port, mode, **changes)

    def publish_all_and_wait(self) -> None:
        """Publish every record and let the propagation delay pass."""
        self.server.publish("acme.com")
        self.clock.advance(PROPAGATION_DELAY)


@pytest.fixture
def dns_sandbox(clocked_server: tuple[SandboxServer, FakeClock]) -> Iterator[DnsSandbox]:
    """The suite's clocked sandbox (its clock moves only when a test says so), emptied, with the sandbox's
    default timings but PROPAGATION_DELAY, and acme.com registered (nothing published yet)."""
    server, clock = clocked_server
    clock.now = START
    server.reset()
    server.set_settings(
        propagation_delay=PROPAGATION_DELAY,
        verify_window=300,
        auto_publish=False,
        check_delay=1,
        negative_cache=0,
    )
    with server.client() as api:
        response = api.post("/core/email-domains", json={"domain": "acme.com"})
    assert response.status_code == 201, response.text
    yield DnsSandbox(server, clock, response.json())
    server.reset()


@BOTH_MODES
def test_sandbox_every_record_of_a_registered_domain_is_served(
    dns_sandbox: DnsSandbox, mode: DnsCheckMode
) -> None:
    dns_sandbox.publish_all_and_wait()

    result = DnsChecker(dns_sandbox.settings(mode)).check(dns_sandbox.records)

    assert len(result.records) == 5
    assert result.all_served, result.describe()
    assert result.describe() == ""


@BOTH_MODES
def test_sandbox_a_missing_record_is_no_answer_and_a_missing_name_is_nxdomain(
    dns_sandbox: DnsSandbox, mode: DnsCheckMode
) -> None:
    dns_sandbox.publish_all_and_wait()
    dns_sandbox.server.unpublish("acme.com", type="TXT", name="send")  # the MX at send stays: NODATA
    dns_sandbox.server.unpublish("acme.com", type="TXT", name="_dmarc")  # nothing else there: NXDOMAIN

    result = DnsChecker(dns_sandbox.settings(mode)).check(dns_sandbox.records)

    by_name = {(check.record.type, check.record.name): check for check in result.pending()}
    assert set(by_name) == {("TXT", "send.acme.com"), ("TXT", "_dmarc.acme.com")}
    assert {answer.outcome for answer in by_name["TXT", "send.acme.com"].answers} == {Outcome.MISSING}
    assert {answer.outcome for answer in by_name["TXT", "_dmarc.acme.com"].answers} == {Outcome.NXDOMAIN}


@BOTH_MODES
def test_sandbox_a_wrong_value_is_reported_with_the_value_found(
    dns_sandbox: DnsSandbox, mode: DnsCheckMode
) -> None:
    dns_sandbox.server.publish("acme.com", type="TXT", name="_dmarc", value="v=DMARC1; p=reject;")
    dns_sandbox.clock.advance(PROPAGATION_DELAY)

    check = (
        DnsChecker(dns_sandbox.settings(mode))
        .check([dns_sandbox.record("TXT", "_dmarc.acme.com")])
        .records[0]
    )

    assert {(answer.outcome, answer.found) for answer in check.answers} == {
        (Outcome.WRONG_VALUE, ("v=DMARC1; p=reject;",))
    }
    assert 'another value: "v=DMARC1; p=reject;"' in check.describe()


@BOTH_MODES
def test_sandbox_a_record_is_served_only_after_the_propagation_delay(
    dns_sandbox: DnsSandbox, mode: DnsCheckMode
) -> None:
    checker = DnsChecker(dns_sandbox.settings(mode))
    dns_sandbox.server.publish("acme.com")

    assert not checker.check(dns_sandbox.records).all_served
    dns_sandbox.clock.advance(PROPAGATION_DELAY - 1)
    before = checker.check(dns_sandbox.records)
    dns_sandbox.clock.advance(1)
    after = checker.check(dns_sandbox.records)

    assert len(before.pending()) == 5
    assert {answer.outcome for check in before.records for answer in check.answers} <= {
        Outcome.MISSING,
        Outcome.NXDOMAIN,
    }
    assert after.all_served, after.describe()


@BOTH_MODES
def test_sandbox_a_truncated_udp_answer_is_asked_again_over_tcp(
    dns_sandbox: DnsSandbox, mode: DnsCheckMode
) -> None:
    dns_sandbox.publish_all_and_wait()
    dns_sandbox.server.set_faults(dns_truncate_udp=True)
    try:
        query = dns.message.make_query("_dmarc.acme.com", "TXT")
        truncated = dns.query.udp(query, LOOPBACK, timeout=GENEROUS_TIMEOUT, port=dns_sandbox.server.dns_port)
        assert truncated.flags & dns.flags.TC
        assert not truncated.answer

        result = DnsChecker(dns_sandbox.settings(mode)).check(dns_sandbox.records)
    finally:
        dns_sandbox.server.set_faults(dns_truncate_udp=False)

    assert result.all_served, result.describe()


LAG_SECONDS = 30.0


def test_sandbox_one_of_two_resolvers_behind_keeps_the_record_pending(dns_sandbox: DnsSandbox) -> None:
    # Recursive mode: a second DnsServer over the same state, 30 s behind, is the second resolver.
    with DnsServer(dns_sandbox.server.state, port=0, lag_seconds=LAG_SECONDS) as behind:
        resolvers = (Endpoint(LOOPBACK, dns_sandbox.server.dns_port), Endpoint(LOOPBACK, behind.port))
        checker = DnsChecker(dns_sandbox.settings(DnsCheckMode.RECURSIVE, resolvers=resolvers))
        dns_sandbox.clock.advance(LAG_SECONDS)  # the lagging server knows the zone, not yet its records
        dns_sandbox.publish_all_and_wait()

        pending = checker.check(dns_sandbox.records)
        dns_sandbox.clock.advance(LAG_SECONDS)
        caught_up = checker.check(dns_sandbox.records)

    assert len(pending.pending()) == 5
    for check in pending.records:
        current, late = check.answers
        assert (current.server, current.outcome) == (
            f"resolver 127.0.0.1:{dns_sandbox.server.dns_port}",
            Outcome.SERVED,
        )
        assert late.server == f"resolver 127.0.0.1:{behind.port}"
        assert late.outcome in (Outcome.MISSING, Outcome.NXDOMAIN)
    assert caught_up.all_served, caught_up.describe()


@pytest.mark.skipif(not loopback_alias_usable(), reason="needs a second loopback address (127.0.0.2)")
def test_sandbox_one_of_two_nameservers_behind_keeps_the_record_pending(dns_sandbox: DnsSandbox) -> None:
    # Authoritative mode asks every nameserver on one port, so two nameservers need two addresses:
    # ns1 is the sandbox's server (127.0.0.1), ns2 a lagging copy on 127.0.0.2 with the same port,
    # and a small resolver forwards everything to the sandbox except ns2's address.
    port = dns_sandbox.server.dns_port
    with (
        DnsServer(dns_sandbox.server.state, host="127.0.0.2", port=port, lag_seconds=LAG_SECONDS),
        ScriptedDnsServer(forward_to(Endpoint(LOOPBACK, port), {NS2: "127.0.0.2"})) as resolver,
    ):
        checker = DnsChecker(dns_sandbox.settings(DnsCheckMode.AUTHORITATIVE, resolvers=(resolver.endpoint,)))
        dns_sandbox.clock.advance(LAG_SECONDS)  # the lagging server knows the zone, not yet its records
        dns_sandbox.publish_all_and_wait()

        pending = checker.check(dns_sandbox.records)
        dns_sandbox.clock.advance(LAG_SECONDS)
        caught_up = checker.check(dns_sandbox.records)

    assert len(pending.pending()) == 5
    for check in pending.records:
        current, late = check.answers
        assert (current.server, current.outcome) == (f"{NS1} (127.0.0.1:{port})", Outcome.SERVED)
        assert late.server == f"{NS2} (127.0.0.2:{port})"
        assert late.outcome in (Outcome.MISSING, Outcome.NXDOMAIN)
        assert late.dig.startswith(f"dig +norec @127.0.0.2 -p {port} ")
    dmarc = pending.records[[check.record.name for check in pending.records].index("_dmarc.acme.com")]
    assert dmarc.describe() == (
        f'TXT _dmarc.acme.com = "v=DMARC1; p=none;" - {NS1} (127.0.0.1:{port}): served; '
        f"{NS2} (127.0.0.2:{port}): NXDOMAIN (the name does not exist), "
        f"check with `dig +norec @127.0.0.2 -p {port} TXT _dmarc.acme.com`"
    )
    assert caught_up.all_served, caught_up.describe()


def test_sandbox_mode_off_makes_no_query(dns_sandbox: DnsSandbox) -> None:
    with ScriptedDnsServer(forward_to(Endpoint(LOOPBACK, dns_sandbox.server.dns_port))) as resolver:
        result = DnsChecker(DnsCheckSettings(DnsCheckMode.OFF, (resolver.endpoint,))).check(
            dns_sandbox.records
        )
        received = len(resolver.queries)

    assert result.all_served  # nothing is published: only "off" makes this true
    assert received == 0


@BOTH_MODES
def test_sandbox_describe_names_each_record_each_server_what_it_returned_and_dig(
    dns_sandbox: DnsSandbox, mode: DnsCheckMode
) -> None:
    dns_sandbox.server.publish("acme.com", type="MX")
    dns_sandbox.server.publish("acme.com", type="TXT", name="resend._domainkey")
    dns_sandbox.server.publish("acme.com", type="TXT", name="_dmarc", value="v=DMARC1; p=reject;")
    dns_sandbox.clock.advance(PROPAGATION_DELAY)
    port = dns_sandbox.server.dns_port

    description = DnsChecker(dns_sandbox.settings(mode)).check(dns_sandbox.records).describe()

    if mode is DnsCheckMode.AUTHORITATIVE:
        servers = f"{NS1} (127.0.0.1:{port}), {NS2} (127.0.0.1:{port})"
        dig = f"dig +norec @127.0.0.1 -p {port}"
    else:
        servers = f"resolver 127.0.0.1:{port}"
        dig = f"dig @127.0.0.1 -p {port}"
    assert description.splitlines() == [
        f'TXT send.acme.com = "v=spf1 include:amazonses.com ~all" - {servers}: '
        f"no answer (the name has no TXT record), check with `{dig} TXT send.acme.com`",
        f'TXT _dmarc.acme.com = "v=DMARC1; p=none;" - {servers}: '
        f'another value: "v=DMARC1; p=reject;", check with `{dig} TXT _dmarc.acme.com`',
    ]
