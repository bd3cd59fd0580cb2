"""Waiting for Email Domains to verify: one process-wide poller for every pending verification.

Every domain a verification resource waits for becomes a job of :class:`VerificationPoller`, the one
poller of the process (:func:`shared_poller`). Each job goes through the same steps::

    read       re-read the domain once (refresh): a verified domain is done at once (verify would mark it
               pending again), and records the stack does not publish fail at once
    dns        check every published record in DNS (provider.dns.checker) until every authoritative
               nameserver serves it; costs no API request; every 2 s for 2 minutes, then backing off
               to 30 s
    verify     initiate verification (one request)
    poll       re-read the status until it is verified, after the job's own backoff (from
               ``poll_interval_seconds``, 1.5 times longer each time, at most 10 s) but never sooner than
               the request budget divided among the jobs that poll; ``failed`` ends the attempt: back to
               ``dns``, then ``verify`` again, up to ``max_verify_attempts`` attempts in all

A job ends as soon as a poll sees ``verified``, or with an error at its own deadline. Jobs run on two
small thread pools (API calls wait for their budget slot; DNS checks must not wait behind them), so one
resource can wait for many domains while holding a single thread of the provider host and a single slot
of the engine (docs/design.md, "Verifying many domains at once").
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from provider.api.budget import shared_budget
from provider.api.client import EmailDomainsClient
from provider.api.errors import AnyreachError, CancelledError, DomainVerificationError
from provider.api.models import DnsRecord, Domain, DomainStatus
from provider.api.status import StatusStep, initiate_verification, status_domain
from provider.dns.checker import DnsChecker, DnsCheckResult, DnsCheckSettings, ExpectedRecord
from provider.rules.records import RecordKey, compare_records, describe_record, record_full_name
from provider.verify.clock import MONOTONIC_CLOCK, Clock

__all__ = [
    "DEFAULT_MAX_POLL_INTERVAL_SECONDS",
    "DEFAULT_MAX_VERIFY_ATTEMPTS",
    "DEFAULT_POLL_INTERVAL_SECONDS",
    "DEFAULT_VERIFICATION_TIMEOUT_SECONDS",
    "DNS_POLL_INTERVAL_SECONDS",
    "DNS_STEADY_SECONDS",
    "MAX_DNS_POLL_INTERVAL_SECONDS",
    "VerificationPoller",
    "VerificationRequest",
    "VerificationSettings",
    "cancel_verifications",
    "shared_poller",
    "unplanned_records_error",
]

DEFAULT_VERIFICATION_TIMEOUT_SECONDS = 1200.0
"""How long a verification waits for one domain (20 min); ``pulumi up`` again resumes waiting."""
DEFAULT_POLL_INTERVAL_SECONDS = 2.0
"""First pause between initiating verification and reading its status."""
DEFAULT_MAX_POLL_INTERVAL_SECONDS = 10.0
"""Longest pause between two status reads of one domain (while the budget allows it)."""
DEFAULT_MAX_VERIFY_ATTEMPTS = 3
"""How many times verification is initiated (the first time, then after each ``failed``)."""
DNS_POLL_INTERVAL_SECONDS = 2.0
"""Pause between two DNS checks of a domain's records, for the first ``DNS_STEADY_SECONDS``."""
DNS_STEADY_SECONDS = 120.0
"""How long DNS is checked every 2 s before the pause grows: records usually appear within this time,
and a steady interval sees each domain's records soon after they appear (so the verifications of many
domains start spread out, as their records appear, instead of in one burst at the next long pause)."""
MAX_DNS_POLL_INTERVAL_SECONDS = 30.0
"""Longest pause between two DNS checks (DNS can take hours; authoritative servers deserve restraint)."""
PROGRESS_LOG_INTERVAL_SECONDS = 60.0
"""How often an unchanged "still waiting for DNS" line is repeated in the log."""
_BACKOFF_FACTOR = 1.5

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerificationSettings:
    """How one domain is waited for."""

    timeout_seconds: float = DEFAULT_VERIFICATION_TIMEOUT_SECONDS
    """Give up after this many seconds."""
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS
    """First pause between status reads; each later pause is 1.5 times longer."""
    max_verify_attempts: int = DEFAULT_MAX_VERIFY_ATTEMPTS
    """How many times verification may be initiated (the first time plus re-tries after ``failed``)."""
    max_poll_interval_seconds: float = DEFAULT_MAX_POLL_INTERVAL_SECONDS
    """Upper bound of the pause between status reads."""
    dns_poll_interval_seconds: float = DNS_POLL_INTERVAL_SECONDS
    """First pause between DNS checks."""
    max_dns_poll_interval_seconds: float = MAX_DNS_POLL_INTERVAL_SECONDS
    """Upper bound of the pause between DNS checks."""

    def __post_init__(self) -> None:
        numbers = (
            self.timeout_seconds,
            self.poll_interval_seconds,
            self.max_poll_interval_seconds,
            self.dns_poll_interval_seconds,
            self.max_dns_poll_interval_seconds,
        )
        if not all(math.isfinite(n) and n > 0 for n in numbers) or self.max_verify_attempts < 1:
            raise ValueError("verification timeout and intervals must be positive, attempts at least 1")

    @property
    def longest_pause(self) -> float:
        """The cap of the status backoff: the configured maximum, never below the first interval."""
        return max(self.poll_interval_seconds, self.max_poll_interval_seconds)


