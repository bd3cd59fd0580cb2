"""Typed, retrying HTTP client for the Anyreach Email Domains API.

One method per API call; each sends through :meth:`EmailDomainsClient._send`, which takes a slot from
the request budget for every attempt, retries what is safe to retry under one deadline, and turns any
failure into an error of :mod:`provider.api.errors`. Failures are mapped in one place each: HTTP error
statuses in ``_error_from_response``, network failures in ``_translating_transport_errors``.

Retry rules:

* GET, list, verify, refresh and DELETE retry on 429, 5xx and transport errors, with exponential
  backoff and full jitter (429 waits what ``Retry-After`` says, capped), until ``retry_deadline``.
* Register makes one attempt, because a lost answer may hide a committed registration (the caller
  adopts it through :meth:`EmailDomainsClient.find_by_domain`). Only two failures are retried: 429,
  which the server refuses before doing anything, and a connection that was never made.
"""

from __future__ import annotations

import builtins
import contextlib
import email.utils
import enum
import ipaddress
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, NoReturn, Self
from urllib.parse import quote

import httpx
import tenacity
from pydantic import ValidationError

from provider.api.budget import RATE_ENV_VAR, RequestBudget, shared_budget
from provider.api.errors import (
    TRANSIENT_ERRORS,
    ApiError,
    CancelledError,
    ConfigurationError,
    PermissionDeniedError,
    RateLimitedError,
    TransportError,
    UnexpectedResponseError,
    error_class_for_status,
)
from provider.api.models import Domain, parse_domain_list
from provider.api.read_cache import shared_read_cache
from provider.rules.domain_name import canonical_domain, normalize_domain

__all__ = [
    "CLIENT_VERSION",
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMINGS",
    "MANAGE_SCOPE",
    "READ_SCOPE",
    "ClientTimings",
    "EmailDomainsClient",
    "validate_base_url",
]

#: Version reported in the User-Agent header.
CLIENT_VERSION = "0.1.0"
#: The production API.
DEFAULT_BASE_URL = "https://api.anyreach.ai"
#: Scope(s) that allow list, read and refresh, as the API page names them.
READ_SCOPE = "email_domains:read or email_domains:manage"
#: Scope that allows register, verify and delete.
MANAGE_SCOPE = "email_domains:manage"

_COLLECTION = "/core/email-domains"
_MAX_SERVER_MESSAGE = 500
_HOST_PATTERN = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+")
# Visible ASCII: a token with whitespace or other characters would be a copy-paste accident, and
# httpx would quote the header value in its own error message.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")

_USER_AGENT = f"anyreach-email-domains-pulumi/{CLIENT_VERSION} python-httpx/{httpx.__version__}"

logger = logging.getLogger(__name__)


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(base_url: str) -> str:
    """Check that ``base_url`` is a usable API address and return it without a trailing slash.

    The scheme must be ``https``, or ``http`` for a loopback host only (the local sandbox): over plain
    http to any other host the token would travel in clear text.

    Raises:
        ConfigurationError: the URL is malformed, uses another scheme, carries credentials, a query
            or a fragment, or uses plain http to a host that is not loopback.
    """
    doing = "configuring Anyreach API base URL"
    example = f"e.g. {DEFAULT_BASE_URL}, or http://127.0.0.1:8787 for the local sandbox"
    text = (base_url or "").strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"{doing} ({text}): not a URL ({exc}); use {example}") from exc
    if url.userinfo:
        # Never echo the URL itself here: its user-info part may be a password.
        raise ConfigurationError(
            f"{doing} (<redacted>): the URL must not contain a user name or password; "
            f"pass the token as the API token instead and use {example}"
        )
    if url.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"{doing} ({text}): the URL must start with https:// (got scheme {url.scheme or 'none'!r}); "
            f"use {example}"
        )
    host = url.raw_host.decode("ascii", "replace")
    if not host or not _HOST_PATTERN.fullmatch(host):
        raise ConfigurationError(f"{doing} ({text}): the URL has no valid host name; use {example}")
    if url.query or url.fragment:
        raise ConfigurationError(
            f"{doing} ({text}): the URL must not have a query or fragment; use {example}"
        )
    if url.scheme == "http" and not _is_loopback(host):
        raise ConfigurationError(
            f"{doing} ({text}): refusing plain http to {host}: the API token would travel in clear "
            f"text. Use https://{host}{url.raw_path.decode('ascii').rstrip('/')} instead; plain http "
            "is accepted only for loopback addresses (127.0.0.1, ::1, localhost) such as the local sandbox"
        )
    return text.rstrip("/")


