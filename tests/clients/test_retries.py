"""The retry table of design.md section 5, asserted by counting requests at the server."""

from __future__ import annotations

import email.utils

import httpx
import pytest

import authmatech
from authmatech.core import Clock

from .conftest import NUMBER, Script, Sleeps, failure, make_async, make_sync, ok

SERVER_ERROR = failure(500, "Internal error", "INTERNAL_SERVER_ERROR", "internal_server_error")
RATE_LIMITED = failure(429, "Rate limit exceeded.", "TOO_MANY_REQUESTS")


class FakeClock:
    """Monotonic and wall time that only move when slept through."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.wall = 1_700_000_000.0

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds

    def clock(self) -> Clock:
        return Clock(monotonic=lambda: self.now, wall=lambda: self.wall, random=lambda: 0.5)


def test_verify_answered_500_is_sent_once() -> None:
    script = Script(SERVER_ERROR, ok({"validNumber": True}))
    with pytest.raises(authmatech.ServerError) as info:
        make_sync(script).verify(NUMBER, "BLOB")
    assert script.count == 1
    assert info.value.maybe_processed is True
    assert info.value.status_code == 500


def test_verify_read_timeout_is_sent_once() -> None:
    script = Script(httpx.ReadTimeout("slow"), ok({"validNumber": True}))
    with pytest.raises(authmatech.APITimeoutError) as info:
        make_sync(script).verify(NUMBER, "BLOB")
    assert script.count == 1
    assert info.value.maybe_processed is True


def test_verify_500_is_retried_when_the_caller_opts_in() -> None:
    script = Script(SERVER_ERROR, ok({"validNumber": True}))
    policy = authmatech.RetryPolicy(retry_non_idempotent=True)
    assert make_sync(script, retry_policy=policy).verify(NUMBER, "BLOB").valid_number
    assert script.count == 2


def test_verify_refused_connection_is_retried() -> None:
    sleeps = Sleeps()
    script = Script(
        httpx.ConnectError("refused"), httpx.ConnectError("refused"), ok({"validNumber": True})
    )
    result = make_sync(script, sleep=sleeps).verify(NUMBER, "BLOB")
    assert result.valid_number is True
    assert script.count == 3
    assert len(sleeps.calls) == 2
    assert 0.9 <= sleeps.calls[0] <= 1.1
    assert 1.9 <= sleeps.calls[1] <= 2.1


def test_connect_errors_give_up_after_max_retries() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(authmatech.APIConnectionError) as info:
        make_sync(script, max_retries=3).verify(NUMBER, "BLOB")
    assert script.count == 4
    assert info.value.maybe_processed is False


def test_verify_429_is_retried_and_honours_retry_after_seconds() -> None:
    sleeps = Sleeps()
    limited = failure(429, "Rate limit exceeded.", "TOO_MANY_REQUESTS", **{"Retry-After": "7"})
    script = Script(limited, ok({"validNumber": True}))
    assert make_sync(script, sleep=sleeps).verify(NUMBER, "BLOB").valid_number
    assert script.count == 2
    assert sleeps.calls == [7.0]


def test_retry_after_as_an_http_date() -> None:
    fake = FakeClock()
    sleeps = Sleeps()
    date = email.utils.formatdate(fake.wall + 12, usegmt=True)
    limited = failure(429, "Rate limit exceeded.", "TOO_MANY_REQUESTS", **{"Retry-After": date})
    script = Script(limited, ok({"validNumber": True}))
    client = make_sync(script, sleep=sleeps, clock=fake.clock())
    assert client.verify(NUMBER, "BLOB").valid_number
    assert sleeps.calls == [12.0]


def test_429_without_retry_after_backs_off_exponentially() -> None:
    sleeps = Sleeps()
    script = Script(RATE_LIMITED)
    with pytest.raises(authmatech.RateLimitError) as info:
        make_sync(script, sleep=sleeps, max_retries=3).verify(NUMBER, "BLOB")
    assert script.count == 4
    assert [round(s) for s in sleeps.calls] == [1, 2, 4]
    assert info.value.retry_after is None


def test_get_answered_500_is_retried() -> None:
    script = Script(SERVER_ERROR, ok(["VERIFY"]))
    assert make_sync(script).account.products().data == ["VERIFY"]
    assert script.count == 2


def test_get_read_timeout_is_retried() -> None:
    script = Script(httpx.ReadTimeout("slow"), ok(["VERIFY"]))
    assert make_sync(script).account.products().data == ["VERIFY"]
    assert script.count == 2


@pytest.mark.parametrize("status", [400, 401, 404, 409])
def test_other_4xx_are_never_retried(status: int) -> None:
    script = Script(failure(status, "nope", "BAD_REQUEST"), ok([]))
    with pytest.raises(authmatech.APIStatusError) as info:
        make_sync(script).account.products()
    assert info.value.status_code == status
    assert script.count == 1


def test_rotation_is_never_retried_once_sent_even_when_opted_in() -> None:
    script = Script(SERVER_ERROR, ok({"newApiKey": "ak_new"}))
    policy = authmatech.RetryPolicy(retry_non_idempotent=True)
    client = make_sync(script, retry_policy=policy)
    with pytest.raises(authmatech.ServerError):
        client.account.rotate_api_key()
    assert script.count == 1
    with pytest.raises(authmatech.APITimeoutError):
        make_sync(Script(httpx.ReadTimeout("x")), retry_policy=policy).stuck_plus.reveal("s1")


def test_the_deadline_stops_retries() -> None:
    fake = FakeClock()

    def sleep(seconds: float) -> None:
        fake.advance(seconds)

    script = Script(httpx.ConnectError("refused"))
    client = make_sync(
        script,
        sleep=sleep,
        clock=fake.clock(),
        max_retries=10,
        timeout=authmatech.Timeout(total=3.5),
    )
    with pytest.raises(authmatech.APIConnectionError):
        client.verify(NUMBER, "BLOB")
    # waits of 1 s and 2 s fit in 3.5 s; the next (4 s) would overrun the deadline
    assert script.count == 3


def test_retry_after_longer_than_the_cap_is_not_waited_for() -> None:
    sleeps = Sleeps()
    limited = failure(429, "Rate limit exceeded.", "TOO_MANY_REQUESTS", **{"Retry-After": "3600"})
    script = Script(limited)
    with pytest.raises(authmatech.RateLimitError) as info:
        make_sync(script, sleep=sleeps).verify(NUMBER, "BLOB")
    assert info.value.retry_after == 3600.0
    assert script.count == 1
    assert sleeps.calls == []


@pytest.mark.anyio
async def test_async_retries_use_the_injected_async_sleep() -> None:
    sleeps = Sleeps()
    script = Script(RATE_LIMITED, httpx.ConnectError("refused"), ok({"validNumber": True}))
    client = make_async(script, sleep=sleeps.asleep)
    assert (await client.verify(NUMBER, "BLOB")).valid_number
    assert script.count == 3
    assert [round(s) for s in sleeps.calls] == [1, 2]


@pytest.mark.anyio
async def test_async_verify_500_is_sent_once() -> None:
    script = Script(SERVER_ERROR)
    with pytest.raises(authmatech.ServerError):
        await make_async(script).verify(NUMBER, "BLOB")
    assert script.count == 1


def test_redirect_is_never_followed_and_credentials_stay_home() -> None:
    seen_hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_hosts.append(request.url.host)
        if request.url.host == "service.authmatech.com":
            return httpx.Response(302, headers={"Location": "https://evil.example/steal"})
        return ok({"validNumber": True})

    script = Script(handler)
    http = httpx.Client(transport=httpx.MockTransport(script), follow_redirects=True)
    client = authmatech.Client(client_id="c", api_key="k", http_client=http)
    with pytest.raises(authmatech.RedirectError) as info:
        client.verify(NUMBER, "BLOB")
    assert seen_hosts == ["service.authmatech.com"]
    assert info.value.status_code == 302
    assert "evil" not in str(info.value)


@pytest.mark.anyio
async def test_async_redirect_is_never_followed() -> None:
    script = Script(httpx.Response(307, headers={"Location": "https://127.0.0.2/x"}))
    http = httpx.AsyncClient(transport=httpx.MockTransport(script), follow_redirects=True)
    client = authmatech.AsyncClient(client_id="c", api_key="k", http_client=http)
    with pytest.raises(authmatech.RedirectError):
        await client.account.products()
    assert [r.url.host for r in script.requests] == ["service.authmatech.com"]
