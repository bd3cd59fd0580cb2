"""Test helpers: ``SandboxServer`` (the real server in a thread) and ``SandboxAdmin`` (any running one).

with SandboxServer() as sandbox, sandbox.client() as api:   # api: httpx.Client, dev credential
    domain = api.post("/core/email-domains", json={"domain": "acme.com"}).json()
    sandbox.publish("acme.com")                             # admin helpers wrap /_sandbox

admin = SandboxAdmin("http://127.0.0.1:8787")               # a `python -m sandbox` process
admin.set_settings(propagation_delay=0.5)

``SandboxServer(SandboxConfig(dns_port=0))`` also serves the sandbox DNS on 127.0.0.1 (``.dns_port``).

The Cloudflare DNS API stand-in answers at ``sandbox.cloudflare_base_url`` (``.../client/v4``, the value of
``CLOUDFLARE_BASE_URL`` for the plugin) with the token ``SandboxAdmin.cloudflare_token``::

    with sandbox.cloudflare_client() as cf:                 # httpx.Client, bearer dev token
        zone = sandbox.cloudflare_zone_id                   # example.com, always there
        cf.post(f"zones/{zone}/dns_records", json={"type": "TXT", "name": "_dmarc.a", "content": "..."})
    sandbox.cloudflare_records(zone)                        # admin view, with when DNS serves each
"""

from __future__ import annotations

import functools
import ssl
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
import waitress
from flask import Flask
from waitress import wasyncore

from sandbox._app import create_app, sandbox_state
from sandbox._cloudflare import (
    DEFAULT_CLOUDFLARE_TOKEN,
    DEFAULT_CLOUDFLARE_ZONE_ID,
    DEFAULT_CLOUDFLARE_ZONE_NAME,
)
from sandbox._cloudflare_api import CLOUDFLARE_PREFIX
from sandbox._config import DEFAULT_ORGANIZATION, DEFAULT_TOKEN, SandboxConfig
from sandbox._dns import DnsServer
from sandbox._state import SandboxState

__all__ = [
    "ManualClock",
    "RecordingSleep",
    "SandboxAdmin",
    "SandboxAdminError",
    "SandboxServer",
    "VerificationTimes",
]

LOOPBACK = "127.0.0.1"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~80 ms per httpx.Client; the sandbox speaks plain HTTP, so one
    # shared context (never used on the wire) keeps client creation cheap.
    return ssl.create_default_context()


class ManualClock:
    """A clock for ``SandboxConfig(clock=...)`` that only moves when told, so tests never sleep."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        """Current time in seconds since the epoch."""

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.now += seconds


class RecordingSleep:
    """A ``SandboxConfig(sleep=...)`` that records the requested delays and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        """Every delay requested, in seconds."""

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@dataclass(frozen=True)
class VerificationTimes:
    """Benchmark timestamps of a domain's current verification attempt (epoch seconds, sandbox clock)."""

    verified_at: float | None
    """The exact instant the attempt completed, whenever it was read; None while not verified."""
    first_reported_verified_at: float | None
    """When a public API answer (GET, list, verify, refresh) first said ``verified``; None until then."""


class SandboxAdminError(RuntimeError):
    """An admin call was refused; the message carries the sandbox's reason."""


