"""The Flask (WSGI) application: the public Email Domains API, the Cloudflare DNS API stand-in
(``sandbox._cloudflare_api``, under ``/client/v4``) and the ``/_sandbox`` admin API."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox._cloudflare_api import cloudflare_http_error, is_cloudflare_request, register_cloudflare_routes
from sandbox._config import SCOPE_MANAGE, SCOPE_READ, Credential, SandboxConfig
from sandbox._errors import ApiError, ResponseDropped
from sandbox._state import DROPPED, SandboxState

__all__ = ["create_app", "sandbox_state"]

logger = logging.getLogger("sandbox")

BASE = "/core/email-domains"
ADMIN = "/_sandbox"
READ_SCOPES = (SCOPE_READ, SCOPE_MANAGE)
MANAGE_SCOPES = (SCOPE_MANAGE,)
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


def create_app(config: SandboxConfig) -> Flask:
    """Build the sandbox WSGI app; its state lives in ``app.extensions["sandbox"]``."""
    state = SandboxState(config)
    app = Flask("sandbox")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented field order
    app.extensions["sandbox"] = state
    _quiet_dropped_responses()
    _register_hooks(app, state, config)
    _register_public_routes(app, state)
    _register_admin_routes(app, state)
    register_cloudflare_routes(app, state)
    return app


def sandbox_state(app: Flask) -> SandboxState:
    """The state object behind an app made by ``create_app``."""
    state = app.extensions["sandbox"]
    assert isinstance(state, SandboxState)
    return state


# -- hooks: faults, counters, errors -----------------------------------------------------------------


def _is_admin_request() -> bool:
    return request.path == ADMIN or request.path.startswith(ADMIN + "/")


_RULE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _route_key() -> str:
    """``METHOD /path/{variable}``: ``<domain_id>`` and ``<record_id>`` read ``{id}``."""
    if request.url_rule is None:
        return f"{request.method} (unmatched)"

    def template(match: re.Match[str]) -> str:
        name = match.group(1)
        return "{id}" if name in ("domain_id", "record_id") else "{" + name + "}"

    return f"{request.method} {_RULE_VARIABLE.sub(template, request.url_rule.rule)}"


def _register_hooks(app: Flask, state: SandboxState, config: SandboxConfig) -> None:
    @app.before_request
    def apply_faults() -> None:
        if _is_admin_request():
            if not _is_loopback(request.remote_addr):
                raise ApiError(403, "forbidden", "The sandbox admin API answers loopback clients only.")
            return
        if is_cloudflare_request():
            return  # the faults model the Email Domains API, not Cloudflare
        latency = state.latency_seconds()
        if latency:
            config.sleep(latency)
        admission = state.admit()
        if admission.rate is not None:
            g.ratelimit_headers = admission.rate.headers
            if not admission.rate.allowed:
                retry_after = admission.rate.headers["retry-after"]
                raise ApiError(
                    429,
                    "rate_limited",
                    f"Too many requests: retry after {retry_after} second(s).",
                    headers=admission.rate.headers,
                )
        if admission.error_status is not None:
            raise ApiError(
                admission.error_status,
                "internal_error",
                "The server failed to handle the request (fault injected by the sandbox); retry it.",
            )

    @app.after_request
    def count_request(response: Response) -> Response:
        if not _is_admin_request():
            state.count(_route_key(), g.get("count_status", response.status_code))
            for name, value in g.get("ratelimit_headers", {}).items():
                response.headers.setdefault(name, value)
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int, dict[str, str]]:
        return jsonify(error.body()), error.status, error.headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        if is_cloudflare_request():
            return cloudflare_http_error(status)
        code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
        message = error.description or error.name
        return jsonify({"error": {"status": status, "code": code, "message": message}}), status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Response, int]:
        logger.exception("unexpected error while serving %s %s", request.method, request.path)
        if is_cloudflare_request():
            return cloudflare_http_error(500)
        body = {
            "error": {
                "status": 500,
                "code": "internal_error",
                "message": f"Unexpected sandbox error ({type(error).__name__}).",
            }
        }
        return jsonify(body), 500


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class _DropFilter(logging.Filter):
    """Keeps waitress from logging a traceback for every response dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ResponseDropped))


def _quiet_dropped_responses() -> None:
    waitress_logger = logging.getLogger("waitress")
    if not any(isinstance(existing, _DropFilter) for existing in waitress_logger.filters):
        waitress_logger.addFilter(_DropFilter())


# -- public API --------------------------------------------------------------------------------------


