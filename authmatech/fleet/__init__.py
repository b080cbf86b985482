"""Fleet mode: one rate budget and one API key for every process and machine of an account.

Never imported by ``import authmatech``; it needs the ``redis`` extra
(``pip install 'authmatech[redis]'``: redis-py for the sync flavour, coredis for the async one,
which runs under asyncio and trio). Redis (or Valkey) is the fleet's shared engine:

* :class:`RedisRateBudget` / :class:`AsyncRedisRateBudget`: the account's request budget as one
  GCRA schedule in Redis, decided atomically by a Lua script on the Redis server's clock; Redis
  trouble degrades to a local share of the limit, never to a stopped application;
* :class:`FleetKeyWatcher` (coredis, for ``AsyncClient``) / :class:`SyncFleetKeyWatcher`
  (redis-py, for ``Client`` and threads): one key rotation at a time across the fleet (a lock
  with a fencing token), and every worker on the new key soon after, through the application's
  secret store: Redis carries only a version and the key's fingerprint, never the key.

See the docs page "Running a fleet".
"""

from ._async import AsyncRedisRateBudget
from ._core import BudgetStats, OnRedisDown
from ._keys import FleetKeys, hash_tag
from ._rotation import FleetKeyWatcher, WatchedKey
from ._rotation_sync import SyncFleetKeyWatcher, SyncWatchedKey
from ._sync import RedisRateBudget
from ._watch import FleetKeyStats, RotationInFlightError

__all__ = [
    "AsyncRedisRateBudget",
    "BudgetStats",
    "FleetKeyStats",
    "FleetKeyWatcher",
    "FleetKeys",
    "OnRedisDown",
    "RedisRateBudget",
    "RotationInFlightError",
    "SyncFleetKeyWatcher",
    "SyncWatchedKey",
    "WatchedKey",
    "hash_tag",
]
