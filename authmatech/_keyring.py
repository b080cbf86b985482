"""The key ring: the credentials one client and its derived clients share, and the gate that
serialises key rotations through them.

Authmatech retires the old API key the moment it issues a new one, so two rules hold here:

* **one rotation at a time** per key ring: a second rotation (or generation) waits for the
  first to finish, then sends with the key the first one issued. Sending both at once would
  make the second carry a key the first just retired (a ``401``), or retire the first's key
  before anything stored it;
* **a call answered 401 while a rotation is under way waits for it** (the server may have
  retired the key the call carried), then is resent once with the new key.

Every wait is bounded by the waiting call's deadline; a rotation that cannot get the gate in
time fails before sending (:class:`~authmatech.APITimeoutError`, nothing processed). The gate
works across threads (a sync ``Client`` shared by a thread pool) and across event loops (an
``AsyncClient`` whose derived clients run on other loops): its state sits behind a
``threading.Lock`` held only for bookkeeping, never across a wait, and an async waiter is woken
through its own event loop's thread-safe call.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import attrs

from ._frameless import frameless_configuration_errors
from .credentials import Credentials, Secret, clean_credential
from .errors import APITimeoutError, ConfigurationError

__all__ = ["KeyRing", "RotationGate"]

Wake = Callable[[], None]


class RotationGate:
    """At most one key rotation at a time, and waits for it that never outlast a deadline.

    ``try_enter`` / ``leave`` bracket a rotation. ``notify`` wakes every waiter (the key
    ring calls it when the key changes, so a call answered 401 can go on before the rotation's
    ``on_api_key_rotated`` callback has finished). Waiters are woken, never polled.
    """

    __slots__ = ("_busy", "_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = False
        self._waiters: list[Wake] = []

    @property
    def busy(self) -> bool:
        """Whether a rotation holds the gate."""
        return self._busy

    def try_enter(self) -> bool:
        """Take the gate if it is free; never waits."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
            return True

    def leave(self) -> None:
        """Release the gate taken by :meth:`try_enter` and wake every waiter."""
        with self._lock:
            self._busy = False
        self.notify()

    def notify(self) -> None:
        """Wake every waiter (each one then looks again at what it waits for)."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for wake in waiters:
            wake()

    def _register(self, wake: Wake) -> bool:
        """Add a waiter if the gate is busy; ``False`` (not added) if it is free."""
        with self._lock:
            if not self._busy:
                return False
            self._waiters.append(wake)
            return True

    def _unregister(self, wake: Wake) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._waiters.remove(wake)

    def wait(self, timeout: float) -> None:
        """Block this thread until the next :meth:`notify` (or the gate is free), at most
        ``timeout`` seconds."""
        event = threading.Event()
        if not self._register(event.set):
            return
        try:
            event.wait(max(0.0, timeout))
        finally:
            self._unregister(event.set)

    async def wait_async(self, timeout: float) -> None:
        """:meth:`wait` for a task: only this task waits; cancellation is never swallowed."""
        event = anyio.Event()
        wake = _threadsafe_setter(event)
        if not self._register(wake):
            return
        try:
            with anyio.move_on_after(max(0.0, timeout)):
                await event.wait()
        finally:
            self._unregister(wake)

    def enter(self, timeout: float) -> bool:
        """Take the gate, waiting at most ``timeout`` seconds; ``False`` if it stayed busy."""
        deadline = time.monotonic() + timeout
        while not self.try_enter():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.wait(left)
        return True

    async def enter_async(self, timeout: float) -> bool:
        """:meth:`enter` for a task."""
        deadline = time.monotonic() + timeout
        while not self.try_enter():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await self.wait_async(left)
        return True


def _threadsafe_setter(event: anyio.Event) -> Wake:
    """A function that sets ``event`` from any thread, through the current event loop.

    asyncio and trio each offer a thread-safe "call soon"; anyio 4.4 has no portable one. A
    loop that has finished meanwhile has no waiter left to wake, so that error is ignored.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on asyncio: trio
            loop = None
        if loop is not None:

            def wake_asyncio() -> None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)

            return wake_asyncio
    import trio

    token = trio.lowlevel.current_trio_token()

    def wake_trio() -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(event.set)

    return wake_trio


