"""Account rate budgets: pace every attempt so the account stays under the API's limit.

The API admits ``limit`` requests per ``per`` seconds per client id, counted by the server over
a sliding window, answers 429 beyond it and queues nothing. A budget is an object the
application creates and passes to one or many clients (``rate_budget=``); the client asks it
for a slot before **every** attempt, retries included, sleeps the delay it is given with its
own (cancellable) sleep, counts that wait against the call's deadline, and reports every 429
with :meth:`penalize` so that the shared schedule moves back for every caller.

Two protocols, one per driver:

* :class:`SyncRateBudget` for :class:`authmatech.Client`;
* :class:`AsyncRateBudget` for :class:`authmatech.AsyncClient`.

A budget whose sync methods never block (they only do a few microseconds of bookkeeping under a
lock, like :class:`RateBudget`) says so with the class attribute ``nonblocking = True``; such a
budget serves both clients, and the async client calls its sync methods directly on the event
loop. A sync budget without that marker (one that does I/O, e.g. on Redis) is refused by the
async client with a :class:`~authmatech.ConfigurationError`: use its async flavour there.

:class:`RateBudget` is the in-process budget: GCRA (the generic cell rate algorithm), one float
of state, no background task or thread, safe under threads, asyncio and trio at once. Its
decisions are the pure functions :func:`gcra_reserve` and :func:`gcra_penalize`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import ClassVar, Protocol, runtime_checkable

import attrs

from ._fork import ProcessLock
from ._repr import tolerant_repr
from .errors import ConfigurationError

__all__ = [
    "AsyncRateBudget",
    "GcraSchedule",
    "RateBudget",
    "SyncRateBudget",
    "gcra_penalize",
    "gcra_reserve",
    "is_nonblocking",
]


@runtime_checkable
class SyncRateBudget(Protocol):
    """What :class:`authmatech.Client` needs from a rate budget."""

    def acquire(self, max_wait: float) -> float | None:
        """Reserve one request slot for one attempt (retries included).

        Returns the seconds the caller must wait before sending (0.0: send now), or None when
        no slot can be had within ``max_wait`` seconds; then nothing is reserved and the client
        raises a library error *before sending* (nothing billed). Never sleeps itself and
        never blocks for longer than one short bookkeeping step (a Redis budget: one round trip
        with a short timeout).
        """
        ...

    def penalize(self, retry_after: float | None) -> None:
        """The server answered 429: push the shared schedule back for every caller of this
        budget (by ``retry_after`` seconds when the server gave it)."""
        ...


@runtime_checkable
class AsyncRateBudget(Protocol):
    """What :class:`authmatech.AsyncClient` needs from a rate budget (see
    :class:`SyncRateBudget` for the meaning of each method)."""

    async def acquire(self, max_wait: float) -> float | None: ...

    async def penalize(self, retry_after: float | None) -> None: ...


def is_nonblocking(budget: object) -> bool:
    """Whether ``budget``'s sync methods may be called on an event loop (``nonblocking = True``
    on its class: they never wait on I/O, only on a lock held for microseconds)."""
    return getattr(type(budget), "nonblocking", False) is True


@attrs.frozen(slots=True)
class GcraSchedule:
    """The fixed numbers of a GCRA budget, derived once from the user's limits.

    ``interval``: the seconds between two slots at the steady rate; ``tolerance``: how far ahead
    of the schedule a caller may go (``(burst - 1) * interval``); ``penalty``: how long every
    caller stops after a 429 that carried no ``Retry-After``; ``max_pause``: the longest
    ``Retry-After`` that is honoured (a longer one is cut to it).
    """

    interval: float
    tolerance: float
    penalty: float
    max_pause: float


def gcra_reserve(
    tat: float, now: float, schedule: GcraSchedule, max_wait: float
) -> tuple[float | None, float]:
    """One reservation: ``(wait, new_tat)``.

    ``tat`` is the theoretical arrival time of the next slot. The slot is free at
    ``max(tat, now) - tolerance``; the caller waits until then. If that wait is longer than
    ``max_wait``, the answer is ``(None, tat)``: nothing is reserved.
    """
    start = tat if tat > now else now
    wait = start - schedule.tolerance - now
    if wait <= 0.0:
        wait = 0.0
    elif wait > max_wait:
        return None, tat
    return wait, start + schedule.interval


def gcra_penalize(
    tat: float, now: float, schedule: GcraSchedule, retry_after: float | None
) -> float:
    """The schedule after a 429: no slot before ``now + pause`` and no burst after it, where
    ``pause`` is the server's ``Retry-After`` (at most ``max_pause``) or the default penalty.
    The schedule never moves earlier."""
    if retry_after is None or not retry_after >= 0.0:
        pause = schedule.penalty
    else:
        pause = min(retry_after, schedule.max_pause)
    pushed = now + pause + schedule.tolerance
    return pushed if pushed > tat else tat


def _positive_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"RateBudget {name} must be a number, not {type(value).__name__}")
    number = float(value)
    if not (number > 0 and math.isfinite(number)):
        raise ConfigurationError(f"RateBudget {name} must be a finite number > 0, not {value!r}")
    return number


@tolerant_repr
class RateBudget:
    """The account's request budget inside one process: at most ``limit`` requests in any
    ``per`` seconds, minus a safety margin.

    >>> budget = authmatech.RateBudget(limit=1000, per=60.0)   # the API's default plan
    >>> client = authmatech.Client(rate_budget=budget)          # or AsyncClient, or several

    How it stays under the server's sliding window, in the worst case: ``margin`` (2 % by
    default, at least one request) of the limit is never used, so that jitter between the
    client's clock and the moment the server counts a request cannot push a window over; of
    the rest (the *usable* requests), ``burst`` may go at once and the others are spaced
    evenly, so that any window of ``per`` seconds holds at most the usable number. With the
    defaults, ``limit=1000, per=60`` allows a burst of 20 and then one request every 62.5 ms
    (960 a minute at the steady rate, at most 980 in any minute).

    A 429 stops every caller of the budget for the server's ``Retry-After`` (at most ``per``
    seconds) or, without it, for ``penalty`` seconds (1 s, as the API's docs advise).

    The budget counts one process. Processes that share an account (prefork workers, several
    machines) each need a share of the limit (``limit=1000 // workers``) or a shared budget on
    Redis (a forked child keeps the schedule it inherited, with a lock of its own). It is
    thread-safe and never blocks: the same object may serve ``Client`` and
    ``AsyncClient`` instances, in threads, under asyncio and trio at once. ``clock`` (a
    monotonic clock in seconds) is injectable for tests.
    """

    nonblocking: ClassVar[bool] = True

    __slots__ = ("_clock", "_limit", "_lock", "_per", "_schedule", "_tat", "_usable", "burst")
    burst: int
    """How many requests may go at once before the spacing applies."""

    def __init__(
        self,
        limit: int = 1000,
        per: float = 60.0,
        *,
        margin: float = 0.02,
        burst: int | None = None,
        penalty: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError(
                f"RateBudget limit must be an int >= 1 (requests per window), not {limit!r}"
            )
        per = _positive_number("per", per)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
            raise ConfigurationError(
                f"RateBudget margin must be a fraction of the limit from 0 to 1, not {margin!r}"
            )
        penalty = _positive_number("penalty", penalty)
        if not callable(clock):
            raise ConfigurationError("RateBudget clock must be a callable returning seconds")
        reserve = math.ceil(limit * margin) if margin > 0 else 0
        usable = limit - reserve
        if usable < 1:
            raise ConfigurationError(
                f"RateBudget limit={limit} leaves no request after the safety margin "
                f"({margin:g}); raise the limit or pass a smaller margin"
            )
        if burst is None:
            burst = max(1, min(usable, limit // 50))
        elif isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= usable:
            raise ConfigurationError(
                f"RateBudget burst must be an int from 1 to {usable} (the limit less the safety "
                f"margin), not {burst!r}"
            )
        steps = usable - burst
        # Any window of ``per`` seconds, both ends included, then holds at most ``burst +
        # floor(per / interval) == usable`` slots. When the burst is the whole usable share,
        # the interval is a hair longer than ``per`` (beyond float rounding).
        interval = per / steps if steps else per * 1.000001
        self._limit = limit
        self._per = per
        self._usable = usable
        self.burst = burst
        self._schedule = GcraSchedule(
            interval=interval,
            tolerance=(burst - 1) * interval,
            penalty=penalty,
            max_pause=per,
        )
        self._clock = clock
        self._lock = ProcessLock()
        self._tat = -math.inf

    @property
    def limit(self) -> int:
        """The account's limit, in requests per :attr:`per` seconds."""
        return self._limit

    @property
    def per(self) -> float:
        """The server's window, in seconds."""
        return self._per

    @property
    def usable(self) -> int:
        """The most requests this budget lets through in any window (the limit less the
        safety margin)."""
        return self._usable

    @property
    def interval(self) -> float:
        """Seconds between two requests at the steady rate."""
        return self._schedule.interval

    def acquire(self, max_wait: float) -> float | None:
        """Reserve a slot: the seconds to wait before sending, or None (nothing reserved)
        when the slot is further away than ``max_wait`` seconds."""
        schedule = self._schedule
        with self._lock.get():
            wait, self._tat = gcra_reserve(self._tat, self._clock(), schedule, max_wait)
        return wait

    def penalize(self, retry_after: float | None) -> None:
        """The server answered 429: no caller of this budget sends before the pause is over."""
        schedule = self._schedule
        with self._lock.get():
            self._tat = gcra_penalize(self._tat, self._clock(), schedule, retry_after)

    def __repr__(self) -> str:
        return (
            f"RateBudget(limit={self._limit}, per={self._per:g}, usable={self._usable}, "
            f"burst={self.burst}, interval={self._schedule.interval * 1000:.1f} ms)"
        )
