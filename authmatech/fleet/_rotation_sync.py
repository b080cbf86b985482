"""Fleet key rotation for :class:`authmatech.Client` and threads, on redis-py.

The same protocol as :class:`~authmatech.fleet.FleetKeyWatcher` (see
:mod:`authmatech.fleet._rotation`), with the same keys in Redis: sync and async workers of one
account follow each other's rotations.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import attrs

from .._fork import ProcessLock
from ..credentials import Secret
from ..errors import ConfigurationError
from ._sync import connect, redis_module
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

__all__ = ["SyncFleetKeyWatcher"]


@attrs.frozen(slots=True)
class SyncWatchedKey:
    """A watcher's key as an ``api_key`` provider for :class:`authmatech.Client`: calling it
    returns the key in use; the client calls :meth:`unauthorized` when a request with it was
    answered 401, before it reads the key again."""

    _watcher: SyncFleetKeyWatcher

    def __call__(self) -> Secret:
        """The key in use."""
        return self._watcher._current()

    def unauthorized(self) -> None:
        """Look at Redis and re-read the secret store now (once)."""
        self._watcher.unauthorized()


class SyncFleetKeyWatcher(WatcherFace):
    """One worker's view of the fleet's API key, on redis-py, for :class:`authmatech.Client`
    (safe to share between the threads of a process).

    ``redis`` is a URL (the watcher builds a client with ``redis_timeout`` as its socket
    timeouts) or a ``redis.Redis`` / ``redis.RedisCluster`` with a ``socket_timeout``.
    ``provider`` is the application's (sync) way to read the key from its secret store::

        watcher = SyncFleetKeyWatcher("redis://redis:6379/0", client_id=cid, provider=read)
        client = authmatech.Client(
            client_id=cid,
            api_key=watcher.api_key,
            on_api_key_rotated=watcher.on_api_key_rotated(write_secret),
        )
        watcher.rotate(rotation_client)  # on any one worker: the fleet follows

    The options, the Redis keys and the behaviour are those of
    :class:`~authmatech.fleet.FleetKeyWatcher`; Redis trouble never stops a worker.
    """

    def __init__(
        self,
        redis: Any,
        *,
        client_id: str,
        provider: Callable[[], str | Secret],
        check_every: float = 1.0,
        lock_ttl: float = 60.0,
        stale_retries: int = 6,
        stale_backoff: float = 0.05,
        redis_timeout: float = 0.5,
        key_prefix: str = "authmatech",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if inspect.iscoroutinefunction(provider):
            raise ConfigurationError(
                "provider is an async function, which SyncFleetKeyWatcher cannot await; pass "
                "a plain function (or use FleetKeyWatcher with AsyncClient)"
            )
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
        self._owns_redis = isinstance(redis, str)
        self._redis = connect(redis, redis_timeout, "SyncFleetKeyWatcher", "FleetKeyWatcher")
        self._provider = provider
        self._sleep = sleep
        self._refresh = ProcessLock()

    def close(self) -> None:
        """Close the Redis connections the watcher opened itself (from a URL)."""
        if self._owns_redis:
            self._redis.close()

    def __enter__(self) -> SyncFleetKeyWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def api_key(self) -> SyncWatchedKey:
        """The client's ``api_key`` provider: ``watcher.api_key()`` is the key in use, after
        a look at Redis when one is due (one thread looks; the others wait for it); a 401
        makes the client call its ``unauthorized()``."""
        return SyncWatchedKey(self)

    def _current(self) -> Secret:
        core = self._core
        if core.due():
            with self._refresh.get():
                if core.due():
                    self._drive(core.checking())
        key = core.key
        assert key is not None
        return key

    def unauthorized(self) -> None:
        """A 401 on this worker: look at Redis and re-read the provider now (once)."""
        with self._refresh.get():
            self._core.unauthorized()
            self._drive(self._core.checking(reread=True))

    def on_api_key_rotated(self, store: Callable[[Secret], object]) -> Callable[[Secret], None]:
        """The client's ``on_api_key_rotated``: ``store`` (the application's writer to its
        secret store) first, then the version and fingerprint on Redis."""

        def rotated(key: Secret) -> None:
            self._core.answered_at = time.time()
            store(key)
            self._drive(self._core.publishing(key))

        return rotated

    def rotate(self, client: Any) -> Any:
        """Rotate the key through ``client`` (an :class:`authmatech.Client`) unless another
        worker is doing so (:class:`RotationInFlightError`); returns the client's answer."""
        redis, core = self._redis, self._core
        token = int(redis.incr(core.keys.rotation_fence))
        locked = redis.set(core.keys.rotation_lock, str(token), nx=True, px=core.lock_ttl_ms)
        core.locked(token, bool(locked))
        try:
            return client.account.rotate_api_key()
        finally:
            core.fence = None
            try:
                redis.eval(RELEASE, 1, core.keys.rotation_lock, str(token))
            except (redis_module().RedisError, OSError):
                pass  # the lock expires after lock_ttl

    def _drive(self, steps: Steps) -> None:
        answer: object = None
        try:
            while True:
                answer = self._run(steps.send(answer))
        except StopIteration:
            return

    def _run(self, step: object) -> object:
        redis, keys = self._redis, self._core.keys
        if isinstance(step, Fetch):
            try:
                return redis.hgetall(keys.key_version)
            except (redis_module().RedisError, OSError) as error:
                return error
        if isinstance(step, ReadStore):
            value = self._provider()
            if inspect.isawaitable(value):
                if inspect.iscoroutine(value):
                    value.close()
                raise ConfigurationError(
                    "the key provider returned an awaitable, which SyncFleetKeyWatcher cannot "
                    "await; pass a plain function"
                )
            return as_secret(value)
        if isinstance(step, Nap):
            self._sleep(step.seconds)
            return None
        if isinstance(step, NextToken):
            return redis.incr(keys.rotation_fence)
        assert isinstance(step, Publish)
        return redis.eval(PUBLISH, 1, keys.key_version, str(step.token), step.fingerprint)
