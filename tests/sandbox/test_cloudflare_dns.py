"""Cloudflare records in the sandbox's DNS and verification: served after the propagation delay (the timed
server's clock, DELAY=10 s), updates and deletes, authority for the zones, a domain verified from records
that live only in Cloudflare; the admin API, reset, the state file and the flags."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import httpx
import pytest

from sandbox import DEFAULT_CLOUDFLARE_ZONE_ID, SandboxConfig
from sandbox.__main__ import build_parser, config_from_args
from sandbox.testing import ManualClock, SandboxAdminError, SandboxServer

RegisterFn = Callable[[str], dict[str, Any]]
LOOPBACK = "127.0.0.1"
ZONE = DEFAULT_CLOUDFLARE_ZONE_ID
RECORDS = f"zones/{ZONE}/dns_records"
DELAY, WINDOW, CHECK = 10.0, 100.0, 2.0
"""Timings of the timed server (tests/sandbox/conftest.py)."""
ACME_ZONE = "a" * 32


@pytest.fixture
def cf(timed: SandboxServer) -> Iterator[httpx.Client]:
    with timed.cloudflare_client() as client:
        yield client


def _create(cf: httpx.Client, zone: str = ZONE, **fields: Any) -> dict[str, Any]:
    response = cf.post(f"zones/{zone}/dns_records", json={"ttl": 1, "proxied": False, **fields})
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert isinstance(result, dict)
    return result


def _query(port: int, name: str, rdtype: str, *, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    query.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(query, LOOPBACK, port=port, timeout=5)
    return dns.query.udp(query, LOOPBACK, port=port, timeout=5)


def _answer(response: dns.message.Message) -> list[str]:
    return sorted(rdata.to_text() for rrset in response.answer for rdata in rrset)


def _rcode(response: dns.message.Message) -> str:
    return dns.rcode.to_text(response.rcode())


def _authority_soa(response: dns.message.Message) -> str | None:
    owners = [rrset.name.to_text() for rrset in response.authority if rrset.rdtype == dns.rdatatype.SOA]
    return owners[0] if owners else None


# -- served after the propagation delay -----------------------------------------------------------------


def test_a_record_is_served_after_the_propagation_delay(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    _create(cf, type="TXT", name="_dmarc.b", content='"v=DMARC1; p=none;"')

    clock.advance(DELAY - 1)
    early = _query(timed.dns_port, "_dmarc.b.example.com", "TXT")
    clock.advance(1)
    served = _query(timed.dns_port, "_dmarc.b.example.com", "TXT")

    assert (_rcode(early), _answer(early), _authority_soa(early)) == ("NXDOMAIN", [], "example.com.")
    assert _rcode(served) == "NOERROR" and served.flags & dns.flags.AA
    assert _answer(served) == ['"v=DMARC1; p=none;"']  # the text inside the quotes


def test_mx_is_served_with_its_priority_and_normalized_host(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    _create(cf, type="MX", name="send.b", content="Feedback-SMTP.Example.NET.", priority=20)
    clock.advance(DELAY)

    assert _answer(_query(timed.dns_port, "send.b.example.com", "MX")) == ["20 feedback-smtp.example.net."]


def test_long_and_unquoted_txt_are_served_as_text_in_255_byte_strings(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    text = "p=" + "K" * 298
    _create(cf, type="TXT", name="long", content=f'"{text}"')
    _create(cf, type="TXT", name="plain", content="v=DMARC1; p=none;")
    clock.advance(DELAY)

    long_answer = _query(timed.dns_port, "long.example.com", "TXT", tcp=True).answer[0][0]
    plain_answer = _answer(_query(timed.dns_port, "plain.example.com", "TXT"))

    assert [string.decode() for string in long_answer.strings] == [text[:255], text[255:]]
    assert plain_answer == ['"v=DMARC1; p=none;"']


def test_an_update_removes_the_old_value_at_once_and_serves_the_new_after_the_delay(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    record = _create(cf, type="TXT", name="t", content='"old"')
    clock.advance(DELAY)
    assert _answer(_query(timed.dns_port, "t.example.com", "TXT")) == ['"old"']

    cf.patch(f"{RECORDS}/{record['id']}", json={"content": '"new"'})
    during = _query(timed.dns_port, "t.example.com", "TXT")
    clock.advance(DELAY)
    after = _query(timed.dns_port, "t.example.com", "TXT")

    assert (_rcode(during), _answer(during)) == ("NXDOMAIN", [])
    assert _answer(after) == ['"new"']


def test_a_change_of_comment_or_ttl_does_not_republish(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    record = _create(cf, type="TXT", name="t", content='"same"')
    clock.advance(DELAY)

    cf.patch(f"{RECORDS}/{record['id']}", json={"comment": "note", "ttl": 300})

    assert _answer(_query(timed.dns_port, "t.example.com", "TXT")) == ['"same"']


def test_a_deleted_record_disappears_at_once(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    record = _create(cf, type="TXT", name="t", content='"gone soon"')
    clock.advance(DELAY)

    cf.delete(f"{RECORDS}/{record['id']}")

    assert _rcode(_query(timed.dns_port, "t.example.com", "TXT")) == "NXDOMAIN"


def test_a_lagging_view_still_serves_the_old_value(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    record = _create(cf, type="TXT", name="t", content='"old"')
    clock.advance(2 * DELAY)
    cf.put(f"{RECORDS}/{record['id']}", json={"type": "TXT", "name": "t", "content": '"new"'})
    clock.advance(DELAY)

    lagging = timed.state.dns_snapshot(lag_seconds=DELAY + 1)  # as of 1 s before the update
    current = timed.state.dns_snapshot()

    assert [entry.value for entry in lagging.entries if entry.name == "t.example.com"] == ["old"]
    assert [entry.value for entry in current.entries if entry.name == "t.example.com"] == ["new"]


# -- authority for the zones ----------------------------------------------------------------------------


def test_the_server_is_authoritative_for_every_cloudflare_zone(timed: SandboxServer) -> None:
    timed.add_cloudflare_zone(ACME_ZONE, "acme.com")

    soa = _query(timed.dns_port, "example.com", "SOA")
    ns = _query(timed.dns_port, "acme.com", "NS")
    missing = _query(timed.dns_port, "nothing.acme.com", "TXT")
    nameserver = _query(timed.dns_port, "ns1.dns.sandbox.test", "A")

    assert soa.flags & dns.flags.AA and _answer(soa)[0].startswith(
        "ns1.dns.sandbox.test. hostmaster.example.com."
    )
    assert _answer(ns) == ["ns1.dns.sandbox.test.", "ns2.dns.sandbox.test."]
    assert (_rcode(missing), _authority_soa(missing)) == ("NXDOMAIN", "acme.com.")
    assert _answer(nameserver) == [LOOPBACK]


def test_an_soa_walk_finds_the_cloudflare_zone_of_an_unregistered_name(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    _create(cf, type="TXT", name="_dmarc.deep.sub", content='"v=DMARC1; p=none;"')
    clock.advance(DELAY)

    # What a checker does: ask SOA for the name, read the zone from the authority section, then NS.
    walk = _query(timed.dns_port, "_dmarc.deep.sub.example.com", "SOA")
    empty_non_terminal = _query(timed.dns_port, "deep.sub.example.com", "TXT")

    assert (_rcode(walk), _authority_soa(walk)) == ("NOERROR", "example.com.")
    assert (_rcode(empty_non_terminal), _answer(empty_non_terminal)) == ("NOERROR", [])


def test_the_soa_serial_follows_cloudflare_changes(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    def serial() -> int:
        return int(_query(timed.dns_port, "example.com", "SOA").answer[0][0].serial)

    before = serial()
    clock.advance(100)
    record = _create(cf, type="TXT", name="t", content='"x"')
    clock.advance(DELAY)
    after_create = serial()
    clock.advance(100)
    cf.delete(f"{RECORDS}/{record['id']}")

    assert before < after_create < serial()


def test_admin_published_and_cloudflare_records_are_both_served(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock, register: RegisterFn
) -> None:
    register("acme.com")
    timed.publish("acme.com", type="TXT", name="_dmarc")
    timed.add_cloudflare_zone(ACME_ZONE, "acme.com")
    _create(cf, zone=ACME_ZONE, type="TXT", name="_dmarc", content='"v=DMARC1; p=reject;"')
    _create(cf, zone=ACME_ZONE, type="TXT", name="_dmarc.acme.com", content='"v=DMARC1; p=none;"')  # same
    clock.advance(DELAY)

    assert _answer(_query(timed.dns_port, "_dmarc.acme.com", "TXT")) == [
        '"v=DMARC1; p=none;"',
        '"v=DMARC1; p=reject;"',
    ]


# -- verification from records held in Cloudflare -------------------------------------------------------


def _publish_in_cloudflare(cf: httpx.Client, domain: dict[str, Any], zone: str = ZONE) -> dict[str, str]:
    """Create the domain's records in Cloudflare as the component does (full names, quoted TXT)."""
    ids = {}
    for record in domain["dns_records"]:
        name = domain["domain"] if record["name"] == "@" else f"{record['name']}.{domain['domain']}"
        content = record["value"]
        if record["type"] == "TXT" and not content.startswith('"'):
            content = f'"{content}"'
        fields = {"type": record["type"], "name": name, "content": content}
        if record["type"] == "MX":
            fields["priority"] = record["priority"]
        ids[f"{record['type']} {record['name']}"] = _create(cf, zone=zone, **fields)["id"]
    return ids


