"""Errors of the Anyreach Email Domains client and resources: one tree, one message template.

The tree, one line per class::

    AnyreachError                  base of everything this package raises on purpose
    ├── ConfigurationError         credentials or base URL missing or unusable; nothing was sent
    ├── ApiError                   the API answered with an error status (or an unreadable body)
    │   ├── AuthenticationError    401: the token is invalid, expired or missing
    │   ├── PermissionDeniedError  403: the token lacks the scope, or belongs to another organization
    │   ├── NotFoundError          404: no such domain in this organization
    │   ├── ConflictError          409: the domain is already registered (domains are unique platform-wide)
    │   ├── InvalidRequestError    400/422: the server rejected the input; its validation message is kept
    │   ├── RateLimitedError       429: too many requests, even after honouring Retry-After
    │   ├── ServerError            5xx: the API failed
    │   └── UnexpectedResponseError  2xx whose body is not what the API page describes
    ├── TransportError             no HTTP answer: connection refused, timeout, broken connection
    ├── DomainVerificationError    a domain did not verify (raised by the resources, never by the client)
    └── CancelledError             the engine asked the providers to stop (Ctrl-C, SIGTERM): not done

Every message follows one template::

    <doing> Email Domain (<domain>): HTTP <status>: <server message>[. <what to do>]

e.g. ``registering Email Domain (acme.com): HTTP 409: The domain acme.com is already registered. ...``.
A :class:`TransportError` has no status, so its cause stands in the place of ``HTTP <status>: ...``.
The client names the domain it was given (a name or an id) and says what to do in API terms; the
resources re-target its errors to the domain's name and replace the hint with what to do in Pulumi
terms (:func:`ApiError.retargeted`), so the first line a user reads names the domain and the fix.

Messages are rendered from attributes on every ``str()`` and never contain the API token: the client
redacts it from anything the server or the network library says before it reaches an error.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Self

__all__ = [
    "ENTITY",
    "INSUFFICIENT_SCOPE",
    "ORGANIZATION_MISMATCH",
    "TRANSIENT_ERRORS",
    "AnyreachError",
    "ApiError",
    "AuthenticationError",
    "CancelledError",
    "ConfigurationError",
    "ConflictError",
    "DomainVerificationError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnexpectedResponseError",
    "error_class_for_status",
]

ENTITY = "Email Domain"
"""The noun every message uses, so the template reads the same everywhere."""

ORGANIZATION_MISMATCH = "organization_mismatch"
"""The API's error code of a 403 for a token that belongs to another organization."""

INSUFFICIENT_SCOPE = "insufficient_scope"
"""The API's error code of a 403 for a token that lacks the scope the operation needs."""


def _join(*parts: str | None) -> str:
    """Join sentences, adding a full stop only where the previous part lacks final punctuation."""
    text = ""
    for part in parts:
        if not part:
            continue
        part = part.strip()
        if not text:
            text = part
        elif text.endswith((".", "!", "?")):
            text = f"{text} {part}"
        else:
            text = f"{text}. {part}"
    return text


def _rebuild(cls: type[AnyreachError], state: dict[str, Any]) -> AnyreachError:
    """Recreate an error from its attribute dict (used by pickling, which ``__init__`` keywords break)."""
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


class AnyreachError(Exception):
    """Base class of every error this package raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default reduce calls cls(*args), which does not match our keyword constructors.
        return (_rebuild, (type(self), dict(self.__dict__)))


class ConfigurationError(AnyreachError):
    """The client cannot be configured: a credential is missing or the base URL is unusable.

    Raised before any request is sent. The message says what is wrong and how to fix it.
    """


class _TargetedError(AnyreachError):
    """An error about one domain (``target``) with a ``hint`` of what to do."""

    target: str
    hint: str | None

    def retargeted(self, target: str | None = None, hint: str | None = None) -> Self:
        """A copy that names ``target`` (a domain name rather than its id) and, if given, says ``hint``
        instead of the client's own advice; every other attribute is kept."""
        clone = copy.copy(self)
        if target:
            clone.target = target
        if hint:
            clone.hint = hint
        Exception.__init__(clone, str(clone))
        return clone


