"""Test support: a raw-socket HTTP/1.1 server on loopback that misbehaves on purpose, by path,
so that resets, truncation and timeouts are real socket events rather than mocks."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter

import httpx

from authmatech.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthmatechError,
    ConfigurationError,
)

BIG = 1_572_864  # 1.5 MiB, over the default 1 MiB cap

#: httpx exception raised by a handler -> the error the transport raises, and maybe_processed.
HTTPX_MAPPING: list[tuple[type[Exception], type[AuthmatechError], bool | None]] = [
    (httpx.ConnectError, APIConnectionError, False),
    (httpx.ConnectTimeout, APITimeoutError, False),
    (httpx.PoolTimeout, APITimeoutError, False),
    (httpx.ProxyError, APIConnectionError, False),
    (httpx.ReadTimeout, APITimeoutError, True),
    (httpx.WriteTimeout, APITimeoutError, True),
    (httpx.ReadError, APIConnectionError, True),
    (httpx.WriteError, APIConnectionError, True),
    (httpx.RemoteProtocolError, APIConnectionError, True),
    (httpx.CloseError, APIConnectionError, True),
    (httpx.UnsupportedProtocol, ConfigurationError, None),
]


def _response(status: str, body: bytes = b"", headers: tuple[str, ...] = ()) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose behaviour depends on the request path."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.hits: Counter[str] = Counter()
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def wait_for_hits(self, path: str, count: int) -> None:
        """Block until ``path`` has been requested ``count`` times in all (at most 5 s)."""
        with self._lock:
            assert self._lock.wait_for(lambda: self.hits[path] >= count, timeout=5)

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
            thread.join()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            with self._lock:
                self._connections.add(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
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
                path = target.split("?", 1)[0]
                with self._lock:
                    self.hits[path] += 1
                    self.received.append((method, target, headers, body))
                    self._lock.notify_all()
                if not self._respond(conn, path, target, body):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _respond(self, conn: socket.socket, path: str, target: str, body: bytes) -> bool:
        """Answer one request; return whether to keep the connection open."""
        if path == "/ok":
            conn.sendall(_response("200 OK", b'{"ok":true}', ("Content-Type: application/json",)))
        elif path == "/echo":
            conn.sendall(_response("201 Created", body, ("X-Multi: a", "X-Multi: b")))
        elif path == "/close":
            return False
        elif path == "/reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        elif path == "/truncated":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
            return False
        elif path == "/hang":
            while conn.recv(65536):
                pass
            return False
        elif path == "/stall-body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            while conn.recv(65536):
                pass
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
