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

import dns.message
import dns.query
import httpx
import pytest

from sandbox import SandboxConfig
from sandbox.__main__ import build_parser, config_from_args
from sandbox._settings import flags_markdown
from sandbox.testing import SandboxAdmin

ROOT = Path(__file__).resolve().parents[2]
FLAGS = [
    "--host",
    "--port",
    "--dns-port",
    "--token",
    "--cloudflare-zone",
    "--cloudflare-token",
    "--propagation-delay",
    "--verify-window",
    "--check-delay",
    "--negative-cache",
    "--auto-publish",
    "--rate-limit",
    "--error-rate",
    "--latency-ms",
    "--drop-register-responses",
    "--dns-truncate-udp",
    "--state",
    "--seed",
    "--region",
    "--threads",
]
"""Every flag, the long-standing ones with their names unchanged."""
START_LINE = re.compile(
    r"sandbox listening on (?P<url>http://127\.0\.0\.1:\d+)"
    r"(, DNS on 127\.0\.0\.1:(?P<dns>\d+) \(udp\+tcp\))?$"
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_help_documents_every_flag() -> None:
    result = _run("--help")

    assert result.returncode == 0
    for flag in FLAGS:
        assert flag in result.stdout, flag
    generated = {
        action.option_strings[0]
        for action in build_parser()._actions
        if action.dest in SandboxConfig.model_fields
    }
    assert generated == set(FLAGS)
    assert "dev-token" in re.sub(r"-\s+", "-", result.stdout)  # help text wraps at hyphens


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--error-rate", "2"], "error_rate (--error-rate) must be a number between 0 and 1, not 2.0"),
        (["--dns-port", "70000"], "dns_port (--dns-port) must be an integer between 0 and 65535"),
        (["--negative-cache", "-1"], "negative_cache (--negative-cache) must be a number of seconds >= 0"),
        (["--token", "", "org", "email_domains:read"], "credentials (--token): a credential needs"),
    ],
    ids=["error-rate", "dns-port", "negative-cache", "token"],
)
def test_bad_flag_value_exits_2_naming_the_flag(args: list[str], message: str) -> None:
    result = _run(*args)

    assert result.returncode == 2
    assert message in result.stderr


def test_flags_map_to_config_fields() -> None:
    args = build_parser().parse_args(
        [
            *("--dns-port", "0", "--check-delay", "0.5", "--negative-cache", "30", "--auto-publish"),
            *("--token", "t", "org_t", "email_domains:read", "--rate-limit", "2", "--state", "s.json"),
        ]
    )
    config = config_from_args(args)

    assert (config.dns_port, config.check_delay, config.negative_cache) == (0, 0.5, 30)
    assert config.auto_publish is True
    assert config.credentials_by_token()["t"].scopes == frozenset({"email_domains:read"})
    assert (config.rate_limit_rps, config.state_file) == (2.0, Path("s.json"))
    assert config_from_args(build_parser().parse_args([])) == SandboxConfig()  # defaults: the model's


def test_readme_flag_table_is_the_generated_one() -> None:
    """sandbox/README.md's table under "## Flags" must be exactly ``--flags-markdown``'s output."""
    printed = _run("--flags-markdown")
    readme = (ROOT / "sandbox" / "README.md").read_text(encoding="utf-8")

    assert printed.returncode == 0
    assert printed.stdout == flags_markdown(SandboxConfig)
    assert _table_after_heading(readme, "## Flags") == printed.stdout, (
        "sandbox/README.md is stale: paste the output of `python -m sandbox --flags-markdown` under ## Flags"
    )


def _table_after_heading(markdown: str, heading: str) -> str:
    lines = markdown.split("\n" + heading + "\n", 1)[1].splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line + "\n")
    return "".join(table)


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    """``python -m sandbox`` on free ports (HTTP and DNS) with an extra token and auto-publish.

    Yields (process, start line match).
    """
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
            "--dns-port",
            "0",
            "--propagation-delay",
            "0",
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
        match = START_LINE.match(first.strip())
        assert match is not None, first
        process.lines = lines  # type: ignore[attr-defined]
        yield process, match
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_subprocess_serves_the_api_and_dns(served: tuple[subprocess.Popen[str], re.Match[str]]) -> None:
    url, dns_port = served[1]["url"], int(served[1]["dns"])
    headers = {"Authorization": "Bearer cli-token", "X-Anyreach-Org": "org_cli"}

    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        created = client.post("/core/email-domains", json={"domain": "acme.com"})
    with SandboxAdmin(url) as admin:
        domain = admin.find_domain("acme.com")
        stats = admin.stats()
        dns_view = admin.dns()
    query = dns.message.make_query("send.acme.com", "MX")
    answer = dns.query.udp(query, "127.0.0.1", port=dns_port, timeout=5).answer

    assert created.status_code == 201
    assert domain is not None
    assert domain["organization"] == "org_cli"
    assert all(r["published"] for r in domain["dns_records"])  # --auto-publish
    assert stats["by_route"] == {"POST /core/email-domains": {"201": 1}}
    assert dns_view["port"] == dns_port
    assert [rdata.to_text() for rdata in answer[0]] == ["10 feedback-smtp.us-east-1.amazonses.com."]


def test_subprocess_stops_cleanly_on_sigterm(served: tuple[subprocess.Popen[str], re.Match[str]]) -> None:
    process, _ = served

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=20) == 0
    assert process.lines.get(timeout=5).strip() == "sandbox stopped"  # type: ignore[attr-defined]
