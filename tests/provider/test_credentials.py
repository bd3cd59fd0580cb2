"""Credentials from the stack config, falling back to the environment."""

from __future__ import annotations

import json
import pickle

import httpx
import pytest

from provider.api.budget import RequestBudget
from provider.api.errors import ConfigurationError
from provider.resources.credentials import Credentials, CredentialSource, resolve_credentials

TOKEN = "tok_cfg_0123456789abcdef"
ENV = {
    "ANYREACH_TOKEN": "tok_env_fedcba9876543210",
    "ANYREACH_ORGANIZATION": "org_env",
    "ANYREACH_BASE_URL": "http://127.0.0.1:8787",
}


def test_stack_config_is_read() -> None:
    config = {
        "anyreach:token": TOKEN,
        "anyreach:organization": "org_cfg",
        "anyreach:baseUrl": "https://api.example.com/",
        "cloudflare:apiToken": "unrelated",
    }
    credentials = resolve_credentials(config, environ={})
    assert (credentials.token, credentials.organization, credentials.base_url) == (
        TOKEN,
        "org_cfg",
        "https://api.example.com/",
    )
    assert credentials.token_source is CredentialSource.STACK_CONFIG
    assert credentials.client(transport=httpx.MockTransport(lambda r: httpx.Response(200))).base_url == (
        "https://api.example.com"
    )


def test_stack_config_wins_over_the_environment_key_by_key() -> None:
    credentials = resolve_credentials({"anyreach:token": TOKEN}, environ=ENV)
    assert credentials.token == TOKEN
    assert credentials.organization == "org_env"
    assert credentials.base_url == "http://127.0.0.1:8787"


def test_environment_alone_is_enough_and_the_base_url_defaults_to_production() -> None:
    env = {"ANYREACH_TOKEN": TOKEN, "ANYREACH_ORGANIZATION": "org_env"}
    assert resolve_credentials(None, environ=env).base_url == "https://api.anyreach.ai"


def test_blank_values_count_as_missing_and_whitespace_is_trimmed() -> None:
    credentials = resolve_credentials(
        {"anyreach:token": "  ", "anyreach:organization": " org_cfg\n"},
        environ={"ANYREACH_TOKEN": f"{TOKEN}\n"},
    )
    assert (credentials.token, credentials.organization) == (TOKEN, "org_cfg")


def test_missing_credentials_name_both_ways_to_set_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_credentials({}, environ={})
    message = str(caught.value)
    assert message.startswith("Anyreach credentials are missing (token and organization)")
    assert "pulumi config set --secret anyreach:token <token>" in message
    assert "pulumi config set anyreach:organization <org>" in message
    assert "ANYREACH_TOKEN" in message and "ANYREACH_ORGANIZATION" in message


def test_missing_organization_alone_is_named() -> None:
    with pytest.raises(ConfigurationError, match=r"missing \(organization\)") as caught:
        resolve_credentials({"anyreach:token": TOKEN}, environ={})
    assert TOKEN not in str(caught.value)


def test_an_unusable_base_url_is_refused_before_any_request() -> None:
    config = {
        "anyreach:token": TOKEN,
        "anyreach:organization": "o",
        "anyreach:baseUrl": "http://api.anyreach.ai",
    }
    credentials = resolve_credentials(config, environ={})
    with pytest.raises(ConfigurationError, match="clear text"):
        credentials.client(transport=httpx.MockTransport(lambda request: pytest.fail("a request was sent")))


def test_when_the_program_ran_the_stack_config_wins_and_otherwise_the_environment_does() -> None:
    config = {"anyreach:token": TOKEN, "anyreach:organization": "org_cfg"}
    environ = {"ANYREACH_TOKEN": "tok_from_environment_0123"}
    current = resolve_credentials(config, environ=environ)
    assert (current.token, current.token_source) == (TOKEN, CredentialSource.STACK_CONFIG)
    assert current.may_delete
    stored = resolve_credentials(config, config_is_current=False, environ=environ)
    assert (stored.token, stored.token_source) == ("tok_from_environment_0123", CredentialSource.ENVIRONMENT)
    assert (stored.organization, stored.organization_source) == ("org_cfg", CredentialSource.STORED_COPY)
    assert stored.may_delete


def test_the_copy_stored_with_the_stack_may_read_but_never_delete() -> None:
    config = {"anyreach:token": TOKEN, "anyreach:organization": "org_cfg"}
    stored = resolve_credentials(config, config_is_current=False, environ={})
    assert (stored.token, stored.token_source) == (TOKEN, CredentialSource.STORED_COPY)
    assert not stored.may_delete


def test_token_stays_out_of_repr_and_pickles() -> None:
    credentials = Credentials(token=TOKEN, organization="org_cfg")
    assert TOKEN not in repr(credentials)
    assert "org_cfg" in repr(credentials)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(credentials)


def test_credentials_build_a_client_that_sends_them() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    credentials = Credentials(token=TOKEN, organization="org_cfg", base_url="http://127.0.0.1:1")
    with credentials.client(transport=httpx.MockTransport(handler), budget=RequestBudget(1000)) as client:
        assert client.list() == []
        assert client.organization == "org_cfg"
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["X-Anyreach-Org"] == "org_cfg"
    assert json.dumps(dict(seen[0].headers)).count(TOKEN) == 1
