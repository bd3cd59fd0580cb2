"""The HTTP side of the Cloudflare DNS API stand-in: the v4 envelope, bearer-token auth and the routes.

Public routes live under ``/client/v4`` (point the plugin at them with
``CLOUDFLARE_BASE_URL=http://127.0.0.1:PORT/client/v4``); the admin routes under ``/_sandbox/cloudflare``.
The records, rules and error codes are ``sandbox._cloudflare`` (its docstring says where each comes from).

Envelope: ``{"result", "success", "errors", "messages"}``, plus ``result_info`` (``page``, ``per_page``,
``count``, ``total_count``, ``total_pages``) on lists. Errors are ``{"code", "message"}`` items (with an
``error_chain`` where Cloudflare sends one). In order, a request is checked for:

- an ``Authorization`` header: none (and no ``X-Auth-*``) -> 400 ``9106 Missing X-Auth-Key, X-Auth-Email or
  Authorization headers`` (cloudflare-python #2678); not ``Bearer <token>`` -> 400 ``6003 Invalid request
  headers`` / ``6111 Invalid format for Authorization header``; ``X-Auth-Key`` without it (a Global API Key,
  which the sandbox has none of) -> 403 ``9103 Unknown X-Auth-Key or X-Auth-Email``; a token it does not
  accept -> 403 ``9109 Invalid access token`` (caddy-dns/cloudflare #3, jeessy2/ddns-go #1341: 403);
- the zone id: not 32 hex digits -> 400 ``7003 Could not route to <path>, perhaps your object identifier is
  invalid?`` + ``7000 No route for that URI`` (cloudflare-go #118, the same for a malformed record id); an
  id of no zone -> 403 ``10000 Authentication error`` (what an API token gets for a zone it cannot reach;
  Cloudflare's Terraform troubleshooting page "403 Authentication error when creating DNS records",
  terraform-provider-cloudflare #913);
- the record: 404 ``81044``; then the body and the record rules (``sandbox._cloudflare``).

A path under ``/client/v4`` that matches no route answers the same 7003/7000 pair; a method a route does not
take answers 405 with ``7000``. These routes are counted in ``/_sandbox/stats`` like the others, and the
Email Domains API's faults (rate limit, injected errors, latency) do not apply to them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, jsonify, request

from sandbox._cloudflare import (
    ZONE_PER_PAGE,
    CloudflareError,
    CloudflareRecord,
    CloudflareStore,
    CloudflareZone,
    ListQuery,
    cloudflare_error,
    page_info,
    token_id,
)
from sandbox._errors import ApiError
from sandbox._state import SandboxState

__all__ = [
    "CLOUDFLARE_ADMIN",
    "CLOUDFLARE_PREFIX",
    "cloudflare_http_error",
    "is_cloudflare_request",
    "register_cloudflare_routes",
]

CLOUDFLARE_PREFIX = "/client/v4"
"""Where the stand-in answers: ``CLOUDFLARE_BASE_URL=http://127.0.0.1:PORT/client/v4``."""

CLOUDFLARE_ADMIN = "/_sandbox/cloudflare"
"""Admin routes of the stand-in (loopback only, like every ``/_sandbox`` route)."""

