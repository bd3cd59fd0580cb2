"""Benchmark `pulumi up` of N domains under realistic timing; print the figures and write docs/benchmarks.md.

Each run: a fresh `python -m sandbox` with its DNS server (auto-publish, propagation delay 40 s, the
provider's 2 requests/s rate limit enforced with 429s), a fresh local backend, one stack of N domains in
manual DNS mode whose DNS check asks the sandbox's DNS server, default poll settings, and
`pulumi up --yes --skip-preview` with the CLI's default flags (the stock provider host, default
--parallel), timed. From the sandbox: the
requests and 429s, and for each domain the instant its verification completed and the instant an API answer
first reported it verified (the poll that ends its wait): the difference is the detection latency. The
machine's load average is noted with each run (other work on the machine slows Pulumi's own start-up).

Scenarios: N = 1, 4, 16, 64; then N = 1 with `--negative-cache 300` (a provider that remembers a miss for
5 minutes), once with the DNS check on and once with `dnsCheck: off`.

Usage: `make bench`, or `.venv/bin/python scripts/benchmark.py --out docs/benchmarks.md` with a CLI on PATH;
`--sizes 1 4` and `--no-negative-cache` shorten it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import PULUMI, PulumiProject, sandbox_process  # noqa: E402

PROPAGATION_DELAY = 40.0
RATE_LIMIT = 2.0


@dataclass
class Result:
    """Figures of one `pulumi up`."""

    name: str
    domains: int
    seconds: float
    requests: int
    rate_limited: int
    verified: int
    latencies: list[float] = field(default_factory=list)
    """Per domain: seconds from the sandbox completing its verification to the first answer saying so."""
    tail: float = 0.0
    """Seconds from the last domain's detection to the end of `pulumi up`."""
    succeeded: bool = True
    load: float = 0.0
    """The machine's 1-minute load average when `pulumi up` ended."""
    first_request: float = 0.0
    """Seconds from the start of `pulumi up` to its first API request (Pulumi's own start-up)."""
    dns_lag: float = 0.0
    """Seconds from the instant the first domain's records became visible in DNS to the first verify."""

    @property
    def per_domain(self) -> float:
        return self.requests / self.domains


def run_once(
    name: str, count: int, *, negative_cache: float = 0.0, dns_check: str | None = None, timeout: float = 3600
) -> Result:
    """One `pulumi up` of ``count`` domains in a fresh sandbox and backend."""
    with tempfile.TemporaryDirectory(prefix="anyreach-bench-") as tmp:
        base = Path(tmp)
        flags = [
            "--auto-publish",
            "--propagation-delay",
            str(PROPAGATION_DELAY),
            "--rate-limit",
            str(RATE_LIMIT),
            "--dns-port",
            "0",
            "--negative-cache",
            str(negative_cache),
        ]
        with sandbox_process(base / "sandbox.log", *flags) as sandbox:
            project = PulumiProject.create(base, sandbox)
            domains = [{"domain": f"bench-{i}.example.com"} for i in range(count)]
            stack = project.new_stack("bench", domains=domains, pollIntervalSeconds=None, dnsCheck=dns_check)
            sandbox.reset_stats()
            started, started_at = time.monotonic(), time.time()
            result = project.run("up", "--yes", "--skip-preview", stack=stack, timeout=timeout, check=False)
            seconds = time.monotonic() - started
            ended_at = time.time()
            load = os.getloadavg()[0]
            stats = sandbox.stats()
            held = sandbox.domains()
    verified = [item for item in held if item["status"] == "verified"]
    reported = [item for item in verified if item.get("first_reported_verified_at") is not None]
    latencies = [item["first_reported_verified_at"] - item["verified_at"] for item in reported]
    last = max((item["first_reported_verified_at"] for item in reported), default=ended_at)
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
    return Result(
        name,
        count,
        seconds,
        int(stats["total"]),
        int(stats["rate_limited"]),
        len(verified),
        latencies,
        tail=ended_at - last,
        succeeded=result.returncode == 0,
        load=load,
        first_request=_first_registration(held, started_at),
        dns_lag=_first_verify_lag(held),
    )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _first_verify_lag(held: list[dict[str, Any]]) -> float:
    """Seconds from the first records' visibility (first registration + propagation) to the first verify
    (both to the second, as the sandbox reports them)."""
    registered = [_epoch(item["created_at"]) for item in held if item.get("created_at")]
    verifies = [
        _epoch(item["verification_started_at"]) for item in held if item.get("verification_started_at")
    ]
    if not registered or not verifies:
        return 0.0
    return min(verifies) - (min(registered) + PROPAGATION_DELAY)


