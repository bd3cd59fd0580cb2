"""What `make demo-cloudflare` prints at its end (scripts/print_cloudflare_records.py): the records as the
Cloudflare stand-in holds them, read through its API, every page of them."""

from __future__ import annotations

import io

import pytest

from sandbox.testing import SandboxServer
from scripts.print_cloudflare_records import main

DOMAIN = "demo.example.com"
DKIM = "p=" + "A" * 300  # longer than one TXT string: Cloudflare stores it in two quoted chunks


def publish(sandbox: SandboxServer) -> None:
    """Records in the dev zone the way the component writes them, plus one of another domain."""
    zone = sandbox.cloudflare_zone_id
    with sandbox.cloudflare_client() as cloudflare:
        for body in (
            {"type": "TXT", "name": f"resend._domainkey.{DOMAIN}", "content": f'"{DKIM}"', "ttl": 1},
            {
                "type": "MX",
                "name": f"send.{DOMAIN}",
                "content": "feedback-smtp.us-east-1.amazonses.com",
                "priority": 10,
                "ttl": 300,
                "comment": f"anyreach: SPF bounce MX for {DOMAIN}",
            },
            {"type": "TXT", "name": f"_dmarc.{DOMAIN}", "content": '"v=DMARC1; p=none;"', "ttl": 1},
            {
                "type": "MX",
                "name": DOMAIN,
                "content": "inbound-smtp.us-east-1.amazonaws.com",
                "priority": 10,
                "ttl": 1,
            },
            {"type": "TXT", "name": "_dmarc.other.example.com", "content": '"v=DMARC1; p=none;"', "ttl": 1},
            {
                "type": "TXT",
                "name": f"send.{DOMAIN}",
                "content": '"v=spf1 include:amazonses.com ~all"',
                "ttl": 1,
            },
        ):
            cloudflare.post(f"zones/{zone}/dns_records", json=body).raise_for_status()


def run(sandbox: SandboxServer, *args: str, token: str | None = None, per_page: int = 100) -> tuple[int, str]:
    output = io.StringIO()
    environ = {
        "CLOUDFLARE_BASE_URL": sandbox.cloudflare_base_url,
        "CLOUDFLARE_API_TOKEN": token or sandbox.cloudflare_token,
    }
    status = main(
        ["--zone", sandbox.cloudflare_zone_id, *args], stdout=output, environ=environ, per_page=per_page
    )
    return status, output.getvalue()


def test_every_record_of_the_domain_is_printed_as_cloudflare_holds_it(sandbox: SandboxServer) -> None:
    publish(sandbox)
    held = {(r["type"], r["name"]): r for r in sandbox.cloudflare_records(sandbox.cloudflare_zone_id)}
    # Five per page, the stand-in's smallest: the listing must follow the pages to find all six records.
    status, printed = run(sandbox, "--domain", DOMAIN, per_page=5)
    assert status == 0
    lines = printed.splitlines()
    assert len(lines) == 5 and "other.example.com" not in printed
    assert [line.split()[:2] for line in lines] == [
        ["TXT", f"_dmarc.{DOMAIN}"],
        ["MX", DOMAIN],
        ["TXT", f"resend._domainkey.{DOMAIN}"],
        ["MX", f"send.{DOMAIN}"],
        ["TXT", f"send.{DOMAIN}"],
    ]
    spf_mx = lines[3].split()
    assert spf_mx[2:6] == ["ttl", "300s", "10", "feedback-smtp.us-east-1.amazonses.com"]
    assert lines[3].endswith(
        f"(id {held[('MX', f'send.{DOMAIN}')]['id']}; anyreach: SPF bounce MX for {DOMAIN})"
    )
    # The DKIM key as Cloudflare stores it (split into quoted chunks), shortened for the screen.
    assert held[("TXT", f"resend._domainkey.{DOMAIN}")]["content"].startswith(f'"{DKIM[:255]}" "')
    assert lines[2].split()[4] == f'"{DKIM[:56]}...'
    assert lines[0].split()[2:6] == ["ttl", "auto", '"v=DMARC1;', 'p=none;"']


def test_without_a_domain_every_record_of_the_zone_is_printed(sandbox: SandboxServer) -> None:
    publish(sandbox)
    status, printed = run(sandbox)
    assert status == 0 and len(printed.splitlines()) == 6


def test_a_refused_token_prints_cloudflares_error_and_fails(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    status, printed = run(sandbox, token="wrong-cloudflare-token-0123456789abcdefghij")
    assert status == 1 and printed == ""
    assert "HTTP 403 9109 Invalid access token" in capsys.readouterr().err