def _status(api: httpx.Client, domain_id: str) -> tuple[str, str]:
    body = api.get(f"/core/email-domains/{domain_id}").json()
    return body["status"], body["raw_status"]


def test_a_domain_verifies_from_records_held_only_in_cloudflare(
    api: httpx.Client, timed: SandboxServer, cf: httpx.Client, clock: ManualClock, register: RegisterFn
) -> None:
    domain = register("a.example.com")
    _publish_in_cloudflare(cf, domain)
    published = {(r["type"], r["name"]): r["published"] for r in timed.domains()[0]["dns_records"]}

    api.post(f"/core/email-domains/{domain['id']}/verify")
    clock.advance(DELAY - 1)
    pending = _status(api, domain["id"])
    clock.advance(1)

    assert all(published.values())
    assert pending == ("pending", "pending")
    # Visible DELAY after the records were created (after the check delay too): verified right then.
    assert _status(api, domain["id"]) == ("verified", "verified")
    assert timed.verification_times("a.example.com").verified_at == clock.now
    served = _query(timed.dns_port, "send.a.example.com", "MX")
    assert _answer(served) == ["10 feedback-smtp.us-east-1.amazonses.com."]


def test_a_wrong_value_in_cloudflare_stays_wrong(
    api: httpx.Client, timed: SandboxServer, cf: httpx.Client, clock: ManualClock, register: RegisterFn
) -> None:
    domain = register("a.example.com")
    ids = _publish_in_cloudflare(cf, domain)
    cf.patch(f"{RECORDS}/{ids['TXT _dmarc']}", json={"content": '"v=DMARC1; p=quarantine;"'})
    clock.advance(DELAY)

    api.post(f"/core/email-domains/{domain['id']}/verify")
    clock.advance(WINDOW)

    body = api.get(f"/core/email-domains/{domain['id']}").json()
    statuses = {(r["type"], r["name"]): r["status"] for r in body["dns_records"]}
    assert (body["status"], body["raw_status"]) == ("failed", "partially_failed")
    assert statuses.pop(("TXT", "_dmarc")) == "failed"
    assert set(statuses.values()) == {"verified"}

    # Fixing the record in Cloudflare, then verifying again once DNS serves it, succeeds.
    cf.patch(f"{RECORDS}/{ids['TXT _dmarc']}", json={"content": '"v=DMARC1; p=none;"'})
    clock.advance(DELAY)
    api.post(f"/core/email-domains/{domain['id']}/verify")
    clock.advance(CHECK)
    assert _status(api, domain["id"]) == ("verified", "verified")


