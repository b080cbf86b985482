"""Test support: the raw-socket server of ``tests/raw_server.py``, misbehaving on purpose by
path, so that resets, truncation and timeouts are real socket events rather than mocks."""

from __future__ import annotations

import socket
from collections import Counter

from raw_server import RawRequest, RawServer, drain, reset_connection, response

from authmatech.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthmatechError,
    ConfigurationError,
)

BIG = 1_572_864  # 1.5 MiB, over the default 1 MiB cap

#: httpx-family exception (by name) raised by a handler -> the error raised, and maybe_processed.
HTTPX_MAPPING: list[tuple[str, type[AuthmatechError], bool | None]] = [
    ("ConnectError", APIConnectionError, False),
    ("ConnectTimeout", APITimeoutError, False),
    ("PoolTimeout", APITimeoutError, False),
    ("ProxyError", APIConnectionError, False),
    ("ReadTimeout", APITimeoutError, True),
    ("WriteTimeout", APITimeoutError, True),
    ("ReadError", APIConnectionError, True),
    ("WriteError", APIConnectionError, True),
    ("RemoteProtocolError", APIConnectionError, True),
    ("CloseError", APIConnectionError, True),
    ("UnsupportedProtocol", ConfigurationError, None),
]


def _response(status: str, body: bytes = b"", headers: tuple[str, ...] = ()) -> bytes:
    code, reason = status.split(" ", 1)
    return response(int(code), body, headers, reason)


class LoopbackServer:
    """A raw server on 127.0.0.1 whose behaviour depends on the request path."""

    def __init__(self) -> None:
        self._raw = RawServer(lambda conn, request: self._respond(conn, request.path, request))
        self.port = self._raw.port

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def hits(self) -> Counter[str]:
        """How many times each path was requested."""
        return Counter(request.path for request in self.received)

    @property
    def received(self) -> list[RawRequest]:
        return self._raw.requests

    def wait_for_hits(self, path: str, count: int) -> None:
        """Block until ``path`` has been requested ``count`` times in all (at most 5 s)."""
        self._raw.wait_for(lambda requests: sum(r.path == path for r in requests) >= count)

    def close(self) -> None:
        self._raw.close()

    def _respond(self, conn: socket.socket, path: str, request: RawRequest) -> bool:
        """Answer one request; return whether to keep the connection open."""
        target, body = request.target, request.body
        if path == "/ok":
            conn.sendall(_response("200 OK", b'{"ok":true}', ("Content-Type: application/json",)))
        elif path == "/echo":
            conn.sendall(_response("201 Created", body, ("X-Multi: a", "X-Multi: b")))
        elif path == "/close":
            return False
        elif path == "/reset":
            reset_connection(conn)
            return False
        elif path == "/truncated":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
            return False
        elif path == "/hang":
            drain(conn)
            return False
        elif path == "/stall-body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            drain(conn)
            return False
        elif path == "/big":
            conn.sendall(_response("200 OK", b"x" * BIG))
        elif path == "/bytes":
            size = int(target.split("n=", 1)[1])
            conn.sendall(_response("200 OK", b"y" * size))
        elif path == "/chunked":
            size = int(target.split("n=", 1)[1])
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            remaining = size
            while remaining:
                step = min(remaining, 65536)
                conn.sendall(b"%x\r\n" % step + b"z" * step + b"\r\n")
                remaining -= step
            conn.sendall(b"0\r\n\r\n")
        elif path == "/redirect":
            location = self.url("/ok", host="127.0.0.2")
            conn.sendall(_response("302 Found", b"", (f"Location: {location}",)))
        else:
            conn.sendall(_response("404 Not Found"))
        return True


def caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` stands for an exception of ``kind`` (or a subclass): the transports
    chain a frameless :class:`~authmatech.errors.UnderlyingError` naming it, never the HTTP
    library's exception itself (its frames and request hold the credentials)."""
    from authmatech.errors import UnderlyingError

    cause = error.__cause__
    if not isinstance(cause, UnderlyingError):
        return False
    package = kind.__module__.partition(".")[0]
    names = {f"{package}.{k.__qualname__}" for k in kind.__subclasses__()}
    names.add(f"{package}.{kind.__qualname__}")
    return cause.type_name in names and error.__suppress_context__
