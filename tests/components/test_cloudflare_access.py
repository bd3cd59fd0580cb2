"""The Cloudflare token check of an update (components/cloudflare_access.py), against the sandbox's
Cloudflare stand-in over HTTP, and its place in the stack program (before any resource is declared)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import httpx
import pulumi
import pytest
import yaml
from component_mocks import DNS_RECORD_TYPE, ZONE, Harness
from test_stack_program import engine_config

from components.cloudflare_access import (
    DEFAULT_CLOUDFLARE_API,
    CloudflareAccessError,
    CloudflareCredential,
    check_cloudflare_access,
    cloudflare_credential,
)
from sandbox.testing import SandboxServer

WRONG = "wrong-cloudflare-token-0123456789abcdefghij"
ROUTE = "GET /client/v4/zones/{zone_id}/dns_records"
ROOT = Path(__file__).resolve().parents[2]
HOW_TO = "`pulumi config set --secret cloudflare:apiToken <token>`, or export CLOUDFLARE_API_TOKEN"


def credential(sandbox: SandboxServer, token: str | None, source: str = "config") -> CloudflareCredential:
    config = {"cloudflare:apiToken": token if source == "config" else None}
    environ = {"CLOUDFLARE_BASE_URL": sandbox.cloudflare_base_url}
    if source == "env" and token is not None:
        environ["CLOUDFLARE_API_TOKEN"] = token
    return cloudflare_credential(config, environ)


def check(sandbox: SandboxServer, found: CloudflareCredential, warnings: list[str] | None = None) -> None:
    zones = {sandbox.cloudflare_zone_id: ["a.example.com", "b.example.com"]}
    check_cloudflare_access(found, zones, warn=(warnings if warnings is not None else []).append)


def test_the_stack_config_token_wins_over_the_environment_and_the_address_follows_the_plugin() -> None:
    both = cloudflare_credential(
        {"cloudflare:apiToken": "from-config", "cloudflare:baseUrl": None},
        {"CLOUDFLARE_API_TOKEN": "from-env", "CLOUDFLARE_BASE_URL": "http://127.0.0.1:9/client/v4/"},
    )
    assert (both.token, both.source) == ("from-config", "the stack config (cloudflare:apiToken)")
    assert both.base_url == "http://127.0.0.1:9/client/v4"
    blank = cloudflare_credential({"cloudflare:apiToken": " "}, {"CLOUDFLARE_API_TOKEN": "from-env"})
    assert (blank.token, blank.source) == ("from-env", "the environment (CLOUDFLARE_API_TOKEN)")
    assert blank.base_url == DEFAULT_CLOUDFLARE_API
    assert cloudflare_credential({}, {}).token is None


def test_an_accepted_token_passes_with_one_request_per_zone(sandbox: SandboxServer) -> None:
    warnings: list[str] = []
    check(sandbox, credential(sandbox, sandbox.cloudflare_token), warnings)
    assert warnings == []
    assert sandbox.route_count(ROUTE) == 1


@pytest.mark.parametrize(
    ("source", "named"),
    [("config", "the stack config (cloudflare:apiToken)"), ("env", "the environment (CLOUDFLARE_API_TOKEN)")],
)
def test_a_refused_token_fails_naming_where_it_came_from_and_both_settings(
    sandbox: SandboxServer, source: str, named: str
) -> None:
    with pytest.raises(CloudflareAccessError) as caught:
        check(sandbox, credential(sandbox, WRONG, source))
    message = str(caught.value)
    assert message.startswith(
        "publishing the DNS records of Email Domain (a.example.com, b.example.com) in Cloudflare "
        f"(zone {sandbox.cloudflare_zone_id}): Cloudflare refused the API token from {named} "
        "(Cloudflare answered HTTP 403 9109 Invalid access token)."
    ), message
    assert HOW_TO in message
    assert WRONG not in message


def test_a_revoked_token_is_refused(sandbox: SandboxServer) -> None:
    sandbox.revoke_cloudflare_token(sandbox.cloudflare_token)
    with pytest.raises(CloudflareAccessError, match="9109 Invalid access token"):
        check(sandbox, credential(sandbox, sandbox.cloudflare_token, "env"))


def test_no_token_fails_naming_both_settings_without_a_request(sandbox: SandboxServer) -> None:
    with pytest.raises(CloudflareAccessError) as caught:
        check(sandbox, credential(sandbox, None))
    assert (
        "no Cloudflare API token: neither the stack config (cloudflare:apiToken) nor the environment "
        "(CLOUDFLARE_API_TOKEN) holds one."
    ) in str(caught.value)
    assert HOW_TO in str(caught.value)
    assert sandbox.route_count(ROUTE) == 0


def test_a_token_of_the_wrong_form_fails_as_the_plugin_would_without_a_request(
    sandbox: SandboxServer,
) -> None:
    with pytest.raises(
        CloudflareAccessError, match=r"from the stack config \(cloudflare:apiToken\) is not a"
    ):
        check(sandbox, credential(sandbox, "short token"))
    assert sandbox.route_count(ROUTE) == 0


def test_a_zone_the_token_cannot_reach_is_named(sandbox: SandboxServer) -> None:
    absent = "f" * 32
    with pytest.raises(CloudflareAccessError) as caught:
        check_cloudflare_access(
            credential(sandbox, sandbox.cloudflare_token), {absent: ["c.acme.com"]}, warn=lambda _: None
        )
    message = str(caught.value)
    assert (
        f"(zone {absent}): the API token from the stack config (cloudflare:apiToken) may not reach" in message
    )
    assert "10000 Authentication error" in message


def test_cloudflare_out_of_reach_is_a_warning_and_the_plugin_reports_its_own_error(
    sandbox: SandboxServer,
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    warnings: list[str] = []
    check_cloudflare_access(
        credential(sandbox, sandbox.cloudflare_token),
        {ZONE: ["acme.com"]},
        warn=warnings.append,
        transport=httpx.MockTransport(refuse),
    )
    assert len(warnings) == 1 and "could not check the Cloudflare API token" in warnings[0]


def run_stack_program(
    harness: Harness, config: dict[str, str], monkeypatch: pytest.MonkeyPatch, *, preview: bool = False
) -> dict[str, Any]:
    """Run __main__.py as an update (or a preview) under mocks; return its exports, resolved."""
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))

    def program() -> Any:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi_program__")
        return pulumi.Output.from_input(exports)

    return dict(harness.run(program, config=config, preview=preview))


def test_the_stack_program_checks_the_token_of_an_update_before_declaring_anything(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, cloudflare: SandboxServer
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", WRONG)
    config = engine_config({"anyreach:domains": [{"domain": "acme.com", "zoneId": ZONE}]})
    with pytest.raises(pulumi.RunError, match=r"refused the API token from the environment \(CLOUDFLARE_API"):
        run_stack_program(harness, config, monkeypatch)
    assert harness.registrations == []


def test_a_preview_and_a_stack_without_zones_need_no_cloudflare_token(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", sandbox.cloudflare_base_url)
    manual = engine_config({"anyreach:domain": "acme.com"})
    assert run_stack_program(harness, manual, monkeypatch)["domains"]["acme.com"]["dnsMode"] == "manual"
    published = engine_config({"anyreach:domain": "acme.com", "anyreach:zoneId": ZONE})
    run_stack_program(Harness(), published, monkeypatch, preview=True)
    assert sandbox.route_count(ROUTE) == 0


def test_the_dev_cloudflare_stack_publishes_the_demo_domain_in_the_stand_ins_zone_through_the_stand_in(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = yaml.safe_load((ROOT / "Pulumi.dev-cloudflare.yaml").read_text())["config"]
    exports = run_stack_program(harness, engine_config(stack), monkeypatch, preview=True)
    (domain,) = exports["domains"]
    assert exports["domains"][domain]["dnsMode"] == "cloudflare"
    records = harness.of_type(DNS_RECORD_TYPE)
    assert len(records) == 5
    assert {record.inputs["zoneId"] for record in records} == {SandboxServer.cloudflare_zone_id}
    # The plugin talks to the same sandbox as the providers: its stand-in, never Cloudflare.
    assert stack["cloudflare:baseUrl"] == stack["anyreach:baseUrl"] + "/client/v4"
