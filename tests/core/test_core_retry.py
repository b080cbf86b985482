"""Rule 6: retry decisions (``core.retry_delay``) and ``RetryPolicy``."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from authmatech import core
from authmatech.core import OPERATIONS, RetryPolicy, retry_delay
from authmatech.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    AuthmatechError,
    BadRequestError,
    ConfigurationError,
    InvalidMobileNumberError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    ResponseValidationError,
    ServerError,
)

GET = OPERATIONS["account.products"]
POST = OPERATIONS["verify"]  # billable
NEVER_OPS = ["stuck_plus.reveal", "account.rotate_api_key", "account.generate_api_key"]

MID: Callable[[], float] = lambda: 0.5  # noqa: E731  (no jitter: 2 * 0.5 - 1 == 0)

ERRORS: dict[str, Callable[[], AuthmatechError]] = {
    "connect-error": lambda: APIConnectionError("refused", maybe_processed=False),
    "connect-timeout": lambda: APITimeoutError("connect timed out", maybe_processed=False),
    "pool-timeout": lambda: APITimeoutError("no free connection", maybe_processed=False),
    "429": lambda: RateLimitError("Rate limit exceeded.", status_code=429),
    "500": lambda: ServerError("boom", status_code=500),
    "503": lambda: ServerError("unavailable", status_code=503),
    "read-timeout": lambda: APITimeoutError("read timed out", maybe_processed=True),
    "reset-after-send": lambda: APIConnectionError("reset", maybe_processed=True),
    "400": lambda: BadRequestError("bad", status_code=400),
    "400-number": lambda: InvalidMobileNumberError("bad", status_code=400),
    "401": lambda: AuthenticationError("no", status_code=401),
    "404": lambda: NotFoundError("nf", status_code=404),
    "403": lambda: APIStatusError("forbidden", status_code=403),
    "302": lambda: RedirectError("redirect", status_code=302),
    "200-success-false": lambda: APIStatusError("failed", status_code=200),
    "invalid-2xx": lambda: ResponseValidationError("bad body", status_code=200),
}

NOT_SENT = {"connect-error", "connect-timeout", "pool-timeout"}
MAYBE_PROCESSED = {"500", "503", "read-timeout", "reset-after-send"}
NEVER_RETRIED = {
    "400",
    "400-number",
    "401",
    "404",
    "403",
    "302",
    "200-success-false",
    "invalid-2xx",
}
assert NOT_SENT | MAYBE_PROCESSED | NEVER_RETRIED | {"429"} == set(ERRORS)


def expected(kind: str, op: core.Operation[object], opt_in: bool) -> bool:
    """The table of core/_retry.py's docstring."""
    if kind in NEVER_RETRIED:
        return False
    if kind in NOT_SENT:
        return True
    if kind == "429":
        return op.replay is not core.Replay.NEVER  # a 429 was sent: "never, whatever the policy"
    if op.replay is core.Replay.SAFE:
        return True
    if op.replay is core.Replay.NEVER:
        return False
    return opt_in


CASES = [
    (op_name, kind, opt_in)
    for op_name in [
        "account.products",
        "stuck_plus.journey",
        "verify",
        "intelligence.shield_assess",
        *NEVER_OPS,
    ]
    for kind in ERRORS
    for opt_in in (False, True)
    if not (kind == "429" and op_name in NEVER_OPS)  # see test_rate_limited_never_op_...
]


@pytest.mark.parametrize(("op_name", "kind", "opt_in"), CASES)
def test_retry_table(op_name: str, kind: str, opt_in: bool) -> None:
    op = OPERATIONS[op_name]
    policy = RetryPolicy(retry_non_idempotent=opt_in)
    delay = retry_delay(op, policy, ERRORS[kind](), 0, remaining=100.0, random=MID)
    if expected(kind, op, opt_in):
        assert delay == 1.0
    else:
        assert delay is None


@pytest.mark.parametrize("op_name", NEVER_OPS)
@pytest.mark.parametrize("opt_in", [False, True])
def test_rate_limited_never_op_is_not_resent(op_name: str, opt_in: bool) -> None:
    # A 429 means the request reached the server. Replay.NEVER is "never sent twice, whatever
    # the policy", the docstring table says rotation / generation / reveal are never retried
    # once sent, and the contract (4.13, 6, 9) says never to auto-retry them; yet
    # _may_resend() returns True for every RateLimitError before looking at the operation.
    policy = RetryPolicy(retry_non_idempotent=opt_in)
    error = RateLimitError("Rate limit exceeded.", status_code=429, retry_after=1.0)
    assert retry_delay(OPERATIONS[op_name], policy, error, 0, remaining=100.0, random=MID) is None


def test_every_post_is_unsafe_or_never_and_every_get_safe() -> None:
    for op in OPERATIONS.values():
        if op.method == "GET":
            assert op.replay is core.Replay.SAFE
        else:
            assert op.replay in (core.Replay.UNSAFE, core.Replay.NEVER)


# --- backoff --------------------------------------------------------------------------------


