"""The served sandbox keeps serving whatever clients do: trickled requests time out (408),
deep JSON is a 400, connections past the limit are shed (503), and running out of file
descriptors pauses accepting instead of ending the server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sandbox_helpers import auth

import authmatech
from authmatech.sandbox import (
    Sandbox,
    SandboxAccount,
    SandboxConfigurationError,
    ServerLimits,
    ServerThread,
)

PRODUCTS = "/v1/api/me/products"
QUICK = ServerLimits(header_timeout=0.5, body_timeout=0.5, max_connections=8)


@pytest.fixture(params=["asyncio", "trio"])
def server(request: pytest.FixtureRequest, sb: Sandbox) -> Iterator[ServerThread]:
    with ServerThread(sb, backend=request.param, limits=QUICK) as running:
        yield running


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _trickle(server: ServerThread, data: bytes, pause: float) -> bytes:
    """Send ``data`` a byte at a time, ``pause`` apart, until the server answers; the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.setblocking(True)
        for byte in data:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sock.settimeout(pause)
            try:
                first = sock.recv(65536)
            except TimeoutError:
                continue
            finally:
                sock.settimeout(10)
            return first + _read_until_closed(sock)
        return _read_until_closed(sock)


def test_a_trickled_head_gets_408(server: ServerThread, account: SandboxAccount) -> None:
    request = f"GET {PRODUCTS} HTTP/1.1\r\nHost: x\r\nX-Padding: {'a' * 200}\r\n\r\n".encode()
    answer = _trickle(server, request, pause=0.05)  # 12 s for the whole head at this pace
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive in time" in answer


def test_a_trickled_body_gets_408(server: ServerThread, account: SandboxAccount) -> None:
    body = json.dumps({"mobileNumber": "+962791234567", "pad": "x" * 200}).encode()
    head = (
        f"POST /v1/api/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sock.settimeout(0.05)
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            break
        sock.settimeout(10)
        answer += _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_an_idle_keep_alive_connection_is_not_a_slow_request(
    server: ServerThread, account: SandboxAccount
) -> None:
    with httpx.Client(base_url=server.url, headers=auth(account)) as http:
        assert http.get(PRODUCTS).status_code == 200
        time.sleep(0.8)  # longer than the header timeout: idle between requests is fine
        assert http.get(PRODUCTS).status_code == 200


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_deeply_nested_json_is_a_400(
    server: ServerThread, account: SandboxAccount, depth: int
) -> None:
    body = b"[" * depth + b"]" * depth
    headers = {**auth(account), "Content-Type": "application/json"}
    answer = httpx.post(f"{server.url}/v1/api/verify", content=body, headers=headers)
    assert answer.status_code == 400
    message = answer.json()["messages"][0]["message"]
    # Whether 5,000 levels parse depends on the Python version and the thread's stack: parsed,
    # the array is refused as not an object; too deep to parse, as nested too deeply.
    assert "nested too deeply" in message or (depth < 10_000 and "JSON object" in message)


def test_connections_past_the_limit_are_shed_with_503(
    server: ServerThread, account: SandboxAccount
) -> None:
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
    try:
        for sock in held:  # each is being served (an idle keep-alive connection)
            sock.sendall(
                f"GET {PRODUCTS} HTTP/1.1\r\nHost: x\r\nX-CLIENT-ID: {account.client_id}\r\n"
                f"X-API-KEY: {account.api_key.reveal()}\r\n\r\n".encode()
            )
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        answer = httpx.get(f"{server.url}{PRODUCTS}", headers=auth(account))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
    finally:
        for sock in held:
            sock.close()
    for _ in range(100):  # the held connections' tasks end soon after they are closed
        if httpx.get(f"{server.url}{PRODUCTS}", headers=auth(account)).status_code == 200:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the server did not serve again after the connections closed")


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="header_timeout"):
        ServerLimits(header_timeout=0)
    with pytest.raises(ValueError, match="max_connections"):
        ServerLimits(max_connections=0)
    assert 1 <= ServerLimits().max_connections <= 1000


SERVER_WITH_FEW_DESCRIPTORS = textwrap.dedent(
    """
    import resource, sys, time
    from authmatech.sandbox import Sandbox, ServerLimits, ServerThread

    resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    # A limit above what the process can open: accept itself runs out (EMFILE).
    limits = ServerLimits(max_connections=500)
    with ServerThread(Sandbox(), backend=sys.argv[1], limits=limits) as s:
        print(s.port, flush=True)
        sys.stdin.read()
    """
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_running_out_of_file_descriptors_does_not_end_the_server(backend: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_WITH_FEW_DESCRIPTORS, backend],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        held = []
        for _ in range(120):  # more than the server's 64 descriptors
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(0.3)  # let the server hit EMFILE
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        for sock in held:
            sock.close()
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}{PRODUCTS}", timeout=5).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail("the server did not serve again after the descriptors were freed")
        assert process.poll() is None
    finally:
        process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    "configure",
    [
        lambda: ServerLimits(max_connections=0),
        lambda: ServerThread(Sandbox(), host="0.0.0.0"),
        lambda: Sandbox().create_account(balance=-1),
        lambda: Sandbox().device_proof("0791234567"),
        lambda: Sandbox().inject_fault(times=0, status=500),
    ],
    ids=["limits", "host", "account", "number", "fault"],
)
def test_a_sandbox_configuration_error_is_a_library_error(configure: Any) -> None:
    """Every public entry point raises the library's errors; a ``ValueError`` still catches it."""
    with pytest.raises(SandboxConfigurationError) as caught:
        configure()
    assert isinstance(caught.value, authmatech.ConfigurationError)
    assert isinstance(caught.value, ValueError)
