"""Retry decisions, as pure functions of the failure, the operation and the policy.

The API has no idempotency key and most POSTs cost money, so "never reached the server" and
"may have been processed" are kept apart:

================================================  ==========  ==========================
outcome                                           GET         billable / state-changing POST
================================================  ==========  ==========================
connect error, connect or pool timeout            retry       retry
429                                               retry       retry
5xx, read timeout, reset after sending            retry       only with ``retry_non_idempotent``
other 4xx, invalid 2xx body                       never       never
rotation, key generation, Stuck+ reveal          -           only when nothing was sent
================================================  ==========  ==========================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from ..errors import (
    APIConnectionError,
    AuthmatechError,
    ConfigurationError,
    RateLimitError,
    ServerError,
)
from ._checks import require
from ._operations import Operation, Replay

__all__ = ["RetryPolicy", "retry_delay"]


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(
            f"RetryPolicy.{attribute.name} must be a number >= 0, not {type(value).__name__}"
        )
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite or not value >= 0:
        raise ConfigurationError(f"RetryPolicy.{attribute.name} must be a number >= 0, and finite")


def _retries(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 20:
        raise ConfigurationError("max_retries must be an int from 0 to 20")


def _flag(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if type(value) is not bool:
        raise ConfigurationError(
            f"RetryPolicy.{attribute.name} must be True or False, not {type(value).__name__}"
        )


@attrs.frozen(slots=True, kw_only=True)
class RetryPolicy:
    """How failed calls are retried: exponential backoff with jitter, as the docs advise
    (about 1 s, doubling, capped at 60 s), honouring ``Retry-After`` when the server sends it."""

    max_retries: int = attrs.field(default=2, validator=_retries)
    initial_backoff: float = attrs.field(default=1.0, validator=_non_negative)
    max_backoff: float = attrs.field(default=60.0, validator=_non_negative)
    multiplier: float = attrs.field(default=2.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.1, validator=_non_negative)
    """Up to this many seconds are added or removed at random, so clients don't retry in step."""
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    """A ``Retry-After`` longer than this is not waited for: the error is raised instead."""
    retry_non_idempotent: bool = attrs.field(default=False, validator=_flag)
    """Retry billable POSTs (verify, Trust, Shield, Detect) even when the server may have
    processed them: a retry may then be billed twice. Off by default."""

    def backoff(self, retry_number: int, random: Callable[[], float]) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based), jitter included."""
        if isinstance(retry_number, bool) or not isinstance(retry_number, int) or retry_number < 1:
            raise ConfigurationError("backoff's retry_number must be an int >= 1")
        if not callable(random):
            raise ConfigurationError("backoff's random must be a callable returning a float")
        chance = random()
        if isinstance(chance, bool) or not isinstance(chance, (int, float)) or not 0 <= chance <= 1:
            raise ConfigurationError("the random source must return a float from 0 to 1")
        try:
            growth = float(self.multiplier) ** (retry_number - 1)
        except OverflowError:
            growth = float("inf")
        initial = float(self.initial_backoff)
        base = min(initial * growth if initial else 0.0, float(self.max_backoff))
        return max(0.0, base + (2 * chance - 1) * float(self.jitter))


def _may_resend(operation: Operation[Any], policy: RetryPolicy, error: AuthmatechError) -> bool:
    if isinstance(error, APIConnectionError) and not error.maybe_processed:
        return True
    if operation.replay is Replay.NEVER:
        return False
    if isinstance(error, RateLimitError):
        return True
    if not isinstance(error, (APIConnectionError, ServerError)):
        return False
    return operation.replay is Replay.SAFE or policy.retry_non_idempotent


def _check_retry_arguments(
    operation: object,
    policy: object,
    error: object,
    retries_done: object,
    remaining: object,
    random: object,
) -> None:
    require(
        "retry_delay",
        (operation, Operation, "operation"),
        (policy, RetryPolicy, "policy"),
        (error, AuthmatechError, "error"),
    )
    if isinstance(retries_done, bool) or not isinstance(retries_done, int) or retries_done < 0:
        raise ConfigurationError("retry_delay's retries_done must be an int >= 0")
    if (
        isinstance(remaining, bool)
        or not isinstance(remaining, (int, float))
        or remaining != remaining  # NaN
    ):
        raise ConfigurationError("retry_delay's remaining must be a number of seconds")
    if not callable(random):
        raise ConfigurationError("retry_delay's random must be a callable returning a float")


def retry_delay(
    operation: Operation[Any],
    policy: RetryPolicy,
    error: AuthmatechError,
    retries_done: int,
    *,
    remaining: float,
    random: Callable[[], float],
) -> float | None:
    """Seconds to wait before sending again, or ``None`` to give up and raise ``error``.

    ``remaining`` is what is left of the call's deadline: a wait that would overrun it is not
    started.
    """
    _check_retry_arguments(operation, policy, error, retries_done, remaining, random)
    if retries_done >= policy.max_retries or not _may_resend(operation, policy, error):
        return None
    retry_after = error.retry_after if isinstance(error, RateLimitError) else None
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return None
        delay = retry_after
    else:
        delay = policy.backoff(retries_done + 1, random)
    if delay >= remaining:
        return None
    return delay
