"""How the clients use a rate budget (:mod:`authmatech._budget`) around each attempt.

Before every ``Send`` the driver reserves a slot with the budget's ``acquire``, giving it what is
left of the call's deadline; it sleeps the wait it is given with its own sleep, and sends with
the deadline shortened by that wait (:func:`after_wait`). No slot in time: the call fails before
sending (:func:`no_slot`). Every 429 is reported to the budget (:func:`retry_after_of` gives
the pause the server asked for).
"""

from __future__ import annotations

import inspect

from ._budget import AsyncRateBudget, SyncRateBudget, is_nonblocking
from .core import Send, Settings
from .core._http import HttpResponse
from .core._response import parse_retry_after
from .errors import ConfigurationError, RateBudgetTimeoutError

__all__ = ["after_wait", "check_budget", "checked_wait", "no_slot", "retry_after_of"]


def check_budget(budget: object, *, asynchronous: bool) -> bool | None:
    """Validate ``rate_budget=``; for the async client, whether its methods are awaited.

    ``None`` when there is no budget. The sync client takes a sync budget; the async client an
    async one, or a sync one marked ``nonblocking`` (such as :class:`authmatech.RateBudget`),
    whose methods it calls directly on the event loop.
    """
    if budget is None:
        return None
    acquire = getattr(budget, "acquire", None)
    if not callable(acquire) or not callable(getattr(budget, "penalize", None)):
        raise ConfigurationError(
            "rate_budget must be a rate budget with acquire(max_wait) and "
            "penalize(retry_after), such as authmatech.RateBudget(limit=1000, per=60.0), "
            f"not {type(budget).__name__}"
        )
    awaited = inspect.iscoroutinefunction(acquire)
    if not asynchronous:
        if awaited:
            raise ConfigurationError(
                f"rate_budget: {type(budget).__name__} is an async budget; authmatech.Client "
                "needs a sync one (pass this one to AsyncClient)"
            )
        assert isinstance(budget, SyncRateBudget)
        return False
    if awaited:
        assert isinstance(budget, AsyncRateBudget)
        return True
    if not is_nonblocking(budget):
        raise ConfigurationError(
            f"rate_budget: {type(budget).__name__} is a blocking sync budget and would stall "
            "the event loop; pass its async flavour to AsyncClient"
        )
    return False


def checked_wait(wait: float | None, budget: object, step: Send, settings: Settings) -> float:
    """The budget's answer for this attempt: seconds to wait, or :func:`no_slot` raised."""
    if wait is None:
        raise no_slot(budget, step.remaining, settings.timeout.total)
    return wait


def no_slot(budget: object, max_wait: float, total: float) -> RateBudgetTimeoutError:
    return RateBudgetTimeoutError(
        f"the rate budget ({budget!r}) has no free slot within the {max(max_wait, 0.0):.3f} s "
        f"left of the call's deadline ({total:g} s); nothing was sent. Too many calls are "
        "queued for the account's limit: send fewer at once, or give calls a longer timeout",
        max_wait=max_wait,
    )


def after_wait(step: Send, settings: Settings, wait: float, elapsed: float) -> Send:
    """``step`` with the wait (as long as the clock says, and at least ``wait`` seconds)
    taken from what is left of the call's deadline."""
    remaining = step.remaining - max(wait, elapsed)
    return Send(step.request, settings.timeout.capped(remaining), step.attempt, remaining)


def retry_after_of(response: HttpResponse, now: float) -> float | None:
    """The server's ``Retry-After`` in seconds, ``None`` without one (``now``: Unix time)."""
    return parse_retry_after(response.headers.get("retry-after"), now)