@dataclass(frozen=True)
class VerificationRequest:
    """One domain to wait for."""

    domain_id: str
    """The platform's id of the domain."""
    domain: str
    """Its name, for messages."""
    records: tuple[ExpectedRecord, ...] = ()
    """The records the stack publishes for it (full names, values as DNS serves them), checked in DNS
    before verification is initiated; empty: no DNS check."""
    planned: tuple[RecordKey, ...] | None = None
    """The ``(type, name)`` of every record the stack publishes: a record the platform asks for that is
    not among them fails at once. None: the keys of ``records`` if there are any, else no such check."""
    settings: VerificationSettings = field(default_factory=VerificationSettings)
    """How to wait."""
    dns_check: DnsCheckSettings = field(default_factory=DnsCheckSettings)
    """How to check DNS."""
    seen: Domain | None = None
    """The domain as its registration (or adoption) in this same deployment saw it moments ago: the job
    starts from it instead of reading the domain first (one request less). None: read it first."""


class _Step(Enum):
    READ = "read"
    DNS = "dns"
    VERIFY = "verify"
    POLL = "poll"


_API_PRIORITY = {_Step.POLL: 0, _Step.VERIFY: 1, _Step.READ: 2}
"""Which due API step goes first: see ``VerificationPoller._schedule``."""


@dataclass
class _Job:
    """The progress of one request."""

    request: VerificationRequest
    client: EmailDomainsClient
    retarget: Callable[[AnyreachError], AnyreachError]
    log: Callable[[str], None]
    future: Future[Domain]
    deadline: float
    step: _Step = _Step.READ
    domain: Domain | None = None
    attempts: int = 0
    pause: float = 0.0
    dns_pause: float = 0.0
    dns_since: float | None = None
    last_error: AnyreachError | None = None
    last_dns: DnsCheckResult | None = None
    logged_dns: str = ""
    logged_at: float = -math.inf