@dataclass(frozen=True)
class ClientTimings:
    """How long a client waits: for each attempt, for its retries, and between them."""

    timeout: float = 30.0
    """Seconds allowed for each attempt's connect, write and read."""
    retry_deadline: float = 60.0
    """Seconds within which every retry must start (a call thus takes at most this plus one attempt's
    ``timeout``); 0 makes exactly one attempt."""
    backoff_initial: float = 0.5
    """Base of the exponential backoff between retries, in seconds."""
    backoff_max: float = 8.0
    """Longest backoff between two retries, in seconds."""
    retry_after_max: float = 30.0
    """Longest wait honoured from a ``Retry-After`` header, in seconds."""


DEFAULT_TIMINGS = ClientTimings()
"""The timings of every client, for each argument its constructor is not given (read when a client is
made, so replacing this attribute changes the clients made afterwards)."""


class _RetryPolicy(enum.Enum):
    """Which failures a call may retry."""

    IDEMPOTENT = "idempotent"
    """Repeating the call does no harm: retry 429, 5xx and every transport error."""
    REGISTER = "register"
    """Repeating may register twice: retry only what the server certainly did not act on."""


@dataclass(frozen=True)
class _Call:
    """One API call: what it does (for messages), where it goes, and how it may be retried."""

    operation: str
    target: str
    method: str
    path: str
    scope: str
    retry: _RetryPolicy
    json: dict[str, Any] | None = None


class _OutOfTime(Exception):
    """Internal: the request budget has no slot before the retry deadline."""


class _Backoff(tenacity.wait.wait_base):
    """Exponential backoff with full jitter; after a 429 with Retry-After, exactly that (capped)."""

    def __init__(self, initial: float, maximum: float, retry_after_max: float) -> None:
        self._jitter = tenacity.wait_random_exponential(multiplier=initial, max=maximum)
        self._retry_after_max = retry_after_max

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            return min(error.retry_after, self._retry_after_max)
        return float(self._jitter(retry_state))


def _retry_after_seconds(value: str | None) -> float | None:
    """Read a Retry-After header: delay seconds or an HTTP date; ``None`` if absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _detail_text(detail: Any) -> str | None:
    """Flatten a ``detail`` field: a string, or a list of validation errors with ``msg``/``message``."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                text = item.get("msg") or item.get("message")
                loc = item.get("loc")
                if text and isinstance(loc, list):
                    text = f"{'.'.join(map(str, loc))}: {text}"
                if text:
                    parts.append(str(text))
            elif isinstance(item, str):
                parts.append(item)
        return "; ".join(parts) or None
    return None