def test_a_wrong_mx_priority_is_a_wrong_value(
    api: httpx.Client, cf: httpx.Client, clock: ManualClock, register: RegisterFn
) -> None:
    domain = register("a.example.com")
    ids = _publish_in_cloudflare(cf, domain)
    cf.patch(f"{RECORDS}/{ids['MX send']}", json={"priority": 20})
    clock.advance(DELAY)

    api.post(f"/core/email-domains/{domain['id']}/verify")
    clock.advance(WINDOW)

    assert _status(api, domain["id"]) == ("failed", "partially_failed")


def test_deleting_a_record_of_a_verified_domain_is_drift(
    api: httpx.Client, cf: httpx.Client, clock: ManualClock, register: RegisterFn
) -> None:
    domain = register("a.example.com")
    ids = _publish_in_cloudflare(cf, domain)
    clock.advance(DELAY)
    api.post(f"/core/email-domains/{domain['id']}/verify")
    clock.advance(CHECK)
    assert _status(api, domain["id"]) == ("verified", "verified")

    cf.delete(f"{RECORDS}/{ids['TXT resend._domainkey']}")

    assert _status(api, domain["id"]) == ("failed", "temporary_failure")


def test_changing_a_verified_record_to_a_wrong_value_is_drift(
    api: httpx.Client, cf: httpx.Client, clock: ManualClock, register: RegisterFn
) -> None:
    domain = register("a.example.com")
    ids = _publish_in_cloudflare(cf, domain)
    clock.advance(DELAY)
    api.post(f"/core/email-domains/{domain['id']}/verify")
    clock.advance(CHECK)

    cf.put(
        f"{RECORDS}/{ids['MX @']}",
        json={"type": "MX", "name": "a.example.com", "content": "mx.elsewhere.example", "priority": 10},
    )

    assert _status(api, domain["id"]) == ("failed", "temporary_failure")


