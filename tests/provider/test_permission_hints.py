"""A 403: wrong organization or missing scope, decided once (on the error) for the client's hint and the
resources' Pulumi hint alike."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from provider.api.errors import PermissionDeniedError
from provider.resources.connection import retargeted
from provider.resources.credentials import Credentials
from tests.support import new_client

ORG = "org_acme"
MANAGE = "email_domains:manage"

# (error code, server message, does the token belong to another organization?)
CASES: list[tuple[str | None, str, bool]] = [
    ("organization_mismatch", "The token does not belong to the organization named in X-Anyreach-Org.", True),
    ("insufficient_scope", f"This operation requires the scope {MANAGE}.", False),
    # The case that diverged: the code says scope, the message mentions the organization. The resources'
    # hint used to read the message alone and told the user to change the organization.
    (
        "insufficient_scope",
        f"The token lacks the permission to register domains for organization {ORG}.",
        False,
    ),
    ("organization_mismatch", "The token's scope is limited to another organization.", True),
    # A server that sends no code (or one this client does not know): the message decides.
    (None, f"The token does not belong to organization {ORG}.", True),
    (None, f"Token lacks scope {MANAGE} in organization {ORG}.", False),
    (None, "Forbidden.", False),
    ("forbidden", "The token belongs to another organization.", True),
]
IDS = [
    f"{code}-{'organization' if wrong else 'scope'}-{index}" for index, (code, _, wrong) in enumerate(CASES)
]


def _denied(code: str | None, message: str) -> PermissionDeniedError:
    """The error the client raises for a 403 with this body, on a register (which needs the manage scope)."""
    error: dict[str, Any] = {"status": 403, "message": message}
    if code is not None:
        error["code"] = code
    transport = httpx.MockTransport(lambda _request: httpx.Response(403, json={"error": error}))
    with new_client("http://127.0.0.1:9", "tok_0123456789", ORG, transport=transport) as client:
        with pytest.raises(PermissionDeniedError) as caught:
            client.register("acme.com")
    return caught.value


@pytest.mark.parametrize(("code", "message", "wrong_organization"), CASES, ids=IDS)
def test_the_error_says_whether_the_organization_or_the_scope_is_wrong(
    code: str | None, message: str, wrong_organization: bool
) -> None:
    assert _denied(code, message).wrong_organization is wrong_organization


@pytest.mark.parametrize(("code", "message", "wrong_organization"), CASES, ids=IDS)
def test_the_clients_hint_follows_the_decision(
    code: str | None, message: str, wrong_organization: bool
) -> None:
    text = str(_denied(code, message))

    organization_hint = f"The token does not belong to organization {ORG}: use the organization the token"
    scope_hint = f"Registering an Email Domain needs a token with the scope {MANAGE}: use a token that has it"
    assert (organization_hint in text, scope_hint in text) == (wrong_organization, not wrong_organization)


@pytest.mark.parametrize(("code", "message", "wrong_organization"), CASES, ids=IDS)
def test_the_pulumi_hint_follows_the_same_decision(
    code: str | None, message: str, wrong_organization: bool
) -> None:
    credentials = Credentials(token="tok_0123456789", organization=ORG)

    text = str(retargeted(_denied(code, message), "acme.com", credentials))

    organization_hint = (
        f"The API token from stack config (anyreach:token) does not belong to organization {ORG}"
    )
    scope_hint = (
        f"Registering an Email Domain needs a token with the scope {MANAGE}; the token from stack config "
        "(anyreach:token) lacks it: set a valid one with `pulumi config set --secret anyreach:token <token>`"
    )
    assert text.startswith(f"registering Email Domain (acme.com): HTTP 403: {message}")
    assert (organization_hint in text, scope_hint in text) == (wrong_organization, not wrong_organization)
