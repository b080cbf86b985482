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
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs

from ..credentials import Secret
from ..errors import AuthmatechError, ConfigurationError
from ._core import require
from ._keys import FleetKeys

__all__ = ["FleetKeyStats", "FleetKeyWatcher", "RotationInFlightError"]

logger = logging.getLogger("authmatech.fleet")

#: Publish ``version`` and ``fingerprint`` unless a newer version is already published.
PUBLISH = """\
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if tonumber(ARGV[1]) <= current then return current end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'fingerprint', ARGV[2])
return 0
"""

#: Delete the lock only if it still holds our token.
RELEASE = """\
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RotationInFlightError(AuthmatechError):
    """Another worker of the fleet is rotating the key now; this one did not rotate."""


@attrs.frozen(slots=True, kw_only=True)
class FleetKeyStats:
    """What one worker's watcher did: ``version`` in use, Redis ``checks``, key ``switches``,
    ``stale_reads`` (the secret store returned a key without the published fingerprint),
    ``unauthorized`` (401s reported), ``redis_errors``."""

    version: int
    checks: int
    switches: int
    stale_reads: int
    unauthorized: int
    redis_errors: int


KeyProvider = Callable[[], "str | Secret | Awaitable[str | Secret]"]


class FleetKeyWatcher:
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

    Redis trouble never stops a worker: it keeps the key it has and looks again later.
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
        if not callable(provider):
            raise ConfigurationError("provider must be a callable that returns the API key")
        if not check_every > 0 or not lock_ttl > 0 or not stale_backoff > 0:
            raise ConfigurationError("check_every, lock_ttl and stale_backoff must be > 0")
        if type(redis).__module__.partition(".")[0] != "coredis":
            raise ConfigurationError(
                "FleetKeyWatcher takes an entered coredis.Redis or coredis.RedisCluster client"
            )
        self._redis = redis
        self._keys = FleetKeys.of(client_id, key_prefix)
        self._provider = provider
        self._check_every = check_every
        self._lock_ttl_ms = round(lock_ttl * 1000)
        self._stale_retries = stale_retries
        self._stale_backoff = stale_backoff
        self._timeout = redis_timeout
        self._clock = clock
        self._key: Secret | None = None
        self._version = -1
        self._next_check = -float("inf")
        self._refresh = anyio.Lock()
        self._fence: int | None = None
        self._counts = dict.fromkeys(
            ("checks", "switches", "stale_reads", "unauthorized", "redis_errors"), 0
        )
        #: Wall-clock time (``time.time()``) of the last switch to a newer key, or None.
        self.switched_at: float | None = None
        #: Wall-clock time at which the last rotation through this watcher was answered.
        self.answered_at: float | None = None

    @property
    def version(self) -> int:
        """The published key version this worker uses (0: none published yet)."""
        return max(self._version, 0)

    def stats(self) -> FleetKeyStats:
        return FleetKeyStats(version=self.version, **self._counts)

    async def api_key(self) -> Secret:
        """The client's ``api_key`` provider: the key in use, after a look at Redis when one
        is due."""
        if self._key is None or self._clock() >= self._next_check:
            async with self._refresh:
                if self._key is None or self._clock() >= self._next_check:
                    await self._check()
        assert self._key is not None
        return self._key

    async def unauthorized(self) -> None:
        """A 401 on this worker: look at Redis and re-read the provider now (once)."""
        self._counts["unauthorized"] += 1
        self._next_check = -float("inf")
        async with self._refresh:
            await self._check(reread=True)

    def on_api_key_rotated(
        self, store: Callable[[Secret], object]
    ) -> Callable[[Secret], Awaitable[None]]:
        """The client's ``on_api_key_rotated``: ``store`` (the application's writer to its
        secret store) first, then the version and fingerprint on Redis."""

        async def rotated(key: Secret) -> None:
            self.answered_at = time.time()
            stored = store(key)
            if inspect.isawaitable(stored):
                await stored
            await self._publish(key)

        return rotated

    async def rotate(self, client: Any) -> Any:
        """Rotate the key through ``client`` unless another worker is doing so
        (:class:`RotationInFlightError`); returns the client's answer."""
        redis = self._redis
        with anyio.fail_after(self._timeout * 4):
            token = int(await redis.incr(self._keys.rotation_fence))
            locked = await redis.set(
                self._keys.rotation_lock, str(token), condition=_nx(), px=self._lock_ttl_ms
            )
        if not locked:
            raise RotationInFlightError(
                "another worker of the fleet is rotating this account's API key; its new key "
                "reaches this worker through the secret store within check_every seconds"
            )
        self._fence = token
        logger.info("fleet rotation: lock taken (fencing token %d)", token)
        try:
            return await client.account.rotate_api_key()
        finally:
            self._fence = None
            with anyio.move_on_after(self._timeout * 4):
                await redis.eval(RELEASE, keys=[self._keys.rotation_lock], args=[str(token)])

    async def _publish(self, key: Secret) -> None:
        redis = self._redis
        with anyio.fail_after(self._timeout * 4):
            token = self._fence
            if token is None:  # a rotation through the client alone: still a newer version
                token = int(await redis.incr(self._keys.rotation_fence))
            newer = int(
                await redis.eval(
                    PUBLISH, keys=[self._keys.key_version], args=[str(token), key.fingerprint]
                )
            )
        if newer:
            logger.error(
                "fleet rotation: version %d (%s) not published: version %d is newer (this "
                "rotation's lock had expired); the fleet stays on the newer key",
                token,
                key.fingerprint,
                newer,
            )
            return
        self._key = key
        self._version = token
        self._counts["switches"] += 1
        self.switched_at = time.time()
        logger.info("fleet rotation: published version %d (%s)", token, key.fingerprint)

    async def _check(self, *, reread: bool = False) -> None:
        self._next_check = self._clock() + self._check_every
        self._counts["checks"] += 1
        published: tuple[int, str] | None = None
        try:
            with anyio.fail_after(self._timeout):
                fields = await self._redis.hgetall(self._keys.key_version)
            published = _decode(fields)
        except (require("coredis", "FleetKeyWatcher").exceptions.RedisError, OSError, TimeoutError):
            self._counts["redis_errors"] += 1
            logger.debug("fleet key: Redis unavailable; keeping the key in use")
        if self._key is None:
            self._key = await self._read()
            if published is not None and published[1] == self._key.fingerprint:
                self._version = published[0]
            return
        if published is None or published[0] <= self._version:
            if reread:
                self._key = await self._read()
            return
        version, fingerprint = published
        delay = self._stale_backoff
        key = self._key
        for attempt in range(self._stale_retries + 1):
            key = await self._read()
            if key.fingerprint == fingerprint:
                self._key, self._version = key, version
                self._counts["switches"] += 1
                self.switched_at = time.time()
                logger.info("fleet key: now on version %d (%s)", version, fingerprint)
                return
            self._counts["stale_reads"] += 1
            if attempt < self._stale_retries:
                await anyio.sleep(delay)
                delay = min(delay * 2, 1.0)
        logger.warning(
            "fleet key: the secret store still returns %s, not version %d (%s); "
            "trying again in %.1f s",
            key.fingerprint,
            version,
            fingerprint,
            self._check_every,
        )

    async def _read(self) -> Secret:
        value = self._provider()
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return Secret(value)
        raise ConfigurationError(
            f"the key provider must return a str or a Secret, not {type(value).__name__}"
        )


def _nx() -> Any:
    return require("coredis", "FleetKeyWatcher").PureToken.NX


def _decode(fields: Any) -> tuple[int, str] | None:
    if not fields:
        return None
    values = {
        (k.decode() if isinstance(k, bytes) else str(k)): (
            v.decode() if isinstance(v, bytes) else str(v)
        )
        for k, v in dict(fields).items()
    }
    try:
        return int(values["version"]), values["fingerprint"]
    except (KeyError, ValueError):
        return None
