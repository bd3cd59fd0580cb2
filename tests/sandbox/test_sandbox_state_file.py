"""``--state FILE``: load at start, rewrite atomically after every change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dns.message
import dns.query
import pytest

from sandbox import SandboxConfig, create_app
from sandbox.testing import ManualClock, SandboxServer, VerificationTimes

ROOT = Path(__file__).resolve().parents[2]
VERSION_1_FILE = ROOT / "tests" / "e2e" / "fixtures" / "upgrade_1dc6cf7" / "sandbox-state.json"
"""A state file written by the sandbox of commit 1dc6cf7 (format version 1): two verified domains."""


def _server(path: Path, clock: ManualClock) -> SandboxServer:
    return SandboxServer(
        SandboxConfig(state_file=path, clock=clock, propagation_delay=10, verify_window=100, check_delay=1)
    )


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    clock = ManualClock()
    with _server(path, clock) as first, first.client() as api:
        domain_id = api.post("/core/email-domains", json={"domain": "acme.com"}).json()["id"]
        first.publish("acme.com")
        api.post(f"/core/email-domains/{domain_id}/verify")
        clock.advance(10)

    with _server(path, clock) as second, second.client() as api:
        body = api.get(f"/core/email-domains/{domain_id}").json()
        assert (body["domain"], body["status"]) == ("acme.com", "verified")
        assert [r["published"] for r in second.domains()[0]["dns_records"]] == [True] * 5
        # the DNS view was restored too: removing a record now is drift
        second.unpublish("acme.com", type="MX", name="send")
        assert api.get(f"/core/email-domains/{domain_id}").json()["raw_status"] == "temporary_failure"


def test_running_attempt_continues_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    clock = ManualClock()
    with _server(path, clock) as first, first.client() as api:
        domain_id = api.post("/core/email-domains", json={"domain": "acme.com"}).json()["id"]
        api.post(f"/core/email-domains/{domain_id}/verify")

    clock.advance(100)
    with _server(path, clock) as second, second.client() as api:
        assert api.get(f"/core/email-domains/{domain_id}").json()["status"] == "failed"


def test_state_file_is_replaced_whole_after_each_change(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with _server(path, ManualClock()) as server, server.client() as api:
        api.post("/core/email-domains", json={"domain": "acme.com"})
        after_register = json.loads(path.read_text())
        server.publish("acme.com")
        after_publish = json.loads(path.read_text())
        server.reset()
        after_reset = json.loads(path.read_text())

    assert [d["domain"] for d in after_register["domains"]] == ["acme.com"]
    assert after_register["dns"] == []
    assert len(after_publish["dns"]) == 5
    cloudflare = after_reset.pop("cloudflare")
    assert after_reset == {"version": 3, "domains": [], "dns": []}
    assert cloudflare["records"] == []
    assert [zone["name"] for zone in cloudflare["zones"]] == ["example.com"]  # the start-up zone stays
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary files left behind


def test_missing_state_file_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "new" / "state.json"

    with _server(path, ManualClock()) as server:
        assert server.domains() == []
        assert not path.exists()  # nothing changed yet


def test_unreadable_state_file_fails_at_start_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")

    with pytest.raises(ValueError, match=r"reading sandbox state \(.*state.json\)"):
        create_app(SandboxConfig(state_file=path))


def test_timestamps_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    clock = ManualClock()
    with _server(path, clock) as first, first.client() as api:
        domain_id = api.post("/core/email-domains", json={"domain": "acme.com"}).json()["id"]
        first.publish("acme.com")
        api.post(f"/core/email-domains/{domain_id}/verify")
        clock.advance(30)
        api.get(f"/core/email-domains/{domain_id}")
        before = first.verification_times("acme.com")

    with _server(path, clock) as second:
        assert second.verification_times("acme.com") == before
    assert before == VerificationTimes(clock.now - 20, clock.now)


def test_version_1_file_loads_with_its_verified_domains(tmp_path: Path) -> None:
    path = tmp_path / "sandbox-state.json"
    shutil.copy(VERSION_1_FILE, path)
    document = json.loads(VERSION_1_FILE.read_text())
    started = {item["domain"]: item["attempt_started_at"] for item in document["domains"]}
    clock = ManualClock(max(started.values()) + 3600)
    config = SandboxConfig(state_file=path, clock=clock, dns_port=0, propagation_delay=0)

    with SandboxServer(config) as server, server.client() as api:
        listed = api.get("/core/email-domains").json()["data"]
        times = {name: server.verification_times(name) for name in started}
        query = dns.message.make_query("_dmarc.alpha.example.com", "TXT")
        served = dns.query.udp(query, "127.0.0.1", port=server.dns_port, timeout=5).answer
        # the next change rewrites the file in the current format
        server.unpublish("beta.example.com", type="TXT", name="_dmarc")

    assert [(d["domain"], d["status"]) for d in listed] == [
        ("alpha.example.com", "verified"),
        ("beta.example.com", "verified"),
    ]
    assert [[r["status"] for r in d["dns_records"]] for d in listed] == [["verified"] * 5] * 2
    assert {name: t.verified_at for name, t in times.items()} == started  # the best version 1 can tell
    assert served[0][0].to_text() == '"v=DMARC1; p=none;"'
    rewritten = json.loads(path.read_text())
    assert rewritten["version"] == 3
    assert {entry["priority"] for entry in rewritten["dns"] if entry["type"] == "MX"} == {10}


def test_version_1_running_attempt_continues(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    record = {"record": "DMARC", "type": "TXT", "name": "_dmarc", "value": "v=DMARC1; p=none;"}
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "domains": [
                    {
                        "id": "dom_1",
                        "domain": "acme.com",
                        "organization": "org_dev",
                        "provider": "resend",
                        "region": "us-east-1",
                        "created_at": 1000.0,
                        "records": [{**record, "priority": None, "verified": False, "failure": None}],
                        "attempt_started_at": 1000.0,
                        "attempt_completed": False,
                    }
                ],
                "dns": [{"domain": "acme.com", **record, "published_at": 1000.0}],
            }
        )
    )
    clock = ManualClock(1005.0)

    with _server(path, clock) as server, server.client() as api:
        assert api.get("/core/email-domains/dom_1").json()["status"] == "pending"
        clock.advance(5)
        assert api.get("/core/email-domains/dom_1").json()["status"] == "verified"
        assert server.verification_times("acme.com") == VerificationTimes(1010.0, 1010.0)


def test_unknown_version_is_refused_naming_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 9, "domains": [], "dns": []}))

    with pytest.raises(ValueError, match=r"unsupported version 9 \(this sandbox reads versions 1 to 3\)"):
        create_app(SandboxConfig(state_file=path))
