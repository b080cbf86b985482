"""HttpxTransport: real loopback I/O for resets, truncation and timeouts; handlers for mapping."""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from forking import child_outcome, fork

from authmatech.core._http import HttpRequest, Timeout
from authmatech.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthmatechError,
    ConfigurationError,
    ResponseValidationError,
)
from authmatech.transports import HttpxTransport, SyncTransport

from .support import BIG, HTTPX_MAPPING, LoopbackServer, caused_by

FAST = Timeout.of(2.0)
MakeRequest = Callable[..., HttpRequest]


@pytest.fixture
def transport(x: Any) -> Iterator[HttpxTransport]:
    with HttpxTransport(family=x.__name__) as owned:
        yield owned


def test_is_a_sync_transport(transport: HttpxTransport) -> None:
    assert isinstance(transport, SyncTransport)


def test_keep_alive_responses(
    server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest
) -> None:
    for _ in range(3):
        response = transport.send(make_request(server.url("/ok")), FAST)
        assert response.status_code == 200
        assert response.body == b'{"ok":true}'
        assert response.headers["content-type"] == "application/json"


def test_sends_method_headers_and_body_and_merges_repeated_headers(
    server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest
) -> None:
    request = make_request(
        server.url("/echo?page=2"), "POST", b'{"a":1}', {"X-Client-Id": "client-1"}
    )
    response = transport.send(request, FAST)
    assert response.status_code == 201
    assert response.body == b'{"a":1}'
    assert response.headers["x-multi"] == "a, b"
    method, target, headers, body = server.received[-1]
    assert (method, target, body) == ("POST", "/echo?page=2", b'{"a":1}')
    assert headers["x-client-id"] == "client-1"


def test_connection_refused_reached_nothing(
    x: Any, closed_port: int, make_request: MakeRequest
) -> None:
    with HttpxTransport(family=x.__name__) as transport, pytest.raises(APIConnectionError) as info:
        transport.send(make_request(f"http://127.0.0.1:{closed_port}/v1/api/x?q=1"), FAST)
    error = info.value
    assert type(error) is APIConnectionError
    assert error.maybe_processed is False
    assert str(error) == (
        f"could not connect to 127.0.0.1:{closed_port} (ConnectError); nothing reached the server"
    )
    assert caused_by(error, x.ConnectError)


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("/close", httpx.RemoteProtocolError),
        ("/reset", httpx.ReadError),
        ("/truncated", httpx.RemoteProtocolError),
    ],
)
def test_failures_after_sending_may_have_been_processed(
    server: LoopbackServer,
    transport: HttpxTransport,
    make_request: MakeRequest,
    path: str,
    cause: type[Exception],
) -> None:
    before = server.hits[path]
    with pytest.raises(APIConnectionError) as info:
        transport.send(make_request(server.url(path), "POST", b"{}"), FAST)
    assert type(info.value) is APIConnectionError
    assert info.value.maybe_processed is True
    assert getattr(info.value.__cause__, "type_name", "").rpartition(".")[2] == cause.__name__
    assert server.hits[path] == before + 1


@pytest.mark.parametrize("path", ["/hang", "/stall-body"])
def test_read_timeout_may_have_been_processed(
    server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest, path: str
) -> None:
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        transport.send(make_request(server.url(path)), Timeout(read=0.1))
    assert time.monotonic() - started < 2
    assert info.value.maybe_processed is True
    assert str(info.value).startswith(f"127.0.0.1:{server.port} did not respond in time")


def test_body_over_default_cap_rejected_on_content_length(
    server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest
) -> None:
    with pytest.raises(ResponseValidationError) as info:
        transport.send(make_request(server.url("/big")), FAST)
    assert info.value.status_code == 200
    assert "max_response_bytes=1048576" in str(info.value)
    assert "HttpxTransport(max_response_bytes=...)" in str(info.value)
    assert transport.send(make_request(server.url("/ok")), FAST).status_code == 200


def test_chunked_body_over_default_cap_stops_reading(
    server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest
) -> None:
    with pytest.raises(ResponseValidationError) as info:
        transport.send(make_request(server.url(f"/chunked?n={BIG}")), FAST)
    assert info.value.status_code == 200
    assert transport.send(make_request(server.url("/ok")), FAST).body == b'{"ok":true}'