def rotation_busy(timeout: float) -> APITimeoutError:
    return APITimeoutError(
        "another key rotation or generation through this client (or a client derived from it "
        "with with_options) was still under way when this call's deadline ran out (it had "
        f"{max(0.0, timeout):.3g} s left to wait); rotations are serialised so that each one "
        "sends the key the previous one issued. Nothing was sent: once the other rotation has "
        "finished, check whether you still need this one",
        maybe_processed=False,
    )


class KeyRing:
    """The credentials of one client and every client derived from it with ``with_options``.

    A rotation swaps the API key for all of them at once; requests already in flight finish
    with the key they were built with. With a key *provider*, the provider is called before
    every attempt until a rotation replaces it with the new key. ``gate`` serialises the
    rotations through this ring (see the module docstring).
    """

    __slots__ = ("_credentials", "_last", "_lock", "_provider", "gate")

    def __init__(self, credentials: Credentials, provider: Callable[[], Any] | None) -> None:
        self._credentials = credentials
        self._provider = provider
        self._last: Credentials | None = None
        self._lock = threading.Lock()
        self.gate = RotationGate()

    @property
    def rotating(self) -> bool:
        """Whether a rotation (or key generation) through these keys is under way."""
        return self.gate.busy

    def after_fork(self) -> None:
        """In a forked child: no lock held, no rotation under way and no waiter (the parent's
        threads and loops that held, ran or waited for them do not exist here)."""
        self._lock = threading.Lock()
        self.gate = RotationGate()

    @property
    def client_id(self) -> str:
        assert self._credentials.client_id is not None
        return self._credentials.client_id

    @property
    def provider(self) -> Callable[[], Any] | None:
        return self._provider

    def current(self) -> Credentials | None:
        """The credentials for a first attempt, when no provider must be asked for them."""
        return self._credentials if self._provider is None else None

    def static(self) -> Credentials:
        """The credentials when no provider is set (the fast, common path)."""
        return self._credentials

    @frameless_configuration_errors
    def with_provided(self, value: object) -> Credentials:
        """The credentials with the API key a provider just returned."""
        if not isinstance(value, (str, Secret)):
            raise ConfigurationError(
                f"the api_key provider must return a str or a Secret, not {type(value).__name__}"
            )
        last = self._last
        raw = value.reveal() if isinstance(value, Secret) else value
        if last is not None and last.api_key is not None and last.api_key.reveal() == raw:
            return last
        secret = Secret(clean_credential(value, "the value returned by the api_key provider"))
        fresh = attrs.evolve(self._credentials, api_key=secret)
        self._last = fresh
        return fresh

    def swap_api_key(self, key: Secret) -> None:
        """Use ``key`` from now on (for this client and its derived ones), and wake the calls
        waiting for it."""
        with self._lock:
            self._credentials = attrs.evolve(self._credentials, api_key=key)
            self._provider = None
            self._last = None
        self.gate.notify()

    def enter_rotation(self, timeout: float) -> None:
        """Take the rotation gate within ``timeout`` seconds, or raise ``APITimeoutError``."""
        if not self.gate.enter(timeout):
            raise rotation_busy(timeout)

    async def enter_rotation_async(self, timeout: float) -> None:
        """:meth:`enter_rotation` for a task."""
        if not await self.gate.enter_async(timeout):
            raise rotation_busy(timeout)

    def leave_rotation(self) -> None:
        self.gate.leave()

    def fingerprint(self) -> str | None:
        key = self._credentials.api_key
        return None if key is None else key.fingerprint
