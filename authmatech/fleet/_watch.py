"""What the async and sync fleet key watchers share: the state, the counters, the log lines and
every decision (sans-IO).

:meth:`WatcherCore.checking` and :meth:`WatcherCore.publishing` are generators, like the
clients' call flow and the budget's decisions. They yield a step and are sent its outcome:

    Fetch()                    -> the fields of the published version's hash (``HGETALL``), or
                                  the exception the Redis call raised
    ReadStore()                -> the key the application's secret store returns (a Secret)
    Nap(seconds)               -> None, after sleeping (a stale store: backoff)
    NextToken()                -> a fresh fencing token (``INCR``)
    Publish(token, fingerprint)-> 0 if published, else the newer version already there

The watchers (:class:`~authmatech.fleet.FleetKeyWatcher` on coredis,
:class:`~authmatech.fleet.SyncFleetKeyWatcher` on redis-py) run the Redis calls, the store's
reads and the sleeps, each with its own timeouts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from typing import Any, Union

import attrs

from ..credentials import Secret
from ..errors import AuthmatechError, ConfigurationError
from ._keys import FleetKeys

__all__ = [
    "PUBLISH",
    "RELEASE",
    "Fetch",
    "FleetKeyStats",
    "Nap",
    "NextToken",
    "Publish",
    "ReadStore",
    "RotationInFlightError",
    "WatcherCore",
    "WatcherFace",
    "as_secret",
]

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


@attrs.frozen(slots=True)
class Fetch:
    """Read the published version and fingerprint."""


@attrs.frozen(slots=True)
class ReadStore:
    """Read the key from the application's secret store."""


@attrs.frozen(slots=True)
class Nap:
    seconds: float


@attrs.frozen(slots=True)
class NextToken:
    """Take a fencing token (a rotation through the client alone)."""


@attrs.frozen(slots=True)
class Publish:
    token: int
    fingerprint: str


Step = Union[Fetch, ReadStore, Nap, NextToken, Publish]  # noqa: UP007 (runtime alias, 3.10)
Steps = Generator[Step, Any, None]


def as_secret(value: object) -> Secret:
    """What the store's reader returned, as a Secret (or a clear error)."""
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ConfigurationError(
        f"the key provider must return a str or a Secret, not {type(value).__name__}"
    )


def rotation_in_flight() -> RotationInFlightError:
    return RotationInFlightError(
        "another worker of the fleet is rotating this account's API key; its new key "
        "reaches this worker through the secret store within check_every seconds"
    )


class WatcherCore:
    """One worker's view of the fleet's key: the options, the state and the decisions."""

    def __init__(
        self,
        *,
        client_id: str,
        provider: object,
        check_every: float,
        lock_ttl: float,
        stale_retries: int,
        stale_backoff: float,
        redis_timeout: float,
        key_prefix: str,
        clock: Callable[[], float],
    ) -> None:
        if not callable(provider):
            raise ConfigurationError("provider must be a callable that returns the API key")
        if not check_every > 0 or not lock_ttl > 0 or not stale_backoff > 0:
            raise ConfigurationError("check_every, lock_ttl and stale_backoff must be > 0")
        self.keys = FleetKeys.of(client_id, key_prefix)
        self.check_every = check_every
        self.lock_ttl_ms = round(lock_ttl * 1000)
        self.stale_retries = stale_retries
        self.stale_backoff = stale_backoff
        self.timeout = redis_timeout
        self.clock = clock
        self.key: Secret | None = None
        self._version = -1
        self.next_check = -float("inf")
        self.fence: int | None = None
        self.counts = dict.fromkeys(
            ("checks", "switches", "stale_reads", "unauthorized", "redis_errors"), 0
        )
        self.switched_at: float | None = None
        self.answered_at: float | None = None

    @property
    def version(self) -> int:
        return max(self._version, 0)

    def stats(self) -> FleetKeyStats:
        return FleetKeyStats(version=self.version, **self.counts)

    def due(self) -> bool:
        """Whether the next key read looks at Redis first."""
        return self.key is None or self.clock() >= self.next_check

    def unauthorized(self) -> None:
        self.counts["unauthorized"] += 1
        self.next_check = -float("inf")

    def locked(self, token: int, locked: bool) -> None:
        """The outcome of taking the rotation lock with ``token``."""
        if not locked:
            raise rotation_in_flight()
        self.fence = token
        logger.info("fleet rotation: lock taken (fencing token %d)", token)

    def publishing(self, key: Secret) -> Steps:
        """After the store has the new ``key``: publish its version and fingerprint."""
        token = self.fence
        if token is None:  # a rotation through the client alone: still a newer version
            token = int((yield NextToken()))
        newer = int((yield Publish(token, key.fingerprint)))
        if newer:
            logger.error(
                "fleet rotation: version %d (%s) not published: version %d is newer (this "
                "rotation's lock had expired); the fleet stays on the newer key",
                token,
                key.fingerprint,
                newer,
            )
            return
        self._switch(key, token)
        logger.info("fleet rotation: published version %d (%s)", token, key.fingerprint)

    def _switch(self, key: Secret, version: int) -> None:
        self.key, self._version = key, version
        self.counts["switches"] += 1
        self.switched_at = time.time()

    def checking(self, *, reread: bool = False) -> Steps:
        """A look at Redis; on a newer version, the store until it has the published key."""
        self.next_check = self.clock() + self.check_every
        self.counts["checks"] += 1
        fields = yield Fetch()
        published: tuple[int, str] | None = None
        if isinstance(fields, BaseException):
            self.counts["redis_errors"] += 1
            logger.debug("fleet key: Redis unavailable; keeping the key in use")
        else:
            published = _decode(fields)
        if self.key is None:
            first: Secret = yield ReadStore()
            self.key = first
            if published is not None and published[1] == first.fingerprint:
                self._version = published[0]
            return
        if published is None or published[0] <= self._version:
            if reread:
                self.key = yield ReadStore()
            return
        version, fingerprint = published
        delay = self.stale_backoff
        key: Secret = self.key
        for attempt in range(self.stale_retries + 1):
            key = yield ReadStore()
            if key.fingerprint == fingerprint:
                self._switch(key, version)
                logger.info("fleet key: now on version %d (%s)", version, fingerprint)
                return
            self.counts["stale_reads"] += 1
            if attempt < self.stale_retries:
                yield Nap(delay)
                delay = min(delay * 2, 1.0)
        logger.warning(
            "fleet key: the secret store still returns %s, not version %d (%s); "
            "trying again in %.1f s",
            key.fingerprint,
            version,
            fingerprint,
            self.check_every,
        )


class WatcherFace:
    """The read-only face both watchers share."""

    _core: WatcherCore

    @property
    def version(self) -> int:
        """The published key version this worker uses (0: none published yet)."""
        return self._core.version

    @property
    def switched_at(self) -> float | None:
        """Wall-clock time (``time.time()``) of the last switch to a newer key, or None."""
        return self._core.switched_at

    @property
    def answered_at(self) -> float | None:
        """Wall-clock time at which the last rotation through this watcher was answered."""
        return self._core.answered_at

    def stats(self) -> FleetKeyStats:
        """What this watcher did so far (a snapshot)."""
        return self._core.stats()


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
