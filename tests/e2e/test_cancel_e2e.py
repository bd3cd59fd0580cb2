"""Under the real CLI: one Ctrl-C (SIGINT) or one SIGTERM (a cancelled CI job) ends a waiting `pulumi up`
cleanly and at once, and the next `up` resumes; a refresh reads each domain once per pass."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .harness import PulumiProject, descendants

pytestmark = pytest.mark.e2e

EMAIL_DOMAIN = "pulumi-python:dynamic/anyreach:EmailDomain"
VERIFICATION = "pulumi-python:dynamic/anyreach:DomainVerificationGroup"
REGISTER = "POST /core/email-domains"
REFRESH = "POST /core/email-domains/{id}/refresh"
EXIT_SECONDS = 5.0
"""How soon after the signal the CLI must have exited (the issue's bound; GitHub Actions sends SIGTERM
7.5 s after SIGINT and kills the job 2.5 s after that)."""


class Output:
    """Everything a running command prints, collected by a thread as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._lock:
                self._lines.append(line)

    def text(self) -> str:
        """What was printed so far."""
        with self._lock:
            return "".join(self._lines)

    def finish(self) -> str:
        """Everything printed, once the command's output is closed."""
        self._thread.join(timeout=60)
        return self.text()


def _resources(project: PulumiProject, stack: str) -> tuple[list[dict[str, Any]], list[Any]]:
    deployment = project.export(stack)["deployment"]
    return list(deployment.get("resources") or []), list(deployment.get("pending_operations") or [])


def _wait_until(
    condition: Any, what: str, process: subprocess.Popen[str] | None = None, timeout: float = 240
) -> None:
    """Check ``condition`` until it holds (a generous deadline; the command must still run meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, f"the command ended before: {what}"
        assert time.monotonic() < deadline, f"never happened within {timeout:g} s: {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_one_signal_ends_a_waiting_up_at_once_and_the_next_up_resumes(
    project: PulumiProject, sent: signal.Signals
) -> None:
    prefix = sent.name.lower()
    domains = [f"{prefix}-{n}.example.com" for n in range(2)]
    project.sandbox.set_settings(auto_publish=False)  # the records never appear: both wait for DNS
    try:
        stack = project.new_stack(f"cancel-{prefix}", domains=[{"domain": name} for name in domains])
        process = project.popen("up", "--yes", "--skip-preview", stack=stack)
        output = Output(process)
        _wait_until(
            lambda: all(
                f"verifying Email Domain ({name}): waiting for DNS before initiating verification"
                in output.text()
                for name in domains
            ),
            "both domains wait for DNS",
            process,
        )
        hosts = [
            pid
            for pid in descendants(process.pid)
            if b"pulumi.dynamic" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert hosts, "no provider host among the CLI's processes"

        os.kill(process.pid, sent)  # once, to the CLI alone (it runs in a session of its own)
        signalled = time.monotonic()
        returncode = process.wait(timeout=120)
        exited_after = time.monotonic() - signalled
        requests_at_exit = project.sandbox.route_count()
        # The records appear now: a wait still running anywhere would verify them within a few DNS checks.
        for name in domains:
            project.sandbox.publish(name)
        threading.Event().wait(6)  # the window over which nothing may reach the API (3 DNS check intervals)
        requests_after_window = project.sandbox.route_count()
    finally:
        project.sandbox.set_settings(auto_publish=True)

    text = output.finish()
    print(f"{sent.name}: the CLI exited {exited_after:.2f} s after the signal")  # the figure, with -rP
    assert exited_after < EXIT_SECONDS, f"the CLI exited {exited_after:.1f} s after {sent.name}\n{text}"
    assert returncode != 0, text
    assert "Traceback" not in text, text
    assert "received; cancelling" in text  # the engine's own word that it cancels
    for name in domains:
        assert f"waiting for Email Domain ({name}) verification: cancelled while waiting for DNS" in text, (
            text
        )
    assert "Run `pulumi up` again to resume" in text
    assert requests_after_window == requests_at_exit, "the API saw requests after the CLI exited"
    _wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in hosts), "the provider host is gone")

    resources, pending = _resources(project, stack)
    assert pending == []  # no `pulumi cancel`, no `refresh --clear-pending-creates` needed
    registered = [r for r in resources if r["type"] == EMAIL_DOMAIN]
    assert sorted(r["outputs"]["domain"] for r in registered) == domains
    assert VERIFICATION not in [r["type"] for r in resources]

    registrations = project.sandbox.route_count(REGISTER)
    project.run("up", "--yes", "--skip-preview", stack=stack)  # the records are published now
    assert project.sandbox.route_count(REGISTER) == registrations  # nothing registered again
    held = {item["domain"]: item for item in project.sandbox.domains() if item["domain"] in domains}
    assert {name: held[name]["status"] for name in domains} == {name: "verified" for name in domains}
    assert sorted(r["id"] for r in registered) == sorted(held[name]["id"] for name in domains)


def test_a_refresh_reads_each_domain_once_per_pass(project: PulumiProject) -> None:
    count = 3
    domains = [f"refresh-{n}.example.com" for n in range(count)]
    stack = project.new_stack("refresh-count", domains=[{"domain": name} for name in domains])
    project.run("up", "--yes", "--skip-preview", stack=stack)

    # Two passes (the preview, then the refresh), each reading every domain once: its EmailDomain and the
    # verification group share the answer.
    project.sandbox.reset_stats()
    project.run("refresh", "--yes", stack=stack)
    assert project.sandbox.route_count() == project.sandbox.route_count(REFRESH) == 2 * count
    project.sandbox.reset_stats()
    project.run("refresh", "--yes", "--skip-preview", stack=stack)
    assert project.sandbox.route_count() == count

    # It still notices a domain that lost its verification, and one deleted behind the stack's back.
    project.sandbox.unpublish(domains[1], type="TXT", name="_dmarc")
    [gone] = [item for item in project.sandbox.domains() if item["domain"] == domains[2]]
    with project.sandbox.client() as client:
        client.delete(f"/core/email-domains/{gone['id']}").raise_for_status()
    project.sandbox.reset_stats()
    result = project.run("refresh", "--yes", "--skip-preview", stack=stack)
    assert project.sandbox.route_count() == count
    resources, _ = _resources(project, stack)
    assert sorted(r["outputs"]["domain"] for r in resources if r["type"] == EMAIL_DOMAIN) == domains[:2]
    [group] = [r for r in resources if r["type"] == VERIFICATION]
    results = group["outputs"]["results"]
    assert [results[name]["verified"] for name in domains] == [True, False, False]
    assert results[domains[2]]["status"] == "deleted"
    assert "no longer verified" in result.stdout + result.stderr
