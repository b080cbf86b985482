"""Fleet key rotation: one rotation at a time, and every worker on the new key soon after.

The API key never goes to Redis. The application's secret store holds it: the rotating worker
writes the new key there first (the ``on_api_key_rotated`` callback the application gives),
and only then publishes a *version* and the key's *fingerprint* (:attr:`Secret.fingerprint`)
in one Redis hash. Every worker's :attr:`FleetKeyWatcher.api_key` (the client's ``api_key``
provider) looks at that hash at most every ``check_every`` seconds; on a newer version it
re-reads the application's own provider (the secret store) until the key it returns has the
published fingerprint (a store's cache may lag: bounded retries with backoff), then switches
in one assignment.

At most one rotation is in flight across the fleet: a Redis lock (``SET NX PX``) holds a
*fencing token* from a counter (``INCR``), and the version published is that token. A
rotator whose lock expired (a stall longer than ``lock_ttl``) cannot go back in time: a
publication with a token lower than the published version is refused, so the fleet never
returns to an older key.

This module is the async watcher, on coredis (asyncio and trio); the sync one, on redis-py,
is :mod:`authmatech.fleet._rotation_sync`. Both drive :class:`~._watch.WatcherCore`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs

from ..credentials import Secret
from ..errors import ConfigurationError
from ._core import require
from ._watch import (
    PUBLISH,
    RELEASE,
    Fetch,
    Nap,
    NextToken,
    Publish,
    ReadStore,
    Steps,
    WatcherCore,
    WatcherFace,
    as_secret,
)

__all__ = ["FleetKeyWatcher"]

KeyProvider = Callable[[], "str | Secret | Awaitable[str | Secret]"]


@attrs.frozen(slots=True)
class WatchedKey:
    """A watcher's key as an ``api_key`` provider for :class:`authmatech.AsyncClient`: calling
    it returns the key in use; the client calls :meth:`unauthorized` when a request with it
    was answered 401, before it reads the key again."""

    _watcher: FleetKeyWatcher

    async def __call__(self) -> Secret:
        """The key in use."""
        return await self._watcher._current()

    async def unauthorized(self) -> None:
        """Look at Redis and re-read the secret store now (once)."""
        await self._watcher.unauthorized()


class FleetKeyWatcher(WatcherFace):
    """One worker's view of the fleet's API key, on a coredis client (asyncio and trio).

    ``provider`` is the application's way to read the key from its secret store (sync or
    async); pass :attr:`api_key` as the client's ``api_key`` and wrap the store's writer with
    :meth:`on_api_key_rotated`::

        watcher = FleetKeyWatcher(redis, client_id=cid, provider=read_secret)
        client = authmatech.AsyncClient(
            client_id=cid,
            api_key=watcher.api_key,
            on_api_key_rotated=watcher.on_api_key_rotated(write_secret),
        )
        await watcher.rotate(client)     # on any one worker: the fleet follows

    Redis trouble never stops a worker: it keeps the key it has and looks again later. For
    :class:`authmatech.Client` and threads, :class:`SyncFleetKeyWatcher` does the same on
    redis-py.
    """

    def __init__(
        self,
        redis: Any,
        *,
        client_id: str,
        provider: KeyProvider,
        check_every: float = 1.0,
        lock_ttl: float = 60.0,
        stale_retries: int = 6,
        stale_backoff: float = 0.05,
        redis_timeout: float = 0.5,
        key_prefix: str = "authmatech",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._core = WatcherCore(
            client_id=client_id,
            provider=provider,
            check_every=check_every,
            lock_ttl=lock_ttl,
            stale_retries=stale_retries,
            stale_backoff=stale_backoff,
            redis_timeout=redis_timeout,
            key_prefix=key_prefix,
            clock=clock,
        )
        if type(redis).__module__.partition(".")[0] != "coredis":
            raise ConfigurationError(
                "FleetKeyWatcher takes an entered coredis.Redis or coredis.RedisCluster client "
                "(a sync redis.Redis goes to SyncFleetKeyWatcher)"
            )
        self._redis = redis
        self._provider = provider
        self._refresh = anyio.Lock()

    @property
    def api_key(self) -> WatchedKey:
        """The client's ``api_key`` provider: ``await watcher.api_key()`` is the key in use,
        after a look at Redis when one is due; a 401 makes the client call its
        ``unauthorized()``."""
        return WatchedKey(self)

    async def _current(self) -> Secret:
        core = self._core
        if core.due():
            async with self._refresh:
                if core.due():
                    await self._drive(core.checking())
        assert core.key is not None
        return core.key

    async def unauthorized(self) -> None:
        """A 401 on this worker: look at Redis and re-read the provider now (once)."""
        self._core.unauthorized()
        async with self._refresh:
            await self._drive(self._core.checking(reread=True))

    def on_api_key_rotated(
        self, store: Callable[[Secret], object]
    ) -> Callable[[Secret], Awaitable[None]]:
        """The client's ``on_api_key_rotated``: ``store`` (the application's writer to its
        secret store) first, then the version and fingerprint on Redis."""

        async def rotated(key: Secret) -> None:
            self._core.answered_at = time.time()
            stored = store(key)
            if inspect.isawaitable(stored):
                await stored
            with anyio.fail_after(self._core.timeout * 4):
                await self._drive(self._core.publishing(key))

        return rotated

    async def rotate(self, client: Any) -> Any:
        """Rotate the key through ``client`` unless another worker is doing so
        (:class:`RotationInFlightError`); returns the client's answer."""
        redis, core = self._redis, self._core
        with anyio.fail_after(core.timeout * 4):
            token = int(await redis.incr(core.keys.rotation_fence))
            locked = await redis.set(
                core.keys.rotation_lock, str(token), condition=_nx(), px=core.lock_ttl_ms
            )
        core.locked(token, bool(locked))
        try:
            return await client.account.rotate_api_key()
        finally:
            core.fence = None
            with anyio.move_on_after(core.timeout * 4):
                await redis.eval(RELEASE, keys=[core.keys.rotation_lock], args=[str(token)])

    async def _drive(self, steps: Steps) -> None:
        answer: object = None
        try:
            while True:
                answer = await self._run(steps.send(answer))
        except StopIteration:
            return

    async def _run(self, step: object) -> object:
        redis, keys = self._redis, self._core.keys
        if isinstance(step, Fetch):
            try:
                with anyio.fail_after(self._core.timeout):
                    return await redis.hgetall(keys.key_version)
            except (_redis_error(), OSError, TimeoutError) as error:
                return error
        if isinstance(step, ReadStore):
            value = self._provider()
            if inspect.isawaitable(value):
                value = await value
            return as_secret(value)
        if isinstance(step, Nap):
            await anyio.sleep(step.seconds)
            return None
        if isinstance(step, NextToken):
            return await redis.incr(keys.rotation_fence)
        assert isinstance(step, Publish)
        return await redis.eval(
            PUBLISH, keys=[keys.key_version], args=[str(step.token), step.fingerprint]
        )


def _redis_error() -> type[BaseException]:
    error: type[BaseException] = require("coredis", "FleetKeyWatcher").exceptions.RedisError
    return error


def _nx() -> Any:
    return require("coredis", "FleetKeyWatcher").PureToken.NX
