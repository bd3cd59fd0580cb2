"""The DNS check's mode and resolvers, read by one rule each (``DnsCheckMode.parse``, ``parse_resolvers``)
in the stack program and again in the provider, from the text the resource input holds."""

from __future__ import annotations

import pytest

from components.stack_config import parse_stack_config
from components.verification_group import VerificationGroup
from provider.dns.checker import DnsCheckMode, Endpoint
from provider.resources.domain_verification_group import DomainVerificationGroupArgs


def test_the_provider_checks_with_the_resolvers_the_stack_config_named() -> None:
    config = parse_stack_config(
        {
            "anyreach:domain": "acme.com",
            "anyreach:dnsCheck": " Recursive ",
            "anyreach:dnsResolvers": '["127.0.0.1:5353", "[::0001]"]',
        }
    )
    assert config.dns.dns_check is DnsCheckMode.RECURSIVE
    assert config.dns.dns_resolvers == (Endpoint("127.0.0.1", 5353), Endpoint("::1"))

    # What components.VerificationGroup passes to the resource, and state keeps: host[:port] texts.
    inputs = config.dns.group_inputs()
    assert inputs == {
        "dns_check": "recursive",
        "dns_resolvers": ["127.0.0.1:5353", "[::1]:53"],
        "dns_nameserver_port": None,
    }

    settings = DomainVerificationGroupArgs.model_validate(inputs).dns_settings()
    assert (settings.mode, settings.resolvers) == (config.dns.dns_check, config.dns.dns_resolvers)


def test_a_verification_group_reads_them_by_the_same_rules() -> None:
    group = VerificationGroup(
        "checks", dns_check=" Recursive ", dns_resolvers=["[::0001]", Endpoint("127.0.0.1")]
    )

    # What it will pass to its resource (made when the group closes).
    assert group._dns_inputs == {
        "dns_check": "recursive",
        "dns_resolvers": ["[::1]:53", "127.0.0.1:53"],
        "dns_nameserver_port": None,
    }
    # Bad options fail before anything exists, naming the argument and the fix, by the stack config's rules.
    with pytest.raises(ValueError, match="dns_check is 'fast'; use one of authoritative, recursive, off"):
        VerificationGroup("checks", dns_check="fast")
    with pytest.raises(
        ValueError, match=r"dns_resolvers has 'udp://1\.1\.1\.1': DNS server 'udp://1\.1\.1\.1'"
    ):
        VerificationGroup("checks", dns_resolvers=["udp://1.1.1.1"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'dns_resolver'"):
        VerificationGroup("checks", dns_resolver=["1.1.1.1"])
