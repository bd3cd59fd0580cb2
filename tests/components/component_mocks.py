"""Pulumi mocks for the component tests: a monitor that records every registration with its dependencies.

Mocks do not run dynamic providers, so the EmailDomain's outputs are whatever ``PlatformMocks`` says the
platform returned; in preview mode they can be unknown, as they are for a domain that does not exist yet.

Nor do they run the Cloudflare plugin: a ``DnsRecord``'s outputs here are its inputs and its id is
``cf-<name>``. The real plugin (tests/e2e/test_cloudflare_e2e.py) answers a 32-hex Cloudflare id and adds
what Cloudflare computes (``createdOn``, ``modifiedOn``, ``commentModifiedOn``, ``proxiable``, ``meta``,
``settings``, ``tags``), leaves the id and those unknown in the preview of a create, reads back what
Cloudflare stores (so a record written in another form drifts at refresh), validates ``cloudflare:apiToken``
at preview and fails with Cloudflare's errors (81058 for an identical record, 9109 for a refused token).
The component reads none of those outputs, so the mocks leave them out.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc
from pulumi.runtime.sync_await import _ensure_event_loop

EMAIL_DOMAIN_TYPE = "pulumi-python:dynamic/anyreach:EmailDomain"
VERIFICATION_TYPE = "pulumi-python:dynamic/anyreach:DomainVerificationGroup"
DNS_RECORD_TYPE = "cloudflare:index/dnsRecord:DnsRecord"
COMPONENT_TYPE = "anyreach:email:VerifiedEmailDomain"
DOMAIN_ID = "dom_3f2a9c"
ZONE = "0123456789abcdef0123456789abcdef"


def documented_records() -> list[dict[str, Any]]:
    """The five records docs/design.md section 1 says the platform returns for a new domain."""
    return [
        {
            "record": "DKIM",
            "type": "TXT",
            "name": "resend._domainkey",
            "value": "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GN",
            "status": "pending",
            "ttl": "Auto",
        },
        {
            "record": "SPF",
            "type": "MX",
            "name": "send",
            "value": "feedback-smtp.us-east-1.amazonses.com",
            "priority": 10,
            "status": "pending",
            "ttl": "Auto",
        },
        {
            "record": "SPF",
            "type": "TXT",
            "name": "send",
            "value": '"v=spf1 include:amazonses.com ~all"',
            "status": "pending",
            "ttl": "Auto",
        },
        {
            "record": "DMARC",
            "type": "TXT",
            "name": "_dmarc",
            "value": "v=DMARC1; p=none;",
            "status": "pending",
            "ttl": "Auto",
        },
        {
            "record": "Receiving",
            "type": "MX",
            "name": "@",
            "value": "inbound-smtp.us-east-1.amazonaws.com",
            "priority": 10,
            "status": "pending",
            "ttl": "Auto",
        },
    ]


@dataclass
class Registration:
    """One RegisterResource call as the engine would see it."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]
    custom: bool
    protect: bool = False
    retain_on_delete: bool = False


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that also keeps the parent and the dependencies of every registration."""

    def __init__(self, mocks_: mocks.Mocks) -> None:
        super().__init__(mocks_)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    inputs=rpc.deserialize_properties(request.object),
                    custom=request.custom,
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return response


class PlatformMocks(pulumi.runtime.Mocks):
    """Answers registrations like the engine with the real providers would, minus the waiting."""

    def __init__(
        self,
        records: list[dict[str, Any]] | None = None,
        *,
        unknown_records: bool = False,
        status: str = "pending",
    ) -> None:
        self.records = documented_records() if records is None else records
        self.unknown_records = unknown_records
        self.status = status

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = {key: value for key, value in args.inputs.items() if key != "__provider"}
        if args.typ == EMAIL_DOMAIN_TYPE:
            if self.unknown_records:
                # A preview of a domain that does not exist yet: the API decides these at create time.
                unknown = rpc.UNKNOWN
                return "", {**inputs, "status": unknown, "raw_status": unknown, "dns_records": unknown}
            return DOMAIN_ID, {
                **inputs,
                "provider": inputs.get("provider") or "resend",
                "status": self.status,
                "raw_status": "not_started" if self.status == "pending" else self.status,
                "dns_records": copy.deepcopy(self.records),
            }
        if args.typ == VERIFICATION_TYPE:
            if not isinstance(inputs.get("members"), list):  # a preview: the members are not known yet
                return "", {**inputs, "results": rpc.UNKNOWN, "verified": rpc.UNKNOWN}
            results = {
                member["domain"]: {
                    "domain_id": member["domain_id"],
                    "status": "verified",
                    "verified": True,
                    "dns_records": [{**record, "status": "verified"} for record in self.records],
                }
                for member in inputs.get("members") or []
            }
            return f"{args.name}-id", {**inputs, "results": results, "verified": True}
        if args.typ == DNS_RECORD_TYPE:
            return f"cf-{args.name}", inputs
        return f"{args.name}-id", inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@dataclass
class Harness:
    """Runs a Pulumi program under mocks and keeps what it registered, logged and resolved."""

    log_records: list[logging.LogRecord] = field(default_factory=list)
    monitor: RecordingMonitor | None = None

    def run(
        self,
        program: Callable[[], Any],
        *,
        platform: PlatformMocks | None = None,
        preview: bool = False,
        config: dict[str, str] | None = None,
    ) -> Any:
        """Run ``program`` to completion; return what its returned Output (or value) resolved to."""
        platform = platform or PlatformMocks()
        self.monitor = RecordingMonitor(platform)
        logger = logging.getLogger(f"pulumi-mock-engine-{id(self)}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        handler = _ListHandler(self.log_records)
        logger.addHandler(handler)
        pulumi.runtime.set_all_config(config or {})
        pulumi.runtime.set_mocks(
            platform, project="anyreach", stack="test", preview=preview, logger=logger, monitor=self.monitor
        )
        resolved: dict[str, Any] = {}

        @pulumi.runtime.test
        def body() -> Any:
            result = program()
            return pulumi.Output.from_input(result).apply(lambda value: resolved.setdefault("value", value))

        # When a program fails, the SDK leaves the other failed registrations' futures unawaited, and
        # asyncio prints each one when it is garbage-collected; the test asserts on the raised error.
        _ensure_event_loop().set_exception_handler(_ignore_unretrieved_futures)
        try:
            body()
        finally:
            logger.removeHandler(handler)
            pulumi.runtime.set_all_config({})
        return resolved.get("value")

    @property
    def registrations(self) -> list[Registration]:
        assert self.monitor is not None
        return self.monitor.registrations

    def named(self, name: str) -> Registration:
        matches = [registration for registration in self.registrations if registration.name == name]
        assert len(matches) == 1, f"expected one registration named {name}, got {len(matches)}"
        return matches[0]

    def of_type(self, type_: str) -> list[Registration]:
        return [registration for registration in self.registrations if registration.type == type_]

    def messages(self, level: int = logging.INFO) -> list[str]:
        return [record.getMessage() for record in self.log_records if record.levelno == level]


def _ignore_unretrieved_futures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if "exception was never retrieved" not in str(context.get("message", "")):
        loop.default_exception_handler(context)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)
