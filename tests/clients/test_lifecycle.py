"""Options, environment, lifecycle, cancellation and logging of both clients."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

import authmatech
from authmatech.core import Clock, HttpRequest, HttpResponse, Timeout

from .conftest import API_KEY, CLIENT_ID, NUMBER, Script, make_async, make_sync, ok


def test_credentials_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AUTHMATECH_API_KEY", API_KEY + "\n")
    monkeypatch.setenv("AUTHMATECH_BASE_URL", "http://127.0.0.1:9999/")
    script = Script()
    client = authmatech.Client(http_client=httpx.Client(transport=httpx.MockTransport(script)))
    client.verify(NUMBER, "BLOB")
    request = script.requests[0]
    assert str(request.url) == "http://127.0.0.1:9999/v1/api/verify"
    assert request.headers["x-api-key"] == API_KEY


def test_a_quoted_key_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHMATECH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AUTHMATECH_API_KEY", f'"{API_KEY}"')
    with pytest.raises(authmatech.ConfigurationError) as info:
        authmatech.Client()
    assert "AUTHMATECH_API_KEY" in str(info.value)
    assert API_KEY not in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"client_id": None}, "client_id is missing"),
        ({"timeout": None}, "hang forever"),
        ({"timeout": "5"}, "timeout must be a number"),
        ({"timeout": -1}, "positive"),
        ({"max_retries": -1}, "max_retries"),
        ({"base_url": "http://service.authmatech.com"}, "https"),
        ({"base_url": "https://user:pw@service.authmatech.com"}, "user info"),
        ({"retry_policy": 3}, "RetryPolicy"),
        ({"app_info": "bad\napp"}, "app_info"),
        ({"transport": object()}, "SyncTransport"),
        ({"api_key": "two words"}, "whitespace"),
        ({"on_api_key_rotated": 5}, "callable"),
    ],
)
def test_bad_options_get_clear_errors(options: dict[str, object], message: str) -> None:
    options.setdefault("client_id", CLIENT_ID)
    with pytest.raises(authmatech.ConfigurationError) as info:
        authmatech.Client(**options)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_http_client_and_transport_are_exclusive() -> None:
    with pytest.raises(authmatech.ConfigurationError, match="not both"):
        authmatech.Client(client_id=CLIENT_ID, http_client=httpx.Client(), transport=object())  # type: ignore[arg-type]


def test_timeouts_reach_the_transport() -> None:
    seen: list[Timeout] = []

    class Recording:
        def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
            seen.append(timeout)
            return HttpResponse(
                200, {}, b'{"success":true,"messages":[],"data":{"validNumber":true}}'
            )

        def close(self) -> None:
            raise AssertionError("a caller's transport is never closed")

    client = authmatech.Client(
        client_id=CLIENT_ID, api_key=API_KEY, transport=Recording(), timeout=2.5
    )
    client.verify(NUMBER, "BLOB")
    client.with_options(timeout=Timeout(connect=1, read=9)).verify(NUMBER, "BLOB")
    client.close()
    assert (seen[0].connect, seen[0].read) == (2.5, 2.5)
    assert (seen[1].connect, seen[1].read) == (1, 9)


@pytest.mark.anyio
async def test_a_deadline_keeping_transport_gets_the_remaining_time_never_more() -> None:
    """Such a transport gets ``Timeout.until(remaining)``, rounded down to the millisecond:
    calls made within the same millisecond of their deadline share one Timeout object (so
    the transport can reuse what it builds from it), and a later call gets a shorter one."""
    seen: list[Timeout] = []
    now = [100.0]

    class Keeping:
        enforces_deadline = True

        async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
            seen.append(timeout)
            return HttpResponse(
                200, {}, b'{"success":true,"messages":[],"data":{"validNumber":true}}'
            )

        async def aclose(self) -> None:
            return None

    clock = Clock(monotonic=lambda: now[0], wall=lambda: 1.7e9)
    client = authmatech.AsyncClient(
        client_id=CLIENT_ID,
        api_key=API_KEY,
        transport=Keeping(),
        timeout=Timeout(connect=1, read=9, total=30),
        clock=clock,
    )
    await client.verify(NUMBER, "BLOB")
    await client.verify(NUMBER, "BLOB")
    assert seen[0] is seen[1]
    assert (seen[0].connect, seen[0].read, seen[0].total) == (1, 9, 30)
    derived = client.with_options(timeout=Timeout(connect=2, read=9, total=30))
    await derived.verify(NUMBER, "BLOB")
    assert (seen[2].connect, seen[2].total) == (2, 30)


def test_attempt_timeouts_round_down_and_stay_bounded() -> None:
    from authmatech._base_client import AttemptTimeouts as _AttemptTimeouts
    from authmatech.core import Send

    cache = _AttemptTimeouts()
    phases = Timeout(total=60)
    request = HttpRequest("GET", "https://example.test/", {})
    first = cache.get(Send(request, phases, 1, 59.9996))
    assert first.total == 59.999
    assert cache.get(Send(request, phases, 1, 59.9991)) is first
    assert cache.get(Send(request, phases, 1, 59.9989)).total == 59.998
    assert cache.get(Send(request, phases, 2, 0.0004)).total == 0.001
    for step in range(200):
        assert cache.get(Send(request, phases, 1, step + 0.5)).total <= step + 0.5
    assert len(cache._by_millisecond) <= 64


def test_a_callers_http_client_is_left_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(Script()))
    with authmatech.Client(client_id=CLIENT_ID, api_key=API_KEY, http_client=http) as client:
        client.verify(NUMBER, "BLOB")
    assert not http.is_closed
    http.close()


def test_the_client_closes_the_pool_it_created() -> None:
    client = authmatech.Client(client_id=CLIENT_ID, api_key=API_KEY)
    derived = client.with_options(max_retries=0)
    derived.close()
    client.close()
    with pytest.raises(authmatech.ConfigurationError, match="pool is closed"):
        client.verify(NUMBER, "BLOB")


@pytest.mark.anyio
async def test_async_client_leaves_a_callers_client_open() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(Script()))
    async with authmatech.AsyncClient(client_id=CLIENT_ID, api_key=API_KEY, http_client=http) as c:
        await c.verify(NUMBER, "BLOB")
    assert not http.is_closed
    await http.aclose()


def test_with_options_shares_the_pool_and_changes_only_settings() -> None:
    script = Script()
    client = make_sync(script, app_info="shop/1.0")
    derived = client.with_options(app_info="worker/2.0", max_retries=0)
    assert derived._transport is client._transport
    derived.verify(NUMBER, "BLOB")
    client.verify(NUMBER, "BLOB")
    agents = [r.headers["user-agent"] for r in script.requests]
    assert agents[0].endswith(" worker/2.0")
    assert agents[1].endswith(" shop/1.0")
    assert derived._settings.retry.max_retries == 0


def test_repr_shows_no_secret() -> None:
    client = make_sync(Script())
    assert API_KEY not in repr(client)
    assert CLIENT_ID in repr(client)


def test_one_debug_line_per_attempt(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="authmatech")
    script = Script(
        httpx.ConnectError("refused"), ok({"validNumber": True}, **{"X-Request-Id": "req_42"})
    )
    make_sync(script).verify(NUMBER, "BLOB")
    lines = [r.getMessage() for r in caplog.records if r.name == "authmatech"]
    assert len(lines) == 2
    assert lines[0].startswith("POST /v1/api/verify -> APIConnectionError (attempt 1")
    assert lines[1].startswith("POST /v1/api/verify -> 200 (attempt 2")
    assert "request id req_42" in lines[1]
    for line in lines:
        assert API_KEY not in line
        assert NUMBER not in line


@pytest.mark.anyio
async def test_cancellation_propagates_and_the_client_stays_usable() -> None:
    gate = anyio.Event()
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 20:
            await gate.wait()
        return ok({"validNumber": True})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = authmatech.AsyncClient(client_id=CLIENT_ID, api_key=API_KEY, http_client=http)
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(client.verify, NUMBER, "BLOB")
        await anyio.wait_all_tasks_blocked()
        tg.cancel_scope.cancel()
    with anyio.move_on_after(0.01) as scope:
        await client.verify(NUMBER, "BLOB")
    assert scope.cancelled_caught or calls == 21
    for _ in range(5):
        assert (await client.verify(NUMBER, "BLOB")).valid_number
    await http.aclose()


@pytest.mark.anyio
async def test_async_deadline_bounds_a_hanging_transport() -> None:
    class Hanging:
        async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
            await anyio.sleep_forever()
            raise AssertionError

        async def aclose(self) -> None:
            return None

    client = authmatech.AsyncClient(
        client_id=CLIENT_ID,
        api_key=API_KEY,
        transport=Hanging(),
        timeout=Timeout(total=0.05),
        max_retries=0,
    )
    with anyio.fail_after(2):
        with pytest.raises(authmatech.APITimeoutError) as info:
            await client.verify(NUMBER, "BLOB")
    assert info.value.maybe_processed is True


@pytest.mark.anyio
async def test_a_transports_own_timeout_error_is_not_taken_for_the_deadline() -> None:
    """A plain TimeoutError from a third-party transport is its bug to report, not the
    call's deadline: it propagates unchanged (asyncio's timeout and anyio's scope alike)."""

    class Broken:
        async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
            raise TimeoutError("the transport's own")

        async def aclose(self) -> None:
            return None

    client = authmatech.AsyncClient(
        client_id=CLIENT_ID, api_key=API_KEY, transport=Broken(), max_retries=0
    )
    with pytest.raises(TimeoutError, match="the transport's own") as info:
        await client.verify(NUMBER, "BLOB")
    assert not isinstance(info.value, authmatech.AuthmatechError)


@pytest.mark.anyio
async def test_async_bad_options() -> None:
    with pytest.raises(authmatech.ConfigurationError, match="AsyncTransport"):
        authmatech.AsyncClient(client_id=CLIENT_ID, transport=object())  # type: ignore[arg-type]
    client = make_async(Script(), api_key=None)
    with pytest.raises(authmatech.CredentialScopeError):
        await client.verify(NUMBER, "BLOB")


@pytest.mark.anyio
async def test_the_async_client_refuses_to_send_once_closed() -> None:
    client = authmatech.AsyncClient(client_id=CLIENT_ID, api_key=API_KEY)
    await client.aclose()
    with pytest.raises(authmatech.ConfigurationError, match="pool is closed"):
        await client.verify(NUMBER, "BLOB")


def test_import_authmatech_stays_light() -> None:
    """``import authmatech`` loads neither httpcore (httpx loads it lazily), asyncio, trio,
    aiohttp nor the sandbox: the benchmark's import-time target depends on it."""
    import subprocess
    import sys

    code = (
        "import sys, authmatech; "
        "print(sorted(m for m in ('httpcore', 'asyncio', 'trio', 'aiohttp', 'authmatech.sandbox') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
