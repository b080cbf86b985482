"""A small real HTTP/1.1 server (anyio + h11) that serves a Sandbox on loopback.

For ``python -m authmatech sandbox serve``, curl, other languages and reliability tests that
need a real socket. Keep-alive, bounded requests (16 KiB of headers,
``MAX_BODY_BYTES`` of body), quiet about clients that go away, and faults done for real:

* ``reset="before_response"``: the connection is aborted with a TCP RST (``SO_LINGER`` 0)
  once the request is read, so the client sees a connection reset and no response;
* ``reset="mid_body"``: the headers (announcing the full ``Content-Length``) and half the body
  are sent, then the connection is closed;
* ``delay``: the answer is sent that many seconds late.

It keeps serving whatever clients do: a request head must arrive within ``header_timeout`` and
its body within ``body_timeout`` (a trickled request gets ``408`` and the connection closes);
past ``max_connections`` (below the process's file-descriptor limit) new connections are
answered ``503`` and closed; and running out of file descriptors anyway (``EMFILE``) pauses
accepting for a moment instead of ending the server.

Only loopback hosts are served unless ``allow_non_loopback=True``: the sandbox has no TLS and
its credentials are test credentials, but nothing else on the network should reach it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import logging
import socket
import struct
import types
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Literal
from urllib.parse import parse_qsl, unquote

import anyio
import anyio.abc
import anyio.from_thread
import attrs
import h11
from anyio.abc import SocketAttribute, TaskStatus

from ._envelope import failure_body
from ._errors import SandboxConfigurationError
from ._sandbox import MAX_BODY_BYTES, Sandbox
from ._values import SandboxReply, SandboxRequest

__all__ = ["ServerLimits", "ServerThread", "check_host", "open_listener", "serve"]

MAX_HEADER_BYTES = 16 * 1024
#: A keep-alive connection idle this long is closed.
IDLE_TIMEOUT = 60.0
#: Out of file descriptors, accepting pauses this long at first, doubling up to the maximum.
ACCEPT_BACKOFF = 0.05
ACCEPT_BACKOFF_MAX = 1.0
#: ``accept`` errors that mean "no resources right now", not "the listener is broken".
_RESOURCE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM")
    if hasattr(errno, name)
)
_CHUNK = 64 * 1024
#: After refusing a request, unread input is drained for this long (and up to this much).
LINGER_SECONDS = 1.0
LINGER_BYTES = 4 * 1024 * 1024
_QUIET = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    OSError,
    h11.RemoteProtocolError,
)


def _descriptor_limit() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def default_max_connections() -> int:
    """Connections served at once: 1,000, or fewer to stay clear of the process's
    file-descriptor limit (a quarter of it, at most 64, is kept for everything else)."""
    limit = _descriptor_limit()
    if limit is None:
        return 1000
    return max(1, min(1000, limit - min(64, limit // 4)))


@attrs.frozen(slots=True, kw_only=True)
class ServerLimits:
    """How long and how many: what keeps one client from holding the server.

    ``header_timeout``: seconds from a request's first byte to the end of its head;
    ``body_timeout``: seconds for its whole body; ``idle_timeout``: seconds a kept-alive
    connection may wait for its next request; ``max_connections``: connections served at once
    (more are answered ``503`` and closed).
    """

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int = attrs.field(factory=default_max_connections)

    def __attrs_post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "idle_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < 86_400):
                raise SandboxConfigurationError(
                    f"{name} must be a number of seconds above 0 and below 86400"
                )
        if not (isinstance(self.max_connections, int) and self.max_connections >= 1):
            raise SandboxConfigurationError("max_connections must be an int of at least 1")


def check_host(
    host: str, allow_non_loopback: bool = False, *, how: str = "pass allow_non_loopback=True"
) -> None:
    """Raise ``SandboxConfigurationError`` unless ``host`` is loopback (or non-loopback is
    allowed); ``how`` tells the caller how to allow it."""
    if allow_non_loopback or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SandboxConfigurationError(
            f"refusing to serve the sandbox on {host!r}: use a loopback address such as "
            f"127.0.0.1, or {how} to expose it to the network"
        )


async def open_listener(
    host: str = "127.0.0.1", port: int = 8080, *, allow_non_loopback: bool = False
) -> anyio.abc.Listener[anyio.abc.SocketStream]:
    """Bind the server's socket(s) (``OSError`` if the port is taken), for :func:`serve_on`."""
    check_host(host, allow_non_loopback)
    return await anyio.create_tcp_listener(local_host=host, local_port=port)


