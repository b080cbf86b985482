"""What the sync and async Redis budgets share: the options, the numbers, the breaker, the
local share, the counters, the log lines and every decision. The two flavours add only the
Redis call and the sleep.

The decisions are sans-IO, like the clients' call flow: :meth:`FleetBudgetCore.acquiring` and
:meth:`FleetBudgetCore.penalizing` are generators that yield :class:`RunScript` (run the GCRA
script with these arguments; send back its integer answer, or the exception the Redis call
raised) and :class:`Pause` (sleep, then send back None), and return the protocol's answer.

Handing over between Redis and the local share, in either direction, keeps the slots already
promised: a slot granted by Redis may be seconds ahead (calls queue on the fleet's schedule),
and those calls still go out after Redis fails. So the local share starts no earlier than the
last slot Redis granted here, nor before the fleet's queue as last seen (the last wait granted,
counted from the first failure) has gone out; and when Redis answers again the first call (the
probe) holds the shared schedule back until the last slot the local share granted here.
Without this the server's window sees both at once: the queue that was promised, and a fresh
schedule.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, Literal, Union, cast

import attrs

from .._budget import RateBudget
from .._fork import ProcessLock
from .._repr import tolerant_repr
from ..errors import ConfigurationError
from ._breaker import CircuitBreaker
from ._keys import FleetKeys
from ._script import ACQUIRE, PENALIZE, script_args

__all__ = [
    "BudgetStats",
    "FleetBudgetCore",
    "OnRedisDown",
    "Pause",
    "RedisBudgetBase",
    "RunScript",
    "require",
]

logger = logging.getLogger("authmatech.fleet")

OnRedisDown = Literal["local", "wait", "fail"]
_POLICIES = ("local", "wait", "fail")


@attrs.frozen(slots=True, kw_only=True)
class BudgetStats:
    """What a Redis budget did since it was made (a snapshot; read with ``budget.stats()``).

    ``acquired``: slots granted (by Redis or, while it was unavailable, locally);
    ``waits`` / ``waited_seconds``: how many of them had to wait, and for how long in all;
    ``denied``: acquisitions refused because the wait would pass the call's deadline (the call
    failed before sending); ``penalties``: 429s reported by the clients (each pushed the fleet's
    schedule back); ``local``: slots granted by the local share while Redis was unavailable;
    ``redis_errors``: Redis calls that failed or timed out; ``circuit_opens``: times the budget
    went over to its ``on_redis_down`` policy; ``script_loads``: times the script had to be
    (re)loaded (the first use, a Redis restart, a ``SCRIPT FLUSH``).
    """

    acquired: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    denied: int = 0
    penalties: int = 0
    local: int = 0
    redis_errors: int = 0
    circuit_opens: int = 0
    script_loads: int = 0


class _Counters:
    __slots__ = ("_lock", "values")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, float] = dict.fromkeys(attrs.fields_dict(BudgetStats), 0)

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self.values[name] += amount

    def renew_lock(self) -> None:
        self._lock = threading.Lock()

    def snapshot(self) -> BudgetStats:
        with self._lock:
            values = dict(self.values)
        fields: dict[str, Any] = {
            name: value if name == "waited_seconds" else int(value)
            for name, value in values.items()
        }
        return BudgetStats(**fields)


@attrs.frozen(slots=True)
class RunScript:
    """Run the GCRA script with ``args``; send back its answer (an int) or the exception."""

    args: list[str]


@attrs.frozen(slots=True)
class Pause:
    """Sleep ``seconds`` (policy ``wait``, until the next probe); send back None."""

    seconds: float


Step = Union[RunScript, Pause]  # noqa: UP007 (a runtime alias on Python 3.10)
Decision = Generator[Step, Any, "float | None"]


def require(module: str, needed_by: str) -> Any:
    """Import ``module`` (redis or coredis), or say which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            f"{needed_by} needs {module}: pip install 'authmatech[redis]'"
        ) from None


