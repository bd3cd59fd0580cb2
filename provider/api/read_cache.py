"""One read per domain per pass: the answers of recent reads, shared by every reader of the process.

``pulumi refresh`` reads every domain twice in one pass: once for its ``EmailDomain`` and once for the
verification group that holds it, both in the same provider host process, moments apart. At the API's
2 requests/s the second read is pure cost: :func:`read_domain_once` gives the second reader the answer
the first one got (a reader that comes while the first read is on its way waits for it rather than send
its own). The engine runs each pass (the preview of a refresh, then the refresh itself) in a provider host
of its own, so an answer is never reused by another pass or another command; within a process an answer
is kept for :data:`READ_CACHE_SECONDS` only, and any write to the domain through a client of this process
(verify, delete) drops it at once.

Only the re-reads of ``read()`` go through here: a verification's polls always ask the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from provider.api.models import Domain

__all__ = ["READ_CACHE_SECONDS", "DomainReadCache", "ReadKey", "shared_read_cache"]

READ_CACHE_SECONDS = 300.0
"""How long an answer is shared: longer than the reads of one pass of a large stack take under the API's
budget (500 domains at 2 requests/s: about 250 s), far shorter than anything worth remembering."""

ReadKey = tuple[str, str, str]
"""``(base URL, organization, domain id)``: answers are never shared between APIs or organizations."""


@dataclass
class _Entry:
    lock: threading.Lock
    generation: int = 0
    answer: Domain | None = None
    read_at: float | None = None


class DomainReadCache:
    """Recent answers to "read domain X", by :data:`ReadKey`; thread-safe.

    Args:
        fresh_for: seconds an answer is shared after it arrived.
        clock: monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, fresh_for: float = READ_CACHE_SECONDS, *, clock: Callable[[], float] = time.monotonic):
        self._fresh_for = fresh_for
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[ReadKey, _Entry] = {}

    def _entry(self, key: ReadKey) -> _Entry:
        with self._lock:
            return self._entries.setdefault(key, _Entry(threading.Lock()))

    def read(self, key: ReadKey, fetch: Callable[[], Domain | None]) -> Domain | None:
        """The answer to ``fetch()`` for ``key``: a fresh one shared by an earlier reader, else fetched now
        (one reader at a time per key, so concurrent readers share one request). ``None`` (the domain is
        gone) is an answer too; an error is not kept: the next reader asks again."""
        entry = self._entry(key)
        with entry.lock:
            with self._lock:
                if entry.read_at is not None and self._clock() - entry.read_at < self._fresh_for:
                    return entry.answer
                generation = entry.generation
            answer = fetch()
            with self._lock:
                # A write while the read was on its way: its answer may predate the write; keep nothing.
                if entry.generation == generation:
                    entry.answer, entry.read_at = answer, self._clock()
            return answer

    def forget(self, key: ReadKey) -> None:
        """Drop the answer for ``key`` (the domain was written to), including one still on its way."""
        entry = self._entry(key)
        with self._lock:
            entry.generation += 1
            entry.answer, entry.read_at = None, None

    def clear(self) -> None:
        """Drop every answer."""
        with self._lock:
            for entry in self._entries.values():
                entry.generation += 1
                entry.answer, entry.read_at = None, None


_shared = DomainReadCache()


def shared_read_cache() -> DomainReadCache:
    """The process-wide cache every reader of the provider host shares."""
    return _shared
