"""Rule 7: the call flow, driven by hand (next/send) with a clock the test moves itself."""

from __future__ import annotations

import logging
import random
from collections.abc import Generator
from typing import Any

import pytest
from core_helpers import (
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    NUMBER,
    OK_VERIFY,
    SDK_TOKEN,
    FakeClock,
    envelope,
    failure,
    response,
)

from authmatech import core, models
from authmatech.core import Authenticate, Send, Settings, Sleep, Timeout
from authmatech.credentials import Credentials, Secret
from authmatech.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    CredentialScopeError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)

Flow = Generator[Any, Any, Any]

CREDS = Credentials(CLIENT_ID, api_key=API_KEY, client_secret=CLIENT_SECRET)
SERVER_ERROR = response(500, failure("INTERNAL_SERVER_ERROR", "Boom"))
UNAUTHORIZED = response(401, failure("UNAUTHORIZED", "Unauthorized"))
OK_PRODUCTS = response(200, envelope({"products": ["VERIFY"]}))
CONNECT_ERROR = APIConnectionError("connection refused", maybe_processed=False)


def verify_call() -> core.Call[models.VerifyResult]:
    return core.verify(NUMBER, "proof-blob", operator_id="ZAIN_JO")


def start(call: core.Call[Any], clock: FakeClock, settings: Settings | None = None) -> Flow:
    flow = core.call_flow(call, settings or Settings(), clock.clock())
    assert next(flow) == Authenticate(1)
    return flow


def finish(flow: Flow, outcome: Any) -> Any:
    with pytest.raises(StopIteration) as info:
        flow.send(outcome)
    return info.value.value


def test_authenticate_send_result() -> None:
    clock = FakeClock()
    flow = start(verify_call(), clock)
    step = flow.send(CREDS)
    assert isinstance(step, Send)
    assert step.attempt == 1
    assert step.remaining == 60.0
    assert step.timeout == Timeout()
    expected = verify_call().build(CREDS)
    assert step.request == expected
    assert step.request.reveal_headers()["X-API-KEY"] == API_KEY
    clock.advance(0.2)
    result = finish(flow, OK_VERIFY)
    assert result == models.VerifyResult(valid_number=True)


def test_negative_verdict_is_returned() -> None:
    flow = start(verify_call(), FakeClock())
    flow.send(CREDS)
    result = finish(flow, response(200, envelope({"validNumber": False})))
    assert result.valid_number is False


def test_500_on_verify_raises_after_exactly_one_send() -> None:
    flow = start(verify_call(), FakeClock())
    sends = [flow.send(CREDS)]
    assert isinstance(sends[0], Send)
    with pytest.raises(ServerError) as info:
        flow.send(SERVER_ERROR)
    assert info.value.maybe_processed is True
    assert info.value.message == "Boom"
    assert len(sends) == 1


def test_500_on_verify_is_retried_when_the_caller_opts_in() -> None:
    settings = Settings(retry=core.RetryPolicy(retry_non_idempotent=True))
    flow = start(verify_call(), FakeClock(), settings)
    flow.send(CREDS)
    assert flow.send(SERVER_ERROR) == Sleep(1.0)
    assert flow.send(None) == Authenticate(2)
    assert flow.send(CREDS).attempt == 2
    assert finish(flow, OK_VERIFY).valid_number is True


def test_connect_error_on_verify_sleeps_then_sends_again() -> None:
    clock = FakeClock()
    flow = start(verify_call(), clock)
    first = flow.send(CREDS)
    assert first.attempt == 1
    assert flow.send(CONNECT_ERROR) == Sleep(1.0)
    clock.advance(1.0)
    assert flow.send(None) == Authenticate(2)
    second = flow.send(CREDS)
    assert isinstance(second, Send)
    assert second.attempt == 2
    assert second.request == first.request
    assert second.remaining == 59.0
    assert finish(flow, OK_VERIFY).valid_number is True


def test_connect_timeout_is_retried_but_read_timeout_on_verify_is_not() -> None:
    flow = start(verify_call(), FakeClock())
    flow.send(CREDS)
    assert flow.send(APITimeoutError("connect", maybe_processed=False)) == Sleep(1.0)
    flow.send(None)
    flow.send(CREDS)
    read_timeout = APITimeoutError("read", maybe_processed=True)
    with pytest.raises(APITimeoutError) as info:
        flow.send(read_timeout)
    assert info.value is read_timeout


