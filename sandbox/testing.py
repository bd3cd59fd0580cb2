"""``SandboxServer``: the real sandbox server on a free loopback port, in a thread, for tests.

with SandboxServer() as sandbox:
    client = sandbox.client()                 # httpx.Client with the dev credential
    domain = client.post("/core/email-domains", json={"domain": "acme.com"}).json()
    sandbox.publish("acme.com")               # admin helpers wrap /_sandbox
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import httpx
import waitress
from flask import Flask
from waitress import wasyncore

from sandbox._app import create_app, sandbox_state
from sandbox._config import DEFAULT_ORGANIZATION, DEFAULT_TOKEN, SandboxConfig
from sandbox._state import SandboxState

__all__ = ["SandboxAdminError", "SandboxServer"]

LOOPBACK = "127.0.0.1"


class SandboxAdminError(RuntimeError):
    """An admin call of ``SandboxServer`` was refused; the message carries the sandbox's reason."""


class SandboxServer:
    """Serve ``create_app(config)`` with waitress on 127.0.0.1 and a free port, in a daemon thread.

    The ``host`` and ``port`` of the config are ignored: the server always binds 127.0.0.1:0.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        """The configuration the app was built with."""
        self.app: Flask = create_app(self.config)
        """The WSGI app (also usable in-process with ``httpx.WSGITransport``)."""
        self.token = DEFAULT_TOKEN
        """Bearer token of the default credential."""
        self.organization = DEFAULT_ORGANIZATION
        """Organization of the default credential."""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._admin: httpx.Client | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Bind and serve; returns self. Starting twice is an error."""
        if self._server is not None:
            raise RuntimeError("starting SandboxServer: already running")
        self._server = waitress.create_server(
            self.app, host=LOOPBACK, port=0, threads=self.config.threads, ident="anyreach-sandbox"
        )
        self._thread = threading.Thread(target=self._server.run, name="sandbox-server", daemon=True)
        self._thread.start()
        self._admin = httpx.Client(base_url=self.base_url, timeout=10.0)
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket, then join the server thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        # Close the sockets from inside the server's own loop thread (the trigger runs thunks
        # there); the loop ends once its socket map is empty.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("reading SandboxServer port: not started")
        return int(self._server.effective_port)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def state(self) -> SandboxState:
        """The in-memory state behind the app (for assertions that the API does not expose)."""
        return sandbox_state(self.app)

    # -- clients ------------------------------------------------------------------------------------

    def headers(self, token: str | None = None, organization: str | None = None) -> dict[str, str]:
        """Authorization and organization headers; the default credential unless told otherwise."""
        return {
            "Authorization": f"Bearer {token or self.token}",
            "X-Anyreach-Org": organization or self.organization,
        }

    def client(
        self, token: str | None = None, organization: str | None = None, **kwargs: Any
    ) -> httpx.Client:
        """An httpx client on the public API with credentials set; the caller closes it."""
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(base_url=self.base_url, headers=self.headers(token, organization), **kwargs)

    # -- admin helpers ------------------------------------------------------------------------------

    def publish(
        self, domain: str, type: str | None = None, name: str | None = None, value: str | None = None
    ) -> dict[str, Any]:
        """Publish all records of ``domain``, or those of a ``type`` and/or ``name``, in the sandbox DNS.

        ``value`` publishes that value instead of the expected one (a misconfigured record).
        """
        body = _without_none({"domain": domain, "type": type, "name": name, "value": value})
        return self._call("POST", "/_sandbox/dns/publish", body)

    def unpublish(self, domain: str, type: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Remove all records of ``domain``, or those of a ``type`` and/or ``name``, from the sandbox DNS."""
        return self._call(
            "POST", "/_sandbox/dns/unpublish", _without_none({"domain": domain, "type": type, "name": name})
        )

    def domains(self) -> list[dict[str, Any]]:
        """Every domain of every organization, with ``organization`` and each record's ``published``."""
        data = self._call("GET", "/_sandbox/domains")["data"]
        assert isinstance(data, list)
        return data

    def find_domain(self, domain: str) -> dict[str, Any] | None:
        """The admin view of one registered domain by name, or None."""
        return next((item for item in self.domains() if item["domain"] == domain), None)

    def stats(self) -> dict[str, Any]:
        """Counters of public requests: ``total``, ``by_route``, ``rate_limited``, ``dropped_responses``."""
        return self._call("GET", "/_sandbox/stats")

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._call("POST", "/_sandbox/stats/reset")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change faults: ``rate_limit_rps``, ``error_rate``, ``latency_ms``, ``drop_register_responses``."""
        return self._call("POST", "/_sandbox/faults", faults)

    def set_settings(self, **settings: Any) -> dict[str, Any]:
        """Change settings: ``propagation_delay``, ``verify_window``, ``auto_publish``."""
        return self._call("POST", "/_sandbox/settings", settings)

    def reset(self) -> None:
        """Forget every domain, DNS entry, counter and fault."""
        self._call("POST", "/_sandbox/reset")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._admin is None:
            raise RuntimeError(f"calling sandbox admin {method} {path}: server not started")
        response = self._admin.request(method, path, json=body if method == "POST" else None)
        if response.status_code >= 400:
            try:
                reason = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                reason = response.text
            raise SandboxAdminError(
                f"calling sandbox admin {method} {path} ({response.status_code}): {reason}"
            )
        result = response.json()
        assert isinstance(result, dict)
        return result


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
