"""Authentication, organization header, scopes and organization isolation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox import DEFAULT_TOKEN, Credential, SandboxConfig
from sandbox.testing import SandboxServer

RegisterFn = Callable[[str], dict[str, Any]]

# Extra credentials of the timed server (tests/sandbox/conftest.py).
READER_TOKEN = "reader-token"
NO_SCOPE_TOKEN = "noscope-token"
OTHER_TOKEN, OTHER_ORG = "other-token", "org_other"

READ_CALLS = [
    ("GET", "/core/email-domains"),
    ("GET", "/core/email-domains/{id}"),
    ("POST", "/core/email-domains/{id}/refresh"),
]
MANAGE_CALLS = [
    ("POST", "/core/email-domains"),
    ("POST", "/core/email-domains/{id}/verify"),
    ("DELETE", "/core/email-domains/{id}"),
]


@pytest.fixture
def bare(timed: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the timed sandbox without credentials."""
    with timed.client(anonymous=True) as client:
        yield client


def _call(
    client: httpx.Client, method: str, path: str, headers: dict[str, str], domain_id: str
) -> httpx.Response:
    body = {"domain": "new.com"} if path == "/core/email-domains" and method == "POST" else None
    return client.request(method, path.format(id=domain_id), headers=headers, json=body)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer wrong-token", "Basic ZGV2LXRva2Vu", "dev-token"],
    ids=["missing", "empty", "unknown", "basic", "no-scheme"],
)
def test_bad_credentials_answer_401(
    timed: SandboxServer, bare: httpx.Client, register: RegisterFn, authorization: str | None
) -> None:
    domain_id = register("acme.com")["id"]
    headers = {"X-Anyreach-Org": "org_dev"}
    if authorization is not None:
        headers["Authorization"] = authorization

    for method, path in READ_CALLS + MANAGE_CALLS:
        response = _call(bare, method, path, headers, domain_id)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "unauthorized"
        assert "wrong-token" not in response.text


def test_missing_org_header_answers_400_naming_it(
    timed: SandboxServer, bare: httpx.Client, register: RegisterFn
) -> None:
    domain_id = register("acme.com")["id"]

    response = _call(
        bare, "GET", "/core/email-domains/{id}", {"Authorization": "Bearer dev-token"}, domain_id
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert "X-Anyreach-Org" in response.json()["error"]["message"]


def test_org_header_of_another_org_answers_403_mismatch(timed: SandboxServer, bare: httpx.Client) -> None:
    headers = timed.headers(organization="org_other")

    response = _call(bare, "GET", "/core/email-domains", headers, "")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "organization_mismatch"


def test_swapped_token_and_org_never_echo_the_token(timed: SandboxServer, bare: httpx.Client) -> None:
    headers = {"Authorization": "Bearer dev-token", "X-Anyreach-Org": "other-token"}

    response = _call(bare, "GET", "/core/email-domains", headers, "")

    assert response.status_code == 403
    assert "token" not in response.json()["error"]["message"].replace("The token", "")
    assert "other-token" not in response.text


def test_read_scope_allows_list_get_refresh(
    timed: SandboxServer, bare: httpx.Client, register: RegisterFn
) -> None:
    domain_id = register("acme.com")["id"]
    headers = timed.headers(token=READER_TOKEN)

    for method, path in READ_CALLS:
        assert _call(bare, method, path, headers, domain_id).status_code == 200, (method, path)


def test_read_scope_cannot_register_verify_delete(
    timed: SandboxServer, bare: httpx.Client, register: RegisterFn
) -> None:
    domain_id = register("acme.com")["id"]
    headers = timed.headers(token=READER_TOKEN)

    for method, path in MANAGE_CALLS:
        response = _call(bare, method, path, headers, domain_id)
        assert response.status_code == 403, (method, path)
        assert response.json()["error"] == {
            "status": 403,
            "code": "insufficient_scope",
            "message": "This operation requires the scope email_domains:manage.",
        }
    assert timed.find_domain("new.com") is None
    assert timed.find_domain("acme.com") is not None


def test_token_without_email_scopes_cannot_read(
    timed: SandboxServer, bare: httpx.Client, register: RegisterFn
) -> None:
    domain_id = register("acme.com")["id"]

    response = _call(bare, "GET", "/core/email-domains/{id}", timed.headers(token=NO_SCOPE_TOKEN), domain_id)

    assert response.status_code == 403
    assert "email_domains:read or email_domains:manage" in response.json()["error"]["message"]


def test_other_org_cannot_see_or_touch_a_domain(
    timed: SandboxServer, bare: httpx.Client, register: RegisterFn
) -> None:
    domain_id = register("acme.com")["id"]
    headers = timed.headers(token=OTHER_TOKEN, organization=OTHER_ORG)

    listed = _call(bare, "GET", "/core/email-domains", headers, domain_id)
    assert listed.status_code == 200
    assert listed.json()["data"] == []
    for method, path in READ_CALLS[1:] + MANAGE_CALLS[1:]:
        assert _call(bare, method, path, headers, domain_id).status_code == 404, (method, path)
    assert timed.find_domain("acme.com") is not None  # the DELETE did nothing


def test_registering_a_domain_of_another_org_answers_409(
    timed: SandboxServer, bare: httpx.Client, register: RegisterFn
) -> None:
    register("acme.com")
    headers = timed.headers(token=OTHER_TOKEN, organization=OTHER_ORG)

    response = bare.post("/core/email-domains", json={"domain": "ACME.com"}, headers=headers)

    assert response.status_code == 409
    assert response.json() == {
        "error": {"status": 409, "code": "conflict", "message": "The domain acme.com is already registered."}
    }
    assert timed.find_domain("acme.com")["organization"] == "org_dev"  # type: ignore[index]


def test_registering_own_domain_twice_answers_409(api: httpx.Client, register: RegisterFn) -> None:
    register("acme.com")

    response = api.post("/core/email-domains", json={"domain": "acme.com"})

    assert response.status_code == 409
    assert response.json()["error"]["message"] == "The domain acme.com is already registered."
    assert len(api.get("/core/email-domains").json()["data"]) == 1


def test_config_repr_hides_tokens() -> None:
    credential = Credential.parse("s3cret-token-value", "org_x", "email_domains:read")
    config = SandboxConfig(credentials=(credential,))

    assert "s3cret-token-value" not in repr(config)
    assert "org_x" in repr(config)
    assert DEFAULT_TOKEN not in repr(config.credentials_by_token()[DEFAULT_TOKEN])