def _number(name: str, value: object, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number, not {type(value).__name__}")
    number = float(value)
    if not (low < number <= high):
        bound = "" if high == math.inf else f" and <= {high:g}"
        raise ConfigurationError(f"{name} must be > {low:g}{bound}, not {value!r}")
    return number


class FleetBudgetCore:
    """The decisions around one Redis budget; the flavours call :meth:`args` to build a
    script call and report its outcome with :meth:`granted`, :meth:`redis_ok`,
    :meth:`redis_failed`."""

    def __init__(
        self,
        *,
        client_id: str,
        limit: int,
        per: float,
        margin: float,
        burst: int | None,
        penalty: float,
        local_share: float,
        on_redis_down: str,
        redis_timeout: float,
        failures_to_open: int,
        probe_every: float,
        key_prefix: str,
        clock: Callable[[], float] | None,
    ) -> None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise ConfigurationError(
                "client_id must be the account's client id (a non-empty str): the fleet's "
                "budget is per account"
            )
        if on_redis_down not in _POLICIES:
            raise ConfigurationError(
                f"on_redis_down must be one of 'local', 'wait', 'fail', not {on_redis_down!r}"
            )
        local_share = _number("local_share", local_share, low=0.0, high=1.0)
        self.redis_timeout = _number("redis_timeout", redis_timeout, low=0.0, high=60.0)
        probe_every = _number("probe_every", probe_every, low=0.0)
        if (
            isinstance(failures_to_open, bool)
            or not isinstance(failures_to_open, int)
            or failures_to_open < 1
        ):
            raise ConfigurationError(
                f"failures_to_open must be an int >= 1, not {failures_to_open!r}"
            )
        if not isinstance(key_prefix, str) or not key_prefix or "{" in key_prefix:
            raise ConfigurationError("key_prefix must be a non-empty str without '{' or '}'")
        clock = clock or time.monotonic
        #: The fleet's numbers (the in-process budget's, so both derive them alike).
        self.shared = RateBudget(limit, per, margin=margin, burst=burst, penalty=penalty)
        local_limit = max(1, math.floor(limit * local_share))
        #: The local share: an in-process budget on a fraction of the limit.
        self.local = RateBudget(
            local_limit,
            per,
            margin=margin if local_limit > 1 else 0.0,
            penalty=penalty,
            clock=clock,
        )
        self.interval = self.shared.interval
        self.tolerance = (self.shared.burst - 1) * self.interval
        self.penalty = penalty
        self.policy = cast(OnRedisDown, on_redis_down)
        self.keys = FleetKeys.of(client_id, key_prefix)
        self.breaker = CircuitBreaker(failures_to_open, probe_every, clock)
        self.clock = clock
        self.counters = _Counters()
        self._local_since_open = 0
        self._lock = ProcessLock()
        #: The latest moment (``clock``) of a slot Redis granted here / the local share granted.
        self._redis_horizon = -math.inf
        self._local_horizon = -math.inf
        #: The last wait Redis granted (the fleet's queue as last seen), until Redis fails.
        self._last_wait: float | None = None

    def acquiring(self, max_wait: float) -> Decision:
        """One ``acquire``: Redis decides while the breaker lets it; otherwise the policy."""
        start = self.clock()
        while True:
            left = max(max_wait - (self.clock() - start), 0.0)
            if self.breaker.allow():
                answer: object = None
                hold = self._local_horizon - self.clock() if self.breaker.is_open else 0.0
                if hold > 0.0:  # the probe: first hold the fleet behind the local share's slots
                    answer = yield RunScript(
                        script_args(PENALIZE, self.interval, self.tolerance, hold)
                    )
                if not isinstance(answer, BaseException):
                    answer = yield RunScript(self.acquire_args(left))
                if isinstance(answer, BaseException):
                    self.redis_failed(answer)
                else:
                    self.redis_ok()
                    return self.granted(int(cast(int, answer)))
            if self.policy == "local":
                return self.local_acquire(left)
            if self.policy == "fail":
                self.deny()
                return None
            pause = self.breaker.seconds_to_probe() or self.breaker.probe_every
            if pause > left:
                self.deny()
                return None
            yield Pause(pause)

    def penalizing(self, retry_after: float | None) -> Decision:
        """One ``penalize``: the local share always; Redis while the circuit is closed (an open
        circuit is probed by ``acquire`` alone, which hands the schedule back)."""
        self.penalized(retry_after)
        if self.breaker.is_open:
            return None
        answer = yield RunScript(self.penalize_args(retry_after))
        if isinstance(answer, BaseException):
            self.redis_failed(answer)
        else:
            self.redis_ok()
        return None

    def acquire_args(self, max_wait: float) -> list[str]:
        return script_args(ACQUIRE, self.interval, self.tolerance, max_wait)

    def penalize_args(self, retry_after: float | None) -> list[str]:
        return script_args(PENALIZE, self.interval, self.tolerance, self.pause(retry_after))

    def pause(self, retry_after: float | None) -> float:
        """How long a 429 stops the fleet: the server's ``Retry-After`` (at most one window)
        or the default penalty."""
        if retry_after is None or not retry_after >= 0.0:
            return self.penalty
        return min(retry_after, self.shared.per)

    def granted(self, micros: int) -> float | None:
        """The script's answer as the protocol's: seconds to wait, or None."""
        if micros < 0:
            self.counters.add("denied")
            logger.debug("fleet budget: no slot within the call's deadline")
            return None
        wait = micros / 1_000_000
        self._count_grant(wait)
        slot = self.clock() + wait
        with self._lock.get():
            self._last_wait = wait
            if slot > self._redis_horizon:
                self._redis_horizon = slot
        return wait

    def _count_grant(self, wait: float) -> None:
        self.counters.add("acquired")
        if wait > 0:
            self.counters.add("waits")
            self.counters.add("waited_seconds", wait)

    def local_acquire(self, max_wait: float) -> float | None:
        """A slot from the local share (Redis unavailable, policy ``local``), none before the
        last slot Redis granted here."""
        now = self.clock()
        behind = self._redis_horizon - now
        if behind > 0.0:
            self.local.penalize(behind)
        wait = self.local.acquire(max_wait)
        if wait is None:
            self.counters.add("denied")
            return None
        with self._lock.get():
            if now + wait > self._local_horizon:
                self._local_horizon = now + wait
        self.counters.add("local")
        self._local_since_open += 1
        self._count_grant(wait)
        return wait

    def deny(self) -> None:
        self.counters.add("denied")

    def penalized(self, retry_after: float | None) -> None:
        self.counters.add("penalties")
        self.local.penalize(retry_after)
        logger.info(
            "fleet budget: the server answered 429; every worker pauses %.3f s",
            self.pause(retry_after),
        )

    def script_loaded(self) -> None:
        self.counters.add("script_loads")
        logger.info("fleet budget: loaded the GCRA script into Redis (first use, restart or flush)")

    def redis_ok(self) -> None:
        closed_after = self.breaker.success()
        if closed_after is not None:
            logger.info(
                "fleet budget: Redis answers again after %.1f s; back on the shared budget "
                "(%d slots were granted locally meanwhile)",
                closed_after,
                self._local_since_open,
            )
            self._local_since_open = 0

    def redis_failed(self, error: BaseException) -> None:
        self.counters.add("redis_errors")
        with self._lock.get():
            # The fleet's queue, as last seen, still goes out from now: other processes' slots
            # may lie beyond this one's last (they take turns in blocks when all are busy).
            if self._last_wait is not None:
                self._redis_horizon = max(self._redis_horizon, self.clock() + self._last_wait)
                self._last_wait = None
        if self.breaker.failure():
            self.counters.add("circuit_opens")
            logger.warning(
                "fleet budget: Redis is unavailable (%s: %s); %s until it answers "
                "(a probe every %.1f s)",
                type(error).__name__,
                str(error)[:200],
                self._policy_text(),
                self.breaker.probe_every,
            )
        else:
            logger.debug("fleet budget: Redis call failed (%s)", type(error).__name__)

    def _policy_text(self) -> str:
        if self.policy == "local":
            return (
                f"this process uses a local share of {self.local.limit} requests per "
                f"{self.local.per:g} s"
            )
        if self.policy == "wait":
            return "calls wait for Redis (within their deadline)"
        return "calls fail before sending"

    def stats(self) -> BudgetStats:
        return self.counters.snapshot()

    def after_fork(self) -> None:
        """In a forked child: fresh locks (a parent's thread may have held one at the fork)."""
        self.counters.renew_lock()
        self.breaker = CircuitBreaker(self.breaker.threshold, self.breaker.probe_every, self.clock)


@tolerant_repr
class RedisBudgetBase:
    """The options and the read-only face that both flavours share; each adds its Redis
    client check (:meth:`_accept`) and its ``acquire`` / ``penalize``."""

    __slots__ = ("_core", "_owns_redis", "_redis", "_sleep")

    def __init__(
        self,
        redis: Any,
        *,
        client_id: str,
        limit: int = 1000,
        per: float = 60.0,
        margin: float = 0.02,
        burst: int | None = None,
        penalty: float = 1.0,
        local_share: float = 0.1,
        on_redis_down: str = "local",
        redis_timeout: float = 0.5,
        failures_to_open: int = 3,
        probe_every: float = 1.0,
        key_prefix: str = "authmatech",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self._core = FleetBudgetCore(
            client_id=client_id,
            limit=limit,
            per=per,
            margin=margin,
            burst=burst,
            penalty=penalty,
            local_share=local_share,
            on_redis_down=on_redis_down,
            redis_timeout=redis_timeout,
            failures_to_open=failures_to_open,
            probe_every=probe_every,
            key_prefix=key_prefix,
            clock=clock,
        )
        self._owns_redis = isinstance(redis, str)
        self._redis = self._accept(redis)
        self._sleep = sleep or self._default_sleep()

    def _accept(self, redis: Any) -> Any:
        raise NotImplementedError

    def _default_sleep(self) -> Callable[[float], Any]:
        raise NotImplementedError

    @property
    def limit(self) -> int:
        """The account's limit, in requests per :attr:`per` seconds."""
        return self._core.shared.limit

    @property
    def per(self) -> float:
        """The server's window, in seconds."""
        return self._core.shared.per

    @property
    def usable(self) -> int:
        """The most requests the whole fleet sends in any window (the limit less the margin)."""
        return self._core.shared.usable

    @property
    def key(self) -> str:
        """The Redis key that holds the schedule."""
        return self._core.keys.budget

    def stats(self) -> BudgetStats:
        """What the budget did so far (a snapshot)."""
        return self._core.stats()

    def after_fork(self) -> None:
        """In a forked child: fresh locks; the schedule stays in Redis."""
        self._core.after_fork()

    def __repr__(self) -> str:
        shared = self._core.shared
        return (
            f"{type(self).__name__}(key={self.key!r}, limit={shared.limit}, per={shared.per:g}, "
            f"usable={shared.usable}, on_redis_down={self._core.policy!r})"
        )