def bound_port(listener: anyio.abc.Listener[anyio.abc.SocketStream]) -> int:
    """The port ``listener`` (from :func:`open_listener`) is bound to."""
    return int(listener.extra(SocketAttribute.local_port))


async def serve(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    allow_non_loopback: bool = False,
    limits: ServerLimits | None = None,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``sandbox`` until cancelled; ``task_status`` receives the bound port."""
    listener = await open_listener(host, port, allow_non_loopback=allow_non_loopback)
    async with listener:
        task_status.started(bound_port(listener))
        await serve_on(sandbox, listener, limits)


async def serve_on(
    sandbox: Sandbox,
    listener: anyio.abc.Listener[anyio.abc.SocketStream],
    limits: ServerLimits | None = None,
) -> None:
    """Serve ``sandbox`` on a bound ``listener`` until cancelled, whatever the clients do."""
    limits = limits or ServerLimits()
    sockets: list[anyio.abc.Listener[anyio.abc.SocketStream]] = list(
        getattr(listener, "listeners", [listener])
    )
    active = [0]
    async with anyio.create_task_group() as group:
        for each in sockets:
            group.start_soon(_accept_loop, sandbox, each, limits, active, group)


async def _accept_loop(
    sandbox: Sandbox,
    listener: anyio.abc.Listener[anyio.abc.SocketStream],
    limits: ServerLimits,
    active: list[int],
    group: anyio.abc.TaskGroup,
) -> None:
    """Accept connections for ever: shed those over the limit, pause when out of resources."""
    backoff = ACCEPT_BACKOFF
    accept = listener.accept  # type: ignore[attr-defined]
    while True:
        try:
            stream = await accept()
        except (OSError, anyio.BrokenResourceError) as error:
            # anyio on trio wraps the OSError in BrokenResourceError.
            cause = error if isinstance(error, OSError) else error.__cause__
            if not isinstance(cause, OSError) or cause.errno not in _RESOURCE_ERRNOS:
                raise
            logging.getLogger(__name__).warning(
                "sandbox server: cannot accept connections (%s); pausing %.2f s",
                cause.strerror,
                backoff,
            )
            await anyio.sleep(backoff)
            backoff = min(backoff * 2, ACCEPT_BACKOFF_MAX)
            continue
        backoff = ACCEPT_BACKOFF
        if active[0] >= limits.max_connections:
            group.start_soon(_shed, stream)
            continue
        active[0] += 1
        group.start_soon(_serve_connection, sandbox, stream, limits, active)


async def _shed(stream: anyio.abc.SocketStream) -> None:
    """Answer a connection over the limit ``503`` at once and close it."""
    body = failure_body(503, "The sandbox is serving too many connections; retry later.", None)
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    async with stream:
        with anyio.move_on_after(LINGER_SECONDS), contextlib.suppress(*_QUIET):
            await stream.send(head.encode("latin-1") + body)


async def _serve_connection(
    sandbox: Sandbox, stream: anyio.abc.SocketStream, limits: ServerLimits, active: list[int]
) -> None:
    connection = _Connection(sandbox, stream, limits)
    try:
        async with stream:
            try:
                await connection.run()
            except _QUIET:
                pass  # a client that goes away or speaks broken HTTP is its own problem
            except Exception:  # our bug: drop this connection, keep serving the others
                logging.getLogger(__name__).exception("sandbox server: connection failed")
    finally:
        active[0] -= 1


class _TooSlow(Exception):
    """The request head or body did not arrive by its deadline."""


class _Connection:
    """One client connection: read a request, answer it, repeat while keep-alive allows."""

    def __init__(
        self, sandbox: Sandbox, stream: anyio.abc.SocketStream, limits: ServerLimits
    ) -> None:
        self._sandbox = sandbox
        self._stream = stream
        self._limits = limits
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        #: When the part of the request being read (head or body) must be complete.
        self._deadline: float | None = None

    async def run(self) -> None:
        while True:
            try:
                request = await self._read_request()
            except h11.RemoteProtocolError as error:
                await self._refuse(error.error_status_hint, "Malformed HTTP request.")
                return
            except _TooSlow:
                await self._refuse(408, "The request did not arrive in time.")
                return
            if request is None:
                return
            if not await self._answer(request):
                return
            if h11.MUST_CLOSE in (self._h11.our_state, self._h11.their_state):
                return
            self._h11.start_next_cycle()

    async def _next_event(self) -> h11.Event | None:
        """The next event; None when the client is idle too long or we must stop reading.

        Raises ``_TooSlow`` when the head or body being read is past its deadline.
        """
        while True:
            event = self._h11.next_event()
            if isinstance(event, h11.Event):
                return event
            if event is h11.PAUSED:
                return None
            data = b""
            idle = self._deadline is None
            timeout = self._limits.idle_timeout
            if self._deadline is not None:
                timeout = self._deadline - anyio.current_time()
            with anyio.move_on_after(timeout) as waited:
                try:
                    data = await self._stream.receive(_CHUNK)
                except anyio.EndOfStream:
                    data = b""
            if waited.cancelled_caught:
                if idle:
                    return None
                raise _TooSlow
            if idle and data:
                self._deadline = anyio.current_time() + self._limits.header_timeout
            self._h11.receive_data(data)

    async def _read_request(self) -> SandboxRequest | None:
        self._deadline = None
        try:
            return await self._read_whole_request()
        finally:
            self._deadline = None

    async def _read_whole_request(self) -> SandboxRequest | None:
        event = await self._next_event()
        if not isinstance(event, h11.Request):
            return None  # closed, idle, or paused
        self._deadline = anyio.current_time() + self._limits.body_timeout
        head_size = len(event.target) + sum(len(n) + len(v) for n, v in event.headers)
        if head_size > MAX_HEADER_BYTES:
            # h11 bounds only incomplete heads; one that arrived whole is checked here.
            raise h11.RemoteProtocolError("Request header fields too large", 431)
        if self._h11.they_are_waiting_for_100_continue:
            await self._send(h11.InformationalResponse(status_code=100, headers=[]))
        chunks: list[bytes] = []
        size = 0
        while True:
            part = await self._next_event()
            if isinstance(part, h11.Data):
                size += len(part.data)
                if size > MAX_BODY_BYTES:
                    chunks.append(part.data)
                    break  # the sandbox answers 413; the connection then closes
                chunks.append(part.data)
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                return None
        target = event.target.decode("latin-1")
        path, _, query = target.partition("?")
        return SandboxRequest.of(
            event.method.decode("latin-1"),
            unquote(path),
            query=parse_qsl(query, keep_blank_values=True),
            headers=[
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers
            ],
            body=b"".join(chunks)[: MAX_BODY_BYTES + 1],
        )

    async def _answer(self, request: SandboxRequest) -> bool:
        """Send the sandbox's reply; False when the connection must not be reused."""
        try:
            reply = self._sandbox.handle(request)
        except Exception:  # a sandbox bug: answer like a crashed service, keep serving others
            await self._refuse(500, "Internal server error.", code="internal_server_error")
            return False
        if reply.delay > 0:
            await anyio.sleep(reply.delay)
        if reply.reset == "before_response":
            self._abort()
            return False
        complete = self._h11.their_state is h11.DONE
        headers = _headers(reply, complete)
        await self._send(h11.Response(status_code=reply.status, headers=headers))
        if reply.reset == "mid_body":
            await self._send(h11.Data(data=reply.partial_body))
            return False  # closing now leaves the body short of its Content-Length
        if _has_body(request, reply):
            await self._send(h11.Data(data=reply.body))
        await self._send(h11.EndOfMessage())
        if not complete:
            await self._linger()
        return complete

    async def _refuse(self, status: int, message: str, code: str | None = None) -> None:
        """Answer an error envelope and close (if nothing of a response was sent yet)."""
        if self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = failure_body(status, message, code)
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        await self._send(h11.Response(status_code=status, headers=headers))
        await self._send(h11.Data(data=body))
        await self._send(h11.EndOfMessage())
        await self._linger()

    async def _linger(self) -> None:
        """Half-close and discard what the client is still sending before closing.

        Closing a socket with unread input sends a RST, which can destroy the answer we just
        sent before the client reads it.
        """
        await self._stream.send_eof()
        drained = 0
        with anyio.move_on_after(LINGER_SECONDS), contextlib.suppress(anyio.EndOfStream):
            while drained < LINGER_BYTES:
                drained += len(await self._stream.receive(_CHUNK))

    async def _send(self, event: h11.Event) -> None:
        data = self._h11.send(event)
        if data:
            await self._stream.send(data)

    def _abort(self) -> None:
        """Make the coming close a TCP reset instead of an orderly FIN."""
        raw = self._stream.extra(SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _has_body(request: SandboxRequest, reply: SandboxReply) -> bool:
    """HTTP forbids a body on HEAD answers and on 204 and 304."""
    return request.method != "HEAD" and reply.status not in (204, 304)


def _headers(reply: SandboxReply, complete: bool) -> list[tuple[str, str]]:
    headers = list(reply.headers)
    if reply.status not in (204, 304):
        headers.append(("Content-Length", str(len(reply.body))))
    headers.append(("Server", "authmatech-sandbox"))
    if not complete:
        headers.append(("Connection", "close"))
    return headers


class ServerThread(AbstractContextManager["ServerThread"]):
    """Serve a Sandbox from a background thread; ``with ServerThread(sb) as server:`` and use
    ``server.url``. ``port=0`` picks a free port."""

    def __init__(
        self,
        sandbox: Sandbox,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        backend: Literal["asyncio", "trio"] = "asyncio",
        allow_non_loopback: bool = False,
        limits: ServerLimits | None = None,
    ) -> None:
        check_host(host, allow_non_loopback)
        self.sandbox = sandbox
        self.host = host
        self.port: int = port
        self._backend = backend
        self._allow_non_loopback = allow_non_loopback
        self._limits = limits
        self._portal: AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
        self._task: Future[None] | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Start serving; returns once the port is bound."""
        if self._portal is not None:
            raise RuntimeError("the server is already running")
        portal_cm = anyio.from_thread.start_blocking_portal(self._backend)
        portal = portal_cm.__enter__()
        try:
            task = functools.partial(
                serve,
                self.sandbox,
                self.host,
                self.port,
                allow_non_loopback=self._allow_non_loopback,
                limits=self._limits,
            )
            self._task, bound = portal.start_task(task, name="authmatech-sandbox-server")
        except BaseException as error:
            portal_cm.__exit__(type(error), error, error.__traceback__)
            raise
        self._portal = portal_cm
        self.port = int(bound)

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        portal, task = self._portal, self._task
        self._portal = self._task = None
        if task is not None:
            task.cancel()
        if portal is not None:
            portal.__exit__(None, None, None)

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.stop()