class EmailDomainsClient:
    """Client for the Anyreach Email Domains API of one organization.

    Args:
        token: API token (Bearer); needs ``email_domains:read`` to read and ``email_domains:manage``
            to register, verify and delete. Never shown in a repr, a message or a log line.
        organization: organization id, sent as ``X-Anyreach-Org``.
        base_url: API address; ``https``, or ``http`` to a loopback host only.
        transport: httpx transport to use instead of the network (tests, in-process apps).
        timeout: seconds allowed for each attempt's connect, write and read.
        retry_deadline: seconds within which every retry must start (a call thus takes at most this
            plus one attempt's ``timeout``); 0 makes exactly one attempt.
        budget: request budget every attempt takes a slot from; default: the process-wide one.
        backoff_initial: base of the exponential backoff between retries, in seconds.
        backoff_max: longest backoff between two retries, in seconds.
        retry_after_max: longest wait honoured from a ``Retry-After`` header, in seconds.

        Each timing left out (None) is the one of :data:`DEFAULT_TIMINGS` (see :class:`ClientTimings`).

    Raises:
        ConfigurationError: the token or organization is missing or malformed, or the base URL is
            unusable (see :func:`validate_base_url`).
    """

    def __init__(
        self,
        token: str,
        organization: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | None = None,
        retry_deadline: float | None = None,
        budget: RequestBudget | None = None,
        backoff_initial: float | None = None,
        backoff_max: float | None = None,
        retry_after_max: float | None = None,
    ) -> None:
        defaults = DEFAULT_TIMINGS
        timeout = defaults.timeout if timeout is None else timeout
        retry_deadline = defaults.retry_deadline if retry_deadline is None else retry_deadline
        backoff_initial = defaults.backoff_initial if backoff_initial is None else backoff_initial
        backoff_max = defaults.backoff_max if backoff_max is None else backoff_max
        retry_after_max = defaults.retry_after_max if retry_after_max is None else retry_after_max
        token = (token or "").strip()
        organization = (organization or "").strip()
        if not token:
            raise ConfigurationError("configuring Anyreach API token: no token given; pass the API token")
        if not _HEADER_SAFE.fullmatch(token):
            raise ConfigurationError(
                "configuring Anyreach API token: the token contains spaces or characters outside "
                "printable ASCII, so it cannot be the API token; copy it again from Anyreach"
            )
        if not organization:
            raise ConfigurationError(
                "configuring Anyreach organization: no organization given; pass the organization id"
            )
        if not _HEADER_SAFE.fullmatch(organization):
            raise ConfigurationError(
                f"configuring Anyreach organization ({organization!r}): the organization id contains "
                "spaces or characters outside printable ASCII; pass the id shown in Anyreach"
            )
        if (
            timeout <= 0
            or retry_deadline < 0
            or backoff_initial < 0
            or backoff_max < 0
            or retry_after_max < 0
        ):
            raise ValueError("timeout must be positive and the retry settings must not be negative")
        self._organization = organization
        self._base_url = validate_base_url(base_url)
        self._retry_deadline = retry_deadline
        self._budget = budget if budget is not None else shared_budget()
        self._wait = _Backoff(backoff_initial, backoff_max, retry_after_max)
        self._retry_after_max = retry_after_max
        self._timeout = timeout
        self._stop: Callable[[], bool] | None = None
        # The token lives only in the httpx client's headers, whose repr masks it.
        self._http = httpx.Client(
            base_url=self._base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={
                "Authorization": f"Bearer {token}",
                "X-Anyreach-Org": organization,
                "User-Agent": _USER_AGENT,
                "Accept": "application/json",
            },
        )

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def organization(self) -> str:
        """The organization id this client acts for."""
        return self._organization

    @property
    def base_url(self) -> str:
        """The API address, without a trailing slash."""
        return self._base_url

    def __repr__(self) -> str:
        return f"EmailDomainsClient(organization={self._organization!r}, base_url={self._base_url!r})"

    def __reduce__(self) -> NoReturn:
        # A client holds the token and a connection pool: pickling it (e.g. onto a Pulumi dynamic
        # provider, whose instance goes into state) would leak the one and cannot carry the other.
        raise TypeError(
            "EmailDomainsClient cannot be pickled: it holds the API token; create it where it is used "
            "(e.g. inside the provider method) from resolve_credentials()"
        )

    def stopping_when(self, stop: Callable[[], bool]) -> EmailDomainsClient:
        """This client (same connections, budget and settings) for calls that must not be sent once
        ``stop()`` is true: such a call raises :class:`CancelledError` instead, even after it waited for its
        budget slot (a wait that was cancelled must not spend one more request). Closing either closes both.
        """
        view = EmailDomainsClient.__new__(EmailDomainsClient)
        view.__dict__.update(self.__dict__)
        view._stop = stop
        return view

    def close(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        """Remove the token from text that came from the server or the network library."""
        token = self._http.headers.get("Authorization", "").removeprefix("Bearer ")
        # A token of a few characters (only ever a test's) would mangle every word it occurs in.
        return text.replace(token, "[redacted]") if len(token) >= 4 else text

    # -- the API -------------------------------------------------------------------------------

    def register(self, domain: str, provider: str = "resend") -> Domain:
        """Register ``domain`` (the bare domain, e.g. ``acme.com``) for this organization.

        Makes a single attempt (plus retries after 429 or a connection that was never made): if the
        answer is lost, the domain may exist anyway; look it up with :meth:`find_by_domain`.

        Raises:
            ConflictError: another organization holds the domain.
            InvalidRequestError: the server rejected the name; its message says why.
            TransportError: no answer; ``request_sent`` says whether it may have been registered.
            ApiError: any other failure (see :mod:`provider.api.errors`).
        """
        call = _Call(
            "registering",
            domain,
            "POST",
            _COLLECTION,
            MANAGE_SCOPE,
            _RetryPolicy.REGISTER,
            json={"domain": domain, "provider": provider},
        )
        return self._domain_from(call, self._send(call))

    def get(self, domain_id: str) -> Domain:
        """Read one domain by id.

        Raises:
            NotFoundError: no such domain in this organization.
            ApiError, TransportError: any other failure.
        """
        call = self._call_on("reading", domain_id, "GET", "", READ_SCOPE)
        return self._domain_from(call, self._send(call))

    def list(self) -> builtins.list[Domain]:
        """List every domain of the organization.

        Raises:
            ApiError, TransportError: the call failed.
        """
        return self._list(operation="listing", target=f"all of organization {self._organization}")

    def find_by_domain(self, domain: str) -> Domain | None:
        """Return this organization's domain named ``domain``, or ``None``.

        Both names are compared in the canonical form of :func:`provider.rules.domain_name.canonical_domain`
        (lower case, Unicode labels as punycode), so ``Acme.COM`` finds ``acme.com``.

        Raises:
            InvalidDomainError: ``domain`` is not a valid domain name (a ``ValueError``).
            ApiError, TransportError: listing failed.
        """
        wanted = normalize_domain(domain)
        for candidate in self._list(operation="finding", target=domain):
            if canonical_domain(candidate.domain) == wanted:
                return candidate
        return None

    def verify(self, domain_id: str) -> Domain:
        """Re-initiate the provider's DNS verification, then return the re-read domain.

        Verification marks the domain pending again: do not call it on a verified domain; refresh.

        Raises:
            NotFoundError: no such domain in this organization.
            ApiError, TransportError: any other failure.
        """
        call = self._call_on("verifying", domain_id, "POST", "/verify", MANAGE_SCOPE)
        try:
            return self._domain_from(call, self._send(call))
        finally:
            self._forget_read(domain_id)

    def refresh(self, domain_id: str) -> Domain:
        """Passively re-read the domain's status and records without re-triggering verification.

        Raises:
            NotFoundError: no such domain in this organization.
            ApiError, TransportError: any other failure.
        """
        call = self._call_on("refreshing", domain_id, "POST", "/refresh", READ_SCOPE)
        return self._domain_from(call, self._send(call))

    def delete(self, domain_id: str) -> None:
        """Delete the domain (permanently).

        A retried delete whose first answer was lost reports :class:`NotFoundError`: callers that
        delete treat "not found" as "already gone".

        Raises:
            NotFoundError: no such domain in this organization.
            ApiError, TransportError: any other failure.
        """
        try:
            self._send(self._call_on("deleting", domain_id, "DELETE", "", MANAGE_SCOPE))
        finally:
            self._forget_read(domain_id)

    # -- helpers -------------------------------------------------------------------------------

    def _forget_read(self, domain_id: str) -> None:
        """A write to the domain (even one whose answer was lost): a read shared before it is stale."""
        shared_read_cache().forget((self._base_url, self._organization, str(domain_id)))

    def _call_on(self, operation: str, domain_id: str, method: str, suffix: str, scope: str) -> _Call:
        """Describe an idempotent call on one domain, quoting the id into the path."""
        if not domain_id or not str(domain_id).strip():
            raise ValueError(f"{operation} Email Domain: a domain id is required")
        path = f"{_COLLECTION}/{quote(str(domain_id), safe='')}{suffix}"
        return _Call(operation, str(domain_id), method, path, scope, _RetryPolicy.IDEMPOTENT)

    def _list(self, *, operation: str, target: str) -> builtins.list[Domain]:
        call = _Call(operation, target, "GET", _COLLECTION, READ_SCOPE, _RetryPolicy.IDEMPOTENT)
        response = self._send(call)
        try:
            return parse_domain_list(response.json())
        except ValueError as exc:
            raise self._unexpected(call, response, exc) from exc

    def _domain_from(self, call: _Call, response: httpx.Response) -> Domain:
        """Read a domain object from a success response."""
        try:
            return Domain.model_validate(response.json())
        except ValueError as exc:
            raise self._unexpected(call, response, exc) from exc

    def _unexpected(self, call: _Call, response: httpx.Response, exc: ValueError) -> UnexpectedResponseError:
        """Describe a success response whose body this client cannot read."""
        if isinstance(exc, ValidationError):
            details = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}" for err in exc.errors()[:3]
            )
            cause = f"the response is not the documented object ({details})"
        elif isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
            cause = "the response is not JSON"
        else:
            cause = f"the response is not the documented object ({exc})"
        return UnexpectedResponseError(
            call.operation,
            call.target,
            response.status_code,
            self._redact(cause),
            hint=f"Check that the base URL ({self._base_url}) points at the Anyreach API",
        )

    def _should_retry(self, call: _Call, error: BaseException) -> bool:
        """Whether ``error`` may be retried under the call's policy: a transient failure; for a register,
        only one the server certainly did not act on."""
        if not isinstance(error, TRANSIENT_ERRORS):
            return False
        if call.retry is _RetryPolicy.IDEMPOTENT:
            return True
        # A 429 is refused before processing, and a connection never made sent nothing.
        return isinstance(error, RateLimitedError) or (
            isinstance(error, TransportError) and not error.request_sent
        )

    def _send(self, call: _Call) -> httpx.Response:
        """Send ``call``, retrying per its policy until the deadline; every attempt takes a budget slot.

        Returns the 2xx response; raises the last attempt's error, with ``attempts`` set.
        """
        deadline = time.monotonic() + self._retry_deadline
        attempts = 0
        last_error: ApiError | TransportError | None = None

        def log_retry(state: tenacity.RetryCallState) -> None:
            logger.info(
                "%s %s: attempt %d failed (%s), retrying in %.2f s",
                call.method,
                call.path,
                state.attempt_number,
                last_error.__class__.__name__,
                state.upcoming_sleep,
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda exc: self._should_retry(call, exc)),
            stop=tenacity.stop_before_delay(self._retry_deadline),
            wait=self._wait,
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    # The first attempt always waits its turn; a retry gives up rather than
                    # wait for a slot past the deadline.
                    if not self._budget.acquire(deadline=deadline if attempts else None):
                        raise _OutOfTime
                    if self._stop is not None and self._stop():
                        raise CancelledError(call.operation, call.target, "before the request was sent")
                    attempts += 1
                    try:
                        return self._attempt(call)
                    except (ApiError, TransportError) as error:
                        last_error = error
                        raise
        except _OutOfTime:
            pass
        except (ApiError, TransportError):
            pass
        assert last_error is not None
        last_error.attempts = attempts
        raise last_error

    def _attempt(self, call: _Call) -> httpx.Response:
        """Send one attempt; return a 2xx response or raise the mapped error."""
        with self._translating_transport_errors(call):
            response = self._http.request(call.method, call.path, json=call.json)
        if response.is_success:
            return response
        raise self._error_from_response(call, response)

    @contextlib.contextmanager
    def _translating_transport_errors(self, call: _Call) -> Iterator[None]:
        """The one place where httpx's exceptions become :class:`TransportError` (raised from them)."""
        try:
            yield
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.UnsupportedProtocol,
        ) as exc:
            cause = f"could not connect to {self._base_url} ({type(exc).__name__}: {exc})"
            hint = f"Check that the base URL ({self._base_url}) is right and the API is reachable"
            raise TransportError(
                call.operation, call.target, self._redact(cause), request_sent=False, hint=hint
            ) from exc
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.TimeoutException):
                cause = f"no answer from {self._base_url} within {self._timeout:g} s ({type(exc).__name__})"
            else:
                cause = (
                    f"the connection to {self._base_url} broke before an answer arrived "
                    f"({type(exc).__name__}: {exc})"
                )
            if call.retry is _RetryPolicy.REGISTER:
                hint = (
                    "The request may have reached the server and registered the domain: look it up "
                    "before registering again"
                )
            else:
                hint = "The request may have reached the server; check the network and try again"
            raise TransportError(
                call.operation, call.target, self._redact(cause), request_sent=True, hint=hint
            ) from exc

    def _error_from_response(self, call: _Call, response: httpx.Response) -> ApiError:
        """The one place where an HTTP error status becomes an :class:`ApiError` subclass."""
        status = response.status_code
        message, code = self._server_explanation(response)
        cls = error_class_for_status(status)
        hint: str | None
        if status == 401:
            hint = "The API token is invalid, expired, revoked or missing: use a valid token"
        elif status == 403:
            denied = PermissionDeniedError(
                call.operation, call.target, status, message, required_scope=call.scope, code=code
            )
            if denied.wrong_organization:
                hint = (
                    f"The token does not belong to organization {self._organization}: "
                    "use the organization the token was made for"
                )
            else:
                hint = f"{denied.scope_needed}: use a token that has it"
            return denied.retargeted(hint=hint)
        elif status == 404:
            hint = (
                f"No such Email Domain in organization {self._organization}: it was deleted, "
                "never created, or belongs to another organization"
            )
        elif status == 409:
            hint = (
                "Domains are unique across all organizations: if it is not registered to organization "
                f"{self._organization}, another organization holds it; release it there or choose "
                "another domain"
            )
        elif status in (400, 422):
            hint = (
                "Send the bare domain in lower case, e.g. acme.com (no @, no scheme, no path)"
                if call.retry is _RetryPolicy.REGISTER
                else None
            )
        elif status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                # Everyone in the process backs off, not only this caller.
                self._budget.pause(min(retry_after, self._retry_after_max))
            hint = (
                f"The API's rate limit held for {self._retry_deadline:g} s of retries; lower "
                f"{RATE_ENV_VAR} (now {self._budget.rate_per_second:g} requests/s) or try again later"
            )
            return RateLimitedError(
                call.operation, call.target, status, message, retry_after=retry_after, code=code, hint=hint
            )
        elif status >= 500:
            hint = (
                "The API failed; the domain may or may not have been registered: look it up before "
                "registering again"
                if call.retry is _RetryPolicy.REGISTER
                else "The API failed; try again later"
            )
        else:
            hint = f"Unexpected status; check that the base URL ({self._base_url}) points at the Anyreach API"
        return cls(call.operation, call.target, status, message, code=code, hint=hint)

    def _server_explanation(self, response: httpx.Response) -> tuple[str, str | None]:
        """Read the server's message and code from an error body, token redacted.

        Looks at ``error.message``, else ``message``, else ``detail``, else the raw text, else the
        reason phrase.
        """
        message: Any = None
        code: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                message, code = error.get("message"), error.get("code")
            elif isinstance(error, str):
                message = error
            if not message:
                message = body.get("message")
            if not message:
                message = _detail_text(body.get("detail"))
            if code is None:
                code = body.get("code")
        if not message:
            message = response.text
        text = " ".join(str(message).split())[:_MAX_SERVER_MESSAGE] or response.reason_phrase or "no message"
        return self._redact(text), (str(code) if code is not None else None)
