"""Support for the reliability suite: a raw-socket HTTP/1.1 server that misbehaves on purpose
(``tests/raw_server.py``, shared with the transport tests), client factories for every driver,
and small helpers.

The drivers under test:

* ``sync``: :class:`authmatech.Client` (httpx);
* ``asyncio`` / ``trio``: :class:`authmatech.AsyncClient` (httpx) under each event loop;
* ``aiohttp``: ``AsyncClient(transport=AiohttpTransport())`` under asyncio;
* ``sync-httpx2``, ``asyncio-httpx2``, ``trio-httpx2``: the same clients with
  ``http_family="httpx2"``, where httpx2 is installed (``authmatech[httpx2]``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from raw_server import Handler, RawRequest, RawServer, drain, reset_connection, response

import authmatech
from authmatech import Timeout

__all__ = [
    "ASYNC_DRIVERS",
    "DRIVERS",
    "FAST",
    "HAVE_HTTPX2",
    "HTTPX2_DRIVERS",
    "NUMBER",
    "Handler",
    "RawRequest",
    "RawServer",
    "Sleeps",
    "backend_of",
    "call_with",
    "closed_port",
    "drain",
    "envelope",
    "family_module",
    "make_client",
    "ok_handler",
    "owned_transport",
    "random_delay_handler",
    "reset_connection",
    "response",
    "run_async",
]

#: Small, generous timeouts: every fault ends quickly, and deadlines have room to spare.
FAST = Timeout(connect=1, read=0.3, write=1, pool=1, total=3)
HAVE_HTTPX2 = importlib.util.find_spec("httpx2") is not None
#: The httpx2 drivers, where httpx2 is installed (the test extra installs it where it can).
HTTPX2_DRIVERS = ("sync-httpx2", "asyncio-httpx2", "trio-httpx2") if HAVE_HTTPX2 else ()
DRIVERS = ("sync", "asyncio", "trio", "aiohttp", *HTTPX2_DRIVERS)
ASYNC_DRIVERS = ("asyncio", "trio", "aiohttp", *HTTPX2_DRIVERS[1:])
NUMBER = "+962791234567"


def envelope(data: Any = None, success: bool = True) -> bytes:
    return json.dumps(
        {"success": success, "messages": [{"type": "SUCCESS", "httpStatus": "OK"}], "data": data}
    ).encode()


def ok_handler(conn: socket.socket, request: RawRequest) -> bool:
    data: Any = {"validNumber": True} if request.method == "POST" else {"products": ["VERIFY"]}
    conn.sendall(response(200, envelope(data), ("Content-Type: application/json",)))
    return True


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
    driver, _, family = driver.partition("-")
    if family and "http_client" not in options:
        options["http_family"] = family
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


def family_module(driver: str) -> Any:
    """The httpx-family module a driver's clients run on (``httpx`` or ``httpx2``)."""
    return importlib.import_module("httpx2" if driver.endswith("-httpx2") else "httpx")


def backend_of(driver: str) -> str:
    return "trio" if driver.startswith("trio") else "asyncio"


def run_async(driver: str, main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main`` under the driver's event loop."""
    return anyio.run(main, backend=backend_of(driver))


def call_with(
    driver: str, options: dict[str, Any], call: Callable[[Any], Any], sleeps: Sleeps | None = None
) -> Any:
    """Create a client for ``driver``, run ``call(client)`` (awaited for async drivers), close
    the client, and return the result or the exception raised."""
    if driver.startswith("sync"):
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
