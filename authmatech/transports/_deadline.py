"""The call's deadline inside a sync httpx-family pool: every socket operation of a request is
given at most what is left of it.

httpcore applies the read timeout to each ``recv`` on its own, so a server that trickles a byte
per second, trickles its headers or sends ``103 Early Hints`` forever holds a sync request as
long as it likes, and a sync caller has no cancel scope to stop it. :class:`DeadlineBackend`
wraps a pool's network backend: while the calling thread's :class:`Deadline` is set (only during
a send of this library), each connect, TLS handshake, read and write waits at most until it, and
one started after it raises the family's timeout exception, which httpx maps as usual. Outside
that window the wrapper passes every call through unchanged, so a caller's own requests on a
shared client are not affected.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

__all__ = ["Deadline", "DeadlineBackend", "install"]


class Deadline(threading.local):
    """When the request the current thread is sending must end (``time.monotonic()``)."""

    at: float = math.inf


def _left(deadline: Deadline, timeout: float | None, error: type[Exception]) -> float | None:
    at = deadline.at
    if at == math.inf:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the call's deadline ran out")
    return left if timeout is None or left < timeout else timeout


class _Stream:
    """A network stream whose every operation ends by the deadline."""

    __slots__ = ("_core", "_deadline", "_inner")

    def __init__(self, inner: Any, deadline: Deadline, core: Any) -> None:
        self._inner = inner
        self._deadline = deadline
        self._core = core

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._inner.read(
            max_bytes, _left(self._deadline, timeout, self._core.ReadTimeout)
        )
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(self._deadline, timeout, self._core.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _Stream:
        left = _left(self._deadline, timeout, self._core.ConnectTimeout)
        return _Stream(
            self._inner.start_tls(ssl_context, server_hostname, left), self._deadline, self._core
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend:
    """A sync network backend that bounds everything it opens by ``deadline``."""

    __slots__ = ("_core", "_inner", "deadline")

    def __init__(self, inner: Any, deadline: Deadline, core: Any) -> None:
        self._inner = inner
        self.deadline = deadline
        self._core = core

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _Stream:
        left = _left(self.deadline, timeout, self._core.ConnectTimeout)
        stream = self._inner.connect_tcp(
            host, port, timeout=left, local_address=local_address, socket_options=socket_options
        )
        return _Stream(stream, self.deadline, self._core)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _Stream:
        left = _left(self.deadline, timeout, self._core.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, timeout=left, socket_options=socket_options)
        return _Stream(stream, self.deadline, self._core)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install(client: Any, core: Any) -> tuple[Deadline, ...]:
    """Wrap the network backend of every standard pool of ``client`` (an httpx-family sync
    client; ``core`` its httpcore module) and return the deadlines to set around a send.

    Idempotent: a pool wrapped before (by another transport sharing the client) keeps its
    wrapper. Transports that are not the family's own (mocks, the sandbox, a caller's custom
    transport) have no sockets to bound and are left alone; so are connections that a caller's
    client opened before it was handed over.
    """
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    deadlines: list[Deadline] = []
    for transport in transports:
        pool: Any = getattr(transport, "_pool", None)
        if not isinstance(pool, core.ConnectionPool):
            continue
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            continue
        if not isinstance(backend, DeadlineBackend):
            backend = DeadlineBackend(backend, Deadline(), core)
            pool._network_backend = backend
        if backend.deadline not in deadlines:
            deadlines.append(backend.deadline)
    return tuple(deadlines)