def test_429_with_retry_after_sleeps_that_long() -> None:
    flow = start(verify_call(), FakeClock())
    flow.send(CREDS)
    limited = response(
        429, failure("TOO_MANY_REQUESTS", "Rate limit exceeded."), {"Retry-After": "3"}
    )
    assert flow.send(limited) == Sleep(3.0)
    assert flow.send(None) == Authenticate(2)
    flow.send(CREDS)
    assert finish(flow, OK_VERIFY).valid_number is True


def test_429_with_an_http_date_uses_the_wall_clock() -> None:
    clock = FakeClock(wall=1445412480.0 - 4)  # 4 s before Wed, 21 Oct 2015 07:28:00 GMT
    flow = start(verify_call(), clock)
    flow.send(CREDS)
    limited = response(429, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert flow.send(limited) == Sleep(4.0)


def test_429_with_retry_after_zero_does_not_sleep() -> None:
    flow = start(verify_call(), FakeClock())
    flow.send(CREDS)
    assert flow.send(response(429, b"", {"Retry-After": "0"})) == Authenticate(2)


def test_429_with_a_too_long_retry_after_raises() -> None:
    flow = start(verify_call(), FakeClock())
    flow.send(CREDS)
    with pytest.raises(RateLimitError) as info:
        flow.send(response(429, b"", {"Retry-After": "3600"}))
    assert info.value.retry_after == 3600.0


def test_get_500_is_retried_with_backoff_until_max_retries() -> None:
    clock = FakeClock()
    flow = start(core.account_products(), clock)
    sends = [flow.send(CREDS)]
    assert flow.send(SERVER_ERROR) == Sleep(1.0)
    clock.advance(1.0)
    assert flow.send(None) == Authenticate(2)
    sends.append(flow.send(CREDS))
    assert flow.send(SERVER_ERROR) == Sleep(2.0)
    clock.advance(2.0)
    assert flow.send(None) == Authenticate(3)
    sends.append(flow.send(CREDS))
    with pytest.raises(ServerError):
        flow.send(SERVER_ERROR)
    assert [s.attempt for s in sends] == [1, 2, 3]
    assert [s.remaining for s in sends] == [60.0, 59.0, 57.0]


def test_get_500_then_success() -> None:
    flow = start(core.account_products(), FakeClock())
    flow.send(CREDS)
    flow.send(SERVER_ERROR)
    flow.send(None)
    flow.send(CREDS)
    result = finish(flow, OK_PRODUCTS)
    assert result == models.ApiResult(data={"products": ["VERIFY"]})


def test_jitter_comes_from_the_clock() -> None:
    clock = FakeClock()
    clock.random_value = 1.0
    flow = start(core.account_products(), clock)
    flow.send(CREDS)
    assert flow.send(SERVER_ERROR) == Sleep(pytest.approx(1.1))


# --- deadline -------------------------------------------------------------------------------


def test_deadline_caps_send_timeouts_and_remaining() -> None:
    clock = FakeClock()
    settings = Settings(timeout=Timeout(connect=5, read=15, write=15, pool=5, total=10))
    flow = start(core.account_products(), clock, settings)
    first = flow.send(CREDS)
    assert first.remaining == 10.0
    assert first.timeout == Timeout(connect=5, read=10, write=10, pool=5, total=10)
    clock.advance(3.0)
    assert flow.send(SERVER_ERROR) == Sleep(1.0)
    clock.advance(1.0)
    flow.send(None)
    clock.advance(2.5)  # e.g. a slow key provider
    second = flow.send(CREDS)
    assert second.remaining == 3.5
    assert second.timeout == Timeout(connect=3.5, read=3.5, write=3.5, pool=3.5, total=10)


def test_deadline_stops_retries() -> None:
    clock = FakeClock()
    settings = Settings(timeout=Timeout(total=10))
    flow = start(core.account_products(), clock, settings)
    flow.send(CREDS)
    clock.advance(9.5)  # 0.5 s left: the 1 s backoff would overrun the deadline
    with pytest.raises(ServerError):
        flow.send(SERVER_ERROR)


def test_deadline_stops_a_retry_after_wait() -> None:
    clock = FakeClock()
    flow = start(verify_call(), clock, Settings(timeout=Timeout(total=5)))
    flow.send(CREDS)
    clock.advance(1.0)
    with pytest.raises(RateLimitError):
        flow.send(response(429, b"", {"Retry-After": "4"}))


def test_a_timeout_without_a_total_is_refused_up_front() -> None:
    # "No limit" would let a call hang forever: Timeout refuses None instead of failing later.
    with pytest.raises(ConfigurationError, match="total must be a number of seconds"):
        Timeout(total=None)  # type: ignore[arg-type]


# --- credentials per attempt ----------------------------------------------------------------


@pytest.mark.parametrize("up_front", [False, True], ids=["asked", "given-up-front"])
def test_credentials_are_asked_before_every_attempt(up_front: bool) -> None:
    """A driver with a static key may hand it over with the call; retries still ask for the
    credentials, so a key rotated meanwhile is used."""
    key_one = Credentials(CLIENT_ID, api_key="key-one")
    if up_front:
        flow = core.call_flow(verify_call(), Settings(), FakeClock().clock(), key_one)
        first = next(flow)
    else:
        flow = start(verify_call(), FakeClock())
        first = flow.send(key_one)
    assert isinstance(first, Send)
    assert first.attempt == 1
    assert first.request.reveal_headers()["X-API-KEY"] == "key-one"
    assert flow.send(CONNECT_ERROR) == Sleep(1.0)
    assert flow.send(None) == Authenticate(2)
    second = flow.send(Credentials(CLIENT_ID, api_key="key-two"))
    assert second.request.reveal_headers()["X-API-KEY"] == "key-two"
    assert finish(flow, OK_VERIFY).valid_number is True


def test_credentials_given_up_front_still_face_the_scope_rules() -> None:
    flow = core.call_flow(core.register_sdk_session(), Settings(), FakeClock().clock(), CREDS)
    with pytest.raises(CredentialScopeError, match="SDK token"):
        next(flow)


def test_the_authenticate_step_after_a_401_says_so() -> None:
    """A driver waits for a rotation under way before answering it (the server drops the old
    key before the client hears of the new one)."""
    flow = start(verify_call(), FakeClock())
    flow.send(Credentials(CLIENT_ID, api_key="old-key"))
    step = flow.send(UNAUTHORIZED)
    assert isinstance(step, Authenticate)
    assert step.rejected is True


def test_401_after_the_key_changed_is_resent_once_without_sleeping() -> None:
    flow = start(verify_call(), FakeClock())
    first = flow.send(Credentials(CLIENT_ID, api_key="old-key"))
    assert flow.send(UNAUTHORIZED) == Authenticate(2)
    second = flow.send(Credentials(CLIENT_ID, api_key="new-key"))
    assert isinstance(second, Send)
    assert second.attempt == 2
    assert first.request.reveal_headers()["X-API-KEY"] == "old-key"
    assert second.request.reveal_headers()["X-API-KEY"] == "new-key"
    assert finish(flow, OK_VERIFY).valid_number is True


def test_401_after_the_key_changed_is_resent_only_once() -> None:
    flow = start(verify_call(), FakeClock())
    flow.send(Credentials(CLIENT_ID, api_key="old-key"))
    flow.send(UNAUTHORIZED)
    flow.send(Credentials(CLIENT_ID, api_key="new-key"))
    with pytest.raises(AuthenticationError):
        flow.send(UNAUTHORIZED)


def test_401_with_the_same_key_raises() -> None:
    flow = start(core.account_products(), FakeClock())
    flow.send(CREDS)
    assert flow.send(UNAUTHORIZED) == Authenticate(2)
    with pytest.raises(AuthenticationError) as info:
        flow.send(Credentials(CLIENT_ID, api_key=Secret(API_KEY)))
    assert info.value.status_code == 401


def test_every_authenticate_step_carries_what_is_left_of_the_deadline() -> None:
    """A driver that waits before answering (a rotation under way, an async key provider)
    waits at most that long."""
    clock = FakeClock()
    flow = core.call_flow(verify_call(), Settings(timeout=Timeout(total=10)), clock.clock())
    assert next(flow).remaining == 10
    flow.send(Credentials(CLIENT_ID, api_key="old-key"))
    clock.advance(4)
    step = flow.send(UNAUTHORIZED)
    assert step.rejected is True
    assert step.remaining == 6


@pytest.mark.parametrize(
    "call", [core.rotate_api_key, core.rotate_client_key, core.generate_api_key]
)
def test_a_key_call_starts_with_authenticate_even_with_credentials_at_hand(call: Any) -> None:
    """So that the driver can take the rotation gate before the key is read."""
    flow = core.call_flow(call(), Settings(), FakeClock().clock(), CREDS)
    assert next(flow) == Authenticate(1)


def test_a_401_to_a_rotation_is_raised_at_once() -> None:
    """No "raced a rotation" resend: with a key changed meanwhile, a resent rotation would
    retire the key another rotation just issued."""
    flow = core.call_flow(core.rotate_api_key(), Settings(), FakeClock().clock(), CREDS)
    next(flow)
    flow.send(CREDS)
    with pytest.raises(AuthenticationError) as info:
        flow.send(UNAUTHORIZED)
    assert "client secret" in str(info.value)


def test_response_validation_error_is_not_retried() -> None:
    flow = start(core.account_products(), FakeClock())
    flow.send(CREDS)
    with pytest.raises(ResponseValidationError):
        flow.send(response(200, b"<html>gateway</html>"))


def test_never_op_is_not_retried_after_a_read_timeout() -> None:
    settings = Settings(retry=core.RetryPolicy(retry_non_idempotent=True, max_retries=5))
    flow = start(core.stuck_plus_reveal("sess-1"), FakeClock(), settings)
    flow.send(CREDS)
    with pytest.raises(APITimeoutError):
        flow.send(APITimeoutError("read", maybe_processed=True))


def test_scope_errors_raise_before_any_send() -> None:
    flow = start(verify_call(), FakeClock())
    with pytest.raises(CredentialScopeError) as info:
        flow.send(Credentials(CLIENT_ID, sdk_token=SDK_TOKEN))
    assert info.value.operation == "verify"


def test_scope_error_on_a_retry_attempt() -> None:
    flow = start(core.rotate_api_key(), FakeClock())
    flow.send(CREDS)
    assert flow.send(CONNECT_ERROR) == Sleep(1.0)
    flow.send(None)
    with pytest.raises(CredentialScopeError) as info:
        flow.send(Credentials(CLIENT_ID, api_key=API_KEY))
    assert info.value.required == "client secret"


@pytest.mark.parametrize("outcome", [None, b"raw bytes", 200, ValueError("x")])
def test_a_driver_must_send_back_a_response_or_an_authmatech_error(outcome: object) -> None:
    flow = start(core.account_products(), FakeClock())
    flow.send(CREDS)
    with pytest.raises(TypeError, match="a driver must send back an HttpResponse"):
        flow.send(outcome)


def test_settings_defaults() -> None:
    settings = Settings()
    assert settings.config.base_url == "https://service.authmatech.com"
    assert settings.timeout == Timeout()
    assert settings.retry == core.RetryPolicy()


def test_clock_defaults_to_random_random() -> None:
    clock = core.Clock(monotonic=lambda: 0.0, wall=lambda: 0.0)
    assert clock.random is random.random


# --- logging --------------------------------------------------------------------------------


def run_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.set_level(logging.DEBUG, logger="authmatech")
    clock = FakeClock()
    flow = start(core.verify_web("tx-77", NUMBER, mask_mobile=True), clock)
    flow.send(CREDS)
    clock.advance(0.25)
    assert flow.send(CONNECT_ERROR) == Sleep(1.0)
    flow.send(None)
    flow.send(CREDS)
    clock.advance(0.125)
    masked = response(
        200,
        envelope({"validNumber": True, "mobileNumber": "********67"}),
        {"X-Request-Id": "req-9"},
    )
    assert finish(flow, masked).masked_mobile_number == "********67"
    return [r for r in caplog.records if r.name == "authmatech"]


def test_debug_logs_method_path_status_and_attempt(caplog: pytest.LogCaptureFixture) -> None:
    records = run_logged(caplog)
    assert [r.levelno for r in records] == [logging.DEBUG, logging.DEBUG]
    assert [r.getMessage() for r in records] == [
        "POST /v1/api/verify/{transactionId} -> APIConnectionError (attempt 1, 250.0 ms)",
        "POST /v1/api/verify/{transactionId} -> 200 (attempt 2, 125.0 ms, request id req-9)",
    ]


def test_debug_logs_never_hold_the_key_or_the_number(caplog: pytest.LogCaptureFixture) -> None:
    records = run_logged(caplog)
    text = caplog.text + " ".join(f"{r.msg} {r.args} {r.getMessage()}" for r in records)
    for secret in (API_KEY, CLIENT_SECRET, NUMBER, "tx-77", "proof-blob"):
        assert secret not in text


def test_no_records_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="authmatech")
    flow = start(verify_call(), FakeClock())
    flow.send(CREDS)
    finish(flow, OK_VERIFY)
    assert [r for r in caplog.records if r.name == "authmatech"] == []
