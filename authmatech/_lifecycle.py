"""A client's connection pool belongs to one process and, for ``AsyncClient``, one event loop.

:class:`Pool` holds what a client and every client derived from it share, and replaces it
when the process or the loop it belongs to is not the one running. Two levels use it: the
client holds its transport in one, and the library's httpx-family transports hold their HTTP
library client in one (so a transport passed as ``transport=`` follows the same rules, and the
client's own transport serves it for life, keeping one TLS context per process):

* **After a fork** (:func:`authmatech._fork.FORKS` moved) the child opens a pool of its own.
  The parent's pooled connections are left untouched, never closed or shut down from the
  child: that could send a TLS ``close_notify`` or an HTTP/2 ``GOAWAY`` on the parent's
  sockets, or wait forever on a lock that a thread of the parent held at the fork. The child
  keeps them referenced, so that no garbage collection closes them with a warning.
* **On another event loop** (``asyncio.run()`` once per job; asyncio then trio) the client
  opens a pool on the new loop. The old loop's pool was closed while that loop still ran: when
  the pool is opened, a guard is left on its loop (an async generator that asyncio's
  ``shutdown_asyncgens`` closes, or a system task that trio cancels at the end of its run),
  and the guard closes the pool on its way out. No warning, no leaked socket.

What the library cannot reset it refuses, with a :class:`~authmatech.ConfigurationError` that
says what to do: a caller's ``http_client`` in a forked child or on a new loop, and one client
used by two event loops that run at the same time (in two threads).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncGenerator, Callable
from typing import Any, Generic, TypeVar

from ._fork import FORKS, ProcessLock
from .errors import ConfigurationError

__all__ = ["Pool", "running_loop"]

TransportT = TypeVar("TransportT")


def running_loop() -> object | None:
    """The running event loop (asyncio's loop, or trio's run token), or None.

    Looked up, never imported: if asyncio or trio is not imported, nothing runs on it.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        loop: object | None = asyncio._get_running_loop()
        if loop is not None:
            return loop
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            token: object = trio.lowlevel.current_trio_token()
        except RuntimeError:
            return None
        return token
    return None


def _loop_alive(loop: object) -> bool:
    """Whether ``loop`` still runs (then in another thread: this thread runs another loop)."""
    is_running = getattr(loop, "is_running", None)
    if is_running is not None:
        return bool(is_running())
    import trio

    try:
        loop.run_sync_soon(_nothing)  # type: ignore[attr-defined]
    except trio.RunFinishedError:
        return False
    return True


def _nothing() -> None:
    return None


async def _close_with_asyncio_loop(transport: Any) -> AsyncGenerator[None, None]:
    """Parked at its ``yield`` until the loop shuts its async generators down (as
    ``asyncio.run()`` does), or until the pool is dropped: then it closes the transport."""
    try:
        yield
    finally:
        await transport.aclose()


async def _close_with_trio_run(transport: Any) -> None:
    import trio

    try:
        await trio.sleep_forever()
    finally:
        # shielded, and quiet: a system task must not crash the run over a close
        with trio.CancelScope(shield=True), contextlib.suppress(Exception):
            await transport.aclose()


