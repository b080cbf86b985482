"""The fleet's rate budget for :class:`authmatech.AsyncClient`, on Redis through coredis.

coredis (6 and later) is built on AnyIO, so the same budget runs under asyncio and trio;
redis-py's asyncio client needs a running asyncio loop and fails under trio.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ..errors import ConfigurationError
from ._core import Decision, Pause, RedisBudgetBase, require
from ._script import SCRIPT, SCRIPT_SHA

__all__ = ["AsyncRedisRateBudget"]


def _coredis() -> Any:
    return require("coredis", "AsyncRedisRateBudget")


class AsyncRedisRateBudget(RedisBudgetBase):
    """One account's rate budget shared by every process and machine, for
    :class:`authmatech.AsyncClient`, under asyncio and trio.

    ``redis`` is a ``coredis.Redis`` or ``coredis.RedisCluster`` that the application has
    entered (coredis clients live inside ``async with``)::

        async with coredis.Redis.from_url("redis://redis:6379/0") as redis:
            budget = AsyncRedisRateBudget(redis, client_id="...", limit=1000, per=60)
            async with authmatech.AsyncClient(rate_budget=budget) as client:
                ...

    Each Redis call is cut off after ``redis_timeout`` seconds; the options and the
    behaviour while Redis is down are those of :class:`RedisRateBudget`.
    """

    __slots__ = ()

    def _accept(self, redis: Any) -> Any:
        if isinstance(redis, str) or type(redis).__module__.partition(".")[0] != "coredis":
            raise ConfigurationError(
                "AsyncRedisRateBudget takes an entered coredis.Redis or coredis.RedisCluster "
                f"client, not {type(redis).__name__} (redis-py's asyncio client does not run "
                "under trio; a sync redis.Redis goes to RedisRateBudget)"
            )
        return redis

    def _default_sleep(self) -> Callable[[float], Awaitable[Any]]:
        return anyio.sleep

    async def acquire(self, max_wait: float) -> float | None:
        """Reserve one slot for one attempt: seconds to wait, or None (nothing reserved)."""
        return await self._drive(self._core.acquiring(max_wait))

    async def penalize(self, retry_after: float | None) -> None:
        """A 429: push the fleet's schedule back (and the local share's)."""
        await self._drive(self._core.penalizing(retry_after))

    async def _drive(self, decision: Decision) -> float | None:
        answer: object = None
        try:
            while True:
                step = decision.send(answer)
                if isinstance(step, Pause):
                    await self._sleep(step.seconds)
                    answer = None
                    continue
                try:
                    answer = await self._run(step.args)
                except self._errors() as error:
                    answer = error
        except StopIteration as stop:
            result: float | None = stop.value
            return result

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (_coredis().exceptions.RedisError, OSError, TimeoutError)

    async def _run(self, args: list[str]) -> int:
        no_script = _coredis().exceptions.NoScriptError
        key = [self._core.keys.budget]
        try:
            with anyio.fail_after(self._core.redis_timeout):
                try:
                    result = await self._redis.evalsha(SCRIPT_SHA, keys=key, args=args)
                except no_script:
                    await self._redis.script_load(SCRIPT)
                    self._core.script_loaded()
                    result = await self._redis.evalsha(SCRIPT_SHA, keys=key, args=args)
        except RuntimeError as error:
            if "async context manager" in str(error) or "not initialized" in str(error):
                raise ConfigurationError(
                    "the coredis client is not open: enter it first "
                    "(async with coredis.Redis.from_url(...) as redis: ...)"
                ) from None
            raise
        return int(result)
