"""``python -m sandbox``: help, start on a free port, answer, stop on SIGTERM."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.testing import SandboxAdmin

ROOT = Path(__file__).resolve().parents[2]
FLAGS = [
    "--host",
    "--port",
    "--token",
    "--propagation-delay",
    "--verify-window",
    "--auto-publish",
    "--rate-limit",
    "--error-rate",
    "--latency-ms",
    "--drop-register-responses",
    "--state",
    "--seed",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_help_documents_every_flag() -> None:
    result = _run("--help")

    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout, flag
    assert "dev-token" in re.sub(r"-\s+", "-", result.stdout)  # help text wraps at hyphens


def test_bad_flag_value_exits_2_with_a_reason() -> None:
    result = _run("--error-rate", "2")

    assert result.returncode == 2
    assert "error_rate must be between 0 and 1" in result.stderr


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m sandbox`` on a free port with an extra token and auto-publish; yields (process, url)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--token",
            "cli-token",
            "org_cli",
            "email_domains:read,email_domains:manage",
            "--auto-publish",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        first = lines.get(timeout=30)
        assert first.startswith("sandbox listening on http://127.0.0.1:"), first
        process.lines = lines  # type: ignore[attr-defined]
        yield process, first.split(" on ", 1)[1].strip()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_subprocess_serves_the_api(served: tuple[subprocess.Popen[str], str]) -> None:
    _, url = served
    headers = {"Authorization": "Bearer cli-token", "X-Anyreach-Org": "org_cli"}

    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        created = client.post("/core/email-domains", json={"domain": "acme.com"})
    with SandboxAdmin(url) as admin:
        domain = admin.find_domain("acme.com")
        stats = admin.stats()

    assert created.status_code == 201
    assert domain is not None
    assert domain["organization"] == "org_cli"
    assert all(r["published"] for r in domain["dns_records"])  # --auto-publish
    assert stats["by_route"] == {"POST /core/email-domains": {"201": 1}}


def test_subprocess_stops_cleanly_on_sigterm(served: tuple[subprocess.Popen[str], str]) -> None:
    process, _ = served

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=20) == 0
    assert process.lines.get(timeout=5).strip() == "sandbox stopped"  # type: ignore[attr-defined]