def test_a_domain_in_its_own_cloudflare_zone_verifies(
    api: httpx.Client, timed: SandboxServer, cf: httpx.Client, clock: ManualClock, register: RegisterFn
) -> None:
    timed.add_cloudflare_zone(ACME_ZONE, "acme.com")
    domain = register("acme.com")
    _publish_in_cloudflare(cf, domain, zone=ACME_ZONE)
    clock.advance(DELAY)

    api.post(f"/core/email-domains/{domain['id']}/verify")
    clock.advance(CHECK)

    assert _status(api, domain["id"]) == ("verified", "verified")


# -- admin API ------------------------------------------------------------------------------------------


def test_the_dev_zone_always_exists(timed: SandboxServer) -> None:
    assert [(zone["id"], zone["name"], zone["records"]) for zone in timed.cloudflare_zones()] == [
        (ZONE, "example.com", [])
    ]


def test_admin_adds_zones_and_lists_their_records(
    timed: SandboxServer, cf: httpx.Client, clock: ManualClock
) -> None:
    added = timed.add_cloudflare_zone(ACME_ZONE, "Acme.COM.")
    generated = timed.add_cloudflare_zone(None, "other.org")
    record = _create(cf, zone=ACME_ZONE, type="TXT", name="t", content='"x"')
    clock.advance(4)

    zones = {zone["name"]: zone for zone in timed.cloudflare_zones()}
    [listed] = timed.cloudflare_records(ACME_ZONE)

    assert (added["id"], added["name"], added["created_at"]) == (ACME_ZONE, "acme.com", clock.now - 4)
    assert len(generated["id"]) == 32 and int(generated["id"], 16) >= 0
    assert list(zones) == ["example.com", "acme.com", "other.org"]
    assert [r["id"] for r in zones["acme.com"]["records"]] == [record["id"]]
    assert {
        key: listed[key] for key in ("zone_id", "zone_name", "published_at", "visible_from", "visible")
    } == {
        "zone_id": ACME_ZONE,
        "zone_name": "acme.com",
        "published_at": clock.now - 4,
        "visible_from": clock.now - 4 + DELAY,
        "visible": False,
    }
    assert timed.cloudflare_records() == [listed]


@pytest.mark.parametrize(
    ("zone_id", "name", "status"),
    [
        (ZONE, "acme.com", "409"),
        (None, "example.com", "409"),
        ("XYZ", "acme.com", "422"),
        (None, "not a domain", "422"),
        (None, "com", "422"),
    ],
)
def test_admin_refuses_bad_or_taken_zones(
    timed: SandboxServer, zone_id: str | None, name: str, status: str
) -> None:
    with pytest.raises(SandboxAdminError, match=f"\\({status}\\)"):
        timed.add_cloudflare_zone(zone_id, name)


def test_admin_records_of_an_unknown_zone_is_404(timed: SandboxServer) -> None:
    with pytest.raises(SandboxAdminError, match=r"\(404\)"):
        timed.cloudflare_records("b" * 32)