def _first_registration(held: list[dict[str, Any]], started_at: float) -> float:
    """Seconds from ``started_at`` to the first registration the sandbox holds (its ``created_at``)."""
    times = [_epoch(item["created_at"]) for item in held if item.get("created_at")]
    return min(times) - started_at if times else 0.0


def machine() -> str:
    """One line describing this machine."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    version = subprocess.run(
        [str(PULUMI), "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, Pulumi CLI {version}"
    )


HEADER = (
    "| scenario | domains | wall time (s) | wall / wall(N=1) | requests / domain | 429s | verified | "
    "detection latency median / max (s) | start to first request (s) | last detection to end of up (s) | "
    "load (1 min) |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def row(result: Result, baseline: float) -> str:
    """One table row."""
    latency = (
        f"{statistics.median(result.latencies):.1f} / {max(result.latencies):.1f}"
        if result.latencies
        else "-"
    )
    verified = f"{result.verified}" + ("" if result.succeeded else " (up failed)")
    return (
        f"| {result.name} | {result.domains} | {result.seconds:.1f} | {result.seconds / baseline:.2f} "
        f"| {result.per_domain:.1f} | {result.rate_limited} | {verified} | {latency} "
        f"| {result.first_request:.0f} | {result.tail:.1f} | {result.load:.1f} |"
    )


def main() -> None:
    """Run the scenarios, print the table, optionally write it to a Markdown file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--no-negative-cache", action="store_true", help="skip the negative-cache scenario")
    parser.add_argument("--out", type=Path, help="write the results as Markdown to this file")
    args = parser.parse_args()
    if PULUMI is None:
        sys.exit("no pulumi CLI on PATH: run `make bench` (it builds one with `make pulumi`)")

    print(HEADER, flush=True)
    results: list[Result] = []
    baseline = 0.0
    for size in args.sizes:
        result = run_once(f"N={size}", size)
        baseline = baseline or result.seconds
        results.append(result)
        print(row(result, baseline), flush=True)
    if not args.no_negative_cache:
        for name, dns_check in (
            ("negative cache 300 s, DNS check on", None),
            ("negative cache 300 s, dnsCheck: off", "off"),
        ):
            result = run_once(name, 1, negative_cache=300.0, dns_check=dns_check)
            results.append(result)
            print(row(result, baseline), flush=True)
    if args.out:
        args.out.write_text(document(results, baseline))


def document(results: list[Result], baseline: float) -> str:
    """docs/benchmarks.md: the setting, the table, and what the figures say (computed, not typed)."""
    rows = "\n".join(row(result, baseline) for result in results)
    return (
        "# Benchmark: `pulumi up` of N domains against the sandbox\n\n"
        f"Machine: {machine()}.\n\n"
        "Command: `make bench` (`scripts/benchmark.py`). Each scenario: a fresh `python -m sandbox "
        f"--dns-port 0 --auto-publish --propagation-delay {PROPAGATION_DELAY:g} --rate-limit {RATE_LIMIT:g}` "
        "(a record becomes visible in the sandbox's DNS 40 s after it is published; more than 2 requests/s "
        "get 429), a fresh local backend, one stack of N domains in manual DNS mode whose DNS check (default "
        "`authoritative`) asks the sandbox's DNS server, default poll settings, and `pulumi up --yes "
        "--skip-preview` with the CLI's default flags (the stock provider host with 4 threads, the default "
        "`--parallel`). Requests and 429s are the sandbox's counters; the detection latency of a domain runs "
        "from the instant the sandbox completed its verification to the first API answer that reported it "
        'verified (the poll that ends its wait). "Start to first request" is Pulumi\'s own start-up (CLI, '
        "language host, program, provider host) until the first registration reached the sandbox (to the "
        'second); "load" is the machine\'s 1-minute load average as the run ended: other work on the '
        "machine slows that start-up.\n\n" + HEADER + "\n" + rows + "\n\n" + reading(results, baseline)
    )


