"""``rate_budget=``: every attempt is paced, waits count against the deadline, 429s are shared."""

from __future__ import annotations

import math
from typing import Any

import anyio
import httpx
import pytest

import authmatech
from authmatech.core import Clock

from .conftest import API_KEY, NUMBER, Script, failure, make_async, make_sync, ok

RATE_LIMITED = failure(429, "Rate limit exceeded.", "TOO_MANY_REQUESTS")


class FakeTime:
    """A monotonic clock that moves only when slept through, and the sleeps that move it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, wall=lambda: 1.7e9 + self.now, random=lambda: 0.5)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Recording:
    """A sync budget that answers from a list and records what the client asked."""

    def __init__(self, *waits: float | None) -> None:
        self.waits = list(waits)
        self.asked: list[float] = []
        self.penalties: list[float | None] = []

    def acquire(self, max_wait: float) -> float | None:
        self.asked.append(max_wait)
        return self.waits.pop(0) if self.waits else 0.0

    def penalize(self, retry_after: float | None) -> None:
        self.penalties.append(retry_after)


class NonBlocking(Recording):
    nonblocking = True


class AsyncRecording:
    def __init__(self, *waits: float | None) -> None:
        self.inner = Recording(*waits)

    async def acquire(self, max_wait: float) -> float | None:
        await anyio.lowlevel.checkpoint()
        return self.inner.acquire(max_wait)

    async def penalize(self, retry_after: float | None) -> None:
        self.inner.penalize(retry_after)


def sync_client(script: Script, time: FakeTime, budget: Any, **options: Any) -> authmatech.Client:
    return make_sync(script, clock=time.clock(), sleep=time.sleep, rate_budget=budget, **options)


def async_client(
    script: Script, time: FakeTime, budget: Any, **options: Any
) -> authmatech.AsyncClient:
    return make_async(script, clock=time.clock(), sleep=time.asleep, rate_budget=budget, **options)


def timeout_of(request: httpx.Request) -> dict[str, float]:
    return request.extensions["timeout"]  # type: ignore[no-any-return]


def test_every_attempt_is_paced_retries_included_and_429s_are_reported() -> None:
    time = FakeTime()
    limited = failure(429, "Rate limit exceeded.", "TOO_MANY_REQUESTS", **{"Retry-After": "2"})
    script = Script(limited, RATE_LIMITED, ok({"validNumber": True}))
    budget = Recording(0.0, 0.5, 0.25)
    client = sync_client(script, time, budget, timeout=authmatech.Timeout(total=30.0))
    assert client.verify(NUMBER, "BLOB").valid_number
    assert script.count == 3
    assert len(budget.asked) == 3
    assert budget.penalties == [2.0, None]
    # the budget's waits and the retry backoffs (2 s from Retry-After, then 2 s doubling)
    assert time.sleeps == [2.0, 0.5, 2.0, 0.25]
    assert budget.asked[0] == pytest.approx(30.0)


def test_the_wait_counts_against_the_deadline() -> None:
    time = FakeTime()
    script = Script(ok({"validNumber": True}))
    client = sync_client(script, time, Recording(7.5), timeout=authmatech.Timeout(total=10.0))
    client.verify(NUMBER, "BLOB")
    assert time.sleeps == [7.5]
    assert all(value <= 2.5 for value in timeout_of(script.requests[0]).values())


@pytest.mark.parametrize("kind", ["sync", "nonblocking", "async"])
@pytest.mark.anyio
async def test_async_client_paces_and_reports(kind: str) -> None:
    time = FakeTime()
    script = Script(RATE_LIMITED, ok({"validNumber": True}))
    budget: Any
    if kind == "async":
        budget = AsyncRecording(0.0, 3.0)
        recorded = budget.inner
    elif kind == "nonblocking":
        budget = recorded = NonBlocking(0.0, 3.0)
    else:
        budget = recorded = authmatech.RateBudget(limit=60, per=60.0, burst=1, margin=0.0)
    client = async_client(script, time, budget, timeout=authmatech.Timeout(total=30.0))
    assert (await client.verify(NUMBER, "BLOB")).valid_number
    assert script.count == 2
    if isinstance(recorded, Recording):
        assert recorded.penalties == [None]
        assert time.sleeps == [1.0, 3.0]


def test_no_slot_before_the_deadline_fails_before_sending() -> None:
    time = FakeTime()
    script = Script(ok({"validNumber": True}))
    client = sync_client(script, time, Recording(None), timeout=authmatech.Timeout(total=5.0))
    with pytest.raises(authmatech.RateBudgetTimeoutError) as info:
        client.verify(NUMBER, "BLOB")
    assert script.count == 0
    assert info.value.maybe_processed is False
    assert isinstance(info.value, authmatech.APITimeoutError)
    assert "nothing was sent" in str(info.value)
    assert info.value.max_wait == pytest.approx(5.0)


@pytest.mark.anyio
async def test_async_no_slot_before_the_deadline_fails_before_sending() -> None:
    time = FakeTime()
    script = Script(ok({"validNumber": True}))
    budget = authmatech.RateBudget(limit=2, per=60.0, burst=1, margin=0.0, clock=time.monotonic)
    client = async_client(script, time, budget, timeout=authmatech.Timeout(total=5.0))
    await client.verify(NUMBER, "BLOB")  # the slot now; the next is 60 s away
    with pytest.raises(authmatech.RateBudgetTimeoutError):
        await client.verify(NUMBER, "BLOB")
    assert script.count == 1


def test_a_429_seen_by_one_client_holds_back_every_client_of_the_budget() -> None:
    time = FakeTime()
    budget = authmatech.RateBudget(limit=600, per=60.0, clock=time.monotonic)
    first = sync_client(Script(RATE_LIMITED), time, budget, max_retries=0)
    second_script = Script(ok({"validNumber": True}))
    second = sync_client(second_script, time, budget)
    with pytest.raises(authmatech.RateLimitError):
        first.verify(NUMBER, "BLOB")
    time.sleeps.clear()
    second.verify(NUMBER, "BLOB")
    assert time.sleeps == [pytest.approx(1.0)]  # the default penalty, not this client's 429


def test_derived_clients_share_the_budget() -> None:
    time = FakeTime()
    budget = authmatech.RateBudget(limit=11, per=10.0, burst=1, margin=0.0, clock=time.monotonic)
    script = Script(ok({"validNumber": True}))
    client = sync_client(script, time, budget)
    derived = client.with_options(timeout=20.0)
    client.verify(NUMBER, "BLOB")
    derived.verify(NUMBER, "BLOB")
    client.verify(NUMBER, "BLOB")
    assert time.sleeps == pytest.approx([1.0, 1.0])


def test_no_budget_by_default() -> None:
    client = make_sync(Script())
    assert client._budget is None


@pytest.mark.anyio
async def test_a_budget_wait_is_cancellable() -> None:
    script = Script(ok({"validNumber": True}))
    client = make_async(script, sleep=anyio.sleep, rate_budget=NonBlocking(3600.0), timeout=7200)
    with anyio.move_on_after(0.05) as scope:
        await client.verify(NUMBER, "BLOB")
    assert scope.cancelled_caught
    assert script.count == 0


class NotABudget:
    def acquire(self) -> None: ...


@pytest.mark.parametrize(
    ("budget", "asynchronous", "match"),
    [
        (object(), False, "rate_budget must be a rate budget with acquire"),
        (3, True, "rate_budget must be a rate budget with acquire"),
        (AsyncRecording(), False, "is an async budget; authmatech.Client needs a sync one"),
        (Recording(), True, "is a blocking sync budget and would stall the event loop"),
    ],
)
def test_wrong_budgets_are_configuration_errors(
    budget: object, asynchronous: bool, match: str
) -> None:
    make = make_async if asynchronous else make_sync
    with pytest.raises(authmatech.ConfigurationError, match=match):
        make(Script(), rate_budget=budget)


def test_a_real_budget_paces_a_sync_client_in_steady_slots() -> None:
    time = FakeTime()
    budget = authmatech.RateBudget(limit=100, per=10.0, clock=time.monotonic)
    script = Script(ok({"validNumber": True}))
    client = sync_client(script, time, budget)
    for _ in range(50):
        client.verify(NUMBER, "BLOB")
    assert script.count == 50
    assert len(time.sleeps) == 50 - budget.burst
    assert math.isclose(sum(time.sleeps), (50 - budget.burst) * budget.interval)


class RotatingDuringWaits(FakeTime):
    """A clock whose every sleep of the budget's wait moves the application's key on: a key
    rotated (here or by another worker of a fleet) while a call queued on the budget."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = iter(f"ak_live_rotated_{n:04d}" for n in range(1, 100))
        self.key = "ak_live_before_the_wait"

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.key = next(self.keys)

    def provider(self) -> str:
        return self.key


