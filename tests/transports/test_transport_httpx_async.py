"""AsyncHttpxTransport under asyncio and trio: real loopback I/O, cancellation, pool hygiene."""

from __future__ import annotations

import time
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from authmatech.core._http import HttpRequest, Timeout
from authmatech.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthmatechError,
    ConfigurationError,
    ResponseValidationError,
)
from authmatech.transports import AsyncHttpxTransport, AsyncTransport

from .support import BIG, HTTPX_MAPPING, LoopbackServer, caused_by

pytestmark = pytest.mark.anyio

FAST = Timeout.of(2.0)
MakeRequest = Callable[..., HttpRequest]


@pytest.fixture
async def transport(x: Any) -> AsyncIterator[AsyncHttpxTransport]:
    async with AsyncHttpxTransport(family=x.__name__) as owned:
        yield owned


def one_connection_client(x: Any) -> Any:
    return x.AsyncClient(limits=x.Limits(max_connections=1, max_keepalive_connections=1))


async def test_is_an_async_transport(transport: AsyncHttpxTransport) -> None:
    assert isinstance(transport, AsyncTransport)


async def test_keep_alive_and_request_details(
    server: LoopbackServer, transport: AsyncHttpxTransport, make_request: MakeRequest
) -> None:
    assert (await transport.send(make_request(server.url("/ok")), FAST)).body == b'{"ok":true}'
    request = make_request(server.url("/echo"), "POST", b'{"a":1}', {"X-Client-Id": "c1"})
    response = await transport.send(request, FAST)
    assert (response.status_code, response.body) == (201, b'{"a":1}')
    assert response.headers["x-multi"] == "a, b"
    method, _, headers, body = server.received[-1]
    assert (method, headers["x-client-id"], body) == ("POST", "c1", b'{"a":1}')


async def test_connection_refused_reached_nothing(
    x: Any, closed_port: int, transport: AsyncHttpxTransport, make_request: MakeRequest
) -> None:
    with pytest.raises(APIConnectionError) as info:
        await transport.send(make_request(f"http://127.0.0.1:{closed_port}/x"), FAST)
    assert type(info.value) is APIConnectionError
    assert info.value.maybe_processed is False
    assert caused_by(info.value, x.ConnectError)


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("/close", httpx.RemoteProtocolError),
        ("/reset", httpx.ReadError),
        ("/truncated", httpx.RemoteProtocolError),
    ],
)
async def test_failures_after_sending_may_have_been_processed(
    server: LoopbackServer,
    transport: AsyncHttpxTransport,
    make_request: MakeRequest,
    path: str,
    cause: type[Exception],
) -> None:
    before = server.hits[path]
    with pytest.raises(APIConnectionError) as info:
        await transport.send(make_request(server.url(path), "POST", b"{}"), FAST)
    assert type(info.value) is APIConnectionError
    assert info.value.maybe_processed is True
    assert getattr(info.value.__cause__, "type_name", "").rpartition(".")[2] == cause.__name__
    assert server.hits[path] == before + 1


