"""The client against scripted responses (httpx.MockTransport): requests, parsing, errors, retries."""

from __future__ import annotations

import email.utils
import json
import logging
import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from provider.api.client import EmailDomainsClient, validate_base_url
from provider.api.errors import (
    AnyreachError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from provider.api.models import DomainStatus
from tests.support import RecordingBudget, new_client

TOKEN = "tok_live_5ecr3t-value-XYZ"
ORG = "org_acme"
BASE = "http://127.0.0.1:9"

Handler = Callable[[httpx.Request], httpx.Response]


def domain_json(domain: str = "acme.com", id_: str = "dom_1", status: str = "pending") -> dict[str, Any]:
    return {
        "id": id_,
        "domain": domain,
        "provider": "resend",
        "status": status,
        "dns_records": [
            {"record": "Receiving", "type": "MX", "name": "@", "value": "inbound", "priority": 10}
        ],
    }


def error_json(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message}}


class Script:
    """A MockTransport handler that answers from a list of responses (or exceptions) in turn."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


@pytest.fixture
def budget() -> RecordingBudget:
    return RecordingBudget(rate_per_second=1e6, burst=1000, pauses=False)


@pytest.fixture
def make_client(budget: RecordingBudget) -> Iterator[Callable[..., EmailDomainsClient]]:
    clients: list[EmailDomainsClient] = []

    def make(handler: Handler, base_url: str = BASE, **settings: Any) -> EmailDomainsClient:
        """A client answered by ``handler`` (the tests' one factory: their timings, this test's budget)."""
        client = new_client(
            base_url, TOKEN, ORG, **{"transport": httpx.MockTransport(handler), "budget": budget, **settings}
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# -- requests ------------------------------------------------------------------------------------


def test_register_sends_the_documented_request_and_reads_the_domain(make_client: Any) -> None:
    script = Script(httpx.Response(201, json=domain_json()))
    domain = make_client(script).register("acme.com")
    (request,) = script.requests
    assert (request.method, request.url.path) == ("POST", "/core/email-domains")
    assert json.loads(request.content) == {"domain": "acme.com", "provider": "resend"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Anyreach-Org"] == ORG
    assert request.headers["User-Agent"].startswith("anyreach-email-domains-pulumi/")
    assert domain.id == "dom_1"
    assert domain.status is DomainStatus.PENDING
    assert domain.dns_records[0].priority == 10


def test_register_accepts_200_as_well_as_201(make_client: Any) -> None:
    assert make_client(Script(httpx.Response(200, json=domain_json()))).register("acme.com").id == "dom_1"


@pytest.mark.parametrize(
    ("call", "method", "path"),
    [
        (lambda c: c.get("dom_1"), "GET", "/core/email-domains/dom_1"),
        (lambda c: c.verify("dom_1"), "POST", "/core/email-domains/dom_1/verify"),
        (lambda c: c.refresh("dom_1"), "POST", "/core/email-domains/dom_1/refresh"),
        (lambda c: c.get("a/b c"), "GET", "/core/email-domains/a%2Fb%20c"),
    ],
    ids=["get", "verify", "refresh", "id-is-quoted"],
)
def test_calls_on_one_domain_use_the_documented_route(
    make_client: Any, call: Callable[[EmailDomainsClient], Any], method: str, path: str
) -> None:
    script = Script(httpx.Response(200, json=domain_json()))
    assert call(make_client(script)).domain == "acme.com"
    (request,) = script.requests
    assert (request.method, request.url.raw_path.decode()) == (method, path)


@pytest.mark.parametrize("status", [200, 202, 204])
def test_delete_accepts_any_success_status(make_client: Any, status: int) -> None:
    body = {"id": "dom_1", "deleted": True} if status != 204 else None
    script = Script(httpx.Response(status, json=body))
    assert make_client(script).delete("dom_1") is None
    assert (script.requests[0].method, script.requests[0].url.path) == ("DELETE", "/core/email-domains/dom_1")


@pytest.mark.parametrize(
    "body",
    [
        [domain_json(), domain_json("beta.io", "dom_2")],
        {"data": [domain_json(), domain_json("beta.io", "dom_2")]},
    ],
    ids=["bare-array", "data-object"],
)
def test_list_accepts_a_bare_array_or_an_object_holding_one(make_client: Any, body: Any) -> None:
    assert [d.domain for d in make_client(Script(httpx.Response(200, json=body))).list()] == [
        "acme.com",
        "beta.io",
    ]


def test_find_by_domain_compares_normalized_names(make_client: Any) -> None:
    body = {"data": [domain_json("beta.io", "dom_2"), domain_json("xn--bcher-kva.de", "dom_3")]}
    client = make_client(Script(httpx.Response(200, json=body)))
    assert client.find_by_domain("BETA.io").id == "dom_2"  # type: ignore[union-attr]
    assert client.find_by_domain("bücher.de").id == "dom_3"  # type: ignore[union-attr]
    assert client.find_by_domain("acme.com") is None


def test_find_by_domain_rejects_an_invalid_name_before_asking(make_client: Any) -> None:
    script = Script(httpx.Response(200, json=[]))
    with pytest.raises(ValueError, match="email address"):
        make_client(script).find_by_domain("me@acme.com")
    assert script.requests == []


def test_base_url_path_prefix_is_kept(make_client: Any) -> None:
    script = Script(httpx.Response(200, json=[]))
    make_client(script, base_url="https://gw.example.com/anyreach/").list()
    assert str(script.requests[0].url) == "https://gw.example.com/anyreach/core/email-domains"


# -- error mapping -------------------------------------------------------------------------------

ERROR_CASES = [
    (400, "bad_request", "Missing X-Anyreach-Org header.", InvalidRequestError, None),
    (401, "unauthorized", "Invalid bearer token.", AuthenticationError, "use a valid token"),
    (
        403,
        "insufficient_scope",
        "Requires scope email_domains:manage.",
        PermissionDeniedError,
        "email_domains:manage",
    ),
    (404, "not_found", "Domain not found.", NotFoundError, "deleted"),
    (409, "conflict", "The domain acme.com is already registered.", ConflictError, "another organization"),
    (422, "validation_error", "domain: not a valid domain name", InvalidRequestError, "bare domain"),
    (429, "rate_limited", "Too many requests.", RateLimitedError, "ANYREACH_MAX_REQUESTS_PER_SECOND"),
    (500, "internal_error", "Internal error.", ServerError, "may or may not have been registered"),
    (503, "internal_error", "Service unavailable.", ServerError, "look it up before registering again"),
]


@pytest.mark.parametrize(("status", "code", "message", "cls", "hint"), ERROR_CASES)
def test_register_error_statuses_map_to_classes_with_the_template_message(
    make_client: Any, status: int, code: str, message: str, cls: type[ApiError], hint: str | None
) -> None:
    script = Script(httpx.Response(status, json=error_json(status, code, message)))
    with pytest.raises(cls) as caught:
        make_client(script, retry_deadline=0).register("acme.com")
    error = caught.value
    assert str(error).startswith(f"registering Email Domain (acme.com): HTTP {status}: {message}")
    assert (error.operation, error.target, error.status_code, error.code) == (
        "registering",
        "acme.com",
        status,
        code,
    )
    assert error.server_message == message
    if hint:
        assert hint in str(error)


def test_conflict_message_reads_as_the_api_page_says(make_client: Any) -> None:
    script = Script(
        httpx.Response(409, json=error_json(409, "conflict", "The domain acme.com is already registered."))
    )
    with pytest.raises(ConflictError) as caught:
        make_client(script).register("acme.com")
    assert str(caught.value).startswith(
        "registering Email Domain (acme.com): HTTP 409: "
        "The domain acme.com is already registered. Domains are unique"
    )


@pytest.mark.parametrize(
    ("call", "operation", "scope"),
    [
        (lambda c: c.register("acme.com"), "registering", "email_domains:manage"),
        (lambda c: c.verify("dom_1"), "verifying", "email_domains:manage"),
        (lambda c: c.delete("dom_1"), "deleting", "email_domains:manage"),
        (lambda c: c.get("dom_1"), "reading", "email_domains:read or email_domains:manage"),
        (lambda c: c.list(), "listing", "email_domains:read or email_domains:manage"),
        (lambda c: c.refresh("dom_1"), "refreshing", "email_domains:read or email_domains:manage"),
    ],
)
def test_permission_denied_names_the_scope_the_operation_needs_and_keeps_the_server_message(
    make_client: Any, call: Callable[[EmailDomainsClient], Any], operation: str, scope: str
) -> None:
    server = "The token lacks the required scope."
    script = Script(httpx.Response(403, json=error_json(403, "insufficient_scope", server)))
    with pytest.raises(PermissionDeniedError) as caught:
        call(make_client(script))
    assert caught.value.required_scope == scope
    assert str(caught.value).startswith(f"{operation} Email Domain (")
    assert f"HTTP 403: {server}" in str(caught.value)
    assert f"needs a token with the scope {scope}" in str(caught.value)


def test_permission_denied_for_another_organization_says_to_check_the_organization(make_client: Any) -> None:
    body = error_json(403, "organization_mismatch", "The token does not belong to organization org_acme.")
    with pytest.raises(PermissionDeniedError, match="use the organization the token was made for"):
        make_client(Script(httpx.Response(403, json=body))).get("dom_1")


def test_authentication_error_says_how_to_set_the_token(make_client: Any) -> None:
    body = error_json(401, "unauthorized", "Missing bearer token.")
    with pytest.raises(AuthenticationError) as caught:
        make_client(Script(httpx.Response(401, json=body))).list()
    assert "use a valid token" in str(caught.value)
    assert "pulumi" not in str(caught.value)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(422, json={"message": "domain is invalid"}), "domain is invalid"),
        (httpx.Response(422, json={"detail": "domain is invalid"}), "domain is invalid"),
        (
            httpx.Response(422, json={"detail": [{"loc": ["body", "domain"], "msg": "bad domain"}]}),
            "body.domain: bad domain",
        ),
        (httpx.Response(422, json={"error": "domain is invalid"}), "domain is invalid"),
        (httpx.Response(422, text="domain\n  is invalid"), "domain is invalid"),
        (httpx.Response(422, text=""), "Unprocessable Entity"),
    ],
    ids=["message", "detail", "detail-list", "error-string", "raw-text", "reason-phrase"],
)
def test_server_message_is_found_in_every_body_shape(
    make_client: Any, response: httpx.Response, expected: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        make_client(Script(response)).register("acme.com")
    assert caught.value.server_message == expected


def test_unlisted_status_is_an_api_error_pointing_at_the_base_url(make_client: Any) -> None:
    with pytest.raises(ApiError) as caught:
        make_client(Script(httpx.Response(302, headers={"Location": "/login"}))).get("dom_1")
    assert type(caught.value) is ApiError
    assert "HTTP 302" in str(caught.value) and BASE in str(caught.value)


@pytest.mark.parametrize(
    ("response", "cause"),
    [
        (httpx.Response(200, text="<html>gateway</html>"), "not JSON"),
        (httpx.Response(200, json={"ok": True}), "id: Field required"),
        (httpx.Response(201, json=[]), "not the documented object"),
    ],
)
def test_success_with_an_unreadable_body_is_an_unexpected_response(
    make_client: Any, response: httpx.Response, cause: str
) -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        make_client(Script(response)).register("acme.com")
    assert str(caught.value).startswith(f"registering Email Domain (acme.com): HTTP {response.status_code}: ")
    assert cause in str(caught.value)


def test_unreadable_list_is_an_unexpected_response(make_client: Any) -> None:
    with pytest.raises(UnexpectedResponseError, match="listing Email Domain"):
        make_client(Script(httpx.Response(200, json={"a": [], "b": []}))).list()


# -- transport errors ----------------------------------------------------------------------------


def test_connection_refused_is_a_transport_error_that_was_not_sent(make_client: Any) -> None:
    original = httpx.ConnectError("[Errno 111] Connection refused")
    with pytest.raises(TransportError) as caught:
        make_client(Script(original), retry_deadline=0).get("dom_1")
    error = caught.value
    assert error.request_sent is False
    assert error.__cause__ is original
    assert str(error).startswith("reading Email Domain (dom_1): could not connect to http://127.0.0.1:9")


@pytest.mark.parametrize(
    "original",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=["read-timeout", "disconnected"],
)
def test_lost_register_answer_is_not_retried_and_says_the_domain_may_exist(
    make_client: Any, original: Exception
) -> None:
    script = Script(original, httpx.Response(201, json=domain_json()))
    with pytest.raises(TransportError) as caught:
        make_client(script).register("acme.com")
    assert len(script.requests) == 1
    assert caught.value.request_sent is True
    assert caught.value.__cause__ is original
    assert "look it up before registering again" in str(caught.value)


# -- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, json=error_json(503, "internal_error", "down")),
        httpx.Response(429, json=error_json(429, "rate_limited", "slow down"), headers={"Retry-After": "1"}),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
    ],
    ids=["503", "429", "read-timeout", "connect"],
)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get("dom_1"),
        lambda c: c.list(),
        lambda c: c.refresh("dom_1"),
        lambda c: c.verify("dom_1"),
        lambda c: c.delete("dom_1"),
    ],
    ids=["get", "list", "refresh", "verify", "delete"],
)
def test_idempotent_calls_retry_until_success(
    make_client: Any, budget: RecordingBudget, failure: Any, call: Callable[[EmailDomainsClient], Any]
) -> None:
    def success(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=[domain_json()] if request.url.path.endswith("domains") else domain_json()
        )

    script = Script(failure, failure, success)
    call(make_client(script))
    assert len(script.requests) == 3
    assert len(budget.acquired) == 3  # every attempt takes a slot


def test_register_is_retried_after_429_because_nothing_was_committed(make_client: Any) -> None:
    script = Script(
        httpx.Response(429, json=error_json(429, "rate_limited", "slow down"), headers={"Retry-After": "2"}),
        httpx.Response(201, json=domain_json()),
    )
    assert make_client(script).register("acme.com").id == "dom_1"
    assert len(script.requests) == 2


def test_register_is_retried_when_the_connection_was_never_made(make_client: Any) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(201, json=domain_json()))
    assert make_client(script).register("acme.com").id == "dom_1"
    assert len(script.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_register_is_not_retried_after_5xx(make_client: Any, status: int) -> None:
    script = Script(httpx.Response(status, text="oops"), httpx.Response(201, json=domain_json()))
    with pytest.raises(ServerError) as caught:
        make_client(script).register("acme.com")
    assert len(script.requests) == 1
    assert caught.value.attempts == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_never_retried(make_client: Any, status: int) -> None:
    script = Script(
        httpx.Response(status, json=error_json(status, "x", "no")), httpx.Response(200, json=domain_json())
    )
    with pytest.raises(ApiError):
        make_client(script).get("dom_1")
    assert len(script.requests) == 1


def test_429_pauses_the_shared_budget_for_the_capped_retry_after(
    make_client: Any, budget: RecordingBudget
) -> None:
    script = Script(
        httpx.Response(429, text="slow", headers={"Retry-After": "120"}),
        httpx.Response(200, json=domain_json()),
    )
    make_client(script, retry_after_max=0.01).get("dom_1")
    assert budget.paused == [0.01]


def test_retry_after_longer_than_the_deadline_gives_up_at_once(make_client: Any) -> None:
    script = Script(httpx.Response(429, text="slow", headers={"Retry-After": "30"}))
    with pytest.raises(RateLimitedError) as caught:
        make_client(script, retry_after_max=30, retry_deadline=1).get("dom_1")
    assert len(script.requests) == 1
    assert caught.value.retry_after == 30
    assert "ANYREACH_MAX_REQUESTS_PER_SECOND" in str(caught.value)


def test_retry_after_as_an_http_date_is_understood(make_client: Any) -> None:
    in_a_minute = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    script = Script(httpx.Response(429, text="slow", headers={"Retry-After": in_a_minute}))
    with pytest.raises(RateLimitedError) as caught:
        make_client(script, retry_after_max=100, retry_deadline=1).get("dom_1")
    assert caught.value.retry_after is not None
    assert 50 < caught.value.retry_after <= 60


def test_retries_stop_at_the_deadline_and_report_the_attempts(make_client: Any) -> None:
    script = Script(httpx.Response(503, text="down"))
    with pytest.raises(ServerError) as caught:
        # A deadline long enough for a second attempt on any machine (backoffs are milliseconds).
        make_client(script, retry_deadline=1.0).get("dom_1")
    assert len(script.requests) >= 2
    assert caught.value.attempts == len(script.requests)
    assert f"Gave up after {len(script.requests)} attempts" in str(caught.value)


def test_zero_deadline_makes_exactly_one_attempt(make_client: Any) -> None:
    script = Script(httpx.Response(503, text="down"))
    with pytest.raises(ServerError):
        make_client(script, retry_deadline=0).get("dom_1")
    assert len(script.requests) == 1


def test_a_retry_without_a_budget_slot_before_the_deadline_reports_the_last_failure(make_client: Any) -> None:
    # The first slot is granted, none after it.
    budget = RecordingBudget(1e6, 1000, grant=lambda n: n == 1, pauses=False)
    script = Script(httpx.Response(503, text="down"), httpx.Response(200, json=domain_json()))
    with pytest.raises(ServerError) as caught:
        make_client(script, budget=budget).get("dom_1")
    assert len(script.requests) == 1
    assert budget.acquired[0] is None  # the first attempt always waits its turn
    assert budget.acquired[1] is not None  # a retry only waits until the deadline
    assert caught.value.attempts == 1


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8787",
        "http://127.3.2.1",
        "http://localhost:8787/",
        "http://[::1]:8787",
        "https://example.com",
    ],
)
def test_https_or_loopback_http_is_accepted(url: str) -> None:
    assert validate_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://api.anyreach.ai", "http://10.0.0.5:8787", "http://localhost.evil.com"]
)
def test_plain_http_to_another_host_is_refused_with_the_reason_and_the_fix(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        EmailDomainsClient(TOKEN, ORG, url)
    message = str(caught.value)
    assert "clear text" in message
    assert "https://" in message
    assert "loopback" in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("api.anyreach.ai", "must start with https://"),
        ("ftp://api.anyreach.ai", "must start with https://"),
        ("https://", "no valid host"),
        ("https://exa mple.com", "no valid host"),
        ("https://api.anyreach.ai/?x=1", "query or fragment"),
        ("", "must start with https://"),
    ],
)
def test_malformed_base_url_is_refused_clearly(url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        validate_base_url(url)


def test_base_url_with_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        validate_base_url("https://admin:hunter2@api.anyreach.ai")
    assert "hunter2" not in str(caught.value)
    assert "user name or password" in str(caught.value)


@pytest.mark.parametrize(
    ("token", "organization", "problem"),
    [
        ("", ORG, "no token given"),
        ("   ", ORG, "no token given"),
        ("tok with space", ORG, "printable ASCII"),
        ("tök_non_ascii", ORG, "printable ASCII"),
        (TOKEN, "", "no organization given"),
        (TOKEN, "org\nx", "printable ASCII"),
    ],
)
def test_missing_or_malformed_credentials_are_refused(token: str, organization: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        EmailDomainsClient(token, organization, BASE)
    if token.strip():
        assert token not in str(caught.value)


def test_repr_shows_organization_and_url_but_not_the_token(make_client: Any) -> None:
    client = make_client(Script(httpx.Response(200, json=[])))
    assert repr(client) == f"EmailDomainsClient(organization='{ORG}', base_url='{BASE}')"
    assert TOKEN not in repr(client) and TOKEN not in repr(vars(client))


def test_client_refuses_to_be_pickled(make_client: Any) -> None:
    client = make_client(Script(httpx.Response(200, json=[])))
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client)


def test_context_manager_closes_the_client(budget: RecordingBudget) -> None:
    transport = httpx.MockTransport(Script(httpx.Response(200, json=[])))
    with new_client(BASE, TOKEN, ORG, transport=transport, budget=budget) as client:
        assert client.list() == []
    with pytest.raises(RuntimeError):
        client.list()


# -- the token never leaks -----------------------------------------------------------------------


def _echo(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=error_json(status, "x", f"bad token {TOKEN} for you"), headers=headers)


# (name, answer, whether the token was in what the server or httpx said, so the message shows the redaction)
LEAK_CASES: list[tuple[str, Any, bool]] = [
    *[
        (f"http-{status}", _echo(status), True)
        for status in (400, 401, 403, 404, 409, 422, 500, 502, 503, 418)
    ],
    ("http-429", _echo(429, **{"Retry-After": "0"}), True),
    ("raw-text", httpx.Response(500, text=f"Authorization: Bearer {TOKEN}"), True),
    ("detail", httpx.Response(422, json={"detail": [{"loc": ["header"], "msg": TOKEN}]}), True),
    ("unexpected-body", httpx.Response(200, json={"id": 1, "domain": ["x"], "token": TOKEN}), False),
    ("connect", httpx.ConnectError(f"refused while sending Bearer {TOKEN}"), True),
    ("timeout", httpx.ReadTimeout(f"timed out ({TOKEN})"), False),
    ("protocol", httpx.RemoteProtocolError(f"bad header {TOKEN}"), True),
]
CALLS: list[tuple[str, Callable[[EmailDomainsClient], Any]]] = [
    ("register", lambda c: c.register("acme.com")),
    ("get", lambda c: c.get("dom_1")),
    ("list", lambda c: c.list()),
    ("delete", lambda c: c.delete("dom_1")),
]


@pytest.mark.parametrize(
    ("answer", "redacted", "call"),
    [
        pytest.param(answer, redacted, call, id=f"{call_name}-{name}")
        for name, answer, redacted in LEAK_CASES
        for call_name, call in CALLS
        # delete reads no body, so an unreadable one is no error there
        if not (name == "unexpected-body" and call_name == "delete")
    ],
)
def test_no_error_path_ever_shows_the_token(
    make_client: Any,
    caplog: pytest.LogCaptureFixture,
    answer: Any,
    redacted: bool,
    call: Callable[[EmailDomainsClient], Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AnyreachError) as caught:
        call(make_client(Script(answer), retry_deadline=0.02))
    error = caught.value
    for text in (str(error), repr(error), repr(vars(error)), caplog.text):
        assert TOKEN not in text
    assert TOKEN.encode() not in pickle.dumps(error)
    assert ("[redacted]" in str(error)) is redacted


def test_errors_survive_pickling_with_their_message_and_attributes(make_client: Any) -> None:
    script = Script(httpx.Response(403, json=error_json(403, "insufficient_scope", "Needs manage.")))
    with pytest.raises(PermissionDeniedError) as caught:
        make_client(script).verify("dom_1")
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own bytes
    assert type(copy) is PermissionDeniedError
    assert str(copy) == str(caught.value)
    assert (copy.status_code, copy.required_scope, copy.code) == (
        403,
        "email_domains:manage",
        "insufficient_scope",
    )
