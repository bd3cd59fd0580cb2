"""``--state FILE``: load at start, rewrite atomically after every change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox import SandboxConfig, create_app
from sandbox.testing import ManualClock, SandboxServer


def _server(path: Path, clock: ManualClock) -> SandboxServer:
    return SandboxServer(SandboxConfig(state_file=path, clock=clock, propagation_delay=10, verify_window=100))


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
        assert all(r["published"] for r in second.domains()[0]["dns_records"])
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
    assert after_reset == {"version": 1, "domains": [], "dns": []}
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
