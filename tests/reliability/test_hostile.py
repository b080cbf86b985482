"""Servers that try to hold the library's time or memory: trickled bodies and headers, endless
``103 Early Hints``, and decompression bombs, through every driver (sync included) and both
httpx families.

The deadline tests time the call (the deadline is the thing under test); the bomb tests measure
the peak of Python allocations with ``tracemalloc`` while the call runs.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from authmatech import APITimeoutError, ResponseValidationError, Timeout

from .support import DRIVERS, NUMBER, Handler, RawRequest, RawServer, call_with, envelope

CREDENTIALS = {"client_id": "cl_hostile", "api_key": "ak_hostile_0123456789abcdef"}
DEADLINE = Timeout(connect=5, read=5, write=5, pool=5, total=0.6)
#: What the call may overrun its deadline by (scheduling on a loaded 2-core machine).
SLACK = 0.6


def _hang(conn: socket.socket, request: RawRequest) -> bool:
    with contextlib.suppress(OSError):
        while conn.recv(65536):  # never answer
            pass
    return False


def _send_slowly(conn: socket.socket, head: bytes, data: bytes, every: float = 0.05) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(head)
        for byte in data:
            time.sleep(every)  # far below every read timeout: only the deadline can stop it
            conn.sendall(bytes([byte]))


def _trickle_body(conn: socket.socket, request: RawRequest) -> bool:
    _send_slowly(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b" " * 1000)
    return False


def _trickle_headers(conn: socket.socket, request: RawRequest) -> bool:
    _send_slowly(conn, b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 1000 + b"\r\n\r\n")
    return False


def _early_hints_forever(conn: socket.socket, request: RawRequest) -> bool:
    with contextlib.suppress(OSError):
        for _ in range(2000):
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
            time.sleep(0.01)
    return False


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    "handler",
    [_hang, _trickle_body, _trickle_headers, _early_hints_forever],
    ids=["hang", "trickle-body", "trickle-headers", "103-forever"],
)
def test_the_deadline_bounds_every_driver(driver: str, handler: Handler) -> None:
    """``Timeout.total`` ends the call, sync included: every phase timeout is longer than it,
    and each read of these servers returns well within the read timeout."""
    options = {**CREDENTIALS, "timeout": DEADLINE, "max_retries": 0}
    with RawServer(handler) as raw:
        outcome = call_with(driver, {**options, "base_url": raw.url}, _timed(driver))
        assert raw.count == 1
    error, elapsed = outcome if isinstance(outcome, tuple) else (outcome, 0.0)
    assert type(error) is APITimeoutError, repr(error)
    assert error.maybe_processed is True
    assert elapsed < DEADLINE.total + SLACK, f"the call took {elapsed:.2f} s"


def _timed(driver: str) -> Callable[[Any], Any]:
    """A call returning (what it raised, how long it took), timed inside the client's life."""

    def call(client: Any) -> Any:
        started = time.monotonic()
        if driver.startswith("sync"):
            try:
                return client.verify(NUMBER, "BLOB"), 0.0
            except Exception as error:
                return error, time.monotonic() - started

        async def run() -> Any:
            try:
                return await client.verify(NUMBER, "BLOB"), 0.0
            except Exception as error:
                return error, time.monotonic() - started

        return run()

    return call


#: Each bomb inflates to 64 MiB, 64 times the default 1 MiB cap.
INFLATED = 64 * 1024 * 1024
#: The most the library may hold for a response: a few times the cap.
PEAK = 6 * 1024 * 1024


def _deflate(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


def _zeros_gzip() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(INFLATED // len(block))]
    return b"".join(parts) + compressor.flush()


def _bombs() -> dict[str, tuple[str, Callable[[], bytes]]]:
    bombs: dict[str, tuple[str, Callable[[], bytes]]] = {
        "gzip": ("gzip", _zeros_gzip),
        "gzip-gzip": ("gzip, gzip", lambda: gzip.compress(_zeros_gzip(), 9)),
        "deflate-raw": ("deflate", lambda: _deflate(bytes(INFLATED), -15)),
        "deflate-gzip-x3": (
            "gzip, deflate, gzip",
            lambda: gzip.compress(_deflate(_zeros_gzip(), 15), 9),
        ),
    }
    with contextlib.suppress(ImportError):
        import brotli

        bombs["br"] = ("br", lambda: brotli.compress(bytes(INFLATED), quality=5))
        bombs["br-gzip"] = ("br, gzip", lambda: gzip.compress(brotli.compress(bytes(INFLATED))))
    return bombs


BOMBS = _bombs()


@pytest.fixture(scope="module")
def bomb_bodies() -> dict[str, bytes]:
    return {name: make() for name, (_, make) in BOMBS.items()}


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_a_decompression_bomb_is_refused_in_bounded_memory(
    driver: str, bomb: str, bomb_bodies: dict[str, bytes]
) -> None:
    """A few KB that inflate to 64 MiB, in any stack of encodings: the library's error, with
    the peak of what it allocated a few times the cap (httpx alone inflated the whole bomb)."""
    encoding, body = BOMBS[bomb][0], bomb_bodies[bomb]
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()

    def handler(conn: socket.socket, request: RawRequest) -> bool:
        with contextlib.suppress(OSError):
            conn.sendall(head + body)
        return False

    options = {**CREDENTIALS, "timeout": Timeout.of(10), "max_retries": 0}
    with RawServer(handler) as raw:
        tracemalloc.start()
        try:
            outcome = call_with(
                driver, {**options, "base_url": raw.url}, lambda c: c.verify(NUMBER, "BLOB")
            )
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert type(outcome) is ResponseValidationError, repr(outcome)
    assert "max_response_bytes" in str(outcome)
    assert peak < PEAK, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    "encoding", ["gzip", "x-gzip", "deflate", "deflate-raw", "gzip, deflate", "identity, gzip"]
)
def test_encoded_answers_decode(driver: str, encoding: str) -> None:
    """Honest compressed answers still decode, in any stack of the advertised encodings."""
    data = envelope({"validNumber": True})
    body = data
    for coding in [c.strip() for c in encoding.split(",")]:
        if coding in ("gzip", "x-gzip"):
            body = gzip.compress(body)
        elif coding == "deflate":
            body = zlib.compress(body)
        elif coding == "deflate-raw":
            body = _deflate(body, -15)
    sent = encoding.replace("deflate-raw", "deflate")
    seen: list[str] = []

    def handler(conn: socket.socket, request: RawRequest) -> bool:
        seen.append(request.headers.get("accept-encoding", ""))
        conn.sendall(
            (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {sent}"
                f"\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        return True

    options = {**CREDENTIALS, "timeout": Timeout.of(5), "max_retries": 0}
    with RawServer(handler) as raw:
        outcome = call_with(
            driver, {**options, "base_url": raw.url}, lambda c: c.verify(NUMBER, "BLOB")
        )
    assert getattr(outcome, "valid_number", None) is True, repr(outcome)
    assert seen
    assert "gzip" in seen[0]
    assert "deflate" in seen[0]
