"""The ``--state FILE`` format: domains, the DNS view and the Cloudflare stand-in as JSON, written atomically.

Version 3 (written now)::

    {"version": 3,
     "domains": [DomainState.to_json(), ...],
     "dns": [{"domain", "type", "name", "value", "priority", "published_at"}, ...],
     "cloudflare": {"zones": [{"id", "name", "created_at"}, ...],
                    "records": [{"id", "zone_id", "name", "type", "content", "ttl", ...}, ...]}}

Version 2 (read and migrated): the same without ``cloudflare`` (the stand-in did not exist): it starts with
its start-up zones and no records.

Version 1 (read and migrated): records without ``verified_at``/``earliest_verify_at``, domains with a
boolean ``attempt_completed`` instead of ``attempt_completed_at``, DNS entries without ``priority``. Version
1 did not keep the instant an attempt completed; a migrated verified domain takes the start of its attempt
as that instant.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sandbox._model import DomainState, Publication

__all__ = ["STATE_FILE_VERSION", "DnsKey", "load_state", "save_state"]

STATE_FILE_VERSION = 3
"""The version ``save_state`` writes."""

DnsKey = tuple[str, str, str, str]
"""A published DNS entry: (registered domain, type, relative name, value as published)."""


def save_state(
    path: Path,
    domains: list[DomainState],
    dns: dict[DnsKey, Publication],
    cloudflare: dict[str, Any] | None = None,
) -> None:
    """Write the state to ``path`` atomically (a temporary file beside it, then a rename).

    ``cloudflare`` is ``CloudflareStore.to_json()`` (no zones and no records when None).
    """
    document = {
        "version": STATE_FILE_VERSION,
        "domains": [domain.to_json() for domain in domains],
        "dns": [
            {
                "domain": key[0],
                "type": key[1],
                "name": key[2],
                "value": key[3],
                "priority": publication.priority,
                "published_at": publication.published_at,
            }
            for key, publication in dns.items()
        ],
        "cloudflare": cloudflare if cloudflare is not None else {"zones": [], "records": []},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a crash never leaves a half-written state file.
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            json.dump(document, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(handle.name)
        raise


def load_state(
    path: Path,
) -> tuple[list[DomainState], dict[DnsKey, Publication], dict[str, Any] | None]:
    """Read a state file of version 1, 2 or 3; raise ValueError naming the file on any problem.

    Returns the domains, the DNS view and the Cloudflare stand-in's data (None before version 3).
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError("the document is not a JSON object")
        version = document.get("version")
        if version == 1:
            document = _migrate_v1(document)
        elif version not in (2, STATE_FILE_VERSION):
            raise ValueError(f"unsupported version {version!r} (this sandbox reads versions 1 to 3)")
        domains = [DomainState.from_json(item) for item in document["domains"]]
        dns = {
            (item["domain"], item["type"], item["name"], item["value"]): Publication(
                float(item["published_at"]), item.get("priority")
            )
            for item in document["dns"]
        }
        cloudflare = document.get("cloudflare")
        if cloudflare is not None and not isinstance(cloudflare, dict):
            raise ValueError("'cloudflare' is not a JSON object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"reading sandbox state ({path}): {exc}") from exc
    return domains, dns, cloudflare


def _migrate_v1(document: dict[str, Any]) -> dict[str, Any]:
    domains = []
    priorities: dict[tuple[str, str, str], int | None] = {}
    for old in document["domains"]:
        domain = dict(old)
        started = domain.get("attempt_started_at")
        completed = domain.pop("attempt_completed", False)
        domain["attempt_completed_at"] = started if completed and started is not None else None
        domain["first_reported_verified_at"] = None
        records = []
        for old_record in domain.get("records", []):
            record = dict(old_record)
            record["verified_at"] = started if record.get("verified") else None
            record["earliest_verify_at"] = started
            records.append(record)
            priorities[(domain["domain"], record["type"], record["name"])] = record.get("priority")
        domain["records"] = records
        domains.append(domain)
    dns = []
    for old_entry in document["dns"]:
        entry = dict(old_entry)
        default = 10 if entry["type"] == "MX" else None
        entry["priority"] = priorities.get((entry["domain"], entry["type"], entry["name"]), default)
        dns.append(entry)
    return {"version": 2, "domains": domains, "dns": dns}