@pytest.mark.parametrize("kind", ["bytes", "chunked"])
def test_cap_is_inclusive(server: LoopbackServer, make_request: MakeRequest, kind: str) -> None:
    with HttpxTransport(max_response_bytes=1000) as transport:
        body = transport.send(make_request(server.url(f"/{kind}?n=1000")), FAST).body
        assert len(body) == 1000
        with pytest.raises(ResponseValidationError, match="max_response_bytes=1000"):
            transport.send(make_request(server.url(f"/{kind}?n=1001")), FAST)


def test_redirect_returned_not_followed_even_if_caller_client_follows(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    with x.Client(follow_redirects=True) as client:
        response = HttpxTransport(client).send(make_request(server.url("/redirect")), FAST)
    assert response.status_code == 302
    assert response.headers["location"] == server.url("/ok", host="127.0.0.2")


def test_caller_client_is_never_closed(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    with x.Client() as client:
        HttpxTransport(client).close()
        assert client.is_closed is False
        assert client.get(server.url("/ok")).status_code == 200


def test_owned_client_is_closed(x: Any, server: LoopbackServer, make_request: MakeRequest) -> None:
    transport = HttpxTransport(family=x.__name__)
    transport.close()
    with pytest.raises(ConfigurationError, match="pool is closed"):
        transport.send(make_request(server.url("/ok")), FAST)


def test_per_request_timeouts_reach_httpx(x: Any, make_request: MakeRequest) -> None:
    seen: list[object] = []

    def handler(request: x.Request) -> x.Response:
        seen.append(request.extensions["timeout"])
        return x.Response(204)

    with x.Client(transport=x.MockTransport(handler)) as client:
        transport = HttpxTransport(client)
        first = Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)
        transport.send(make_request("https://api.example/x"), first)
        transport.send(make_request("https://api.example/x"), first)
        transport.send(make_request("https://api.example/x"), Timeout.of(0.5))
    assert seen == [
        {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0},
        {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0},
        {"connect": 0.5, "read": 0.5, "write": 0.5, "pool": 0.5},
    ]


@pytest.mark.parametrize(("raised", "expected", "maybe_processed"), HTTPX_MAPPING)
def test_httpx_exception_mapping(
    x: Any,
    make_request: MakeRequest,
    raised: str,
    expected: type[AuthmatechError],
    maybe_processed: bool | None,
) -> None:
    def handler(request: x.Request) -> x.Response:
        raise getattr(x, raised)("boom", request=request)

    with (
        x.Client(transport=x.MockTransport(handler)) as client,
        pytest.raises(AuthmatechError) as info,
    ):
        HttpxTransport(client).send(make_request("https://api.example:8443/a?b=c"), FAST)
    assert type(info.value) is expected
    assert getattr(info.value, "maybe_processed", None) is maybe_processed
    assert "api.example:8443" in str(info.value)
    assert "b=c" not in str(info.value)
    assert info.value.__cause__ is not None


def test_undecodable_body_is_a_response_validation_error(x: Any, make_request: MakeRequest) -> None:
    def handler(request: x.Request) -> x.Response:
        return x.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=x.ByteStream(b"not gzip")
        )

    with (
        x.Client(transport=x.MockTransport(handler)) as client,
        pytest.raises(ResponseValidationError) as info,
    ):
        HttpxTransport(client).send(make_request("https://api.example/a"), FAST)
    assert info.value.status_code == 200


@pytest.mark.parametrize("url", ["ftp://api.example/x", "http://[::1/x", "api.example/x"])
def test_unusable_url_is_a_configuration_error(
    transport: HttpxTransport, make_request: MakeRequest, url: str
) -> None:
    with pytest.raises(ConfigurationError, match="URL is invalid or not http"):
        transport.send(make_request(url, unchecked=True), FAST)


def test_invalid_header_value_is_never_echoed(
    server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest
) -> None:
    request = make_request(
        server.url("/ok"), headers={"X-API-KEY": "sk_live\nSECRET42"}, unchecked=True
    )
    with pytest.raises(ConfigurationError) as info:
        transport.send(request, FAST)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert "SECRET42" not in "".join(traceback.format_exception(info.value))


@pytest.mark.parametrize("path", ["/close", "/hang", "/truncated"])
def test_transit_errors_carry_no_secret_or_query(
    server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest, path: str
) -> None:
    request = make_request(
        server.url(f"{path}?mobile=%2B962791234567"),
        headers={"X-API-KEY": "SECRET-KEY-42", "X-SDK-TOKEN": "SECRET-TOKEN-42"},
    )
    with pytest.raises(APIConnectionError) as info:
        transport.send(request, Timeout(read=0.1))
    shown = "".join(traceback.format_exception(info.value))
    assert "SECRET" not in shown
    assert "962791234567" not in str(info.value)


