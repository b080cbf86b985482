"""A circuit breaker for the budget's Redis calls (sans-IO: the caller reports each outcome).

Closed: every call goes to Redis. After ``failures`` failures in a row it opens: calls are
served without Redis, and one caller every ``probe_every`` seconds tries Redis again (the
probe). The first success closes it. Thread-safe; the lock is held for a few instructions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    __slots__ = (
        "_clock",
        "_failures",
        "_lock",
        "_next_probe",
        "_open",
        "_opened_at",
        "_run",
        "probe_every",
        "threshold",
    )

    def __init__(self, threshold: int, probe_every: float, clock: Callable[[], float]) -> None:
        self.threshold = threshold
        self.probe_every = probe_every
        self._clock = clock
        self._lock = threading.Lock()
        self._run = 0
        self._open = False
        self._opened_at = 0.0
        self._next_probe = 0.0

    @property
    def is_open(self) -> bool:
        return self._open

    def allow(self) -> bool:
        """Whether this call may try Redis: always while closed; while open, one caller per
        ``probe_every`` seconds."""
        if not self._open:
            return True
        now = self._clock()
        with self._lock:
            if now < self._next_probe:
                return False
            self._next_probe = now + self.probe_every
            return True

    def success(self) -> float | None:
        """Redis answered. Returns how long the circuit was open when this closes it."""
        with self._lock:
            self._run = 0
            if not self._open:
                return None
            self._open = False
            return self._clock() - self._opened_at

    def failure(self) -> bool:
        """A Redis call failed. Returns True when this failure opens the circuit."""
        now = self._clock()
        with self._lock:
            self._run += 1
            if self._open:
                self._next_probe = now + self.probe_every
                return False
            if self._run < self.threshold:
                return False
            self._open = True
            self._opened_at = now
            self._next_probe = now + self.probe_every
            return True

    def seconds_to_probe(self) -> float:
        """While open, the seconds until the next probe may run (0 when closed)."""
        if not self._open:
            return 0.0
        return max(0.0, self._next_probe - self._clock())