class ApiError(_TargetedError):
    """The API answered with an error status.

    Attributes:
        operation: what the client was doing, as a gerund (``"registering"``, ``"reading"``...).
        target: the domain name or domain id the call was about.
        status_code: the HTTP status of the last attempt.
        server_message: the server's own explanation (token redacted), or the reason phrase.
        code: the server's machine-readable error code (``"conflict"``...), if it sent one.
        hint: what the caller can do about it, appended to the message.
        attempts: how many attempts were made before giving up (retries included).
    """

    operation: str
    target: str
    status_code: int
    server_message: str
    code: str | None
    hint: str | None
    attempts: int

    def __init__(
        self,
        operation: str,
        target: str,
        status_code: int,
        server_message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.operation = operation
        self.target = target
        self.status_code = status_code
        self.server_message = server_message
        self.code = code
        self.hint = hint
        self.attempts = attempts
        super().__init__(str(self))

    def __str__(self) -> str:
        tried = f"Gave up after {self.attempts} attempts" if self.attempts > 1 else None
        cause = _join(self.server_message or "(no message)", tried, self.hint)
        return f"{self.operation} {ENTITY} ({self.target}): HTTP {self.status_code}: {cause}"


class AuthenticationError(ApiError):
    """401: the token is invalid, expired or missing. The message says how to set it."""


class PermissionDeniedError(ApiError):
    """403: the token lacks the scope the operation needs, or belongs to another organization.

    Attributes:
        required_scope: the scope(s) the operation needs, as the API page names them.
    """

    required_scope: str

    def __init__(
        self,
        operation: str,
        target: str,
        status_code: int,
        server_message: str,
        *,
        required_scope: str = "",
        code: str | None = None,
        hint: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.required_scope = required_scope
        super().__init__(
            operation, target, status_code, server_message, code=code, hint=hint, attempts=attempts
        )

    @property
    def wrong_organization(self) -> bool:
        """Whether the token belongs to another organization, rather than lacking the scope.

        The server's error code decides. Only for a server that sends neither documented code is its
        message read: it means the organization when it mentions the organization and not the scope
        (``The token lacks the scope ... for organization org_1`` is about the scope).
        """
        if self.code == ORGANIZATION_MISMATCH:
            return True
        if self.code == INSUFFICIENT_SCOPE:
            return False
        message = self.server_message.lower()
        return "organization" in message and "scope" not in message

    @property
    def scope_needed(self) -> str:
        """``Registering an Email Domain needs a token with the scope email_domains:manage``: the advice
        about a missing scope, which the client's hint and the resources' hint both begin with."""
        return f"{self.operation.capitalize()} an {ENTITY} needs a token with the scope {self.required_scope}"


class NotFoundError(ApiError):
    """404: no such domain in this organization (deleted, never created, or another organization's)."""


class ConflictError(ApiError):
    """409: the domain is already registered; domains are unique across all organizations."""


class InvalidRequestError(ApiError):
    """400/422: the server rejected the request; ``server_message`` holds its validation message."""


class RateLimitedError(ApiError):
    """429: the API refused the request for rate; it was not processed.

    Attributes:
        retry_after: seconds the server asked to wait (``Retry-After``), if it said.
    """

    retry_after: float | None

    def __init__(
        self,
        operation: str,
        target: str,
        status_code: int,
        server_message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        hint: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            operation, target, status_code, server_message, code=code, hint=hint, attempts=attempts
        )


class ServerError(ApiError):
    """5xx: the API failed. For a register the domain may or may not exist now."""


class UnexpectedResponseError(ApiError):
    """A success status whose body is not JSON or not the shape the API page describes."""


class TransportError(_TargetedError):
    """No HTTP answer arrived: connection refused, DNS failure, timeout or a broken connection.

    Attributes:
        operation: what the client was doing, as a gerund.
        target: the domain name or domain id the call was about.
        cause: what went wrong, in words (token redacted).
        request_sent: ``True`` when the request may have reached the server, which may then have
            acted on it (e.g. registered the domain) although no answer came back; ``False`` when the
            connection was never made, so the server certainly did nothing.
        hint: what the caller can do about it.
        attempts: how many attempts were made before giving up.
    """

    operation: str
    target: str
    cause: str
    request_sent: bool
    hint: str | None
    attempts: int

    def __init__(
        self,
        operation: str,
        target: str,
        cause: str,
        *,
        request_sent: bool,
        hint: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.operation = operation
        self.target = target
        self.cause = cause
        self.request_sent = request_sent
        self.hint = hint
        self.attempts = attempts
        super().__init__(str(self))

    def __str__(self) -> str:
        tried = f"Gave up after {self.attempts} attempts" if self.attempts > 1 else None
        return f"{self.operation} {ENTITY} ({self.target}): {_join(self.cause, tried, self.hint)}"


class DomainVerificationError(AnyreachError):
    """An Email Domain did not verify: timed out, failed every attempt, or cannot verify as planned.

    The message follows ``waiting for Email Domain (<domain>) verification: <cause>`` and lists each
    record that is not verified, with the command to check it and what to do.

    Attributes:
        domain: the domain name.
        domain_id: the platform's id of the domain.
        cause: what went wrong, with the records and what to do.
        records: the records the message is about (not verified yet, or not planned), as the API gave them.
    """

    def __init__(self, domain: str, domain_id: str, cause: str, records: Sequence[Any] = ()) -> None:
        self.domain = domain
        self.domain_id = domain_id
        self.cause = cause
        self.records = list(records)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"waiting for {ENTITY} ({self.domain}) verification: {self.cause}"


class CancelledError(AnyreachError):
    """The engine asked the providers to stop (its ``Cancel``: Ctrl-C, SIGTERM, a cancelled CI job), so an
    operation ended, or never started, before it was done.

    The message follows ``<doing> Email Domain (<domain>): cancelled <progress>. <what to do>``, e.g.
    ``waiting for Email Domain (acme.com) verification: cancelled while waiting for DNS ...``.

    Attributes:
        doing: what was being done, as a gerund phrase (``"registering"``, ``"waiting for"``).
        domain: the domain name (or id) it was about.
        progress: how far it got, in words.
        subject: what follows the domain in the message's first words (`` verification``), if anything.
    """

    RESUME = "Run `pulumi up` again to resume"
    """What to do, said by every cancellation message."""

    def __init__(self, doing: str, domain: str, progress: str, *, subject: str = "") -> None:
        self.doing = doing
        self.domain = domain
        self.progress = progress
        self.subject = subject
        super().__init__(str(self))

    def __str__(self) -> str:
        what = f"{self.doing} {ENTITY} ({self.domain}){self.subject}"
        return f"{what}: cancelled {_join(self.progress, self.RESUME)}"


TRANSIENT_ERRORS: tuple[type[AnyreachError], ...] = (
    TransportError,
    ServerError,
    RateLimitedError,
    UnexpectedResponseError,
)
"""Failures of the network or of the API itself, which say nothing about the request or the domain: the same
call may succeed later. The client retries those whose call is safe to repeat; a poll that hits one tries
again at its next turn."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidRequestError,
    429: RateLimitedError,
}


def error_class_for_status(status_code: int) -> type[ApiError]:
    """Return the :class:`ApiError` subclass for an HTTP error status (``ApiError`` for unlisted ones)."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, ApiError)