def where_the_time_goes(result: Result) -> str:
    """The wall time of a budget-bound run, taken apart: Pulumi's start, the registrations, the wait for the
    first records to propagate (the budget has nothing to spend meanwhile), the verify and the read of
    every domain, and Pulumi's finish."""
    n, rate = result.domains, RATE_LIMIT
    registering = n / rate
    idle = max(0.0, PROPAGATION_DELAY - registering)
    verifying = (result.requests - n) / rate
    accounted = result.first_request + registering + idle + result.dns_lag + verifying + result.tail
    return (
        f"- Where the time goes (N={n}, {result.seconds:.0f} s, {result.rate_limited} 429s): Pulumi's start "
        f"until the first registration {result.first_request:.0f} s; {n} registrations at {rate:g}/s "
        f"{registering:.0f} s; then the budget waits {idle:.0f} s with nothing to send, until the first "
        f"domain's records have propagated ({PROPAGATION_DELAY:g} s after its registration), and "
        f"{result.dns_lag:.0f} s more until the DNS check sees them (each waiting domain is checked every "
        f"2 s, 12 queries a check: {n} domains ask the sandbox's DNS server about {6 * n} questions a "
        "second); then "
        f"{result.requests - n} requests (verify, and the read that sees it verified) at {rate:g}/s "
        f"{verifying:.0f} s, the budget spent without a pause; Pulumi's finish after the last detection "
        f"{result.tail:.0f} s. Sum {accounted:.0f} s of the {result.seconds:.0f} s measured. At 3 requests "
        "per domain (the floor) the requests cannot shrink further: what is left is Pulumi's own start and "
        "finish, the propagation the budget cannot use, and the DNS checks' lag."
    )


def reading(results: list[Result], baseline: float) -> str:
    """What the figures say, computed from them (so a rerun keeps it true)."""
    lines = []
    sized = [result for result in results if result.name.startswith("N=")]
    for result in sized:
        lines.append(
            f"- N={result.domains}: {result.seconds:.1f} s ({result.seconds / baseline:.2f} x N=1), "
            f"{result.per_domain:.1f} requests per domain, {result.rate_limited} 429s, "
            f"{result.verified}/{result.domains} verified."
        )
    middle = next((result for result in sized if result.domains == 16), None)
    if middle is not None:
        lines.append(
            f"- Where the time goes (N=16): wall(N) - wall(1) is about 2N / {RATE_LIMIT:g} s. The last "
            "domain's records appear N / rate s after the first's (one request per registration), and it "
            "then waits about as long in the request budget's queue (two requests per domain once its "
            "records appear: verify, then the read that sees it verified): about "
            f"{2 * 16 / RATE_LIMIT:.0f} s; measured {middle.seconds - baseline:.0f} s."
        )
    largest = max(sized, key=lambda result: result.domains, default=None)  # the budget-bound end
    if largest is not None and largest.domains > 16:
        lines.append(where_the_time_goes(largest))
    negative = [result for result in results if not result.name.startswith("N=")]
    for result in negative:
        lines.append(f"- {result.name}: verified in {result.seconds:.1f} s ({result.verified}/1 verified).")
    return "Reading:\n\n" + "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