def test_admin_refuses_a_token_the_plugin_would_refuse(timed: SandboxServer) -> None:
    with pytest.raises(SandboxAdminError, match=r"\(422\).*40 to 80 characters"):
        timed.add_cloudflare_token("short")
    with pytest.raises(SandboxAdminError, match=r"\(404\)"):
        timed.revoke_cloudflare_token("z" * 40)


def test_reset_forgets_records_zones_and_tokens_added_at_run_time(
    timed: SandboxServer, cf: httpx.Client
) -> None:
    timed.add_cloudflare_zone(ACME_ZONE, "acme.com")
    timed.add_cloudflare_token("t" * 40)
    _create(cf, type="TXT", name="t", content='"x"')

    timed.reset()

    assert [(zone["name"], zone["records"]) for zone in timed.cloudflare_zones()] == [("example.com", [])]
    with timed.cloudflare_client(token="t" * 40) as client:
        assert client.get(RECORDS).status_code == 403


# -- start-up zones and tokens, the state file ----------------------------------------------------------


def test_flags_declare_zones_and_tokens() -> None:
    token = "flag-token-" + "f" * 30
    args = build_parser().parse_args(
        [
            *("--cloudflare-zone", f"{ACME_ZONE}=acme.com", "--cloudflare-zone", f"{'c' * 32}=example.com"),
            *("--cloudflare-token", token),
        ]
    )
    config = config_from_args(args)

    assert [(zone.id, zone.name) for zone in config.cloudflare_zones] == [
        (ACME_ZONE, "acme.com"),
        ("c" * 32, "example.com"),
    ]
    assert config.cloudflare_tokens == (token,)
    with SandboxServer(config) as server, server.cloudflare_client(token=token) as client:
        zones = client.get("zones").json()["result"]
        assert [(zone["id"], zone["name"]) for zone in zones] == [
            (ACME_ZONE, "acme.com"),
            ("c" * 32, "example.com"),
        ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cloudflare-zone", "acme.com"], "a Cloudflare zone is ID=NAME"),
        (["--cloudflare-zone", "123=acme.com"], "32 lowercase hex digits"),
        (["--cloudflare-zone", f"{ACME_ZONE}=acme"], "Cloudflare zone name"),
        (["--cloudflare-token", "short"], "40 to 80 characters"),
    ],
)
def test_bad_cloudflare_flags_name_the_flag(args: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        config_from_args(build_parser().parse_args(args))

    assert "(--cloudflare-" in str(caught.value)


def _state_server(path: Path, clock: ManualClock) -> SandboxServer:
    return SandboxServer(SandboxConfig(state_file=path, clock=clock, propagation_delay=DELAY, dns_port=0))


def test_zones_and_records_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    clock = ManualClock()
    with _state_server(path, clock) as first, first.cloudflare_client() as cf:
        first.add_cloudflare_zone(ACME_ZONE, "acme.com")
        record = _create(cf, zone=ACME_ZONE, type="MX", name="@", content="mx.example.net", priority=5)

    clock.advance(DELAY)
    with _state_server(path, clock) as second, second.cloudflare_client() as cf:
        read = cf.get(f"zones/{ACME_ZONE}/dns_records/{record['id']}").json()["result"]
        served = _answer(_query(second.dns_port, "acme.com", "MX"))

    assert read == record
    assert served == ["5 mx.example.net."]
    saved = json.loads(path.read_text())
    assert saved["version"] == 3
    assert [zone["name"] for zone in saved["cloudflare"]["zones"]] == ["example.com", "acme.com"]


def test_a_version_2_file_loads_with_the_start_up_zones(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 2, "domains": [], "dns": []}))

    with _state_server(path, ManualClock()) as server:
        zones = server.cloudflare_zones()

    assert [(zone["name"], zone["records"]) for zone in zones] == [("example.com", [])]


def test_a_bad_cloudflare_section_fails_at_start_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 3, "domains": [], "dns": [], "cloudflare": {"zones": [{"x": 1}]}}))

    with pytest.raises(ValueError, match=r"reading sandbox state \(.*state.json\): cloudflare"):
        SandboxServer(SandboxConfig(state_file=path))