class VerificationPoller:
    """The schedule of every pending verification of the process, and the threads that run it.

    Args:
        rate_per_second: the request budget's rate (how many status reads per second all jobs share).
        clock: the time, and how the schedule waits for the next due step (real time by default).
        api_workers: threads for API calls (each waits for its budget slot); few, so that the order the
            schedule hands steps out in is the order they reach the API.
        dns_workers: threads for DNS checks.
    """

    def __init__(
        self,
        rate_per_second: Callable[[], float],
        *,
        clock: Clock = MONOTONIC_CLOCK,
        api_workers: int = 2,
        dns_workers: int = 4,
    ) -> None:
        self._rate = rate_per_second
        self._clock = clock
        self._lock = threading.Condition()
        self._queue: list[tuple[float, int, _Job]] = []
        self._sequence = itertools.count()
        self._polling = 0
        self._live: dict[int, _Job] = {}
        self._cancelled = False
        self._api = ThreadPoolExecutor(api_workers, thread_name_prefix="anyreach-verify-api")
        self._api_free = api_workers
        self._dns = ThreadPoolExecutor(dns_workers, thread_name_prefix="anyreach-verify-dns")
        self._scheduler = threading.Thread(
            target=self._schedule, name="anyreach-verify-schedule", daemon=True
        )
        self._scheduler.start()

    def submit(
        self,
        request: VerificationRequest,
        client: EmailDomainsClient,
        *,
        retarget: Callable[[AnyreachError], AnyreachError] = lambda error: error,
        log: Callable[[str], None] = logger.info,
    ) -> Future[Domain]:
        """Start waiting for ``request``; the future ends with the verified domain or the error.

        ``client`` is used for every call of the job (the caller closes it once the future is done);
        ``retarget`` turns the client's errors into the caller's; ``log`` reports progress.
        """
        future: Future[Domain] = Future()
        job = _Job(
            request,
            client.stopping_when(lambda: self._cancelled),
            retarget,
            log,
            future,
            deadline=self._clock() + request.settings.timeout_seconds,
            pause=request.settings.poll_interval_seconds,
            dns_pause=request.settings.dns_poll_interval_seconds,
        )
        if self._cancelled:
            self._finish(job, error=self._cancelled_error(job))
            return future
        with self._lock:
            self._live[id(job)] = job
        delay = 0.0 if request.seen is None else self._start_from(job, request.seen)
        if delay is not None:
            self._enqueue(job, delay)
        return future

    # -- cancelling ------------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called: every job ended, and a new one ends at once."""
        return self._cancelled

    def cancel(self) -> None:
        """End every job at once with a :class:`CancelledError` saying how far it got, and every later
        one as soon as it is submitted. Nothing waits: a step under way ends on its own, and its client
        sends no further request (:meth:`EmailDomainsClient.stopping_when`)."""
        with self._lock:
            self._cancelled = True
            jobs = list(self._live.values())
            self._queue.clear()
            self._lock.notify()
        for job in jobs:
            self._finish(job, error=self._cancelled_error(job))

    # -- scheduling ------------------------------------------------------------------------------

    def _enqueue(self, job: _Job, delay: float) -> None:
        with self._lock:
            if job.future.done():
                return
            self._queue.append((self._clock() + delay, next(self._sequence), job))
            self._lock.notify()

    def _schedule(self) -> None:
        """Hand each due step to its pool. DNS steps go at once; an API step goes only when an API worker
        is free, and among the due ones a status read first (it may end a verification, and every second
        it waits is a second of detection latency), then an initiation, then a first read."""
        while True:
            with self._lock:
                job = self._next_due()
                while job is None:
                    self._clock.wait(self._lock, self._until_next_due())
                    job = self._next_due()
                self._queue.remove(job)
                if job[2].step is not _Step.DNS:
                    self._api_free -= 1
            if job[2].step is _Step.DNS:
                self._dns.submit(self._run, job[2])
            else:
                self._api.submit(self._run_api, job[2])

    def _next_due(self) -> tuple[float, int, _Job] | None:
        """The step to hand out now, if any (called with the lock held)."""
        now = self._clock()
        due = [entry for entry in self._queue if entry[0] <= now]
        dns = [entry for entry in due if entry[2].step is _Step.DNS]
        if dns:
            return min(dns)
        api = [entry for entry in due if entry[2].step is not _Step.DNS]
        if api and self._api_free > 0:
            return min(api, key=lambda entry: (_API_PRIORITY[entry[2].step], entry[0], entry[1]))
        return None

    def _until_next_due(self) -> float | None:
        """How long the scheduler may sleep (called with the lock held); a free worker wakes it too."""
        now = self._clock()
        later = [entry[0] - now for entry in self._queue if entry[0] > now]
        return min(later) if later else None

    def _run_api(self, job: _Job) -> None:
        try:
            self._run(job)
        finally:
            with self._lock:
                self._api_free += 1
                self._lock.notify()

    def _next_poll_delay(self, job: _Job) -> float:
        """The job's own backoff, but never sooner than its share of the budget."""
        with self._lock:
            polling = max(1, self._polling)
        return max(job.pause, polling / self._rate())

    def _set_step(self, job: _Job, step: _Step) -> None:
        with self._lock:
            self._polling += (step is _Step.POLL) - (job.step is _Step.POLL)
            job.step = step

    # -- one step of a job -----------------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        try:
            delay = self._advance(job)
        except AnyreachError as error:
            self._finish(job, error=job.retarget(error))
            return
        except Exception as error:  # a bug: end the job rather than leave its waiter hanging
            logger.exception("verifying Email Domain (%s): unexpected error", job.request.domain)
            self._finish(job, error=error)
            return
        if delay is not None:
            self._enqueue(job, delay)

    def _advance(self, job: _Job) -> float | None:
        """Run the job's current step; return when to run the next one, or None when the job ended."""
        steps = {
            _Step.READ: self._read,
            _Step.DNS: self._check_dns,
            _Step.VERIFY: self._verify,
            _Step.POLL: self._poll,
        }
        return steps[job.step](job)

    @staticmethod
    def _observe(job: _Job, step: StatusStep) -> Domain | None:
        """Keep what a status step saw (the domain, or the transient error); return the domain."""
        domain, job.last_error = step
        if domain is not None:
            job.domain = domain
        return domain

    def _read(self, job: _Job) -> float | None:
        """The first read: done if verified, failed at once if the platform asks for unplanned records."""
        domain = self._observe(job, status_domain(job.client, job.request.domain_id))
        if domain is None:
            return self._retry_later(job)
        return self._start_from(job, domain)

    def _start_from(self, job: _Job, domain: Domain) -> float | None:
        """What the first sight of the domain decides (a read, or what registration saw moments ago)."""
        job.domain = domain
        if domain.is_verified:
            return self._end(job, domain=domain)
        unplanned = _unplanned(domain, job.request)
        if unplanned:
            return self._end(job, error=unplanned_records_error(domain, unplanned))
        self._set_step(job, _Step.DNS)
        return 0.0

    def _verify(self, job: _Job) -> float | None:
        """Initiate an attempt (DNS serves every record now)."""
        settings = job.request.settings
        if self._clock() >= job.deadline:
            return self._end(job, error=self._timeout_error(job))
        if job.attempts >= settings.max_verify_attempts:
            return self._end(job, error=self._attempts_error(job))
        domain = self._observe(job, initiate_verification(job.client, job.request.domain_id))
        if domain is None:
            return self._retry_later(job)
        job.attempts += 1
        if domain.is_verified:
            return self._end(job, domain=domain)
        job.pause = settings.poll_interval_seconds
        self._set_step(job, _Step.POLL)
        return self._next_poll_delay(job)

    def _poll(self, job: _Job) -> float | None:
        """Read the status of the attempt: verified ends the job, failed goes back to the DNS check."""
        settings = job.request.settings
        domain = self._observe(job, status_domain(job.client, job.request.domain_id))
        if domain is None:
            return self._retry_later(job)
        if domain.is_verified:
            return self._end(job, domain=domain)
        if domain.status is DomainStatus.FAILED:
            if job.attempts >= settings.max_verify_attempts:
                return self._end(job, error=self._attempts_error(job))
            job.dns_pause, job.dns_since = settings.dns_poll_interval_seconds, None
            self._set_step(job, _Step.DNS)
            return 0.0
        if self._clock() >= job.deadline:
            return self._end(job, error=self._timeout_error(job))
        job.pause = min(job.pause * _BACKOFF_FACTOR, settings.longest_pause)
        return self._next_poll_delay(job)

    def _check_dns(self, job: _Job) -> float | None:
        request = job.request
        result = DnsChecker(request.dns_check).check(request.records)
        job.last_dns = result
        if result.all_served:
            if job.logged_dns:
                job.log(f"verifying Email Domain ({request.domain}): every record is served in DNS now")
            self._set_step(job, _Step.VERIFY)
            return 0.0
        now = self._clock()
        if now >= job.deadline:
            return self._end(job, error=self._dns_timeout_error(job, result))
        described = result.describe()
        if described != job.logged_dns or now - job.logged_at >= PROGRESS_LOG_INTERVAL_SECONDS:
            job.log(
                f"verifying Email Domain ({request.domain}): waiting for DNS before initiating verification; "
                f"not served yet:\n{described}"
            )
            job.logged_dns, job.logged_at = described, now
        if job.dns_since is None:
            job.dns_since = now
        delay = job.dns_pause
        if now - job.dns_since >= DNS_STEADY_SECONDS:
            job.dns_pause = min(
                job.dns_pause * _BACKOFF_FACTOR, request.settings.max_dns_poll_interval_seconds
            )
        return min(delay, max(0.0, job.deadline - now))

    def _retry_later(self, job: _Job) -> float | None:
        """A transient failure (after the client's own retries): try the same step again later."""
        now = self._clock()
        if now >= job.deadline:
            return self._end(job, error=self._timeout_error(job))
        return min(job.pause, max(0.0, job.deadline - now))

    def _end(
        self, job: _Job, *, domain: Domain | None = None, error: BaseException | None = None
    ) -> float | None:
        """End the job; returns None ("no next step"), so a step can ``return self._end(...)``."""
        self._finish(job, domain=domain, error=error)
        return None

    def _finish(self, job: _Job, *, domain: Domain | None = None, error: BaseException | None = None) -> None:
        with self._lock:  # reentrant
            if job.future.done():
                return  # ended already (cancelled while this step ran): the first ending stands
            self._live.pop(id(job), None)
            self._set_step(job, _Step.READ)
            try:
                if error is not None:
                    job.future.set_exception(error)
                else:
                    assert domain is not None
                    job.future.set_result(domain)
            except InvalidStateError:
                pass

    # -- errors ----------------------------------------------------------------------------------

    def _timeout_error(self, job: _Job) -> DomainVerificationError:
        settings = job.request.settings
        if job.domain is None:
            return DomainVerificationError(
                job.request.domain,
                job.request.domain_id,
                f"could not read the domain within {settings.timeout_seconds:g} s; the last call to the API "
                f"failed: {job.last_error}. Run `pulumi up` again once the API answers.",
            )
        return _not_verified_error(
            job.domain,
            f"not verified within {settings.timeout_seconds:g} s (domain status {job.domain.status.value}, "
            f"{job.attempts} verification attempt(s))",
            job.last_error,
        )

    @staticmethod
    def _cancelled_error(job: _Job) -> CancelledError:
        """How far the job got when the wait was cancelled."""
        attempt = f"attempt {job.attempts} of {job.request.settings.max_verify_attempts}"
        if job.domain is None:
            progress = "before its status was read: nothing was sent for it"
        elif job.step is _Step.POLL:
            progress = (
                f"while the platform checks its records (verification initiated, {attempt}; domain status "
                f"{job.domain.status.value})"
            )
        elif job.step is _Step.VERIFY:
            progress = "with every record served in DNS, before verification was initiated"
        elif job.last_dns is not None:
            pending = job.last_dns.pending()
            progress = (
                f"while waiting for DNS ({len(pending)} of {len(job.request.records)} record(s) not served "
                f"by every {_servers(job.request.dns_check)} yet); verification was not initiated"
            )
        else:
            progress = f"before its records were checked in DNS (domain status {job.domain.status.value})"
        return CancelledError("waiting for", job.request.domain, progress, subject=" verification")

    def _attempts_error(self, job: _Job) -> DomainVerificationError:
        assert job.domain is not None
        return _not_verified_error(
            job.domain,
            f"verification failed {job.attempts} time(s) (domain status {job.domain.status.value})",
            job.last_error,
        )

    def _dns_timeout_error(self, job: _Job, result: DnsCheckResult) -> DomainVerificationError:
        request = job.request
        pending = result.pending()
        return DomainVerificationError(
            request.domain,
            request.domain_id,
            f"not verified within {request.settings.timeout_seconds:g} s: {len(pending)} DNS record(s) are "
            f"not served by every {_servers(request.dns_check)} yet, so verification was not initiated "
            "(a provider that checks too early remembers the miss):\n"
            + "\n".join(f"  - {check.describe()}" for check in pending)
            + f"\n{_WHAT_TO_DO}",
            [],
        )


