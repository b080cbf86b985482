"""The call flow: the one retry loop, written once for the sync and the async client.

Like httpx's ``Auth.auth_flow``, it is a generator. It yields *steps* and is sent their
outcomes; it never does I/O, never sleeps and never reads a clock it was not given::

    Authenticate(attempt)  -> send back the Credentials to use for this attempt
    Send(request, timeout) -> send back the HttpResponse, or the AuthmatechError the
                              transport raised (APIConnectionError, APITimeoutError, ...)
    Sleep(seconds)         -> sleep, then send back None

It returns the result (``StopIteration.value``) or raises the final error. Credentials are
asked for before every attempt (a driver with a static key may hand them over for the first),
so a key rotated or refreshed meanwhile is used by the retry; a 401 answered to a key that has
since been replaced is sent once more with the new key (a 401 means nothing was processed, so
this is always safe).

Nothing the request carried comes back out: an echo of its secrets is scrubbed from the
outcome before it is logged or parsed, log records produced while it is in flight are scrubbed
too (see :mod:`authmatech.core._scrub`), and the error raised carries no traceback of the
transport's or the parser's frames (their locals hold what was sent and received).
"""

from __future__ import annotations

import logging
import random as _random
from collections.abc import Callable, Generator
from typing import Any, TypeVar, Union

import attrs

from ..credentials import Credentials
from ..errors import APIStatusError, AuthenticationError, AuthmatechError, ConfigurationError
from ._checks import require
from ._http import HttpRequest, HttpResponse, Timeout, request_id_of
from ._request import DEFAULT_CONFIG, Call, ClientConfig
from ._retry import RetryPolicy, retry_delay
from ._scrub import InFlight, scrub_error, scrub_response

__all__ = [
    "Authenticate",
    "Clock",
    "Send",
    "Settings",
    "Sleep",
    "Step",
    "Answer",
    "call_flow",
    "unchecked_flow",
]

T = TypeVar("T")

logger = logging.getLogger("authmatech")


@attrs.frozen(slots=True)
class Authenticate:
    """Ask the driver for the credentials of attempt ``attempt`` (1-based).

    ``rejected``: the last attempt was answered 401. A driver that knows a key rotation is
    under way should let it finish first: the server drops the old key before the client
    hears of the new one. ``remaining`` is what is left of the call's deadline: a driver that
    waits for anything here (a rotation, a key provider) waits at most that long.

    A call that rotates or generates the key always starts with this step (a driver holding
    the key at hand is not asked to skip it), so the driver can serialise rotations before
    the credentials are read; such a call never gets ``rejected``: a 401 to a rotation is
    raised at once (resending it with a key that changed meanwhile would retire a key that
    another rotation just issued).
    """

    attempt: int
    rejected: bool = attrs.field(default=False, eq=False)
    remaining: float = attrs.field(default=float("inf"), eq=False)


@attrs.frozen(slots=True)
class Send:
    """Send ``request`` once with ``timeout`` (already capped by the call's deadline).

    ``remaining`` is what is left of the deadline; a driver that can (the async one) stops the
    attempt when it runs out and sends back an ``APITimeoutError``.
    """

    request: HttpRequest
    timeout: Timeout
    attempt: int
    remaining: float


@attrs.frozen(slots=True)
class Sleep:
    """Wait ``seconds`` before the next attempt."""

    seconds: float


Step = Union[Authenticate, Send, Sleep]  # noqa: UP007 (a runtime alias on Python 3.10)
#: What a driver sends back into the flow: ``Credentials`` for ``Authenticate``, the
#: ``HttpResponse`` or the transport's ``AuthmatechError`` for ``Send``, ``None`` for ``Sleep``.
Answer = Union[Credentials, HttpResponse, AuthmatechError, None]  # noqa: UP007


