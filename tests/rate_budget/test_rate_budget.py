"""The in-process RateBudget: its GCRA decisions, exactly, with an injected clock."""

from __future__ import annotations

import math
import threading

import anyio
import anyio.lowlevel
import pytest

import authmatech
from authmatech._budget import (
    AsyncRateBudget,
    GcraSchedule,
    RateBudget,
    SyncRateBudget,
    gcra_penalize,
    gcra_reserve,
    is_nonblocking,
)
from authmatech._fork import FORKS


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def window_counts(times: list[float], per: float) -> int:
    """The most sends in any window of ``per`` seconds, ends included (the worst case)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > per:
            start += 1
        best = max(best, end - start + 1)
    return best


def drain(budget: RateBudget, clock: FakeClock, n: int) -> list[float]:
    """``n`` callers that each reserve and send at once when told to: the send times."""
    sent = []
    for _ in range(n):
        wait = budget.acquire(math.inf)
        assert wait is not None
        sent.append(clock.now + wait)
    return sent


def test_the_default_plan_numbers() -> None:
    budget = RateBudget(limit=1000, per=60.0)
    assert (budget.limit, budget.per, budget.usable, budget.burst) == (1000, 60.0, 980, 20)
    assert budget.interval == pytest.approx(60.0 / 960)
    assert "limit=1000" in repr(budget)
    assert "interval=62.5 ms" in repr(budget)


@pytest.mark.parametrize(
    ("limit", "per", "burst"), [(1000, 60.0, None), (300, 10.0, None), (10, 1.0, 1), (5, 2.0, 4)]
)
def test_no_window_ever_holds_more_than_the_usable_share(
    limit: int, per: float, burst: int | None
) -> None:
    clock = FakeClock()
    budget = RateBudget(limit=limit, per=per, burst=burst, clock=clock)
    sent = drain(budget, clock, 4 * limit)
    assert window_counts(sent, per) <= budget.usable <= limit
    if limit >= 300:  # and the budget is used: over four windows, >= 95 % of the limit
        assert sum(1 for t in sent if t < clock.now + 4 * per) >= 0.95 * 4 * limit


def test_a_burst_goes_at_once_then_the_steady_rate() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=100, per=10.0, burst=3, margin=0.0, clock=clock)
    waits = [budget.acquire(math.inf) for _ in range(5)]
    interval = 10.0 / 97
    assert waits == pytest.approx([0.0, 0.0, 0.0, interval, 2 * interval])


def test_time_passing_frees_slots_but_never_banks_more_than_the_burst() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=100, per=10.0, burst=2, margin=0.0, clock=clock)
    clock.now += 3600
    assert [budget.acquire(0.0) for _ in range(3)] == [0.0, 0.0, None]


def test_a_wait_longer_than_max_wait_reserves_nothing() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=11, per=10.0, burst=1, margin=0.0, clock=clock)
    assert budget.acquire(0.0) == 0.0
    assert budget.acquire(0.5) is None  # the next slot is 1 s away
    assert budget.acquire(0.5) is None
    assert budget.acquire(1.0) == pytest.approx(1.0)  # still the first free slot
    assert budget.acquire(5.0) == pytest.approx(2.0)


def test_a_429_pushes_every_caller_back() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=100, per=10.0, burst=5, margin=0.0, clock=clock)
    assert budget.acquire(0.0) == 0.0
    budget.penalize(None)  # no Retry-After: the default penalty (1 s)
    assert budget.acquire(0.5) is None
    interval = budget.interval
    assert [budget.acquire(10.0) for _ in range(3)] == pytest.approx(
        [1.0, 1.0 + interval, 1.0 + 2 * interval]  # and no burst right after the pause
    )
    budget.penalize(4.0)  # the server's Retry-After
    assert budget.acquire(10.0) == pytest.approx(4.0)
    budget.penalize(3600.0)  # cut to one window
    assert budget.acquire(100.0) == pytest.approx(10.0)


def test_a_penalty_never_moves_the_schedule_earlier() -> None:
    schedule = GcraSchedule(interval=1.0, tolerance=0.0, penalty=1.0, max_pause=60.0)
    assert gcra_penalize(50.0, 10.0, schedule, 2.0) == 50.0
    assert gcra_penalize(5.0, 10.0, schedule, 2.0) == 12.0
    assert gcra_penalize(5.0, 10.0, schedule, float("nan")) == 11.0
    assert gcra_penalize(5.0, 10.0, schedule, -3.0) == 11.0


def test_the_pure_reservation() -> None:
    schedule = GcraSchedule(interval=2.0, tolerance=4.0, penalty=1.0, max_pause=60.0)
    assert gcra_reserve(-math.inf, 10.0, schedule, 0.0) == (0.0, 12.0)
    assert gcra_reserve(14.0, 10.0, schedule, 0.0) == (0.0, 16.0)
    assert gcra_reserve(16.0, 10.0, schedule, 1.0) == (None, 16.0)
    assert gcra_reserve(16.0, 10.0, schedule, 2.0) == (2.0, 18.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"limit": 0}, "limit must be an int >= 1"),
        ({"limit": 10.5}, "limit must be an int >= 1"),
        ({"limit": True}, "limit must be an int >= 1"),
        ({"per": 0}, "per must be a finite number > 0"),
        ({"per": float("inf")}, "per must be a finite number > 0"),
        ({"per": "60"}, "per must be a number, not str"),
        ({"margin": 1.0}, "margin must be a fraction"),
        ({"margin": -0.1}, "margin must be a fraction"),
        ({"limit": 1, "margin": 0.5}, "leaves no request after the safety margin"),
        ({"burst": 0}, "burst must be an int from 1 to 980"),
        ({"burst": 981}, "burst must be an int from 1 to 980"),
        ({"penalty": -1}, "penalty must be a finite number > 0"),
        ({"clock": 3}, "clock must be a callable"),
    ],
)
def test_bad_limits_are_configuration_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(authmatech.ConfigurationError, match=match):
        RateBudget(**kwargs)  # type: ignore[arg-type]


def test_the_protocols_and_the_nonblocking_marker() -> None:
    budget = RateBudget()
    assert isinstance(budget, SyncRateBudget)
    assert is_nonblocking(budget)
    assert not is_nonblocking(object())

    class Async:
        async def acquire(self, max_wait: float) -> float | None:
            return 0.0

        async def penalize(self, retry_after: float | None) -> None:
            return None

    assert isinstance(Async(), AsyncRateBudget)
    assert authmatech.RateBudget is RateBudget


def test_threads_share_one_schedule_without_losing_or_doubling_a_slot() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=1000, per=60.0, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [budget.acquire(math.inf) for _ in range(200)]
        with lock:
            waits.extend(w for w in mine if w is not None)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slots = sorted(round(w / budget.interval) for w in waits)
    burst = budget.burst
    assert len(slots) == 3200
    assert slots == [0] * burst + list(range(1, 3200 - burst + 1))


@pytest.mark.anyio
async def test_async_tasks_and_threads_share_it_at_once(anyio_backend: str) -> None:
    clock = FakeClock()
    budget = RateBudget(limit=100, per=10.0, burst=1, margin=0.0, clock=clock)
    waits: list[float | None] = []

    def in_thread() -> None:
        waits.extend(budget.acquire(math.inf) for _ in range(50))

    async def in_task() -> None:
        for _ in range(10):
            waits.append(budget.acquire(math.inf))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(in_task)
        tg.start_soon(anyio.to_thread.run_sync, in_thread)
    assert sorted(round(w / budget.interval) for w in waits if w is not None) == list(range(100))


def test_a_forked_child_never_inherits_the_lock_held() -> None:
    budget = RateBudget()
    budget._lock.get().acquire()  # a thread of the parent holds it when the process forks
    FORKS.bump()  # what the at-fork hook does in the child
    try:
        assert budget.acquire(1.0) == 0.0
        assert budget._lock.get() is budget._lock.get()
    finally:
        FORKS.value -= 1


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
