"""AiohttpTransport (asyncio only) against the same loopback server; its refusal under trio."""

from __future__ import annotations

import time
import traceback
from collections.abc import AsyncIterator, Callable

import aiohttp
import anyio
import pytest

from authmatech.core._http import HttpRequest, Timeout
from authmatech.errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    ResponseValidationError,
)
from authmatech.transports import AiohttpTransport, AsyncTransport

from .support import BIG, LoopbackServer, caused_by

pytestmark = pytest.mark.anyio

FAST = Timeout.of(2.0)
MakeRequest = Callable[..., HttpRequest]


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only; the trio refusal is tested explicitly below."""
    return "asyncio"


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    async with AiohttpTransport() as owned:
        yield owned


async def test_is_an_async_transport(transport: AiohttpTransport) -> None:
    assert isinstance(transport, AsyncTransport)


async def test_keep_alive_and_request_details(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    for _ in range(3):
        response = await transport.send(make_request(server.url("/ok")), FAST)
        assert (response.status_code, response.body) == (200, b'{"ok":true}')
        assert response.headers["content-type"] == "application/json"
    request = make_request(server.url("/echo?p=1"), "POST", b'{"a":1}', {"X-Client-Id": "c1"})
    response = await transport.send(request, FAST)
    assert (response.status_code, response.body) == (201, b'{"a":1}')
    assert response.headers["x-multi"] == "a, b"
    method, target, headers, body = server.received[-1]
    assert (method, target, headers["x-client-id"], body) == ("POST", "/echo?p=1", "c1", b'{"a":1}')


async def test_connection_refused_reached_nothing(
    closed_port: int, transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    with pytest.raises(APIConnectionError) as info:
        await transport.send(make_request(f"http://127.0.0.1:{closed_port}/x"), FAST)
    assert type(info.value) is APIConnectionError
    assert info.value.maybe_processed is False
    assert f"could not connect to 127.0.0.1:{closed_port}" in str(info.value)
    assert caused_by(info.value, aiohttp.ClientConnectorError)


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("/close", aiohttp.ServerDisconnectedError),
        ("/truncated", aiohttp.ClientPayloadError),
    ],
)
async def test_failures_after_sending_may_have_been_processed(
    server: LoopbackServer,
    transport: AiohttpTransport,
    make_request: MakeRequest,
    path: str,
    cause: type[Exception],
) -> None:
    before = server.hits[path]
    with pytest.raises(APIConnectionError) as info:
        await transport.send(make_request(server.url(path), "POST", b"{}"), FAST)
    assert type(info.value) is APIConnectionError
    assert info.value.maybe_processed is True
    assert caused_by(info.value, cause)
    assert server.hits[path] == before + 1


async def test_reset_may_have_been_processed(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    with pytest.raises(APIConnectionError) as info:
        await transport.send(make_request(server.url("/reset"), "POST", b"{}"), FAST)
    assert type(info.value) is APIConnectionError
    assert info.value.maybe_processed is True


@pytest.mark.parametrize("path", ["/hang", "/stall-body"])
async def test_read_timeout_may_have_been_processed(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        await transport.send(make_request(server.url(path)), Timeout(read=0.1))
    assert time.monotonic() - started < 2
    assert info.value.maybe_processed is True


@pytest.mark.parametrize("path", ["/hang", "/stall-body"])
async def test_total_bounds_the_attempt(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest, path: str
) -> None:
    assert AiohttpTransport.enforces_deadline is True  # AsyncClient passes its deadline as total
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="deadline ran out") as info:
        await transport.send(make_request(server.url(path)), Timeout(read=5.0, total=0.2))
    assert time.monotonic() - started < 2
    assert info.value.maybe_processed is True


async def test_pool_timeout_reached_nothing(
    server: LoopbackServer, make_request: MakeRequest
) -> None:
    async with AiohttpTransport(limit=1) as transport:
        before = server.hits["/hang"]
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(transport.send, make_request(server.url("/hang")), Timeout.of(5))
            await anyio.to_thread.run_sync(server.wait_for_hits, "/hang", before + 1)
            with pytest.raises(APITimeoutError) as info:
                await transport.send(
                    make_request(server.url("/ok")), Timeout(pool=0.1, connect=0.1)
                )
            assert info.value.maybe_processed is False
            tasks.cancel_scope.cancel()


@pytest.mark.parametrize("path", ["/hang", "/stall-body"])
async def test_cancellation_propagates_and_frees_the_connection(
    server: LoopbackServer, make_request: MakeRequest, path: str
) -> None:
    async with AiohttpTransport(limit=1) as transport:
        with anyio.move_on_after(0.1) as scope:
            await transport.send(make_request(server.url(path)), Timeout.of(5))
        assert scope.cancelled_caught
        response = await transport.send(make_request(server.url("/ok")), Timeout(pool=1.0))
    assert response.status_code == 200


async def test_body_over_cap(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    for path in ("/big", f"/chunked?n={BIG}"):
        with pytest.raises(ResponseValidationError) as info:
            await transport.send(make_request(server.url(path)), FAST)
        assert info.value.status_code == 200
        assert "AiohttpTransport(max_response_bytes=...)" in str(info.value)
    assert (await transport.send(make_request(server.url("/ok")), FAST)).status_code == 200


@pytest.mark.parametrize(("kind", "byte"), [("bytes", b"y"), ("chunked", b"z")])
async def test_cap_is_inclusive(
    server: LoopbackServer, make_request: MakeRequest, kind: str, byte: bytes
) -> None:
    async with AiohttpTransport(max_response_bytes=1000) as transport:
        response = await transport.send(make_request(server.url(f"/{kind}?n=1000")), FAST)
        assert response.body == byte * 1000
        with pytest.raises(ResponseValidationError, match="max_response_bytes=1000"):
            await transport.send(make_request(server.url(f"/{kind}?n=1001")), FAST)


async def test_redirect_returned_not_followed(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    response = await transport.send(make_request(server.url("/redirect")), FAST)
    assert response.status_code == 302
    assert response.headers["location"] == server.url("/ok", host="127.0.0.2")


async def test_caller_session_is_used_and_never_closed(
    server: LoopbackServer, make_request: MakeRequest
) -> None:
    async with aiohttp.ClientSession() as session:
        transport = AiohttpTransport(session)
        response = await transport.send(make_request(server.url("/redirect")), FAST)
        assert response.status_code == 302
        await transport.aclose()
        assert session.closed is False


async def test_owned_session_is_closed(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    await transport.send(make_request(server.url("/ok")), FAST)
    await transport.aclose()
    with pytest.raises(ConfigurationError, match="connection pool is closed"):
        await transport.send(make_request(server.url("/ok")), FAST)


async def test_unusable_url_is_a_configuration_error(
    transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    with pytest.raises(ConfigurationError, match="URL is invalid or not http"):
        await transport.send(make_request("ftp://api.example/x", unchecked=True), FAST)


async def test_invalid_header_value_is_never_echoed(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest
) -> None:
    request = make_request(server.url("/ok"), headers={"X-API-KEY": "sk\nSECRET42"}, unchecked=True)
    with pytest.raises(ConfigurationError) as info:
        await transport.send(request, FAST)
    assert info.value.__context__ is None
    assert "SECRET42" not in "".join(traceback.format_exception(info.value))


@pytest.mark.parametrize("path", ["/close", "/hang"])
async def test_transit_errors_carry_no_secret(
    server: LoopbackServer, transport: AiohttpTransport, make_request: MakeRequest, path: str
) -> None:
    request = make_request(server.url(f"{path}?m=%2B962791234567"), headers={"X-API-KEY": "SECRET"})
    with pytest.raises(APIConnectionError) as info:
        await transport.send(request, Timeout(read=0.1))
    assert "SECRET" not in "".join(traceback.format_exception(info.value))
    assert "962791234567" not in str(info.value)


def test_limit_conflicts_with_a_caller_session() -> None:
    with pytest.raises(ConfigurationError, match="set it on the session"):
        AiohttpTransport(object(), limit=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_refuses_to_run_under_trio(make_request: MakeRequest) -> None:
    transport = AiohttpTransport()
    with pytest.raises(ConfigurationError, match=r"asyncio only.*AsyncHttpxTransport"):
        await transport.send(make_request("http://127.0.0.1:1/x"), FAST)
    await transport.aclose()


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"session": "not a session"}, "session must be an aiohttp.ClientSession, not str"),
        ({"limit": -1}, "limit .* must be an int of 0 or more .*not -1"),
        ({"limit": "10"}, "limit .* not str"),
        ({"limit": True}, "limit .* not True"),
    ],
)
def test_wrong_session_or_limit_is_a_configuration_error(
    arguments: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AiohttpTransport(**arguments)  # type: ignore[arg-type]
