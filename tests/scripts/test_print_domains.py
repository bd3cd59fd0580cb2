"""What `make demo` prints at its end (scripts/print_domains.py): no placeholder values, and a dig command
that really asks the sandbox's DNS server for a record the domain published."""

from __future__ import annotations

import io
import json
import shlex

import dns.message
import dns.query
import dns.rdatatype

from sandbox.testing import SandboxServer
from scripts.print_domains import domain_lines, main
from tests.support import wait_for

DOMAIN = "demo.example.com"


def stack_output(sandbox: SandboxServer) -> dict[str, dict[str, object]]:
    """The `domains` stack output of a verified manual-mode domain, as the stack program exports it."""
    [held] = [item for item in sandbox.domains() if item["domain"] == DOMAIN]
    records = []
    for record in held["dns_records"]:
        name = DOMAIN if record["name"] == "@" else f"{record['name']}.{DOMAIN}"
        value = record["value"].strip('"') if record["type"] == "TXT" else record["value"]
        records.append(
            {"type": record["type"], "name": name, "value": value, "priority": record.get("priority")}
        )
    return {
        DOMAIN: {"domainId": held["id"], "dnsMode": "manual", "status": "verified", "dnsRecords": records},
    }


def test_the_demo_lines_name_every_record_and_no_placeholder(sandbox: SandboxServer) -> None:
    sandbox.set_settings(propagation_delay=0)
    with sandbox.client() as http:
        http.post("/core/email-domains", json={"domain": DOMAIN}).raise_for_status()
    sandbox.publish(DOMAIN)
    output = io.StringIO()
    main(
        ["--dns", f"127.0.0.1:{sandbox.dns_port}"],
        stdin=io.StringIO(json.dumps(stack_output(sandbox))),
        stdout=output,
    )
    lines = output.getvalue().splitlines()
    assert lines[0].startswith(f"{DOMAIN}: verified (id dom_")
    assert len(lines) == 1 + 5 + 1  # the domain, its five records, the dig command
    assert all("None" not in line for line in lines), lines
    assert lines[2].split()[:3] == ["MX", f"send.{DOMAIN}", "10"]


def test_the_dig_command_asks_the_sandbox_for_a_record_it_serves(sandbox: SandboxServer) -> None:
    sandbox.set_settings(propagation_delay=0)
    with sandbox.client() as http:
        http.post("/core/email-domains", json={"domain": DOMAIN}).raise_for_status()
    sandbox.publish(DOMAIN)
    output = stack_output(sandbox)
    dig = next(line for line in domain_lines(output, f"127.0.0.1:{sandbox.dns_port}") if "dig " in line)
    words = shlex.split(dig.split(": ", 1)[1])
    assert words[:2] == ["dig", "@127.0.0.1"] and words[2:4] == ["-p", str(sandbox.dns_port)]
    record_type, name = words[-2], words[-1]
    # What dig would print: ask the same server the same question.
    query = dns.message.make_query(name, dns.rdatatype.from_text(record_type))

    def answer() -> str:
        response = dns.query.udp(query, "127.0.0.1", port=sandbox.dns_port, timeout=2)
        return " ".join(rdata.to_text() for rrset in response.answer for rdata in rrset)

    wait_for(lambda: answer() != "", "the sandbox's DNS server answers the demo's dig command")
    expected = output[DOMAIN]["dnsRecords"][-1]  # type: ignore[index]
    assert answer() == f"{expected['priority']} {expected['value']}."
