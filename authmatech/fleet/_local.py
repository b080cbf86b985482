"""The fleet's numbers and its local share: GCRA inside one process.

Derives the schedule from the account's limits exactly as the in-process budget does (a safety
margin of the limit never used, a burst, then even spacing, so that any window of ``per``
seconds holds at most the usable number), and serves the local share of the limit while Redis
is unavailable. Thread-safe; never blocks.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ..errors import ConfigurationError

__all__ = ["LocalShare"]


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number, not {type(value).__name__}")
    number = float(value)
    if not (number > 0 and math.isfinite(number)):
        raise ConfigurationError(f"{name} must be a finite number > 0, not {value!r}")
    return number


class LocalShare:
    """At most ``limit`` requests in any ``per`` seconds, less the margin, in this process."""

    __slots__ = ("_clock", "_lock", "_tat", "burst", "interval", "limit", "penalty", "per",
                 "tolerance", "usable")  # fmt: skip

    def __init__(
        self,
        limit: int,
        per: float,
        *,
        margin: float = 0.02,
        burst: int | None = None,
        penalty: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError(
                f"limit must be an int >= 1 (requests per window), not {limit!r}"
            )
        self.per = _positive("per", per)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
            raise ConfigurationError(f"margin must be a fraction from 0 to 1, not {margin!r}")
        self.penalty = _positive("penalty", penalty)
        usable = limit - (math.ceil(limit * margin) if margin > 0 else 0)
        if usable < 1:
            raise ConfigurationError(
                f"limit={limit} leaves no request after the safety margin ({margin:g}); "
                "raise the limit or pass a smaller margin"
            )
        if burst is None:
            burst = max(1, min(usable, limit // 50))
        elif isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= usable:
            raise ConfigurationError(
                f"burst must be an int from 1 to {usable} (the limit less the safety margin), "
                f"not {burst!r}"
            )
        steps = usable - burst
        self.limit = limit
        self.usable = usable
        self.burst = burst
        self.interval = self.per / steps if steps else self.per * 1.000001
        self.tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._lock = threading.Lock()
        self._tat = -math.inf

    def acquire(self, max_wait: float) -> float | None:
        with self._lock:
            now = self._clock()
            start = self._tat if self._tat > now else now
            wait = max(0.0, start - self.tolerance - now)
            if wait > max_wait:
                return None
            self._tat = start + self.interval
        return wait

    def penalize(self, retry_after: float | None) -> None:
        pause = (
            self.penalty
            if retry_after is None or not retry_after >= 0.0
            else min(retry_after, self.per)
        )
        with self._lock:
            pushed = self._clock() + pause + self.tolerance
            if pushed > self._tat:
                self._tat = pushed

    def renew_lock(self) -> None:
        self._lock = threading.Lock()