def test_an_attempt_reads_the_key_after_its_budget_wait() -> None:
    time = RotatingDuringWaits()
    script = Script(ok({"validNumber": True}))
    client = sync_client(script, time, Recording(2.0), api_key=time.provider)
    client.verify(NUMBER, "BLOB")
    assert time.sleeps == [2.0]
    assert script.requests[0].headers["x-api-key"] == "ak_live_rotated_0001"


def test_a_static_key_swapped_during_the_wait_is_the_one_sent() -> None:
    time = FakeTime()
    script = Script(ok({"validNumber": True}))
    client: authmatech.Client

    def sleep(seconds: float) -> None:
        time.sleep(seconds)
        client._keys.swap_api_key(authmatech.Secret("ak_live_swapped_during_the_wait"))

    client = make_sync(script, clock=time.clock(), sleep=sleep, rate_budget=Recording(1.0))
    client.verify(NUMBER, "BLOB")
    assert script.requests[0].headers["x-api-key"] == "ak_live_swapped_during_the_wait"


@pytest.mark.anyio
async def test_async_an_attempt_reads_the_key_after_its_budget_wait() -> None:
    time = RotatingDuringWaits()

    async def provider() -> str:
        await anyio.lowlevel.checkpoint()
        return time.key

    script = Script(RATE_LIMITED, ok({"validNumber": True}))
    budget = AsyncRecording(1.5, 0.5)
    client = async_client(script, time, budget, api_key=provider)
    assert (await client.verify(NUMBER, "BLOB")).valid_number
    assert time.sleeps == [1.5, 1.0, 0.5]  # wait, the 429's penalty backoff, wait
    assert [r.headers["x-api-key"] for r in script.requests] == [
        "ak_live_rotated_0001",
        "ak_live_rotated_0003",
    ]


