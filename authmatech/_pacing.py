"""How the clients use a rate budget (:mod:`authmatech._budget`) around each attempt.

Before every attempt the driver reserves a slot with the budget's ``acquire``, giving it what
is left of the call's deadline; it sleeps the wait it is given with its own sleep, and sends with
the deadline shortened by that wait (:func:`shortened`). No slot in time: the call fails before
sending (:func:`no_slot`). Every 429 is reported to the budget (:func:`retry_after_of` gives
the pause the server asked for).

The slot comes *before* the attempt's credentials are read (:class:`CallPacing`): a wait may
last seconds when many calls queue on the budget, and a key rotated meanwhile (by this process
or, through a fleet's key watcher, by another) must be the key the attempt sends, not the one
that was current when the call joined the queue.
"""

from __future__ import annotations

import inspect

from ._budget import AsyncRateBudget, SyncRateBudget, is_nonblocking
from .core import Authenticate, Send, Settings
from .core._http import HttpResponse
from .core._response import parse_retry_after
from .credentials import Credentials
from .errors import ConfigurationError, RateBudgetTimeoutError

__all__ = [
    "CallPacing",
    "check_budget",
    "checked_wait",
    "left_after",
    "no_slot",
    "retry_after_of",
    "shortened",
]


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


def checked_wait(wait: float | None, budget: object, max_wait: float, settings: Settings) -> float:
    """The budget's answer for this attempt: seconds to wait, or :func:`no_slot` raised."""
    if wait is None:
        raise no_slot(budget, max_wait, settings.timeout.total)
    return wait


def no_slot(budget: object, max_wait: float, total: float) -> RateBudgetTimeoutError:
    return RateBudgetTimeoutError(
        f"the rate budget ({budget!r}) has no free slot within the {max(max_wait, 0.0):.3f} s "
        f"left of the call's deadline ({total:g} s); nothing was sent. Too many calls are "
        "queued for the account's limit: send fewer at once, or give calls a longer timeout",
        max_wait=max_wait,
    )


def left_after(max_wait: float, wait: float, elapsed: float) -> float:
    """What is left of the deadline after the budget's wait (as long as the clock says, and
    at least ``wait`` seconds), from ``max_wait`` left before it."""
    return max_wait - max(wait, elapsed)


def shortened(step: Send, settings: Settings, left: float) -> Send:
    """``step`` with at most ``left`` seconds of the call's deadline."""
    if step.remaining <= left:
        return step
    return Send(step.request, settings.timeout.capped(left), step.attempt, left)


class CallPacing:
    """One call's bookkeeping between its slots and its credentials (sans-IO, for both
    drivers; every attempt of a paced call starts with ``Authenticate``).

    At ``Authenticate`` the driver asks :meth:`slot_first`; if so it takes the slot (waiting),
    reports what is left of the deadline with :meth:`took`, and only then reads the credentials
    it hands over (:meth:`hand`). At ``Send``, :meth:`send` gives the step shortened by that
    wait, or None when no slot was taken for it (the driver then takes one there).
    """

    __slots__ = ("_handed", "_left")

    def __init__(self) -> None:
        self._handed: Credentials | None = None
        self._left: float | None = None

    def slot_first(self, step: Authenticate, reread: Credentials | None) -> bool:
        """Whether this ``Authenticate`` precedes an attempt: always, except after a 401
        when the re-read key (``reread``) is the one just refused (the flow sends nothing)."""
        if not step.rejected:
            return True
        handed = self._handed
        return handed is None or reread is None or reread.api_key != handed.api_key

    def took(self, left: float) -> None:
        self._left = left

    def hand(self, credentials: Credentials) -> Credentials:
        self._handed = credentials
        return credentials

    def send(self, step: Send, settings: Settings) -> Send | None:
        left, self._left = self._left, None
        return None if left is None else shortened(step, settings, left)


def retry_after_of(response: HttpResponse, now: float) -> float | None:
    """The server's ``Retry-After`` in seconds, ``None`` without one (``now``: Unix time)."""
    return parse_retry_after(response.headers.get("retry-after"), now)