def _servers(settings: DnsCheckSettings) -> str:
    return "configured resolver" if settings.mode.value == "recursive" else "authoritative nameserver"


def _unplanned(domain: Domain, request: VerificationRequest) -> list[DnsRecord]:
    planned = request.planned
    if planned is None:
        planned = tuple((record.type, record.name) for record in request.records) or None
    if planned is None:
        return []
    return compare_records(planned, domain.dns_records, domain.domain).unplanned


_WHAT_TO_DO = (
    "Publish each record at your DNS provider exactly as given (type, full name and value; TXT values "
    "may need quotes at some DNS providers), check that it resolves with the dig command shown (DNS "
    "changes can take minutes to hours to propagate), then run `pulumi up` again: it verifies again."
)


def _record_line(record: DnsRecord, domain: str) -> str:
    full_name = record_full_name(record.name, domain)
    return (
        f"  - {describe_record(record, domain)} (status {record.status.value}); "
        f"check with `dig +short {record.type} {full_name}`"
    )


def _not_verified_error(
    domain: Domain, headline: str, last_error: AnyreachError | None
) -> DomainVerificationError:
    records = domain.unverified_records
    if records:
        listing = f"{len(records)} DNS record(s) not verified yet:\n" + "\n".join(
            _record_line(record, domain.domain) for record in records
        )
    else:
        listing = "the platform reports every record verified but not the domain yet; wait and retry."
    cause = f"{headline}; {listing}\n{_WHAT_TO_DO}"
    if last_error is not None:
        cause += f"\nThe last call to the API failed: {last_error}"
    return DomainVerificationError(domain.domain, domain.id, cause, records)


