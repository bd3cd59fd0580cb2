"""Errors the sandbox answers with, in the wire format of docs/design.md section 1.

ApiError            an HTTP error answer: status, code, message (and extra headers)
ResponseDropped     raised while sending a response on purpose, so the client sees a broken connection
"""

from __future__ import annotations

import httpx

__all__ = ["ApiError", "ResponseDropped"]


class ApiError(Exception):
    """An error answer: ``{"error": {"status": ..., "code": ..., "message": ...}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """The JSON body of the answer."""
        return {"error": {"status": self.status, "code": self.code, "message": self.message}}


class ResponseDropped(httpx.RemoteProtocolError):
    """Raised from a response body after the first byte: the server then closes the connection.

    It subclasses httpx's transport error so that an in-process client (``httpx.WSGITransport``) sees
    the same exception family as a client talking to the real server, where httpx reports the cut
    connection as ``RemoteProtocolError``.
    """

    def __init__(self) -> None:
        super().__init__("the sandbox dropped this response on purpose (drop_register_responses)")