def test_a_401_resend_with_a_newer_key_waits_for_its_slot_first() -> None:
    time = RotatingDuringWaits()
    unauthorized = failure(401, "Invalid API key.", "UNAUTHORIZED")

    def rotated_meanwhile(request: httpx.Request) -> httpx.Response:
        time.key = "ak_live_rotated_by_another_worker"
        return unauthorized

    script = Script(rotated_meanwhile, ok({"validNumber": True}))
    budget = Recording(1.0, 1.0)
    client = sync_client(script, time, budget, api_key=time.provider)
    assert client.verify(NUMBER, "BLOB").valid_number
    assert len(budget.asked) == 2
    assert [r.headers["x-api-key"] for r in script.requests] == [
        "ak_live_rotated_0001",
        "ak_live_rotated_0002",
    ]


def test_a_401_with_the_key_unchanged_takes_no_second_slot() -> None:
    time = FakeTime()
    unauthorized = failure(401, "Invalid API key.", "UNAUTHORIZED")
    script = Script(unauthorized)
    budget = Recording(0.0, 0.0)
    client = sync_client(script, time, budget, api_key=lambda: API_KEY)
    with pytest.raises(authmatech.AuthenticationError):
        client.verify(NUMBER, "BLOB")
    assert script.count == 1
    assert len(budget.asked) == 1


def test_a_wait_taken_before_the_credentials_still_shortens_the_deadline() -> None:
    time = FakeTime()
    script = Script(ok({"validNumber": True}))
    client = sync_client(
        script,
        time,
        Recording(7.5),
        api_key=lambda: API_KEY,
        timeout=authmatech.Timeout(total=10.0),
    )
    client.verify(NUMBER, "BLOB")
    assert all(value <= 2.5 for value in timeout_of(script.requests[0]).values())