_ID = re.compile(r"^[0-9a-f]{32}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def is_cloudflare_request() -> bool:
    """Whether the current request is for the Cloudflare stand-in's public API."""
    return request.path == CLOUDFLARE_PREFIX or request.path.startswith(CLOUDFLARE_PREFIX + "/")


def ok(
    result: Any, result_info: dict[str, int] | None = None, messages: list[Any] | None = None
) -> dict[str, Any]:
    """A success answer in the v4 envelope."""
    body: dict[str, Any] = {"result": result, "success": True, "errors": [], "messages": messages or []}
    if result_info is not None:
        body["result_info"] = result_info
    return body


def no_route() -> CloudflareError:
    """400 7003 + 7000: what Cloudflare answers for a path with a malformed identifier or no route."""
    return CloudflareError(
        400,
        [
            {
                "code": 7003,
                "message": f"Could not route to {request.path}, perhaps your object identifier is invalid?",
            },
            {"code": 7000, "message": "No route for that URI"},
        ],
    )


def cloudflare_http_error(status: int) -> tuple[Response, int]:
    """The answer to an HTTP-level error (no route, method not allowed, a bug) on a Cloudflare path."""
    if status == 404:
        error = no_route()
    elif status == 405:
        error = cloudflare_error(405, 7000, f"No route for that URI ({request.method} {request.path})")
    else:
        error = cloudflare_error(status, status, "The sandbox failed to handle the request (a sandbox bug).")
    return jsonify(error.body()), error.status


def _authenticate(store: CloudflareStore) -> str:
    """The bearer token of the request, once accepted (see the module docstring for the refusals)."""
    header = request.headers.get("Authorization")
    if header is None:
        if request.headers.get("X-Auth-Key") is not None or request.headers.get("X-Auth-Email") is not None:
            raise cloudflare_error(403, 9103, "Unknown X-Auth-Key or X-Auth-Email")
        raise cloudflare_error(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        raise cloudflare_error(
            400, 6003, "Invalid request headers", (6111, "Invalid format for Authorization header")
        )
    if not store.accepts(token):
        raise cloudflare_error(403, 9109, "Invalid access token")
    return token


def _zone(store: CloudflareStore, zone_id: str) -> CloudflareZone:
    if not _ID.fullmatch(zone_id):
        raise no_route()
    zone = store.zone(zone_id)
    if zone is None:
        raise cloudflare_error(403, 10000, "Authentication error")
    return zone


def _record_id(record_id: str) -> str:
    if not _ID.fullmatch(record_id):
        raise no_route()
    return record_id


def _json_body() -> object:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise cloudflare_error(
            400, 9207, "Request body is invalid.", (9207, "the body is not JSON")
        ) from None


def register_cloudflare_routes(app: Flask, state: SandboxState) -> None:
    """Add the public routes (``/client/v4``) and the admin routes (``/_sandbox/cloudflare``) to ``app``."""
    _register_public_routes(app, state)
    _register_admin_routes(app, state)

    @app.errorhandler(CloudflareError)
    def cloudflare_error_answer(error: CloudflareError) -> tuple[Response, int]:
        return jsonify(error.body()), error.status


def _register_public_routes(app: Flask, state: SandboxState) -> None:
    zones = CLOUDFLARE_PREFIX + "/zones"
    records = zones + "/<zone_id>/dns_records"

    @app.get(CLOUDFLARE_PREFIX + "/user/tokens/verify")
    def verify_token() -> dict[str, Any]:
        with state.cloudflare() as (store, _):
            token = _authenticate(store)
        message = {"code": 10000, "message": "This API Token is valid and active", "type": None}
        return ok({"id": token_id(token), "status": "active"}, messages=[message])

    @app.get(zones)
    def list_zones() -> dict[str, Any]:
        with state.cloudflare() as (store, _):
            _authenticate(store)
            found = store.zones()
        name = request.args.get("name")
        if name:
            found = [zone for zone in found if zone.name == name.lower().rstrip(".")]
        status = request.args.get("status")
        if status and status != "active":
            found = []
        default, low, high = ZONE_PER_PAGE
        page = _int(request.args.get("page"), 1, 1, 1 << 31)
        per_page = _int(request.args.get("per_page"), default, low, high)
        shown = found[(page - 1) * per_page : page * per_page]
        return ok([zone.to_api() for zone in shown], page_info(len(found), page, per_page, len(shown)))

    @app.get(zones + "/<zone_id>")
    def get_zone(zone_id: str) -> dict[str, Any]:
        with state.cloudflare() as (store, _):
            _authenticate(store)
            return ok(_zone(store, zone_id).to_api())

    @app.get(records)
    def list_records(zone_id: str) -> dict[str, Any]:
        with state.cloudflare() as (store, _):
            _authenticate(store)
            page, info = store.list_records(_zone(store, zone_id), ListQuery.parse(request.args))
            return ok([record.to_api() for record in page], info)

    @app.post(records)
    def create_record(zone_id: str) -> dict[str, Any]:
        with state.cloudflare() as (store, now):
            _authenticate(store)
            zone = _zone(store, zone_id)
            record, content = store.create(zone, _json_body(), now)
            return ok(record.to_api(content))

    @app.get(records + "/<record_id>")
    def get_record(zone_id: str, record_id: str) -> dict[str, Any]:
        with state.cloudflare() as (store, _):
            _authenticate(store)
            zone = _zone(store, zone_id)
            return ok(store.get(zone, _record_id(record_id)).to_api())

    @app.route(records + "/<record_id>", methods=["PUT", "PATCH"])
    def update_record(zone_id: str, record_id: str) -> dict[str, Any]:
        with state.cloudflare() as (store, now):
            _authenticate(store)
            zone = _zone(store, zone_id)
            patch = request.method == "PATCH"
            record, content = store.update(zone, _record_id(record_id), _json_body(), now, patch=patch)
            return ok(record.to_api(content))

    @app.delete(records + "/<record_id>")
    def delete_record(zone_id: str, record_id: str) -> dict[str, Any]:
        with state.cloudflare() as (store, now):
            _authenticate(store)
            zone = _zone(store, zone_id)
            record = store.delete(zone, _record_id(record_id), now)
            return ok({"id": record.id})


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(float(value)) if value is not None else default
    except ValueError:
        number = default
    return min(max(number, low), high)


# -- admin --------------------------------------------------------------------------------------------


def _admin_body() -> dict[str, Any]:
    payload = request.get_json(force=True, silent=True)
    if payload is None and not request.get_data():
        return {}
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_request", "The request body must be a JSON object.")
    return payload


def _admin_text(payload: dict[str, Any], key: str, required: bool) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ApiError(400, "bad_request", f"Field {key!r} must be a non-empty string.")
    return value


def admin_record(record: CloudflareRecord, zone: CloudflareZone, delay: float, now: float) -> dict[str, Any]:
    """A record as the admin API shows it: the API object, its zone and when DNS serves it (sandbox clock)."""
    visible_from = record.published_at + delay
    return {
        **record.to_api(),
        "zone_id": zone.id,
        "zone_name": zone.name,
        "published_at": record.published_at,
        "visible_from": visible_from,
        "visible": visible_from <= now,
    }


def _admin_zone(zone: CloudflareZone) -> dict[str, Any]:
    return {"id": zone.id, "name": zone.name, "created_at": zone.created_at}


def _register_admin_routes(app: Flask, state: SandboxState) -> None:
    @app.get(CLOUDFLARE_ADMIN + "/zones")
    def admin_zones() -> dict[str, Any]:
        with state.cloudflare() as (store, now):
            delay = state.settings.propagation_delay
            return {
                "data": [
                    {
                        **_admin_zone(zone),
                        "records": [admin_record(r, zone, delay, now) for r in store.records(zone.id)],
                    }
                    for zone in store.zones()
                ]
            }

    @app.post(CLOUDFLARE_ADMIN + "/zones")
    def admin_add_zone() -> dict[str, Any]:
        payload = _admin_body()
        zone_id = _admin_text(payload, "id", required=False)
        name = _admin_text(payload, "name", required=True)
        assert name is not None
        with state.cloudflare() as (store, now):
            try:
                zone = store.add_zone(zone_id, name, now)
            except KeyError as exc:
                raise ApiError(409, "conflict", str(exc.args[0])) from exc
            except ValueError as exc:
                raise ApiError(422, "validation_error", str(exc)) from exc
            return _admin_zone(zone)

    @app.get(CLOUDFLARE_ADMIN + "/records")
    def admin_records() -> dict[str, Any]:
        zone_id = request.args.get("zone_id")
        with state.cloudflare() as (store, now):
            delay = state.settings.propagation_delay
            if zone_id is not None and store.zone(zone_id) is None:
                raise ApiError(404, "not_found", f"No Cloudflare zone {zone_id!r} in the sandbox.")
            data = []
            for record in store.records(zone_id):
                zone = store.zone(record.zone_id)
                assert zone is not None
                data.append(admin_record(record, zone, delay, now))
            return {"data": data}

    @app.post(CLOUDFLARE_ADMIN + "/tokens")
    def admin_add_token() -> dict[str, Any]:
        token = _admin_text(_admin_body(), "token", required=True)
        assert token is not None
        with state.cloudflare() as (store, _):
            try:
                store.add_token(token)
            except ValueError as exc:
                raise ApiError(422, "validation_error", str(exc)) from exc
        return {"accepted": True}

    @app.post(CLOUDFLARE_ADMIN + "/tokens/revoke")
    def admin_revoke_token() -> dict[str, Any]:
        token = _admin_text(_admin_body(), "token", required=True)
        assert token is not None
        with state.cloudflare() as (store, _):
            if not store.revoke_token(token):
                raise ApiError(404, "not_found", "The sandbox does not accept that Cloudflare token.")
        return {"revoked": True}
