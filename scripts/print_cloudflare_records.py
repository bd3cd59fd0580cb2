"""Print the DNS records Cloudflare holds in a zone, read from its API: what `make demo-cloudflare` ends with.

``--base-url`` (default ``CLOUDFLARE_BASE_URL``, else Cloudflare's API) and the token in
``CLOUDFLARE_API_TOKEN`` say which Cloudflare to ask; ``--zone`` which zone; ``--domain`` keeps the records
of one domain (its name and the names under it). One line per record, in Cloudflare's own form: type, full
name, TTL (``auto`` for 1), MX priority, content (TXT in its quotes), then its id and comment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

import httpx

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
_SHOWN_CONTENT = 60
_PER_PAGE = 100


class CloudflareReadError(RuntimeError):
    """Cloudflare refused the listing (its error codes and messages are in the text)."""


def zone_records(client: httpx.Client, zone_id: str, *, per_page: int = _PER_PAGE) -> list[dict[str, Any]]:
    """Every DNS record of ``zone_id``, page after page (``client`` carries the base URL and the token)."""
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = client.get(f"zones/{zone_id}/dns_records", params={"page": page, "per_page": per_page})
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if answer.status_code != 200 or not body.get("success"):
            errors = "; ".join(f"{e.get('code')} {e.get('message')}" for e in body.get("errors") or [])
            raise CloudflareReadError(
                f"listing the DNS records of Cloudflare zone {zone_id}: HTTP {answer.status_code} "
                f"{errors or '(no error detail)'}"
            )
        records.extend(body["result"])
        info = body.get("result_info") or {}
        if not body["result"] or page >= int(info.get("total_pages") or page):
            return records
        page += 1


def record_lines(records: Sequence[Mapping[str, Any]], domain: str | None = None) -> Iterator[str]:
    """The printed lines: one per record (of ``domain`` when given), sorted by name then type."""
    wanted = [
        record
        for record in records
        if domain is None or record["name"] == domain or str(record["name"]).endswith("." + domain)
    ]
    for record in sorted(wanted, key=lambda r: (str(r["name"]), str(r["type"]))):
        ttl = "auto" if record.get("ttl") == 1 else f"{record.get('ttl')}s"
        priority = f" {record['priority']:g}" if record.get("priority") is not None else ""
        content = str(record.get("content", ""))
        shown = content if len(content) <= _SHOWN_CONTENT else content[: _SHOWN_CONTENT - 3] + "..."
        about = f"id {record['id']}" + (f"; {record['comment']}" if record.get("comment") else "")
        yield f"  {record['type']:<5} {record['name']:<40} ttl {ttl:<5}{priority} {shown}  ({about})"


def main(
    argv: list[str] | None = None,
    stdout: TextIO = sys.stdout,
    environ: Mapping[str, str] = os.environ,
    per_page: int = _PER_PAGE,
) -> int:
    """List the zone's records and print them; 1 (with Cloudflare's error on stderr) when it refuses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zone", required=True, help="the zone id (32 hex characters)")
    parser.add_argument("--domain", help="print only the records of this domain")
    parser.add_argument("--base-url", default=environ.get("CLOUDFLARE_BASE_URL") or DEFAULT_BASE_URL)
    args = parser.parse_args(argv)
    token = environ.get("CLOUDFLARE_API_TOKEN", "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=args.base_url.rstrip("/") + "/", headers=headers, timeout=30) as client:
        try:
            records = zone_records(client, args.zone, per_page=per_page)
        except (CloudflareReadError, httpx.HTTPError) as exc:
            print(exc, file=sys.stderr)
            return 1
    for line in record_lines(records, args.domain):
        print(line, file=stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
