"""The providers as the Pulumi engine runs them: serialized by the SDK into ``__provider``, then
deserialized in a fresh ``python -m pulumi.dynamic`` process (cwd = the project) and driven over its
gRPC interface (Configure, Check, Diff, Create, Read, Update, Delete) against the sandbox."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import dill
import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from provider import DomainVerificationGroupProvider, DomainVerificationProvider, EmailDomainProvider
from provider.verify.poller import DNS_POLL_INTERVAL_SECONDS
from sandbox.testing import ManualClock, SandboxServer
from tests.support import OTHER_ORG, OTHER_TOKEN, OUR_ORG, OUR_TOKEN, wait_for

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine encodes an unknown value
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
EMAIL_DOMAIN_URN = "urn:pulumi:dev::anyreach::pulumi-python:dynamic/anyreach:EmailDomain::acme-domain"
VERIFICATION_URN = (
    "urn:pulumi:dev::anyreach::pulumi-python:dynamic/anyreach:DomainVerification::acme-verification"
)
PLANNED = [
    {"type": "TXT", "name": "resend._domainkey"},
    {"type": "MX", "name": "send"},
    {"type": "TXT", "name": "send"},
    {"type": "TXT", "name": "_dmarc"},
    {"type": "MX", "name": "@"},
]


def sdk_blob(provider: Any) -> str:
    """``__provider`` exactly as ``pulumi.dynamic.Resource`` computes it."""
    serialized, _ = _serialize(True, serialize_provider, provider)
    return serialized


EMAIL_DOMAIN_BLOB = sdk_blob(EmailDomainProvider())
VERIFICATION_BLOB = sdk_blob(DomainVerificationProvider())


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    """A property bag as the engine sends it."""
    message = struct_pb2.Struct()
    message.update(props)
    return message


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    """A property bag the host sent back, as plain Python values."""
    return json_format.MessageToDict(message)


@dataclass
class Host:
    """A running provider host and everything it returned or printed."""

    process: subprocess.Popen[bytes]
    stub: provider_pb2_grpc.ResourceProviderStub
    stderr_path: Path
    stderr: IO[bytes]
    responses: list[bytes] = field(default_factory=list)

    def call(self, method: str, request: Any) -> Any:
        """Call a gRPC method and keep the serialized response for the leak check."""
        response = getattr(self.stub, method)(request, timeout=60)
        self.responses.append(response.SerializeToString())
        return response

    def printed(self) -> str:
        """What the host wrote to stderr (pulumi.log output without an engine goes there)."""
        if not self.stderr.closed:
            self.stderr.flush()
        return self.stderr_path.read_text(errors="replace")


def start_host(tmp_path: Path, name: str) -> tuple[Host, grpc.Channel]:
    """Start ``python -u -m pulumi.dynamic`` the way the engine does, with the project as cwd."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANYREACH_")}
    env["ANYREACH_MAX_REQUESTS_PER_SECOND"] = "200"  # the process-wide budget: fast for the test
    env.pop("PYTHONPATH", None)  # `import provider` must resolve from the cwd, as under the engine
    stderr_path = tmp_path / f"{name}-stderr.log"
    stderr = stderr_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.dynamic"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().strip())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=30)
    return Host(process, provider_pb2_grpc.ResourceProviderStub(channel), stderr_path, stderr), channel


def stop_host(host: Host, channel: grpc.Channel) -> None:
    """Stop the host process we started."""
    channel.close()
    host.process.terminate()
    host.process.wait(timeout=10)
    host.stderr.close()


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, sandbox_server: SandboxServer) -> Iterator[Host]:
    """A provider host configured with the stack config (the token as a secret, as the engine sends it)."""
    running, channel = start_host(tmp_path_factory.mktemp("host"), "configured")
    config = {
        "anyreach:token": {**SECRET_SIG, "value": OUR_TOKEN},
        "anyreach:organization": OUR_ORG,
        "anyreach:baseUrl": sandbox_server.base_url,
        "aws:region": "eu-west-1",
    }
    running.call("Configure", provider_pb2.ConfigureRequest(args=struct(config), acceptSecrets=True))
    yield running
    stop_host(running, channel)
    printed = running.printed()
    assert OUR_TOKEN not in printed
    assert all(OUR_TOKEN.encode() not in response for response in running.responses)