class SandboxAdmin:
    """Admin helpers (``/_sandbox``) and client factory for a sandbox running at ``base_url``."""

    token = DEFAULT_TOKEN
    """Bearer token of the default credential."""
    organization = DEFAULT_ORGANIZATION
    """Organization of the default credential."""
    cloudflare_token = DEFAULT_CLOUDFLARE_TOKEN
    """The Cloudflare API token the stand-in always accepts (40 characters, as the plugin requires)."""
    cloudflare_zone_id = DEFAULT_CLOUDFLARE_ZONE_ID
    """Id of the Cloudflare dev zone that always exists."""
    cloudflare_zone_name = DEFAULT_CLOUDFLARE_ZONE_NAME
    """Name of the Cloudflare dev zone: ``example.com``."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._http: httpx.Client | None = None

    @property
    def base_url(self) -> str:
        """Where the sandbox listens, e.g. ``http://127.0.0.1:8787``."""
        return self._base_url

    @property
    def cloudflare_base_url(self) -> str:
        """Where the Cloudflare stand-in answers: ``CLOUDFLARE_BASE_URL`` for the plugin
        (``http://127.0.0.1:8787/client/v4``)."""
        return self.base_url + CLOUDFLARE_PREFIX

    def close(self) -> None:
        """Close the admin HTTP connection (the sandbox keeps running)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- clients of the public API ------------------------------------------------------------------

    def headers(self, token: str | None = None, organization: str | None = None) -> dict[str, str]:
        """Authorization and organization headers; the default credential unless told otherwise."""
        return {
            "Authorization": f"Bearer {token or self.token}",
            "X-Anyreach-Org": organization or self.organization,
        }

    def client(
        self,
        token: str | None = None,
        organization: str | None = None,
        *,
        anonymous: bool = False,
        **kwargs: Any,
    ) -> httpx.Client:
        """An httpx client on the sandbox; the caller closes it.

        It carries the default credential (or ``token``/``organization``) unless ``anonymous``;
        ``kwargs`` go to ``httpx.Client``.
        """
        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("verify", _tls_context())
        headers = {} if anonymous else self.headers(token, organization)
        return httpx.Client(base_url=self.base_url, headers=headers, **kwargs)

    def cloudflare_client(
        self, token: str | None = None, *, anonymous: bool = False, **kwargs: Any
    ) -> httpx.Client:
        """An httpx client on the Cloudflare stand-in (base URL ``cloudflare_base_url``, so paths read
        ``zones/{id}/dns_records``); the caller closes it. It sends ``Authorization: Bearer`` with the dev
        token (or ``token``) unless ``anonymous``; ``kwargs`` go to ``httpx.Client``."""
        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("verify", _tls_context())
        headers = {} if anonymous else {"Authorization": f"Bearer {token or self.cloudflare_token}"}
        return httpx.Client(base_url=self.cloudflare_base_url + "/", headers=headers, **kwargs)

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

    def verification_times(self, domain: str) -> VerificationTimes:
        """``verified_at`` and ``first_reported_verified_at`` of a registered domain, by name."""
        found = self.find_domain(domain)
        if found is None:
            raise SandboxAdminError(f"reading verification times of {domain}: not registered")
        return VerificationTimes(found["verified_at"], found["first_reported_verified_at"])

    def dns(self) -> dict[str, Any]:
        """Where the sandbox DNS listens: ``{"host", "port", "nameservers"}`` (port None when off)."""
        return self._call("GET", "/_sandbox/dns")

    def stats(self) -> dict[str, Any]:
        """Counters of public requests: ``total``, ``by_route``, ``rate_limited``, ``dropped_responses``."""
        return self._call("GET", "/_sandbox/stats")

    def route_count(self, route: str | None = None, status: str = "") -> int:
        """How many public requests were answered on ``route`` (a template as ``stats`` names it, e.g.
        ``"POST /core/email-domains/{id}/verify"``; None: every route) with a status that starts with
        ``status`` (``""``: any; ``"5"``: any 5xx; ``"429"``; ``"dropped"``)."""
        by_route: dict[str, dict[str, int]] = self.stats()["by_route"]
        routes = by_route.values() if route is None else [by_route.get(route, {})]
        return sum(n for counts in routes for answered, n in counts.items() if answered.startswith(status))

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._call("POST", "/_sandbox/stats/reset")

    def add_credential(self, token: str, organization: str, scopes: list[str]) -> None:
        """Accept another bearer token from now on (``reset`` forgets it)."""
        self._call(
            "POST", "/_sandbox/credentials", {"token": token, "organization": organization, "scopes": scopes}
        )

    def revoke_credential(self, token: str) -> None:
        """Refuse ``token`` from now on: requests with it get 401 (``reset`` restores start-up tokens)."""
        self._call("POST", "/_sandbox/credentials/revoke", {"token": token})

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change faults (``rate_limit_rps``, ``error_rate``, ``latency_ms``, ``drop_register_responses``,
        ``dns_truncate_udp``).

        Returns all faults; without arguments it only reads them.
        """
        return self._call("POST", "/_sandbox/faults", faults)

    def set_settings(self, **settings: Any) -> dict[str, Any]:
        """Change settings (``propagation_delay``, ``verify_window``, ``auto_publish``, ``check_delay``,
        ``negative_cache``).

        Returns all settings; without arguments it only reads them.
        """
        return self._call("POST", "/_sandbox/settings", settings)

    def cloudflare_zones(self) -> list[dict[str, Any]]:
        """Every zone of the Cloudflare stand-in: ``{"id", "name", "created_at", "records": [...]}``, each
        record as the API shows it plus ``zone_id``, ``zone_name``, ``published_at``, ``visible_from`` and
        ``visible`` (sandbox clock: when DNS serves it)."""
        data = self._call("GET", "/_sandbox/cloudflare/zones")["data"]
        assert isinstance(data, list)
        return data

    def add_cloudflare_zone(self, zone_id: str | None, name: str) -> dict[str, Any]:
        """Add a zone to the Cloudflare stand-in (``zone_id`` None: a new random id); returns it."""
        return self._call("POST", "/_sandbox/cloudflare/zones", _without_none({"id": zone_id, "name": name}))

    def cloudflare_records(self, zone_id: str | None = None) -> list[dict[str, Any]]:
        """Every record of the Cloudflare stand-in (of one zone), as ``cloudflare_zones`` shows them."""
        path = "/_sandbox/cloudflare/records" + (f"?zone_id={zone_id}" if zone_id is not None else "")
        data = self._call("GET", path)["data"]
        assert isinstance(data, list)
        return data

    def add_cloudflare_token(self, token: str) -> None:
        """Make the Cloudflare stand-in accept another API token (``reset`` forgets it)."""
        self._call("POST", "/_sandbox/cloudflare/tokens", {"token": token})

    def revoke_cloudflare_token(self, token: str) -> None:
        """Make the Cloudflare stand-in refuse ``token`` (403 9109); ``reset`` restores start-up tokens."""
        self._call("POST", "/_sandbox/cloudflare/tokens/revoke", {"token": token})

    def reset(self) -> None:
        """Forget every domain, DNS entry, counter and fault, and every Cloudflare record, zone and token
        added at run time (settings stay)."""
        self._call("POST", "/_sandbox/reset")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._http is None:
            self._http = httpx.Client(base_url=self.base_url, timeout=self._timeout, verify=_tls_context())
        response = self._http.request(method, path, json=body if method == "POST" else None)
        if response.status_code >= 400:
            try:
                reason = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                reason = response.text
            status = response.status_code
            raise SandboxAdminError(f"calling sandbox admin {method} {path} ({status}): {reason}")
        result = response.json()
        assert isinstance(result, dict)
        return result


