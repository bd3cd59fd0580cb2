"""Print the stack output ``domains`` (JSON on stdin) as a short table: what `make demo` ends with.

``--dns HOST:PORT`` (the sandbox's DNS server) adds, under each domain, a ``dig`` command that asks that
server for one of its records, so the reader can see DNS serve what the platform verified.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

_SHOWN_VALUE = 60


def domain_lines(domains: Mapping[str, Mapping[str, Any]], dns: str | None = None) -> Iterator[str]:
    """The lines printed for the ``domains`` output: each domain, its records, and a dig command."""
    for name, info in domains.items():
        yield f"{name}: {info.get('status')} (id {info.get('domainId')}, dns mode {info.get('dnsMode')})"
        records = info.get("dnsRecords") or []
        for record in records:
            priority = record.get("priority")
            value = str(record.get("value", ""))
            shown = value if len(value) <= _SHOWN_VALUE else value[: _SHOWN_VALUE - 3] + "..."
            prio = f" {int(priority)}" if priority is not None else ""
            yield f"  {record.get('type'):<5} {record.get('name'):<40}{prio} {shown}"
        if dns and records:
            host, _, port = dns.rpartition(":")
            last = records[-1]
            question = f"{last.get('type')} {last.get('name')}"
            yield f"  check it in the sandbox's DNS: dig @{host} -p {port} +short {question}"


def main(argv: list[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Read the ``domains`` output from ``stdin`` and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dns", help="HOST:PORT of a DNS server to show a dig command for")
    args = parser.parse_args(argv)
    for line in domain_lines(json.load(stdin), args.dns):
        print(line, file=stdout)


if __name__ == "__main__":
    main()