class Pool(Generic[TransportT]):
    """The transport of one client and its derived clients, for this process and loop (or,
    inside a transport, the HTTP library's client it sends with: ``owner`` then names the
    transport in the errors).

    ``factory`` makes a new transport for a new process or loop. Without it the transport is
    told about a fork through its ``after_fork()`` method if it has one, and follows loops
    itself: so does a caller's (``transport=``), and so do the library's httpx-family
    transports, which hold a pool of this kind for their own HTTP client (``made``: the client
    made the transport, and closes it). ``caller_client``: the transport wraps a caller's
    ``http_client``, which cannot be replaced.
    """

    __slots__ = (
        "_caller_client",
        "_factory",
        "_guard",
        "_inherited",
        "_lock",
        "_made",
        "_owner",
        "closed",
        "forks",
        "loop",
        "transport",
    )

    def __init__(
        self,
        transport: TransportT,
        *,
        factory: Callable[[], TransportT] | None,
        caller_client: bool,
        owner: str | None = None,
        made: bool = False,
    ) -> None:
        self.transport = transport
        self._owner = owner
        self._made = made
        self.forks = FORKS.value
        self.loop: object | None = None
        self.closed = False
        self._factory = factory
        self._caller_client = caller_client
        self._inherited: list[object] = []
        self._guard: object | None = None
        self._lock = ProcessLock()

    def close_transport(self) -> TransportT | None:
        """Mark the pool closed; the transport to close, if the client made it."""
        self.closed = True
        made = self._made or self._factory is not None or self._caller_client
        return self.transport if made else None

    def after_fork(self, reset: Callable[[], None]) -> None:
        """In a forked child: a pool of this process's own (``reset`` resets what else the
        client shares, once per fork)."""
        count = FORKS.value
        with self._lock.get():
            if self.forks == count:
                return
            if self._caller_client:
                raise ConfigurationError(
                    f"this {self._owner or 'client'} was created with an http_client before the "
                    "process forked: "
                    "its pooled connections belong to the parent process, and sharing them would "
                    "mix up the two processes' answers. Create the http_client and the client "
                    "after the fork (in the worker: gunicorn post_fork, Celery "
                    "worker_process_init, or the multiprocessing target), or leave http_client "
                    "out and the client opens a pool of its own in each process"
                )
            if self._factory is None:
                # first, so that a transport that cannot reset (it wraps a caller's client)
                # refuses before anything else is reset, on every call in the child alike
                after_fork = getattr(self.transport, "after_fork", None)
                if callable(after_fork):
                    after_fork()
            reset()
            # The parent's pool and guard: a collected guard would close the parent's
            # connections from here.
            self._inherited.append((self.transport, self._guard))
            self._guard = None
            self.loop = None
            if self._factory is not None and not self.closed:
                self.transport = self._factory()
            self.forks = count

    async def bind(self, loop: object) -> None:
        """Serve ``loop`` from now on (the client found it running instead of ``self.loop``)."""
        old = self.loop
        if old is loop:  # another task of this loop bound it meanwhile
            return
        if old is not None and _loop_alive(old):
            owner = self._owner
            raise ConfigurationError(
                f"this {owner or 'AsyncClient'} is in use on another event loop that is still "
                "running (in another thread); its connection pool can serve one loop at a time. "
                f"Create one {f'{owner} and ' if owner else ''}AsyncClient per thread that runs "
                "an event loop (or share a sync Client)"
            )
        if old is not None and self._caller_client:
            raise ConfigurationError(
                f"this {self._owner or 'AsyncClient'} was created with an http_client that was "
                "used on an event loop which has ended (e.g. an earlier asyncio.run()); its "
                "connections cannot serve this loop. Create the httpx.AsyncClient inside the "
                "loop that uses it (e.g. `async with httpx.AsyncClient() as http, "
                "AsyncClient(http_client=http)` in each job), or leave http_client out: the "
                "client then opens a pool per loop"
            )
        self.loop = loop
        if self._factory is None or self.closed:
            return
        if old is not None:
            self._park(self.transport, self._guard)
            self.transport = self._factory()
        await self._guard_on(loop)

    def _park(self, transport: object, guard: object) -> None:
        """Keep a dead loop's pool that its guard could not close (the loop was closed without
        shutting its async generators down): dropping it would warn about unclosed sockets,
        or run its guard's finalizer on a closed loop. At most a few are kept."""
        finished = guard is None or getattr(guard, "ag_frame", None) is None
        if not finished:
            self._inherited.append((transport, guard))
            del self._inherited[:-8]

    async def _guard_on(self, loop: object) -> None:
        transport = self.transport
        if hasattr(loop, "is_running"):
            guard = _close_with_asyncio_loop(transport)
            await guard.asend(None)
            self._guard = guard
        else:
            import trio

            trio.lowlevel.spawn_system_task(
                _close_with_trio_run, transport, name="authmatech pool closer"
            )
