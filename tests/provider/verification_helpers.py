"""Helpers of the verification tests that drive the providers directly: register a domain as this
deployment's EmailDomain does, or behind its back, and describe group members as the component does."""

from __future__ import annotations

from typing import Any

from provider import EmailDomainProvider
from sandbox.testing import SandboxServer
from tests.support import OUR_ORG, OUR_TOKEN


def register(name: str) -> dict[str, Any]:
    """Register ``name`` through the EmailDomain provider (this deployment); its outputs with its id."""
    provider = EmailDomainProvider()
    result = provider.create(provider.check({}, {"domain": name, "__provider": "x"}).inputs)
    assert result.outs is not None
    return {"id": result.id, **result.outs}


def registered_elsewhere(sandbox: SandboxServer, name: str) -> dict[str, Any]:
    """Register ``name`` directly (not by this deployment); the domain as the EmailDomain would hold it."""
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        held = http.post("/core/email-domains", json={"domain": name}).json()
    return {**held, "dns_records": [{**r, "priority": r.get("priority")} for r in held["dns_records"]]}


def member(domain: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A group member for a registered domain: the records as the component publishes them."""
    records = []
    for record in domain["dns_records"]:
        name = domain["domain"] if record["name"] == "@" else f"{record['name']}.{domain['domain']}"
        value = record["value"].strip('"') if record["type"] == "TXT" else record["value"]
        records.append({"type": record["type"], "name": name, "value": value, "priority": record["priority"]})
    return {
        "domain_id": domain["id"],
        "domain": domain["domain"],
        "dns_records": records,
        "poll_interval_seconds": 0.05,
        **settings,
    }


def group_inputs(sandbox: SandboxServer, members: list[dict[str, Any]]) -> dict[str, Any]:
    """Inputs of a group whose DNS check asks the sandbox's DNS server (never anything beyond loopback)."""
    return {
        "members": members,
        "dns_check": "authoritative",
        "dns_resolvers": [f"127.0.0.1:{sandbox.dns_port}"],
        "dns_nameserver_port": sandbox.dns_port,
        "__provider": "x",
    }