def check(host: Host, urn: str, news: dict[str, Any], olds: dict[str, Any] | None = None) -> Any:
    return host.call("Check", provider_pb2.CheckRequest(urn=urn, olds=struct(olds or {}), news=struct(news)))


def diff(host: Host, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
    return host.call("Diff", provider_pb2.DiffRequest(id=id_, urn=urn, olds=struct(olds), news=struct(news)))


def create(host: Host, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    response = host.call("Create", provider_pb2.CreateRequest(urn=urn, properties=struct(props)))
    return response.id, plain(response.properties)


def read(host: Host, urn: str, id_: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    response = host.call("Read", provider_pb2.ReadRequest(id=id_, urn=urn, properties=struct(props)))
    return response.id, plain(response.properties)


def update(host: Host, urn: str, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    request = provider_pb2.UpdateRequest(id=id_, urn=urn, olds=struct(olds), news=struct(news))
    return plain(host.call("Update", request).properties)


def delete(host: Host, urn: str, id_: str, props: dict[str, Any]) -> None:
    host.call("Delete", provider_pb2.DeleteRequest(id=id_, urn=urn, properties=struct(props)))


def test_email_domain_lifecycle_through_the_provider_host(host: Host, sandbox: SandboxServer) -> None:
    checked = check(host, EMAIL_DOMAIN_URN, {"domain": "Acme.COM", "__provider": EMAIL_DOMAIN_BLOB})
    assert list(checked.failures) == []
    inputs = plain(checked.inputs)
    assert inputs == {"domain": "acme.com", "provider": "resend", "__provider": EMAIL_DOMAIN_BLOB}

    domain_id, outs = create(host, EMAIL_DOMAIN_URN, inputs)
    [held] = sandbox.domains()
    assert (held["id"], held["organization"]) == (domain_id, OUR_ORG)
    assert outs["status"] == "pending"
    assert len(outs["dns_records"]) == len(held["dns_records"])
    assert outs["__provider"] == EMAIL_DOMAIN_BLOB

    # Preview right after up: no changes, even when the same provider was serialized differently.
    assert (
        diff(host, EMAIL_DOMAIN_URN, domain_id, outs, inputs).changes == provider_pb2.DiffResponse.DIFF_NONE
    )
    other_blob = base64.b64encode(dill.dumps(EmailDomainProvider(), protocol=2)).decode()
    assert other_blob != EMAIL_DOMAIN_BLOB
    same_with_other_blob = {**inputs, "__provider": other_blob}
    response = diff(host, EMAIL_DOMAIN_URN, domain_id, outs, same_with_other_blob)
    assert response.changes == provider_pb2.DiffResponse.DIFF_NONE
    for new_domain in ("acme.org", UNKNOWN):
        response = diff(host, EMAIL_DOMAIN_URN, domain_id, outs, {**inputs, "domain": new_domain})
        assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert list(response.replaces) == ["domain"]

    sandbox.set_settings(propagation_delay=0, check_delay=0)
    sandbox.publish("acme.com")
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        http.post(f"/core/email-domains/{domain_id}/verify").raise_for_status()
    read_id, refreshed = read(host, EMAIL_DOMAIN_URN, domain_id, outs)
    assert read_id == domain_id
    assert refreshed["status"] == "verified"

    delete(host, EMAIL_DOMAIN_URN, domain_id, refreshed)
    assert sandbox.domains() == []
    gone_id, _ = read(host, EMAIL_DOMAIN_URN, domain_id, refreshed)
    assert gone_id == ""  # the engine drops it from state
    assert "it no longer exists on the platform" in host.printed()


def test_check_reports_invalid_domains_through_the_provider_host(host: Host, sandbox: SandboxServer) -> None:
    response = check(
        host, EMAIL_DOMAIN_URN, {"domain": "agents.anyreach.ai", "__provider": EMAIL_DOMAIN_BLOB}
    )
    [failure] = response.failures
    assert failure.property == "domain"
    assert "platform domain, which needs no registration" in failure.reason
    response = check(host, EMAIL_DOMAIN_URN, {"domain": UNKNOWN, "__provider": EMAIL_DOMAIN_BLOB})
    assert list(response.failures) == []
    assert sandbox.stats()["total"] == 0


def test_verification_and_drift_through_the_provider_host(host: Host, sandbox: SandboxServer) -> None:
    domain_id, _ = create(host, EMAIL_DOMAIN_URN, {"domain": "acme.com", "__provider": EMAIL_DOMAIN_BLOB})
    sandbox.publish("acme.com")
    news = {
        "domain_id": domain_id,
        "records_fingerprint": "fp-1",
        "expected_records": PLANNED,
        "timeout_seconds": 600,  # a deadline no passing run reaches, however slow the machine
        "poll_interval_seconds": 0.05,
        "max_verify_attempts": 3,
        "__provider": VERIFICATION_BLOB,
    }
    checked = check(host, VERIFICATION_URN, news)
    assert list(checked.failures) == []
    verification_id, outs = create(host, VERIFICATION_URN, plain(checked.inputs))
    assert verification_id == domain_id
    assert outs["verified"] is True and outs["status"] == "verified"
    assert diff(host, VERIFICATION_URN, domain_id, outs, news).changes == provider_pb2.DiffResponse.DIFF_NONE

    # Drift: a record disappears; refresh shows it, the next up plans an update that verifies again.
    sandbox.unpublish("acme.com", type="TXT", name="send")
    read_id, refreshed = read(host, VERIFICATION_URN, domain_id, outs)
    assert read_id == domain_id
    assert refreshed["verified"] is False
    response = diff(host, VERIFICATION_URN, domain_id, refreshed, news)
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(response.replaces) == []
    sandbox.publish("acme.com", type="TXT", name="send")
    updated = update(host, VERIFICATION_URN, domain_id, refreshed, news)
    assert updated["verified"] is True

    # A new fingerprint is an update, never a replace.
    response = diff(host, VERIFICATION_URN, domain_id, updated, {**news, "records_fingerprint": "fp-2"})
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(response.replaces) == []

    before = sandbox.stats()["total"]
    delete(host, VERIFICATION_URN, domain_id, updated)
    assert sandbox.stats()["total"] == before  # no remote action


def test_failures_through_the_provider_host_name_the_cause_without_the_token(
    host: Host, sandbox: SandboxServer
) -> None:
    with sandbox.client(OTHER_TOKEN, OTHER_ORG) as http:
        http.post("/core/email-domains", json={"domain": "globex.com"}).raise_for_status()
    with pytest.raises(grpc.RpcError) as caught:
        create(
            host,
            EMAIL_DOMAIN_URN,
            {"domain": "globex.com", "provider": "resend", "__provider": EMAIL_DOMAIN_BLOB},
        )
    details = caught.value.details()
    assert (
        "registering Email Domain (globex.com): HTTP 409: The domain globex.com is already registered."
        in details
    )
    assert "another organization holds it" in details
    assert OUR_TOKEN not in details

    domain_id, _ = create(host, EMAIL_DOMAIN_URN, {"domain": "acme.com", "__provider": EMAIL_DOMAIN_BLOB})
    unplanned = {"domain_id": domain_id, "expected_records": PLANNED[:2], "__provider": VERIFICATION_BLOB}
    with pytest.raises(grpc.RpcError) as caught:
        create(host, VERIFICATION_URN, unplanned)
    details = caught.value.details()
    assert (
        "waiting for Email Domain (acme.com) verification: the platform asks for 3 DNS record(s)" in details
    )
    assert OUR_TOKEN not in details


def test_adoption_is_logged_by_the_provider_host(host: Host, sandbox: SandboxServer) -> None:
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        existing = http.post("/core/email-domains", json={"domain": "acme.com"}).json()
    domain_id, _ = create(host, EMAIL_DOMAIN_URN, {"domain": "acme.com", "__provider": EMAIL_DOMAIN_BLOB})
    assert domain_id == existing["id"]
    assert f"adopted it (id {domain_id})" in host.printed()


def test_unconfigured_host_checks_but_asks_for_credentials_to_create(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    bare, channel = start_host(tmp_path, "bare")
    try:
        bare.call("Configure", provider_pb2.ConfigureRequest(args=struct({})))
        checked = check(bare, EMAIL_DOMAIN_URN, {"domain": "acme.com", "__provider": EMAIL_DOMAIN_BLOB})
        assert list(checked.failures) == []
        with pytest.raises(grpc.RpcError) as caught:
            create(bare, EMAIL_DOMAIN_URN, plain(checked.inputs))
        details = caught.value.details()
        # Our message alone: no exception class, no Python traceback (provider.host.provider_host).
        assert details.startswith("registering Email Domain (acme.com): Anyreach credentials are missing")
        assert "Traceback" not in details
        assert "ANYREACH_TOKEN" in details and "anyreach:token" in details
        assert sandbox.stats()["total"] == 0
    finally:
        stop_host(bare, channel)


# `__provider` blobs that release 1dc6cf7 wrote into every stack's state: references to the provider
# classes at their module paths (tests/e2e/fixtures/upgrade_1dc6cf7 holds a whole stack of them).
LEGACY_BLOBS = {
    "provider.email_domain.EmailDomainProvider": (
        "gASVNAAAAAAAAACMFXByb3ZpZGVyLmVtYWlsX2RvbWFpbpSME0VtYWlsRG9tYWluUHJvdmlkZXKUk5QpgZQu"
    ),
    "provider.domain_verification.DomainVerificationProvider": (
        "gASVQgAAAAAAAACMHHByb3ZpZGVyLmRvbWFpbl92ZXJpZmljYXRpb26UjBpEb21haW5WZXJpZmljYXRpb25Qcm92aWRlcpSTlCmBlC4="
    ),
}


def test_the_blob_is_a_call_to_the_stable_entry_point() -> None:
    for blob, provider_class in (
        (EMAIL_DOMAIN_BLOB, EmailDomainProvider),
        (VERIFICATION_BLOB, DomainVerificationProvider),
    ):
        raw = base64.b64decode(blob)
        # No module path of the class and no instance state: only the entry point and the kind, so moving
        # the class cannot strand a stack; no code object either (a class in __main__ would carry one).
        assert b"provider.entry_points" in raw and provider_class.kind.encode() in raw
        assert provider_class.__module__.encode() not in raw
        assert b"co_code" not in raw and len(raw) < 200
        assert type(dill.loads(raw)) is provider_class  # noqa: S301 - our own bytes


def test_blobs_written_by_earlier_releases_still_work_in_the_provider_host(
    host: Host, sandbox: SandboxServer
) -> None:
    domain_id, outs = create(host, EMAIL_DOMAIN_URN, {"domain": "acme.com", "__provider": EMAIL_DOMAIN_BLOB})
    legacy = LEGACY_BLOBS["provider.email_domain.EmailDomainProvider"]
    assert b"provider.email_domain" in base64.b64decode(legacy)
    # `pulumi refresh` and `pulumi destroy` unpickle the copy in the outputs, as an earlier release wrote it.
    read_id, refreshed = read(host, EMAIL_DOMAIN_URN, domain_id, {**outs, "__provider": legacy})
    assert read_id == domain_id and refreshed["domain"] == "acme.com"
    verification = {"domain_id": domain_id, "domain": "acme.com", "verified": True, "status": "verified"}
    blob = LEGACY_BLOBS["provider.domain_verification.DomainVerificationProvider"]
    read_id, _ = read(host, VERIFICATION_URN, domain_id, {**verification, "__provider": blob})
    assert read_id == domain_id
    delete(host, VERIFICATION_URN, domain_id, {**verification, "__provider": blob})
    delete(host, EMAIL_DOMAIN_URN, domain_id, {**refreshed, "__provider": legacy})
    assert sandbox.domains() == []


# -- many domains at once, and a host whose engine is gone ------------------------------------------

GROUP_URN = "urn:pulumi:dev::anyreach::pulumi-python:dynamic/anyreach:DomainVerificationGroup::verifications"
GROUP_BLOB = sdk_blob(DomainVerificationGroupProvider())


@pytest.fixture
def slow_dns(clocked_server: tuple[SandboxServer, ManualClock]) -> tuple[SandboxServer, ManualClock]:
    """The clocked sandbox of tests/conftest.py: records become visible in its DNS only when the test
    says so."""
    server, clock = clocked_server
    server.reset()
    server.set_settings(propagation_delay=30, check_delay=1, auto_publish=True)
    return server, clock


def configured_host(tmp_path: Path, sandbox: SandboxServer, name: str) -> tuple[Host, grpc.Channel]:
    """A provider host configured with our credentials for ``sandbox``."""
    running, channel = start_host(tmp_path, name)
    config = {
        "anyreach:token": {**SECRET_SIG, "value": OUR_TOKEN},
        "anyreach:organization": OUR_ORG,
        "anyreach:baseUrl": sandbox.base_url,
    }
    running.call("Configure", provider_pb2.ConfigureRequest(args=struct(config), acceptSecrets=True))
    return running, channel


def group_props(sandbox: SandboxServer, names: list[str]) -> dict[str, Any]:
    """A group of the sandbox's registered ``names``, checking DNS against the sandbox's DNS server."""
    members = []
    for held in sandbox.domains():
        if held["domain"] not in names:
            continue
        records = []
        for record in held["dns_records"]:
            name = held["domain"] if record["name"] == "@" else f"{record['name']}.{held['domain']}"
            value = record["value"].strip('"') if record["type"] == "TXT" else record["value"]
            records.append(
                {"type": record["type"], "name": name, "value": value, "priority": record.get("priority")}
            )
        members.append(
            {
                "domain_id": held["id"],
                "domain": held["domain"],
                "dns_records": records,
                "poll_interval_seconds": 0.05,
            }
        )
    return {
        "members": members,
        "dns_check": "authoritative",
        "dns_resolvers": [f"127.0.0.1:{sandbox.dns_port}"],
        "dns_nameserver_port": sandbox.dns_port,
        "__provider": GROUP_BLOB,
    }


def register_directly(sandbox: SandboxServer, names: list[str]) -> None:
    """Register ``names`` behind the provider host's back (their verifications read them first)."""
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        for name in names:
            http.post("/core/email-domains", json={"domain": name}).raise_for_status()


def test_sixteen_domains_wait_in_one_call_while_other_calls_go_on(
    tmp_path: Path, slow_dns: tuple[SandboxServer, ManualClock]
) -> None:
    sandbox, clock = slow_dns
    names = [f"wave-{i}.example.com" for i in range(16)]
    register_directly(sandbox, names)
    host, channel = configured_host(tmp_path, sandbox, "group")
    try:
        waiting: dict[str, Any] = {}
        group = threading.Thread(
            target=lambda: waiting.update(outs=create(host, GROUP_URN, group_props(sandbox, names)))
        )
        group.start()
        # The SDK's host serves every call on 4 threads. While the group waits for its 16 domains (their
        # records are not in DNS yet), more calls than the host's other threads complete.
        others = [
            threading.Thread(
                target=lambda n=n: create(
                    host,
                    EMAIL_DOMAIN_URN,
                    {"domain": f"other-{n}.example.com", "__provider": EMAIL_DOMAIN_BLOB},
                )
            )
            for n in range(6)
        ]
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a call waited behind the verifications"
        assert (
            group.is_alive()
            and sandbox.stats()["by_route"].get("POST /core/email-domains/{id}/verify") is None
        )
        # DNS serves the records: every domain is verified, each with exactly one verify.
        clock.advance(31)
        wait_for(
            lambda: (
                sum(sandbox.stats()["by_route"].get("POST /core/email-domains/{id}/verify", {}).values())
                == 16
            ),
            "16 verifies",
        )
        clock.advance(2)
        group.join(timeout=60)
        assert not group.is_alive()
        _, outs = waiting["outs"]
        assert outs["verified"] is True
        assert sorted(outs["results"]) == sorted(names)
        assert all(result["verified"] for result in outs["results"].values())
        assert sum(sandbox.stats()["by_route"]["POST /core/email-domains/{id}/verify"].values()) == 16
    finally:
        stop_host(host, channel)


FAKE_ENGINE = """
import subprocess, sys, time
host = subprocess.Popen([sys.argv[1], "-u", "-m", "pulumi.dynamic"], stdout=subprocess.PIPE, cwd=sys.argv[2])
print(host.pid, host.stdout.readline().decode().strip(), flush=True)
time.sleep(3600)
"""


def test_the_host_stops_calling_the_api_when_its_engine_is_killed(
    tmp_path: Path, slow_dns: tuple[SandboxServer, ManualClock]
) -> None:
    sandbox, _ = slow_dns
    with sandbox.client(OUR_TOKEN, OUR_ORG) as http:
        http.post("/core/email-domains", json={"domain": "orphan.example.com"}).raise_for_status()
    # An engine stand-in: a process named `pulumi` (what the watchdog looks for) that starts the host.
    engine_binary = tmp_path / "pulumi"
    engine_binary.symlink_to(sys.executable)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANYREACH_")}
    env.pop("PYTHONPATH", None)
    printed = tmp_path / "host-stderr.log"
    with printed.open("wb") as stderr:  # the host inherits it
        engine = subprocess.Popen(
            [str(engine_binary), "-c", FAKE_ENGINE, sys.executable, str(ROOT)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    assert engine.stdout is not None
    host_pid, port = (int(word) for word in engine.stdout.readline().split())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=30)
    stub = provider_pb2_grpc.ResourceProviderStub(channel)
    config = {
        "anyreach:token": OUR_TOKEN,
        "anyreach:organization": OUR_ORG,
        "anyreach:baseUrl": sandbox.base_url,
    }
    stub.Configure(provider_pb2.ConfigureRequest(args=struct(config)))
    props = group_props(sandbox, ["orphan.example.com"])
    props["dns_check"] = "off"  # so that it polls the API, which is what must stop
    waiting = stub.Create.future(provider_pb2.CreateRequest(urn=GROUP_URN, properties=struct(props)))
    wait_for(lambda: sandbox.stats()["total"] >= 4, "the host polls the API")

    engine.kill()
    engine.wait(timeout=30)
    # What stops the calls is the host ending itself (nothing else ends it: the test killed only the
    # engine), so that is what is checked; counting calls after it is gone would prove nothing.
    wait_for(
        lambda: (
            not Path(f"/proc/{host_pid}").exists()
            or "Z" in Path(f"/proc/{host_pid}/stat").read_text().split(")")[-1][:3]
        ),
        "the host process ended on its own once its engine was gone",
    )
    channel.close()
    assert waiting.exception() is not None
    assert "the pulumi process that started this provider host is gone" in printed.read_text()


def test_cancel_ends_a_wait_for_sixteen_domains_within_two_seconds_and_nothing_starts_after_it(
    tmp_path: Path, slow_dns: tuple[SandboxServer, ManualClock]
) -> None:
    sandbox, clock = slow_dns
    names = [f"cancel-{i}.example.com" for i in range(16)]
    register_directly(sandbox, names)
    host, channel = configured_host(tmp_path, sandbox, "cancel")
    try:
        request = provider_pb2.CreateRequest(urn=GROUP_URN, properties=struct(group_props(sandbox, names)))
        waiting = host.stub.Create.future(request, timeout=600)
        wait_for(
            lambda: host.printed().count("waiting for DNS before initiating verification") >= 16,
            "all 16 domains wait for DNS",
        )
        before = sandbox.stats()["total"]

        # The engine's first Ctrl-C or SIGTERM: Cancel, to every provider. Nothing of ours on the way from
        # it to the end of the waiting call waits for a poll: 2 s is a generous bound of the reaction.
        cancelled_at = time.monotonic()
        host.stub.Cancel(empty_pb2.Empty(), timeout=30)
        error = waiting.exception(timeout=60)
        reaction = time.monotonic() - cancelled_at
        assert reaction < 2.0, f"the wait ended {reaction:.2f} s after Cancel"

        assert isinstance(error, grpc.RpcError)
        details = error.details()
        assert "Traceback" not in details  # our message alone
        assert details.startswith("waiting for Email Domain (cancel-0.example.com) verification: cancelled ")
        assert details.count("cancelled while waiting for DNS (5 of 5 record(s) not served") == 16
        assert "Cancelled: 16 of 16 Email Domains not verified" in details
        assert "Run `pulumi up` again to resume" in details

        # Nothing starts after Cancel: a create fails at once, with no request.
        with pytest.raises(grpc.RpcError) as refused:
            create(host, EMAIL_DOMAIN_URN, {"domain": "late.example.com", "__provider": EMAIL_DOMAIN_BLOB})
        assert refused.value.details().startswith(
            "registering Email Domain (late.example.com): cancelled before it started"
        )
        # The records appear: a wait still running would now verify them; none sends anything.
        clock.advance(31)
        threading.Event().wait(3 * DNS_POLL_INTERVAL_SECONDS)
        assert sandbox.stats()["total"] == before
        assert all(held["domain"] != "late.example.com" for held in sandbox.domains())
    finally:
        stop_host(host, channel)
