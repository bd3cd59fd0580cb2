"""What the package adds to the SDK's provider host, unit by unit (the host itself:
test_provider_host_grpc.py)."""

from __future__ import annotations

import threading

import pytest

from provider.api.errors import (
    AnyreachError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    DomainVerificationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from provider.host import provider_host
from provider.host.provider_host import EngineWatchdog, render_error
from provider.resources.connection import retargeted
from provider.resources.credentials import Credentials, CredentialSource


def test_errors_of_ours_render_as_their_message_and_bugs_keep_their_traceback() -> None:
    error = ConflictError("registering", "acme.com", 409, "The domain acme.com is already registered.")
    assert render_error(error) == f"{error}\n"
    assert render_error(KeyError("bug")) is None
    shim = provider_host._TracebackForHost()
    try:
        raise error
    except ConflictError:
        assert shim.format_exc() == f"{error}\n"
    try:
        raise KeyError("bug")
    except KeyError:
        assert shim.format_exc().startswith("Traceback (most recent call last):")


def test_the_watchdog_acts_once_when_the_engine_is_gone() -> None:
    alive = threading.Event()
    alive.set()
    gone = threading.Event()
    calls: list[int] = []

    def on_gone() -> None:
        calls.append(1)
        gone.set()

    watchdog = EngineWatchdog(
        (123, "456"), is_alive=lambda engine: alive.is_set(), on_gone=on_gone, interval=0.01
    )
    watchdog.start()
    try:
        assert not gone.wait(0.1)  # still alive: nothing happens
        alive.clear()
        assert gone.wait(30)
        assert calls == [1]
    finally:
        watchdog.stop()


def test_nothing_is_installed_outside_the_provider_host() -> None:
    assert provider_host._host_module() is None
    provider_host.install()  # a no-op here: pytest is not the host
    assert not provider_host._installed


def _credentials() -> Credentials:
    # As in `pulumi refresh` without the program: both come from the copy stored with the stack.
    stored = CredentialSource.STORED_COPY
    return Credentials(
        token="tok_0123456789", organization="org_acme", token_source=stored, organization_source=stored
    )


EVERY_ERROR: list[tuple[str, AnyreachError, str]] = [
    (
        "409 foreign",
        ConflictError("registering", "acme.com", 409, "The domain acme.com is already registered."),
        "registering",
    ),
    ("401", AuthenticationError("refreshing", "dom_1", 401, "Invalid bearer token."), "refreshing"),
    (
        "403 scope",
        PermissionDeniedError(
            "deleting", "dom_1", 403, "Requires scope.", required_scope="email_domains:manage"
        ),
        "deleting",
    ),
    (
        "403 organization",
        PermissionDeniedError("reading", "dom_1", 403, "Wrong org.", code="organization_mismatch"),
        "reading",
    ),
    ("404", NotFoundError("verifying", "dom_1", 404, "Email domain dom_1 not found."), "verifying"),
    ("422", InvalidRequestError("registering", "acme.com", 422, "domain is invalid"), "registering"),
    (
        "429 exhausted",
        RateLimitedError("refreshing", "dom_1", 429, "Too many requests.", attempts=9),
        "refreshing",
    ),
    ("5xx exhausted", ServerError("refreshing", "dom_1", 503, "Unavailable.", attempts=9), "refreshing"),
    (
        "transport",
        TransportError("registering", "acme.com", "connection refused", request_sent=False),
        "registering",
    ),
    ("timeout", DomainVerificationError("acme.com", "dom_1", "not verified within 60 s; ..."), "waiting for"),
    (
        "unplanned record",
        DomainVerificationError("acme.com", "dom_1", "the platform asks for 1 DNS record(s) ..."),
        "waiting for",
    ),
    (
        "DNS check",
        DomainVerificationError("acme.com", "dom_1", "1 DNS record(s) are not served by ..."),
        "waiting for",
    ),
    (
        "missing credentials",
        ConfigurationError("registering Email Domain (acme.com): Anyreach credentials are missing"),
        "registering",
    ),
]


@pytest.mark.parametrize(("case", "error", "doing"), EVERY_ERROR, ids=[case for case, _, _ in EVERY_ERROR])
def test_every_error_of_ours_reaches_the_engine_as_its_message_alone_naming_the_domain(
    case: str, error: AnyreachError, doing: str
) -> None:
    shown = retargeted(error, "acme.com", _credentials())
    rendered = render_error(shown)
    assert rendered is not None and "Traceback" not in rendered
    assert rendered.startswith(f"{doing} Email Domain (acme.com)"), rendered
    if isinstance(shown, AuthenticationError | PermissionDeniedError):
        assert "the copy of the stack config stored with the stack" in rendered  # where the token came from
        assert "--run-program" in rendered  # and the command that fixes it