def _callable(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise ConfigurationError(
            f"Clock.{attribute.name} must be a callable taking no argument and returning a "
            f"float, not {type(value).__name__}"
        )


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Clock:
    """Time and chance, injected so that retry tests are exact and instant.

    The defaults are supplied by the drivers (``time.monotonic``, ``time.time``); the core
    itself never reads the clock.
    """

    monotonic: Callable[[], float] = attrs.field(validator=_callable)
    wall: Callable[[], float] = attrs.field(validator=_callable)
    random: Callable[[], float] = attrs.field(default=_random.random, validator=_callable)


def _instance_of(kind: type, hint: str) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise ConfigurationError(
                f"Settings.{attribute.name} must be a core.{kind.__name__}{hint}, "
                f"not {type(value).__name__}"
            )

    return check


@attrs.frozen(slots=True, kw_only=True, eq=False)
class Settings:
    """Per-client call settings, shared by every call of a client and its derived clients."""

    config: ClientConfig = attrs.field(
        default=DEFAULT_CONFIG, validator=_instance_of(ClientConfig, "")
    )
    timeout: Timeout = attrs.field(
        factory=Timeout,
        validator=_instance_of(Timeout, " (core.Timeout.of(5) sets every phase to 5 seconds)"),
    )
    retry: RetryPolicy = attrs.field(factory=RetryPolicy, validator=_instance_of(RetryPolicy, ""))


def _seconds(value: object, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigurationError(
            f"{source} must return a number of seconds, not {type(value).__name__}"
        )
    return value


def call_flow(
    call: Call[T], settings: Settings, clock: Clock, first: Credentials | None = None
) -> Generator[Step, Answer, T]:
    """Run ``call`` to completion: authenticate, send, parse, and retry as the policy allows.

    ``first``: the credentials for the first attempt, if the driver has them at hand (a
    static key); it then starts with ``Send`` (except a call that replaces the key, which
    always starts with ``Authenticate``). Every later attempt asks for them again.
    The arguments are checked here, before the generator starts.
    """
    require(
        "call_flow", (call, Call, "call"), (settings, Settings, "settings"), (clock, Clock, "clock")
    )
    if first is not None:
        require("call_flow", (first, Credentials, "first"))
    return unchecked_flow(call, settings, clock, first)


def _credentials(value: object) -> Credentials:
    if not isinstance(value, Credentials):
        raise TypeError(
            "a driver must answer Authenticate with authmatech.Credentials, "
            f"not {type(value).__name__}"
        )
    return value


def unchecked_flow(
    call: Call[T], settings: Settings, clock: Clock, first: Credentials | None
) -> Generator[Step, Answer, T]:
    """:func:`call_flow` without its argument checks: for the library's own drivers, whose
    arguments are valid by construction."""
    deadline = _seconds(clock.monotonic(), "Clock.monotonic") + settings.timeout.total
    replaces_key = call.operation.replaces_key
    attempt = 0
    retries = 0
    fresh = None if replaces_key else first
    raced = replaces_key
    while True:
        attempt += 1
        credentials = fresh or _credentials(
            (yield Authenticate(attempt, remaining=deadline - clock.monotonic()))
        )
        fresh = None
        request = call.build(credentials, settings.config)
        sent_at = clock.monotonic()
        remaining = deadline - sent_at
        with InFlight(request.secrets):
            outcome: Answer = yield Send(
                request, settings.timeout.capped(remaining), attempt, remaining
            )
        if isinstance(outcome, AuthmatechError):
            outcome = scrub_error(outcome, request.secrets)
        if logger.isEnabledFor(logging.DEBUG):
            _log(call, outcome, request, attempt, (clock.monotonic() - sent_at) * 1000)
        if isinstance(outcome, HttpResponse):
            try:
                return call.parse(
                    outcome, now=_seconds(clock.wall(), "Clock.wall"), request=request
                )
            except AuthmatechError as error:
                failure: AuthmatechError = error.with_traceback(None)
            outcome = scrub_response(outcome, request.secrets)  # this frame keeps no echo
            if not isinstance(failure, APIStatusError):
                raise failure
        elif isinstance(outcome, AuthmatechError):
            failure = outcome
        else:
            raise TypeError(
                "a driver must send back an HttpResponse or an AuthmatechError, "
                f"not {type(outcome).__name__}"
            )
        if isinstance(failure, AuthenticationError) and not raced:
            raced = True
            latest = _credentials(
                (
                    yield Authenticate(
                        attempt + 1, rejected=True, remaining=deadline - clock.monotonic()
                    )
                )
            )
            if latest.api_key != credentials.api_key:
                fresh = latest
                continue
        remaining = deadline - clock.monotonic()
        delay = retry_delay(
            call.operation,
            settings.retry,
            failure,
            retries,
            remaining=remaining,
            random=clock.random,
        )
        if delay is None:
            raise failure
        retries += 1
        if delay > 0:
            yield Sleep(delay)


def _log(
    call: Call[Any], outcome: object, request: HttpRequest, attempt: int, elapsed_ms: float
) -> None:
    if isinstance(outcome, HttpResponse):
        status: int | str = outcome.status_code
        request_id = request_id_of(scrub_response(outcome, request.secrets).headers)
    else:
        status, request_id = type(outcome).__name__, None
    logger.debug(
        "%s %s -> %s (attempt %d, %.1f ms%s)",
        call.operation.method,
        call.operation.path,
        status,
        attempt,
        elapsed_ms,
        f", request id {request_id}" if request_id else "",
    )
