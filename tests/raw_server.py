"""A raw-socket HTTP/1.1 server on loopback for the transport and reliability suites: it parses
each request, records it, and lets a handler answer (or not) with raw bytes, so that resets,
truncation, trickles and timeouts are real socket events rather than mocks."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from typing import NamedTuple


def response(
    status: int, body: bytes = b"", headers: tuple[str, ...] = (), reason: str = "X"
) -> bytes:
    """A whole HTTP/1.1 response with a ``Content-Length``."""
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class RawRequest(NamedTuple):
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


#: A handler answers one request on the raw socket; it returns whether to keep the connection.
Handler = Callable[[socket.socket, RawRequest], bool]


def reset_connection(conn: socket.socket) -> None:
    """Make the coming close a TCP RST."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def drain(conn: socket.socket) -> None:
    """Read until the client goes away (a server that never answers)."""
    with contextlib.suppress(OSError):
        while conn.recv(65536):
            pass


class RawServer:
    """A threaded HTTP/1.1 server on a loopback address; ``requests`` is what it saw."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self._listener = socket.create_server((host, 0), backlog=256)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.requests: list[RawRequest] = []
        self._lock = threading.Condition()
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

    def wait_for(self, predicate: Callable[[list[RawRequest]], bool], timeout: float = 5) -> None:
        """Block until ``predicate(requests)`` holds (at most ``timeout`` seconds)."""
        with self._lock:
            assert self._lock.wait_for(lambda: predicate(self.requests), timeout=timeout)

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
                    self._lock.notify_all()
                if not self.handler(conn, request):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()
