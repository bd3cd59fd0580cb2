"""The request budget: spacing, burst, deadlines, pauses, fairness across threads, the shared instance."""

from __future__ import annotations

import threading
import time

import pytest

from provider.api import budget as ratelimit
from provider.api.budget import RATE_ENV_VAR, RequestBudget, shared_budget
from provider.api.errors import ConfigurationError


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_budget(rate: float = 2.0, burst: int = 1) -> tuple[RequestBudget, FakeTime]:
    fake = FakeTime()
    return RequestBudget(rate, burst, clock=fake.clock, sleep=fake.sleep), fake


def take(budget: RequestBudget, fake: FakeTime, count: int) -> list[float]:
    """Acquire ``count`` slots in a row and return the (fake) time each was granted."""
    granted = []
    for _ in range(count):
        assert budget.acquire()
        granted.append(fake.now)
    return granted


def test_slots_are_evenly_spaced_at_the_rate() -> None:
    budget, fake = make_budget(rate=2.0)
    assert take(budget, fake, 4) == [100.0, 100.5, 101.0, 101.5]


def test_burst_lets_that_many_go_at_once_then_spaces_the_rest() -> None:
    budget, fake = make_budget(rate=4.0, burst=3)
    assert take(budget, fake, 5) == [100.0, 100.0, 100.0, 100.25, 100.5]


def test_quiet_period_does_not_bank_more_than_the_burst() -> None:
    budget, fake = make_budget(rate=2.0)
    take(budget, fake, 2)
    fake.now += 60
    granted = take(budget, fake, 3)
    assert granted == [granted[0], granted[0] + 0.5, granted[0] + 1.0]


def test_deadline_before_the_next_slot_returns_false_and_takes_nothing() -> None:
    budget, fake = make_budget(rate=2.0)
    assert budget.acquire()
    assert budget.acquire(deadline=fake.now + 0.4) is False
    assert fake.now == 100.0  # did not sleep
    assert budget.acquire(deadline=fake.now + 0.5) is True
    assert fake.now == 100.5  # got the very slot it was refused, nobody else used it


def test_pause_pushes_the_next_slot_out() -> None:
    budget, fake = make_budget(rate=2.0)
    take(budget, fake, 1)
    budget.pause(3.0)
    assert take(budget, fake, 2) == [103.0, 103.5]


def test_pause_never_pulls_slots_in_and_ignores_nonsense() -> None:
    budget, fake = make_budget(rate=0.5)  # next slot 2 s away
    take(budget, fake, 1)
    budget.pause(0.1)
    budget.pause(-5)
    budget.pause(float("nan"))
    assert take(budget, fake, 1) == [102.0]


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (float("nan"), 1), (1, 0)])
def test_nonsense_settings_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RequestBudget(rate, burst)


def test_threads_share_the_budget_fairly_and_never_exceed_the_rate() -> None:
    rate, threads, per_thread = 40.0, 4, 4
    budget = RequestBudget(rate)
    completions: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(index: int) -> None:
        barrier.wait()
        for _ in range(per_thread):
            budget.acquire()
            with lock:
                completions.append(index)

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started

    total = threads * per_thread
    assert len(completions) == total
    # Lower bound only: the first slot goes at once, the others follow 1/rate apart.
    assert elapsed >= (total - 1) / rate - 0.001
    # No thread is starved: each one is served within the first two rounds.
    assert set(completions[: 2 * threads]) == set(range(threads))


def test_shared_budget_is_one_instance_with_the_rate_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "_shared", None)
    monkeypatch.setenv(RATE_ENV_VAR, "7.5")
    first = shared_budget()
    assert first is shared_budget()
    assert first.rate_per_second == pytest.approx(7.5)


def test_shared_budget_defaults_to_two_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_shared", None)
    monkeypatch.delenv(RATE_ENV_VAR, raising=False)
    assert shared_budget().rate_per_second == pytest.approx(2.0)


@pytest.mark.parametrize("value", ["fast", "0", "-1", "inf"])
def test_shared_budget_refuses_a_bad_rate_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setattr(ratelimit, "_shared", None)
    monkeypatch.setenv(RATE_ENV_VAR, value)
    with pytest.raises(ConfigurationError, match=RATE_ENV_VAR):
        shared_budget()