def test_caller_options_conflict_with_a_caller_client(x: Any) -> None:
    with x.Client() as client:
        with pytest.raises(ConfigurationError, match="set them on the http_client"):
            HttpxTransport(client, limits=x.Limits(max_connections=1))
        with pytest.raises(ConfigurationError, match="set them on the http_client"):
            HttpxTransport(client, verify=False)


@pytest.mark.parametrize("kind", ["HttpxTransport", "AsyncHttpxTransport"])
def test_limits_and_verify_of_the_wrong_kind_are_configuration_errors(x: Any, kind: str) -> None:
    """Not an ``AttributeError`` from inside httpx, nor its ``FileNotFoundError`` for a path."""
    import ssl

    import authmatech.transports as transports

    transport = getattr(transports, kind)
    family = x.__name__
    other = "httpx2" if family == "httpx" else "httpx"
    with pytest.raises(ConfigurationError, match=rf"limits must be an {family}\.Limits"):
        transport(family=family, limits=5)
    with pytest.raises(ConfigurationError, match=r"verify must be True, False or an ssl"):
        transport(family=family, verify="/etc/ssl/no-such-bundle.pem")
    if importlib.util.find_spec(other) is not None:
        foreign = importlib.import_module(other).Limits(max_connections=1)
        with pytest.raises(ConfigurationError, match=rf"not {other}\."):
            transport(family=family, limits=foreign)
    chosen = transport(family=family, verify=ssl.create_default_context())
    assert chosen.family == family


@pytest.mark.parametrize("cap", [0, -1, True])
def test_max_response_bytes_must_be_positive(cap: int) -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        HttpxTransport(max_response_bytes=cap)


def test_respx_route_is_sent_once(make_request: MakeRequest) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://api.example/v1/api/verify").mock(
            return_value=httpx.Response(200, json={"success": True}, headers={"X-Request-Id": "r1"})
        )
        with HttpxTransport() as transport:
            response = transport.send(
                make_request("https://api.example/v1/api/verify", "POST", b"{}"), FAST
            )
    assert route.call_count == 1
    assert response.body == b'{"success":true}'
    assert response.headers["x-request-id"] == "r1"


def test_respx_connect_error_reached_nothing(make_request: MakeRequest) -> None:
    with respx.mock() as mock:
        mock.get("https://api.example/v1/api/me").mock(side_effect=httpx.ConnectError)
        with HttpxTransport() as transport, pytest.raises(APIConnectionError) as info:
            transport.send(make_request("https://api.example/v1/api/me"), FAST)
    assert info.value.maybe_processed is False


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_a_forked_child_sends_on_a_client_of_its_own_with_the_deadline(
    x: Any, server: LoopbackServer, transport: HttpxTransport, make_request: MakeRequest
) -> None:
    """The parent's pooled connection is never the child's; the child's new client has the
    deadline installed on its pool, as the first one had; the parent keeps its client."""
    assert transport.send(make_request(server.url("/ok")), FAST).status_code == 200
    parent = transport._client

    def child() -> list[object]:
        sent = transport.send(make_request(server.url("/ok")), FAST).status_code
        own = transport._client
        deadlines = transport._pool.transport[1]
        backend = own._transport._pool._network_backend
        return [sent, own is not parent, backend.deadline in deadlines, parent.is_closed]

    pid, read = fork(child)
    assert child_outcome(pid, read) == [200, True, True, False]
    assert transport.send(make_request(server.url("/ok")), FAST).status_code == 200
    assert transport._client is parent


def test_a_callers_client_in_a_forked_child_is_refused(
    x: Any, server: LoopbackServer, make_request: MakeRequest
) -> None:
    with x.Client() as http:
        transport = HttpxTransport(http)
        transport.send(make_request(server.url("/ok")), FAST)

        def child() -> str:
            try:
                transport.send(make_request(server.url("/ok")), FAST)
            except ConfigurationError as error:
                return str(error)
            return "sent"

        pid, read = fork(child)
        outcome = child_outcome(pid, read)
        assert isinstance(outcome, str)
        assert "before the process forked" in outcome
        assert transport.send(make_request(server.url("/ok")), FAST).status_code == 200
