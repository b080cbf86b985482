"""The fleet's rate budget for :class:`authmatech.Client`, on Redis through redis-py."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError
from ._core import Decision, Pause, RedisBudgetBase, require
from ._script import SCRIPT, SCRIPT_SHA

__all__ = ["RedisRateBudget", "connect", "redis_module"]


def redis_module() -> Any:
    return require("redis", "RedisRateBudget")


class RedisRateBudget(RedisBudgetBase):
    """One account's rate budget shared by every process and machine, on Redis.

    A drop-in for :class:`authmatech.RateBudget` in :class:`authmatech.Client`
    (``rate_budget=``): the same limits and safety margin, but the schedule lives in one Redis
    key per client id and every decision is one atomic script on the Redis server's clock::

        budget = RedisRateBudget("redis://redis:6379/0", client_id="...", limit=1000, per=60)
        client = authmatech.Client(client_id="...", rate_budget=budget)

    ``redis`` is a URL (the budget builds a client with ``redis_timeout`` as its socket
    timeouts and no retries of its own) or a ``redis.Redis`` / ``redis.RedisCluster`` the
    application built, which must have a ``socket_timeout``: an unbounded Redis call would
    block the caller.

    When Redis fails ``failures_to_open`` times in a row the circuit opens (one warning) and
    ``on_redis_down`` decides: ``"local"`` (default) grants slots from a local budget of
    ``local_share`` of the limit (give each process its share: ``1 / processes``); ``"wait"``
    waits for Redis, within the call's deadline (the one case where :meth:`acquire` sleeps);
    ``"fail"`` refuses the slot, so the call fails before sending. One caller every
    ``probe_every`` seconds tries Redis again; the first answer closes the circuit.
    """

    __slots__ = ()

    def _accept(self, redis: Any) -> Any:
        return connect(redis, self._core.redis_timeout)

    def _default_sleep(self) -> Callable[[float], Any]:
        return time.sleep

    def close(self) -> None:
        """Close the Redis connections the budget opened itself (from a URL); a client the
        application passed stays the application's to close."""
        if self._owns_redis:
            self._redis.close()

    def __enter__(self) -> RedisRateBudget:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def acquire(self, max_wait: float) -> float | None:
        """Reserve one slot for one attempt: seconds to wait, or None (nothing reserved)."""
        return self._drive(self._core.acquiring(max_wait))

    def penalize(self, retry_after: float | None) -> None:
        """A 429: push the fleet's schedule back (and the local share's)."""
        self._drive(self._core.penalizing(retry_after))

    def _drive(self, decision: Decision) -> float | None:
        answer: object = None
        try:
            while True:
                step = decision.send(answer)
                if isinstance(step, Pause):
                    self._sleep(step.seconds)
                    answer = None
                    continue
                try:
                    answer = self._run(step.args)
                except self._errors() as error:
                    answer = error
        except StopIteration as stop:
            result: float | None = stop.value
            return result

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (redis_module().RedisError, OSError)

    def _run(self, args: list[str]) -> int:
        redis = redis_module()
        key = self._core.keys.budget
        try:
            result = self._redis.evalsha(SCRIPT_SHA, 1, key, *args)
        except redis.exceptions.NoScriptError:
            self._redis.script_load(SCRIPT)
            self._core.script_loaded()
            result = self._redis.evalsha(SCRIPT_SHA, 1, key, *args)
        return int(result)


def connect(
    redis: Any,
    timeout: float,
    needed_by: str = "RedisRateBudget",
    async_flavour: str = "AsyncRedisRateBudget",
) -> Any:
    """A redis-py client from a URL (socket timeouts of ``timeout``, no retries of its own), or
    the application's, checked: sync, and with a ``socket_timeout``."""
    module = redis_module()
    if isinstance(redis, str):
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        try:
            return module.Redis.from_url(
                redis,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as error:
            raise ConfigurationError(f"{needed_by}: bad Redis URL ({error})") from None
    if not callable(getattr(redis, "evalsha", None)):
        raise ConfigurationError(
            f"{needed_by} takes a Redis URL or a redis.Redis / redis.RedisCluster client, "
            f"not {type(redis).__name__} (an asyncio or coredis client goes to "
            f"{async_flavour})"
        )
    if _is_async(redis):
        raise ConfigurationError(
            f"this Redis client is asynchronous: use {async_flavour} with AsyncClient"
        )
    pool = getattr(redis, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if isinstance(kwargs, dict) and kwargs.get("socket_timeout") is None:
        raise ConfigurationError(
            "the redis.Redis client has no socket_timeout, so one Redis call could block the "
            "application without end: build it with socket_timeout=0.5 (or pass a URL)"
        )
    return redis


def _is_async(redis: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(redis.evalsha) or type(redis).__module__.startswith(
        ("coredis", "redis.asyncio")
    )
