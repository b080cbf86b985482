"""How a client notices that it now runs in a forked child process.

A connection pool belongs to one process: a child that kept using the parent's pooled sockets
would read the parent's answers (and the parent the child's). Each client records the number
of forks its process has seen when it made its pool; the count differs in a child, and the
client then opens a fresh pool before its next request.

The count is the one piece of process-wide state in the library, because a fork is a
process-wide event: it is bumped only by the ``os.register_at_fork`` hook below, in the
child, and never by the library or an application. The alternatives cost more: ``os.getpid()``
per call is a system call (2 µs measured on the project's machine, a fifth of a whole
in-memory verify), and one fork hook per client would grow without bound, since hooks cannot
be unregistered and applications that create a client per request exist.
"""

from __future__ import annotations

import os
import threading
from typing import Final

__all__ = ["FORKS", "ForkCount", "ProcessLock"]


class ForkCount:
    """How many times this process's ancestry has forked since ``import authmatech``."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        self.value += 1


FORKS: Final = ForkCount()

if hasattr(os, "register_at_fork"):  # every POSIX CPython; Windows has no fork
    os.register_at_fork(after_in_child=FORKS.bump)


class ProcessLock:
    """A ``threading.Lock`` that a forked child never inherits held.

    A lock that another thread of the parent held at the fork stays held forever in the child
    (that thread does not exist there). :meth:`get` returns this process's lock: in a child, a
    fresh one, the same for all its threads.
    """

    __slots__ = ("_by_count", "_count", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = FORKS.value
        self._by_count: dict[int, threading.Lock] = {}

    def get(self) -> threading.Lock:
        if self._count == FORKS.value:
            return self._lock
        count = FORKS.value
        # setdefault is atomic: threads of the child that race here all get the same lock.
        by_count = self._by_count
        lock = by_count.setdefault(count, threading.Lock())
        self._lock = lock
        self._count = count
        self._by_count = {count: lock}
        return lock