def test_default_policy() -> None:
    policy = RetryPolicy()
    assert (
        policy.max_retries,
        policy.initial_backoff,
        policy.max_backoff,
        policy.multiplier,
        policy.jitter,
        policy.max_retry_after,
        policy.retry_non_idempotent,
    ) == (2, 1.0, 60.0, 2.0, 0.1, 60.0, False)


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(jitter=0.0, max_backoff=60.0)
    assert [policy.backoff(n, MID) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    small = RetryPolicy(jitter=0.0, max_backoff=5.0, initial_backoff=0.5, multiplier=3.0)
    assert [small.backoff(n, MID) for n in range(1, 5)] == [0.5, 1.5, 4.5, 5.0]


@pytest.mark.parametrize(
    ("random", "delays"),
    [
        (0.0, [0.9, 1.9, 3.9]),
        (0.5, [1.0, 2.0, 4.0]),
        (1.0, [1.1, 2.1, 4.1]),
        (0.25, [0.95, 1.95, 3.95]),
    ],
)
def test_jitter_bounds(random: float, delays: list[float]) -> None:
    policy = RetryPolicy(jitter=0.1)
    got = [policy.backoff(n, lambda: random) for n in (1, 2, 3)]
    assert got == pytest.approx(delays, abs=1e-12)


def test_jitter_never_makes_a_negative_delay() -> None:
    policy = RetryPolicy(initial_backoff=0.05, jitter=0.1)
    assert policy.backoff(1, lambda: 0.0) == 0.0
    assert policy.backoff(1, lambda: 1.0) == pytest.approx(0.15)


def test_retry_delay_follows_the_schedule_and_max_retries() -> None:
    policy = RetryPolicy(max_retries=5)
    error = ServerError("boom", status_code=500)
    delays = [retry_delay(GET, policy, error, done, remaining=1e9, random=MID) for done in range(7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, None, None]


@pytest.mark.parametrize("max_retries", [0, 1, 2, 3])
def test_max_retries_respected(max_retries: int) -> None:
    policy = RetryPolicy(max_retries=max_retries)
    error = APIConnectionError("refused", maybe_processed=False)
    allowed = [
        retry_delay(POST, policy, error, done, remaining=1e9, random=MID) is not None
        for done in range(5)
    ]
    assert allowed == [done < max_retries for done in range(5)]


def test_backoff_with_a_huge_multiplier_is_capped_not_an_overflow() -> None:
    # RetryPolicy accepts any multiplier >= 0, but backoff() computes multiplier ** (n - 1)
    # before applying max_backoff, so float overflow escapes as OverflowError from the call flow.
    policy = RetryPolicy(multiplier=1e200, jitter=0.0, max_retries=5)
    assert policy.backoff(3, MID) == 60.0


# --- Retry-After ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "policy", "delay"),
    [
        (3.0, RetryPolicy(), 3.0),
        (0.0, RetryPolicy(), 0.0),
        (0.25, RetryPolicy(), 0.25),
        (60.0, RetryPolicy(), 60.0),
        (60.5, RetryPolicy(), None),
        (10.0, RetryPolicy(max_retry_after=5.0), None),
        (5.0, RetryPolicy(max_retry_after=5.0), 5.0),
        (None, RetryPolicy(), 1.0),
        (120.0, RetryPolicy(max_retry_after=300.0, max_backoff=1.0), 120.0),
    ],
)
def test_retry_after_is_honoured_and_capped(
    retry_after: float | None, policy: RetryPolicy, delay: float | None
) -> None:
    error = RateLimitError("slow down", status_code=429, retry_after=retry_after)
    got = retry_delay(
        POST,
        policy,
        error,
        0,
        remaining=1e9,
        random=lambda: 1.0 if retry_after is not None else 0.5,
    )
    assert got == delay


# --- deadline -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "remaining", "delay"),
    [
        (ServerError("x", status_code=500), 1.5, 1.0),
        (ServerError("x", status_code=500), 1.0, None),
        (ServerError("x", status_code=500), 0.5, None),
        (ServerError("x", status_code=500), 0.0, None),
        (ServerError("x", status_code=500), -1.0, None),
        (RateLimitError("x", status_code=429, retry_after=3.0), 3.5, 3.0),
        (RateLimitError("x", status_code=429, retry_after=3.0), 3.0, None),
        (RateLimitError("x", status_code=429, retry_after=3.0), 2.0, None),
    ],
)
def test_a_delay_that_would_overrun_the_deadline_gives_up(
    error: AuthmatechError, remaining: float, delay: float | None
) -> None:
    assert retry_delay(GET, RetryPolicy(), error, 0, remaining=remaining, random=MID) == delay


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 21, 1.5, True, "2", None])
def test_max_retries_validation(value: object) -> None:
    with pytest.raises(ConfigurationError, match="max_retries must be an int from 0 to 20"):
        RetryPolicy(max_retries=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field", ["initial_backoff", "max_backoff", "multiplier", "jitter", "max_retry_after"]
)
@pytest.mark.parametrize("value", [-0.1, -1, math.nan, "1", True, None])
def test_number_fields_validation(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=f"RetryPolicy.{field} must be a number >= 0"):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("max_retries", [0, 20])
def test_max_retries_bounds_are_accepted(max_retries: int) -> None:
    assert RetryPolicy(max_retries=max_retries).max_retries == max_retries


def test_zero_values_are_accepted() -> None:
    policy = RetryPolicy(initial_backoff=0, jitter=0, max_backoff=0, multiplier=0)
    assert policy.backoff(1, MID) == 0.0
    assert policy.backoff(4, MID) == 0.0