def _authorize(state: SandboxState, accepted_scopes: tuple[str, ...]) -> str:
    """Check the bearer token, the organization header and the scope; return the organization."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    credential = state.credential(token.strip()) if scheme.lower() == "bearer" else None
    if credential is None:
        # Never echo the token: the message only says what to send.
        raise ApiError(
            401,
            "unauthorized",
            "Missing or invalid bearer token: send Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": 'Bearer realm="anyreach"'},
        )
    organization = request.headers.get("X-Anyreach-Org", "").strip()
    if not organization:
        raise ApiError(
            400,
            "bad_request",
            "Missing header X-Anyreach-Org: send the id of the organization the token belongs to.",
        )
    if organization != credential.organization:
        raise ApiError(
            403,
            "organization_mismatch",
            "The token does not belong to the organization named in X-Anyreach-Org.",
        )
    if not credential.scopes.intersection(accepted_scopes):
        raise ApiError(
            403,
            "insufficient_scope",
            f"This operation requires the scope {' or '.join(accepted_scopes)}.",
        )
    return organization


def _json_object() -> dict[str, Any]:
    payload = request.get_json(force=True, silent=True)
    if not isinstance(payload, dict):
        raise ApiError(
            400, "bad_request", 'The request body must be a JSON object such as {"domain": "acme.com"}.'
        )
    return payload


def _dropped_response(payload: dict[str, Any]) -> Response:
    """A 201 whose connection breaks after the first byte: the client sees a transport error."""
    body = json.dumps(payload).encode()

    def cut_short() -> Iterator[bytes]:
        yield body[:1]
        raise ResponseDropped()

    g.count_status = DROPPED
    response = Response(cut_short(), status=201, mimetype="application/json", direct_passthrough=True)
    response.headers["Content-Length"] = str(len(body))
    return response


def _register_public_routes(app: Flask, state: SandboxState) -> None:
    @app.post(BASE)
    def register_domain() -> Response | tuple[dict[str, Any], int]:
        organization = _authorize(state, MANAGE_SCOPES)
        payload = _json_object()
        domain, dropped = state.register(organization, payload.get("domain"), payload.get("provider"))
        if dropped:
            return _dropped_response(domain)
        return domain, 201

    @app.get(BASE)
    def list_domains() -> dict[str, Any]:
        organization = _authorize(state, READ_SCOPES)
        return {"data": state.list_domains(organization)}

    @app.get(BASE + "/<domain_id>")
    def get_domain(domain_id: str) -> dict[str, Any]:
        return state.get_domain(_authorize(state, READ_SCOPES), domain_id)

    @app.delete(BASE + "/<domain_id>")
    def delete_domain(domain_id: str) -> dict[str, Any]:
        return state.delete(_authorize(state, MANAGE_SCOPES), domain_id)

    @app.post(BASE + "/<domain_id>/verify")
    def verify_domain(domain_id: str) -> dict[str, Any]:
        return state.verify(_authorize(state, MANAGE_SCOPES), domain_id)

    @app.post(BASE + "/<domain_id>/refresh")
    def refresh_domain(domain_id: str) -> dict[str, Any]:
        return state.refresh(_authorize(state, READ_SCOPES), domain_id)


# -- admin API ---------------------------------------------------------------------------------------


def _admin_object() -> dict[str, Any]:
    payload = request.get_json(force=True, silent=True)
    if payload is None and not request.get_data():
        return {}
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "The request body must be a JSON object.")
    return payload


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "bad_request", f"Field {key!r} must be a string.")
    return value


def _dns_target(payload: dict[str, Any]) -> str:
    domain = _optional_text(payload, "domain")
    if not domain:
        raise ApiError(400, "bad_request", 'Field "domain" is required, e.g. {"domain": "acme.com"}.')
    return domain


def _register_admin_routes(app: Flask, state: SandboxState) -> None:
    @app.get(ADMIN + "/domains")
    def admin_domains() -> dict[str, Any]:
        return {"data": state.admin_domains()}

    @app.post(ADMIN + "/dns/publish")
    def admin_publish() -> dict[str, Any]:
        payload = _admin_object()
        return state.publish(
            _dns_target(payload),
            _optional_text(payload, "type"),
            _optional_text(payload, "name"),
            _optional_text(payload, "value"),
        )

    @app.post(ADMIN + "/dns/unpublish")
    def admin_unpublish() -> dict[str, Any]:
        payload = _admin_object()
        return state.unpublish(
            _dns_target(payload), _optional_text(payload, "type"), _optional_text(payload, "name")
        )

    @app.get(ADMIN + "/dns")
    def admin_dns() -> dict[str, Any]:
        return state.dns_view()

    @app.post(ADMIN + "/credentials")
    def admin_add_credential() -> dict[str, Any]:
        payload = _admin_object()
        token, organization = _optional_text(payload, "token"), _optional_text(payload, "organization")
        scopes = payload.get("scopes")
        if (
            not token
            or not organization
            or not isinstance(scopes, list)
            or not all(isinstance(x, str) for x in scopes)
        ):
            raise ApiError(
                400,
                "bad_request",
                'Send {"token": "...", "organization": "org_x", "scopes": ["email_domains:read"]}.',
            )
        state.add_credential(Credential(token=token, organization=organization, scopes=frozenset(scopes)))
        return {"organization": organization, "scopes": sorted(scopes)}

    @app.post(ADMIN + "/credentials/revoke")
    def admin_revoke_credential() -> dict[str, Any]:
        token = _optional_text(_admin_object(), "token")
        if not token:
            raise ApiError(
                400, "bad_request", 'Send {"token": "..."}: the bearer token to refuse from now on.'
            )
        if not state.revoke_credential(token):
            raise ApiError(404, "not_found", "The sandbox does not know that token.")
        return {"revoked": True}

    @app.get(ADMIN + "/stats")
    def admin_stats() -> dict[str, Any]:
        return state.stats()

    @app.post(ADMIN + "/stats/reset")
    def admin_reset_stats() -> dict[str, Any]:
        state.reset_stats()
        return state.stats()

    def read_or_update(
        read: Callable[[], dict[str, Any]], update: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any]:
        """GET reads; POST applies the body and answers the new values (422 on a bad value)."""
        if request.method == "GET":
            return read()
        try:
            return update(_admin_object())
        except ValueError as exc:
            raise ApiError(422, "validation_error", str(exc)) from exc

    @app.route(ADMIN + "/settings", methods=["GET", "POST"])
    def admin_settings() -> dict[str, Any]:
        return read_or_update(state.get_settings, state.update_settings)

    @app.route(ADMIN + "/faults", methods=["GET", "POST"])
    def admin_faults() -> dict[str, Any]:
        return read_or_update(state.get_faults, state.update_faults)

    @app.post(ADMIN + "/reset")
    def admin_reset() -> dict[str, Any]:
        state.reset()
        return {"reset": True}
