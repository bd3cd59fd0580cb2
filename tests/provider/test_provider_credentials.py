"""Credentials: configure() or the environment, asked for only where an API call is needed, and the
token never in a pickled provider, an output, a log line or an error message."""

from __future__ import annotations

import base64
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime._serialization import _serialize

from provider import (
    AnyreachError,
    AuthenticationError,
    ConfigurationError,
    DomainVerificationGroupProvider,
    DomainVerificationProvider,
    EmailDomainProvider,
)
from provider.resources import connection
from sandbox.testing import SandboxServer
from tests.support import (
    OTHER_ORG,
    OTHER_TOKEN,
    OUR_ORG,
    OUR_TOKEN,
    CapturedLogs,
    configure_request,
    stack_config,
)

PROVIDERS = [EmailDomainProvider, DomainVerificationProvider, DomainVerificationGroupProvider]


def sdk_serialized(provider: Any) -> str:
    """The ``__provider`` value exactly as ``pulumi.dynamic.Resource`` computes it."""
    serialized, _contains_secrets = _serialize(True, serialize_provider, provider)
    return serialized


def test_missing_credentials_fail_only_where_an_api_call_is_needed(fast_clients: None) -> None:
    # Nothing configured, nothing in the environment: preview of inputs still works...
    email_domains, verifications = EmailDomainProvider(), DomainVerificationProvider()
    checked = email_domains.check({}, {"domain": "acme.com", "__provider": "x"})
    assert checked.failures == []
    assert (
        email_domains.diff("dom_1", {"domain": "acme.com", "provider": "resend"}, checked.inputs).changes
        is False
    )
    assert verifications.check({}, {"domain_id": "dom_1", "__provider": "x"}).failures == []
    assert (
        verifications.diff("dom_1", {"domain_id": "dom_1", "verified": True}, {"domain_id": "dom_1"}).changes
        is False
    )
    verifications.delete("dom_1", {"domain_id": "dom_1"})
    # ...and the first API call says what is missing and both ways to set it.
    with pytest.raises(ConfigurationError) as caught:
        email_domains.create(checked.inputs)
    message = str(caught.value)
    assert message.startswith("registering Email Domain (acme.com): Anyreach credentials are missing")
    assert "pulumi config set --secret anyreach:token" in message
    assert "anyreach:organization" in message
    assert "ANYREACH_TOKEN" in message and "ANYREACH_ORGANIZATION" in message
    with pytest.raises(ConfigurationError):
        verifications.create({"domain_id": "dom_1"})


def test_environment_is_used_when_configure_gave_nothing(
    fast_clients: None, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    EmailDomainProvider().configure(configure_request({"aws:region": "eu-west-1"}))
    monkeypatch.setenv("ANYREACH_TOKEN", OUR_TOKEN)
    monkeypatch.setenv("ANYREACH_ORGANIZATION", OUR_ORG)
    monkeypatch.setenv("ANYREACH_BASE_URL", sandbox.base_url)
    domain_id = EmailDomainProvider().create({"domain": "acme.com", "provider": "resend"}).id
    [held] = sandbox.domains()
    assert (held["id"], held["organization"]) == (domain_id, OUR_ORG)


def test_stack_config_wins_over_the_environment(
    fast_clients: None, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANYREACH_TOKEN", OTHER_TOKEN)
    monkeypatch.setenv("ANYREACH_ORGANIZATION", OTHER_ORG)
    monkeypatch.setenv("ANYREACH_BASE_URL", sandbox.base_url)
    EmailDomainProvider().configure(configure_request(stack_config(sandbox)))
    EmailDomainProvider().create({"domain": "acme.com", "provider": "resend"})
    [held] = sandbox.domains()
    assert held["organization"] == OUR_ORG


@pytest.mark.parametrize("provider_class", PROVIDERS)
def test_serialized_provider_holds_no_token_and_no_state(
    configured: SandboxServer, provider_class: type
) -> None:
    provider = provider_class()
    provider.configure(configure_request(stack_config(configured)))
    assert vars(provider) == {}
    serialized = sdk_serialized(provider)
    pickled = base64.b64decode(serialized)
    assert OUR_TOKEN.encode() not in pickled
    assert OUR_TOKEN not in serialized
    # Pickled as a call to the stable entry point, whatever module the class lives in, and the same
    # configuration gives the same blob (no diff of `__provider` between runs).
    assert b"provider.entry_points" in pickled and b"dynamic_provider" in pickled
    assert provider_class.__module__.encode() not in pickled
    assert sdk_serialized(provider_class()) == serialized
    assert type(dill.loads(pickled)) is provider_class  # noqa: S301 - our own bytes


def test_no_token_in_outputs_logs_or_error_messages(configured: SandboxServer, logs: CapturedLogs) -> None:
    # Exercise every path that writes state, logs or raises, under faults that make the client log retries.
    with configured.client(OTHER_TOKEN, OTHER_ORG) as http:
        http.post("/core/email-domains", json={"domain": "globex.com"}).raise_for_status()
    with configured.client(OUR_TOKEN, OUR_ORG) as http:
        http.post("/core/email-domains", json={"domain": "mine.example"}).raise_for_status()
    configured.set_faults(drop_register_responses=1)
    texts: list[str] = []
    email_domains, verifications = EmailDomainProvider(), DomainVerificationProvider()

    created = email_domains.create({"domain": "acme.com", "provider": "resend"})
    texts.append(repr(created.outs))
    texts.append(repr(email_domains.create({"domain": "mine.example", "provider": "resend"}).outs))  # adopted
    with pytest.raises(AnyreachError) as other_org:
        email_domains.create({"domain": "globex.com", "provider": "resend"})
    texts.append(str(other_org.value))

    planned = [{"type": "TXT", "name": "resend._domainkey"}]
    with pytest.raises(AnyreachError) as unplanned:
        verifications.create({"domain_id": created.id, "expected_records": planned})
    texts.append(str(unplanned.value))
    with pytest.raises(AnyreachError) as timed_out:
        verifications.create({"domain_id": created.id, "timeout_seconds": 0.3, "poll_interval_seconds": 0.05})
    texts.append(str(timed_out.value))
    configured.publish("acme.com")
    verified = verifications.create(
        {"domain_id": created.id, "timeout_seconds": 600, "poll_interval_seconds": 0.05}
    )
    texts.append(repr(verified.outs))

    # Idempotent calls under 5xx: the client retries them (and logs the retries).
    configured.set_faults(error_rate=0.5)
    email_domains.delete(created.id, {"domain": "acme.com"})
    email_domains.delete(created.id, {"domain": "acme.com"})  # already gone: a warning
    texts.append(repr(email_domains.read(created.id, {"domain": "acme.com"}).outs))  # gone: a warning
    assert verified.outs is not None
    texts.append(repr(verifications.read(created.id, verified.outs).outs))

    assert logs.of("warn"), "the gone/adopted paths should have logged warnings"
    everything = "\n".join([*texts, logs.text()])
    assert OUR_TOKEN not in everything
    assert OTHER_TOKEN not in everything


def test_a_rejected_token_is_not_echoed(fast_clients: None, sandbox: SandboxServer) -> None:
    wrong = "tok_WRONG_7c0ffee4b1d9"
    connection.remember_configuration(stack_config(sandbox, token=wrong))
    with pytest.raises(AuthenticationError) as caught:
        EmailDomainProvider().create({"domain": "acme.com", "provider": "resend"})
    message = str(caught.value)
    assert message.startswith("registering Email Domain (acme.com): HTTP 401")
    assert wrong not in message and wrong not in repr(caught.value)