def unplanned_records_error(domain: Domain, records: Sequence[DnsRecord]) -> DomainVerificationError:
    """The error raised at once when the platform asks for records the stack does not publish."""
    listing = "\n".join(_record_line(record, domain.domain) for record in records)
    cause = (
        f"the platform asks for {len(records)} DNS record(s) this stack does not publish, so "
        f"verification cannot succeed:\n{listing}\n"
        "Publish them too (add them to the records the stack manages, or create them at your DNS "
        "provider exactly as given), then run `pulumi up` again. The platform may have changed the "
        "shape of its records (e.g. DKIM as CNAME instead of TXT): check the records listed above."
    )
    return DomainVerificationError(domain.domain, domain.id, cause, records)


_shared: VerificationPoller | None = None
_shared_lock = threading.Lock()
_shared_cancelled = False


def cancel_verifications() -> None:
    """Cancel every verification of the process-wide poller, now and later (the engine's ``Cancel``)."""
    global _shared_cancelled
    with _shared_lock:
        _shared_cancelled = True
        poller = _shared
    if poller is not None:
        poller.cancel()


def shared_poller() -> VerificationPoller:
    """The process-wide poller, created on first use; its jobs share the rate of the process-wide request
    budget (:func:`provider.api.budget.shared_budget`, read at every pause)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = VerificationPoller(lambda: shared_budget().rate_per_second)
            if _shared_cancelled:
                _shared.cancel()
        return _shared
