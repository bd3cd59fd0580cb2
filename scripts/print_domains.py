"""Print the stack output ``domains`` (JSON on stdin) as a short table: what `make demo` ends with."""

from __future__ import annotations

import json
import sys


def main() -> None:
    """Read the ``domains`` output and print each domain with its status, then its records."""
    domains = json.load(sys.stdin)
    for name, info in domains.items():
        print(f"{name}: {info.get('status')} (id {info.get('domainId')}, dns mode {info.get('dnsMode')})")
        for record in info.get("dnsRecords") or []:
            priority = record.get("priority")
            value = record.get("value", "")
            shown = value if len(value) <= 60 else value[:57] + "..."
            prio = f" {int(priority)}" if priority is not None else ""
            print(
                f"  {record.get('type'):<5} {record.get('name'):<40}{prio} {shown}  [{record.get('status')}]"
            )


if __name__ == "__main__":
    main()