class SandboxServer(SandboxAdmin):
    """Serve ``create_app(config)`` with waitress on 127.0.0.1 and a free port, in a daemon thread.

    The ``host`` and ``port`` of the config are ignored: the server always binds 127.0.0.1:0. With
    ``config.dns_port`` set (0 = a free port) a ``DnsServer`` serves the sandbox DNS on 127.0.0.1 too.
    Every ``SandboxAdmin`` helper works once it is started.
    """

    def __init__(self, config: SandboxConfig | None = None, *, timeout: float = 10.0) -> None:
        super().__init__("", timeout=timeout)
        self.config = config or SandboxConfig()
        """The configuration the app was built with."""
        self.app: Flask = create_app(self.config)
        """The WSGI app (also usable in-process with ``httpx.WSGITransport``)."""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._dns: DnsServer | None = None

    def start(self) -> Self:
        """Bind and serve; returns self. Starting twice is an error."""
        if self._server is not None:
            raise RuntimeError("starting SandboxServer: already running")
        self._server = waitress.create_server(
            self.app, host=LOOPBACK, port=0, threads=self.config.threads, ident="anyreach-sandbox"
        )
        self._base_url = f"http://{LOOPBACK}:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name="sandbox-server", daemon=True)
        self._thread.start()
        if self.config.dns_port is not None:
            state = self.state
            dns_server = DnsServer(state, LOOPBACK, self.config.dns_port, truncate_udp=state.dns_truncate_udp)
            try:
                dns_server.start()
            except OSError:
                self.stop()  # e.g. a fixed dns_port that is taken: leave no HTTP server behind
                raise
            self._dns = dns_server
            state.attach_dns(LOOPBACK, dns_server.port)
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket, then join the server thread."""
        self.close()
        if self._dns is not None:
            self.state.detach_dns()
            self._dns.stop()
            self._dns = None
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        # Close the sockets from inside the server's own loop thread (the trigger runs thunks
        # there); the loop ends once its socket map is empty.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
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
    def dns_port(self) -> int:
        """The port of the DNS server (UDP and TCP on 127.0.0.1); needs ``SandboxConfig(dns_port=0)``."""
        if self._dns is None:
            raise RuntimeError(
                "reading SandboxServer dns_port: no DNS server (set SandboxConfig(dns_port=0))"
            )
        return self._dns.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._server is None:
            raise RuntimeError("reading SandboxServer base_url: not started")
        return self._base_url

    @property
    def state(self) -> SandboxState:
        """The in-memory state behind the app (for assertions that the API does not expose)."""
        return sandbox_state(self.app)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