@pytest.mark.parametrize("path", ["/hang", "/stall-body"])
async def test_read_timeout_may_have_been_processed(
    server: LoopbackServer, transport: AsyncHttpxTransport, make_request: MakeRequest, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        await transport.send(make_request(server.url(path)), Timeout(read=0.1))
    assert time.monotonic() - started < 2
    assert info.value.maybe_processed is True


async def test_pool_timeout_reached_nothing(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    async with one_connection_client(x) as client:
        transport = AsyncHttpxTransport(client)
        before = server.hits["/hang"]
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(transport.send, make_request(server.url("/hang")), Timeout.of(5))
            await anyio.to_thread.run_sync(server.wait_for_hits, "/hang", before + 1)
            with pytest.raises(APITimeoutError) as info:
                await transport.send(make_request(server.url("/ok")), Timeout(pool=0.1))
            assert info.value.maybe_processed is False
            assert "no free connection" in str(info.value)
            tasks.cancel_scope.cancel()


@pytest.mark.parametrize("path", ["/hang", "/stall-body"])
async def test_cancellation_propagates_and_frees_the_connection(
    x: Any, server: LoopbackServer, make_request: MakeRequest, path: str
) -> None:
    async with one_connection_client(x) as client:
        transport = AsyncHttpxTransport(client)
        with anyio.move_on_after(0.1) as scope:
            await transport.send(make_request(server.url(path)), Timeout.of(5))
        assert scope.cancelled_caught
        response = await transport.send(make_request(server.url("/ok")), Timeout(pool=1.0))
    assert response.status_code == 200


async def test_cancelled_while_waiting_for_the_pool_frees_it(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    async with one_connection_client(x) as client:
        transport = AsyncHttpxTransport(client)
        with anyio.move_on_after(0.15):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(transport.send, make_request(server.url("/hang")), Timeout.of(5))
                tasks.start_soon(transport.send, make_request(server.url("/ok")), Timeout.of(5))
        response = await transport.send(make_request(server.url("/ok")), Timeout(pool=1.0))
    assert response.status_code == 200


async def test_body_over_cap(
    server: LoopbackServer, transport: AsyncHttpxTransport, make_request: MakeRequest
) -> None:
    for path in ("/big", f"/chunked?n={BIG}"):
        with pytest.raises(ResponseValidationError) as info:
            await transport.send(make_request(server.url(path)), FAST)
        assert info.value.status_code == 200
        assert "AsyncHttpxTransport(max_response_bytes=...)" in str(info.value)
    assert (await transport.send(make_request(server.url("/ok")), FAST)).status_code == 200


@pytest.mark.parametrize("kind", ["bytes", "chunked"])
async def test_cap_is_inclusive(
    server: LoopbackServer, make_request: MakeRequest, kind: str
) -> None:
    async with AsyncHttpxTransport(max_response_bytes=1000) as transport:
        response = await transport.send(make_request(server.url(f"/{kind}?n=1000")), FAST)
        assert response.body == b"yz"[kind == "chunked" :][:1] * 1000
        with pytest.raises(ResponseValidationError, match="max_response_bytes=1000"):
            await transport.send(make_request(server.url(f"/{kind}?n=1001")), FAST)


async def test_redirect_returned_not_followed_even_if_caller_client_follows(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    async with x.AsyncClient(follow_redirects=True) as client:
        response = await AsyncHttpxTransport(client).send(
            make_request(server.url("/redirect")), FAST
        )
    assert response.status_code == 302
    assert response.headers["location"] == server.url("/ok", host="127.0.0.2")


async def test_caller_client_is_never_closed(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    async with x.AsyncClient() as client:
        await AsyncHttpxTransport(client).aclose()
        assert client.is_closed is False
        assert (await client.get(server.url("/ok"))).status_code == 200


async def test_owned_client_is_closed(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    transport = AsyncHttpxTransport(family=x.__name__)
    await transport.aclose()
    with pytest.raises(ConfigurationError, match="pool is closed"):
        await transport.send(make_request(server.url("/ok")), FAST)


async def test_per_request_timeouts_reach_httpx(x: Any, make_request: MakeRequest) -> None:
    seen: list[object] = []

    def handler(request: x.Request) -> x.Response:
        seen.append(request.extensions["timeout"])
        return x.Response(204)

    async with x.AsyncClient(transport=x.MockTransport(handler)) as client:
        transport = AsyncHttpxTransport(client)
        await transport.send(make_request("https://api.example/x"), Timeout(connect=1.0, read=2.0))
        await transport.send(make_request("https://api.example/x"), Timeout.of(0.5))
    assert seen == [
        {"connect": 1.0, "read": 2.0, "write": 15.0, "pool": 5.0},
        {"connect": 0.5, "read": 0.5, "write": 0.5, "pool": 0.5},
    ]


@pytest.mark.parametrize(("raised", "expected", "maybe_processed"), HTTPX_MAPPING)
async def test_httpx_exception_mapping(
    x: Any,
    make_request: MakeRequest,
    raised: str,
    expected: type[AuthmatechError],
    maybe_processed: bool | None,
) -> None:
    def handler(request: x.Request) -> x.Response:
        raise getattr(x, raised)("boom", request=request)

    async with x.AsyncClient(transport=x.MockTransport(handler)) as client:
        with pytest.raises(AuthmatechError) as info:
            await AsyncHttpxTransport(client).send(make_request("https://api.example/a"), FAST)
    assert type(info.value) is expected
    assert getattr(info.value, "maybe_processed", None) is maybe_processed


async def test_invalid_header_value_is_never_echoed(
    server: LoopbackServer, transport: AsyncHttpxTransport, make_request: MakeRequest
) -> None:
    request = make_request(
        server.url("/ok"), headers={"X-SDK-TOKEN": "tok\r\nSECRET42"}, unchecked=True
    )
    with pytest.raises(ConfigurationError) as info:
        await transport.send(request, FAST)
    assert info.value.__context__ is None
    assert "SECRET42" not in "".join(traceback.format_exception(info.value))


# A decoding error leaves httpx's own inner generators suspended where no caller can close them;
# trio warns when it finalizes them (httpx issue #3686, fix proposed in encode/httpx#3777).
HTTPX_3686 = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <async_generator object (Response\.aiter_raw|BoundAsyncStream)"
    ":pytest.PytestUnraisableExceptionWarning"
)


@pytest.mark.parametrize(
    "anyio_backend", ["asyncio", pytest.param("trio", marks=HTTPX_3686)], indirect=True
)
async def test_undecodable_body_is_a_response_validation_error(
    x: Any, make_request: MakeRequest
) -> None:
    def handler(request: x.Request) -> x.Response:
        return x.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=x.ByteStream(b"not gzip")
        )

    async with x.AsyncClient(transport=x.MockTransport(handler)) as client:
        with pytest.raises(ResponseValidationError) as info:
            await AsyncHttpxTransport(client).send(make_request("https://api.example/a"), FAST)
    assert info.value.status_code == 200
