"""The real loopback HTTP/1.1 server: keep-alive, real resets, delays, limits, shutdown."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest
from sandbox_helpers import NUMBER, auth

from authmatech.sandbox import (
    Sandbox,
    SandboxAccount,
    SandboxReply,
    SandboxRequest,
    ServerThread,
    serve,
)
from authmatech.sandbox._server import check_host

PRODUCTS = "/v1/api/me/products"


@pytest.fixture(params=["asyncio", "trio"])
def server(request: pytest.FixtureRequest, sb: Sandbox) -> Iterator[ServerThread]:
    with ServerThread(sb, backend=request.param) as running:
        yield running


def _payload(sb: Sandbox) -> dict[str, str]:
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    return {"mobileNumber": NUMBER, "encryptedMobileNumber": proof}


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_response(sock: socket.socket) -> bytes:
    """Exactly one response (head and Content-Length body) from a kept-alive connection."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = _content_length(head)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _content_length(head: bytes) -> int:
    lines = head.split(b"\r\n")
    return int(next(ln for ln in lines if ln.lower().startswith(b"content-length")).split(b":")[1])


def _raw(server: ServerThread, data: bytes, *, timeout: float = 2.0) -> bytes:
    """Send raw bytes, read until the server closes; returns everything received."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(data)
        return _read_all(sock)


def _get(account: SandboxAccount, *, close: bool) -> bytes:
    lines = [
        f"GET {PRODUCTS} HTTP/1.1",
        "Host: 127.0.0.1",
        f"X-CLIENT-ID: {account.client_id}",
        f"X-API-KEY: {account.api_key.reveal()}",
    ]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_serves_the_api_over_a_real_socket(
    server: ServerThread, sb: Sandbox, account: SandboxAccount
):
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        response = client.post("/v1/api/verify", json=_payload(sb), params={"maskMobile": "true"})
        assert response.status_code == 200
        assert response.json()["data"] == {"validNumber": True, "mobileNumber": "***********67"}
        assert response.headers["server"] == "authmatech-sandbox"
        assert response.headers["x-request-id"].startswith("req_")
        assert client.get("/v1/api/nope").status_code == 404
    assert sb.balance(account.client_id) == 9_999


def test_keep_alive_serves_several_requests_on_one_connection(
    server: ServerThread, account: SandboxAccount
):
    received = _raw(server, _get(account, close=False) * 2 + _get(account, close=True))
    assert received.count(b"HTTP/1.1 200 ") == 3
    assert received.count(b'"success":true') == 3


def test_real_reset_before_the_response(server: ServerThread, sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(reset="before_response")
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(_get(account, close=False))
        with pytest.raises(ConnectionResetError):
            _read_all(sock)
    sb.inject_fault(reset="before_response", processed=True)
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            client.post("/v1/api/verify", json=_payload(sb))
        assert client.get(PRODUCTS).status_code == 200
    assert sb.balance(account.client_id) == 9_999


def test_real_reset_in_the_middle_of_the_body(
    server: ServerThread, sb: Sandbox, account: SandboxAccount
):
    sb.inject_fault(reset="mid_body")
    received = _raw(server, _get(account, close=False))
    head, _, body = received.partition(b"\r\n\r\n")
    length = _content_length(head)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert 0 < len(body) < length
    sb.inject_fault(reset="mid_body")
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        with pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
            client.post("/v1/api/verify", json=_payload(sb))
        assert client.get(PRODUCTS).status_code == 200
    assert sb.balance(account.client_id) == 9_999


def test_real_delay_and_read_timeout(server: ServerThread, sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(delay=0.15, path="/v1/api/me/products")
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        started = time.monotonic()
        assert client.get(PRODUCTS).status_code == 200
        assert time.monotonic() - started >= 0.15
        sb.inject_fault(delay=0.3, path="/v1/api/verify")
        with pytest.raises(httpx.ReadTimeout):
            client.post("/v1/api/verify", json=_payload(sb), timeout=0.05)
        assert client.get(PRODUCTS).status_code == 200
    assert sb.balance(account.client_id) == 9_999


def test_status_fault_with_retry_after(server: ServerThread, sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(status=429, headers={"Retry-After": "3"})
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        response = client.get(PRODUCTS)
    assert (response.status_code, response.headers["retry-after"]) == (429, "3")


def test_bodiless_statuses(server: ServerThread, sb: Sandbox, account: SandboxAccount):
    sb.inject_fault(status=204)
    sb.inject_fault(status=304)
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        assert (client.get(PRODUCTS).status_code, client.get(PRODUCTS).content) == (204, b"")
        assert client.get(PRODUCTS).status_code == 200


def test_malformed_http_is_answered_400(server: ServerThread):
    received = _raw(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 400 ")
    assert b'"success":false' in received


@pytest.mark.parametrize("size", [20_000, 200_000])
def test_oversized_headers_are_refused(server: ServerThread, size: int):
    received = _raw(
        server,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * size + b"\r\n\r\n",
    )
    assert received.startswith(b"HTTP/1.1 431 ")


def test_oversized_body_is_413_and_closes(server: ServerThread, account: SandboxAccount):
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        response = client.post(
            "/v1/api/verify", content=b"x" * 300_000, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["connection"] == "close"


def test_expect_100_continue(server: ServerThread, sb: Sandbox, account: SandboxAccount):
    body = b'{"mnoId": "ZAIN_JO"}'
    head = (
        "POST /v1/api/sdk/session HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        f"X-CLIENT-ID: {account.client_id}\r\nX-SDK-TOKEN: {account.sdk_token.reveal()}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(head)
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        rest = _read_all(sock)
    assert rest.startswith(b"HTTP/1.1 200 ")
    assert b"sdkSessionId" in rest


def test_head_gets_405_without_a_body(server: ServerThread, account: SandboxAccount):
    with httpx.Client(base_url=server.url, headers=auth(account)) as client:
        response = client.head("/v1/api/verify")
    assert response.status_code == 405
    assert response.content == b""


def test_clients_that_vanish_do_not_hurt_the_server(server: ServerThread, account: SandboxAccount):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/api/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/api/me/pro")
    received = _raw(server, _get(account, close=True))
    assert received.startswith(b"HTTP/1.1 200 ")


def test_a_client_that_leaves_during_a_delay(
    server: ServerThread, sb: Sandbox, account: SandboxAccount
):
    sb.inject_fault(delay=0.1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(_get(account, close=False))
    time.sleep(0.15)
    assert _raw(server, _get(account, close=True)).startswith(b"HTTP/1.1 200 ")


def test_idle_keep_alive_connection_does_not_block_shutdown(sb: Sandbox, account: SandboxAccount):
    with (
        ServerThread(sb) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock,
    ):
        sock.sendall(_get(account, close=False))
        assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        running.stop()
        assert time.monotonic() - started < 2
        assert sock.recv(65536) == b""


def test_start_stop_lifecycle(sb: Sandbox):
    server = ServerThread(sb)
    server.start()
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    port = server.port
    server.stop()
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


class BrokenSandbox(Sandbox):
    """A sandbox with a bug: the server must answer 500 and keep serving."""

    def handle(self, request: SandboxRequest) -> SandboxReply:
        if request.path == "/boom":
            raise RuntimeError("bug")
        return super().handle(request)


def test_a_sandbox_bug_is_a_500_envelope():
    with ServerThread(BrokenSandbox()) as running, httpx.Client(base_url=running.url) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        assert response.json()["messages"][0]["code"] == "internal_server_error"
        assert client.get("/v1/api/me/products").status_code == 401


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", "10.0.0.1"])
def test_non_loopback_hosts_are_refused(sb: Sandbox, host: str):
    with pytest.raises(ValueError, match="refusing to serve"):
        ServerThread(sb, host)
    check_host(host, allow_non_loopback=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.5.5", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host: str):
    check_host(host)


def test_ipv6_loopback_url(sb: Sandbox, account: SandboxAccount):
    try:
        running = ServerThread(sb, "::1").__enter__()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert running.url == f"http://[::1]:{running.port}"
        with httpx.Client(base_url=running.url, headers=auth(account)) as client:
            assert client.get(PRODUCTS).status_code == 200
    finally:
        running.stop()


@pytest.mark.anyio
async def test_serve_in_a_task_group(sb: Sandbox, account: SandboxAccount):
    async with anyio.create_task_group() as group:
        port = await group.start(serve, sb, "127.0.0.1", 0)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=auth(account)
        ) as client:
            responses = [await client.get(PRODUCTS) for _ in range(3)]
            assert [r.status_code for r in responses] == [200, 200, 200]
        group.cancel_scope.cancel()


@pytest.mark.anyio
async def test_serve_refuses_non_loopback(sb: Sandbox):
    with pytest.raises(ValueError, match="refusing"):
        await serve(sb, "0.0.0.0", 0)
