"""Support for the reliability suite: a raw-socket HTTP/1.1 server that misbehaves on purpose
(what an HTTP framework cannot do), client factories for every driver, and small helpers.

The four drivers under test:

* ``sync``: :class:`authmatech.Client` (httpx);
* ``asyncio`` / ``trio``: :class:`authmatech.AsyncClient` (httpx) under each event loop;
* ``aiohttp``: ``AsyncClient(transport=AiohttpTransport())`` under asyncio.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import attrs

import authmatech
from authmatech import Timeout

#: Small, generous timeouts: every fault ends quickly, and deadlines have room to spare.
FAST = Timeout(connect=1, read=0.3, write=1, pool=1, total=3)
DRIVERS = ("sync", "asyncio", "trio", "aiohttp")
ASYNC_DRIVERS = ("asyncio", "trio", "aiohttp")
NUMBER = "+962791234567"


def envelope(data: Any = None, success: bool = True) -> bytes:
    return json.dumps(
        {"success": success, "messages": [{"type": "SUCCESS", "httpStatus": "OK"}], "data": data}
    ).encode()


def response(
    status: int, body: bytes = b"", headers: tuple[str, ...] = (), reason: str = "X"
) -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@attrs.frozen
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


#: A handler answers one request on the raw socket; it returns whether to keep the connection.
Handler = Callable[[socket.socket, RawRequest], bool]


def ok_handler(conn: socket.socket, request: RawRequest) -> bool:
    data: Any = {"validNumber": True} if request.method == "POST" else {"products": ["VERIFY"]}
    conn.sendall(response(200, envelope(data), ("Content-Type: application/json",)))
    return True


class RawServer:
    """A threaded HTTP/1.1 server on a loopback address: parses each request, records it, and
    lets ``handler`` answer (or not) with raw bytes. ``requests`` counts what it saw."""

    def __init__(self, handler: Handler = ok_handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self._listener = socket.create_server((host, 0), backlog=256)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.requests: list[RawRequest] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join()
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(None)
            with self._lock:
                self._connections.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                request = RawRequest(method, target, headers, body)
                with self._lock:
                    self.requests.append(request)
                if not self.handler(conn, request):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()


def reset_connection(conn: socket.socket) -> None:
    """Make the coming close a TCP RST."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def drain(conn: socket.socket) -> None:
    """Read until the client goes away (a server that never answers)."""
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


def random_delay_handler(seed: int, high: float) -> Handler:
    """Answer every request correctly, after a seeded random delay of up to ``high`` seconds
    and with a pause of up to ``high / 2`` in the middle of the body."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def handle(conn: socket.socket, request: RawRequest) -> bool:
        with lock:
            before, within = rng.uniform(0, high), rng.uniform(0, high / 2)
        time.sleep(before)
        data: Any = {"validNumber": True} if request.method == "POST" else {"products": []}
        answer = response(200, envelope(data), ("Content-Type: application/json",))
        half = len(answer) - 20  # the head and most of the body, then a pause, then the rest
        conn.sendall(answer[:half])
        time.sleep(within)
        conn.sendall(answer[half:])
        return True

    return handle


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Sleeps:
    """An injected sleep that records the requested delays and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def sync(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def async_(self, seconds: float) -> None:
        self.calls.append(seconds)
        await anyio.lowlevel.checkpoint()


def make_client(driver: str, sleeps: Sleeps | None = None, **options: Any) -> Any:
    """A client for ``driver`` (see the module docstring); ``sleeps`` replaces backoff."""
    if driver == "sync":
        if sleeps is not None:
            options["sleep"] = sleeps.sync
        return authmatech.Client(**options)
    if sleeps is not None:
        options["sleep"] = sleeps.async_
    if driver == "aiohttp":
        from authmatech.transports import AiohttpTransport

        options["transport"] = AiohttpTransport()
    return authmatech.AsyncClient(**options)


@contextlib.asynccontextmanager
async def owned_transport(client: Any) -> AsyncIterator[None]:
    """Close a transport the test passed in (a client never closes a caller's transport)."""
    try:
        yield
    finally:
        if not client._state.owns_transport:
            await client._transport.aclose()


def backend_of(driver: str) -> str:
    return "trio" if driver == "trio" else "asyncio"


def run_async(driver: str, main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main`` under the driver's event loop."""
    return anyio.run(main, backend=backend_of(driver))


def call_with(
    driver: str, options: dict[str, Any], call: Callable[[Any], Any], sleeps: Sleeps | None = None
) -> Any:
    """Create a client for ``driver``, run ``call(client)`` (awaited for async drivers), close
    the client, and return the result or the exception raised."""
    if driver == "sync":
        with make_client(driver, sleeps, **options) as client:
            try:
                return call(client)
            except Exception as error:
                return error

    async def main() -> Any:
        async with make_client(driver, sleeps, **options) as client, owned_transport(client):
            try:
                return await call(client)
            except Exception as error:
                return error

    return run_async(driver, main)
