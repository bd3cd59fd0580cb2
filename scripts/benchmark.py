"""Benchmark `pulumi up` for N = 1, 5 and 20 domains against the sandbox; prints a table of figures.

Each run: a fresh `python -m sandbox` (auto-publish, a fixed propagation delay, the provider's 2 requests/s
rate limit enforced with 429s), a fresh local backend, one stack with N domains in manual DNS mode,
`pulumi up --yes --skip-preview` timed, then `pulumi destroy`. Requests and 429s come from the sandbox's
counters. Usage: `make bench`, or
`.venv/bin/python scripts/benchmark.py --sizes 1 5 20 --out docs/benchmarks.md` with a CLI on PATH.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import PULUMI, PulumiProject, sandbox_process  # noqa: E402


@dataclass
class Result:
    """Figures of one `pulumi up`."""

    domains: int
    seconds: float
    requests: int
    rate_limited: int
    verified: int


def run_once(count: int, propagation_delay: float, rate_limit: float) -> Result:
    """One `pulumi up` of ``count`` domains in a fresh sandbox and backend."""
    with tempfile.TemporaryDirectory(prefix="anyreach-bench-") as tmp:
        base = Path(tmp)
        flags = [
            "--auto-publish",
            "--propagation-delay",
            str(propagation_delay),
            "--rate-limit",
            str(rate_limit),
        ]
        with sandbox_process(base / "sandbox.log", *flags) as sandbox:
            project = PulumiProject.create(base, sandbox)
            domains = [{"domain": f"bench-{i}.example.com"} for i in range(count)]
            stack = project.new_stack("bench", domains=domains, pollIntervalSeconds="1")
            sandbox.reset_stats()
            started = time.monotonic()
            project.run("up", "--yes", "--skip-preview", stack=stack, timeout=1800)
            seconds = time.monotonic() - started
            stats = sandbox.stats()
            verified = sum(1 for item in sandbox.domains() if item["status"] == "verified")
            project.destroy_all()
    return Result(count, seconds, int(stats["total"]), int(stats["rate_limited"]), verified)


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


def main() -> None:
    """Run the sizes, print the table, optionally write it to a Markdown file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--propagation-delay", type=float, default=3.0)
    parser.add_argument("--rate-limit", type=float, default=2.0, help="sandbox limit, requests/s (429 above)")
    parser.add_argument("--out", type=Path, help="write the results as Markdown to this file")
    args = parser.parse_args()
    if PULUMI is None:
        sys.exit("no pulumi CLI on PATH: run `make bench` (it builds one with `make pulumi`)")

    header = (
        "| domains | wall time (s) | requests | requests/s | 429s | verified |\n"
        "|---:|---:|---:|---:|---:|---:|"
    )
    print(header)
    rows = []
    results = []
    for size in args.sizes:
        result = run_once(size, args.propagation_delay, args.rate_limit)
        results.append(result)
        row = (
            f"| {result.domains} | {result.seconds:.1f} | {result.requests} "
            f"| {result.requests / result.seconds:.2f} | {result.rate_limited} | {result.verified} |"
        )
        print(row, flush=True)
        rows.append(row)
    if args.out:
        args.out.write_text(
            "# Benchmark: `pulumi up` of N domains against the sandbox\n\n"
            f"Machine: {machine()}.\n\n"
            f"Sandbox: auto-publish, propagation delay {args.propagation_delay} s, rate limit "
            f"{args.rate_limit} requests/s (429 with Retry-After above it). Client budget: the default "
            "2 requests/s shared by every resource of the stack. Command: `make bench`.\n\n"
            + header
            + "\n"
            + "\n".join(rows)
            + "\n\n"
            + reading(results)
        )


def reading(results: list[Result]) -> str:
    """What the figures say, computed from them (not written by hand, so a rerun keeps it true)."""
    busiest = max(results, key=lambda result: result.domains)
    rate = busiest.requests / busiest.seconds
    throttled = sum(result.rate_limited for result in results)
    return (
        f"Reading: at {busiest.domains} domains the stack made {busiest.requests} requests "
        f"({busiest.requests / busiest.domains:.1f} per domain) at {rate:.2f} requests/s. All calls of a "
        "stack leave from its one dynamic-provider host process, where the client's shared budget paces "
        "them; "
        f"the sandbox's limit answered {throttled} request(s) with 429 across all runs. "
        f"{sum(r.verified for r in results)} of {sum(r.domains for r in results)} domains were verified.\n"
    )


if __name__ == "__main__":
    main()
