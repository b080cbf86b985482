"""An optional transport on aiohttp, for asyncio services that send many requests at once.

Install it with ``pip install "authmatech[aiohttp]"``. It runs on asyncio only; under trio use
the default :class:`~authmatech.transports.AsyncHttpxTransport`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator
from types import TracebackType

import aiohttp

from .._fork import FORKS
from ..core._http import HttpRequest, HttpResponse, Timeout, received
from ..errors import AuthmatechError, ConfigurationError
from ._common import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Failure,
    TimeoutCache,
    cause_of,
    check_declared_length,
    check_max_response_bytes,
    closed_error,
    host_of,
    merge_headers,
    translate,
)
from ._decode import ACCEPT_ENCODING, BodyReader

__all__ = ["AiohttpTransport"]

#: Raw bytes asked for per read: what aiohttp buffers anyway, bounded for the decoder.
_READ_SIZE = 262_144


_FAILURES = (
    Failure(aiohttp.ConnectionTimeoutError, "connect to {host} timed out", False, timeout=True),
    Failure(aiohttp.ServerTimeoutError, "{host} did not respond in time", True, timeout=True),
    Failure(aiohttp.ClientConnectorError, "could not connect to {host}", False),
    Failure(aiohttp.ClientHttpProxyError, "proxy could not reach {host}", False),
    Failure(aiohttp.ServerFingerprintMismatch, "{host} sent an unexpected certificate", False),
    Failure(aiohttp.ServerDisconnectedError, "{host} closed the connection", True),
    Failure(aiohttp.ClientPayloadError, "response body from {host} was cut short", True),
    Failure(aiohttp.ClientResponseError, "{host} sent invalid HTTP", True),
    # Only the total timeout, i.e. the call's deadline, raises a plain TimeoutError.
    Failure(
        asyncio.TimeoutError, "the call's deadline ran out waiting for {host}", True, timeout=True
    ),
)

#: What :meth:`AiohttpTransport.send` maps; cancellation and anything else propagate untouched.
_AIOHTTP_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    # aiohttp's ``connect`` covers waiting for a pooled connection and opening a new one.
    # ``total`` bounds the whole attempt (the transport enforces the deadline), and no timer is
    # rounded up to the next second (aiohttp's default from 5 s up), so none runs late.
    return aiohttp.ClientTimeout(
        total=timeout.total,
        connect=timeout.pool + timeout.connect,
        sock_connect=timeout.connect,
        sock_read=timeout.read,
        ceil_threshold=math.inf,
    )


def _error(exc: BaseException, request: HttpRequest) -> AuthmatechError:
    if isinstance(exc, (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)):
        return ConfigurationError(
            f"cannot send to {host_of(request.url)}: the URL is invalid or not http(s) "
            f"({type(exc).__name__})"
        )
    return translate(exc, request.url, _FAILURES)


def _unsendable(request: HttpRequest) -> ConfigurationError:
    return ConfigurationError(
        f"the request to {host_of(request.url)} was not sent: a header name or value is not "
        "valid HTTP (check credentials and app_info for control characters)"
    )


async def _close_with_loop(
    transport: AiohttpTransport, session: aiohttp.ClientSession
) -> AsyncGenerator[None, None]:
    """Parked at its ``yield`` until the loop shuts its async generators down, or until the
    transport drops it: then it closes the session it guards, on that loop."""
    try:
        yield
    finally:
        if transport._session is session:
            transport._session = None
            transport._guard = None
        await session.close()


class AiohttpTransport:
    """Sends each request once with an ``aiohttp.ClientSession``; never follows redirects.

    Without ``session`` it creates one inside the running loop on first use (``limit`` pooled
    connections) and closes it in :meth:`aclose`, or when that loop ends (``asyncio.run()``
    shuts it down): a later loop, or a forked child, gets a session of its own. A caller's
    session is used as it is (set ``trust_env`` or proxies there) and is never closed here;
    it cannot be replaced, so on another loop than its own, or in a forked child, ``send``
    raises :class:`~authmatech.ConfigurationError`. So does a second loop running at once (in
    another thread): a session serves one loop.
    aiohttp has no write timeout, so ``Timeout.write`` is not applied. ``Timeout.total`` bounds
    each ``send`` (the client's deadline: see ``enforces_deadline`` in
    :mod:`authmatech.transports`).
    """

    __slots__ = (
        "_closed",
        "_forks",
        "_given",
        "_guard",
        "_limit",
        "_loop",
        "_max_response_bytes",
        "_parked",
        "_session",
        "_timeouts",
    )

    #: ``send`` ends within ``timeout.total`` (aiohttp's total timeout), so the client need not.
    enforces_deadline = True

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limit: int | None = None,
    ) -> None:
        if session is not None and limit is not None:
            raise ConfigurationError(
                "limit configures the session this transport creates; "
                "set it on the session you pass instead"
            )
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError(
                f"session must be an aiohttp.ClientSession, not {type(session).__name__}"
            )
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            shown = limit if isinstance(limit, int) else type(limit).__name__
            raise ConfigurationError(
                f"limit (the most connections the session opens) must be an int of 0 or more "
                f"(0: no limit), not {shown}"
            )
        self._max_response_bytes = check_max_response_bytes(max_response_bytes)
        self._given = session
        self._limit = 100 if limit is None else limit
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: object | None = None
        self._parked: list[object] = []
        self._closed = False
        self._forks = FORKS.value
        self._timeouts = TimeoutCache(_client_timeout)

    def after_fork(self) -> None:
        """In a forked child: forget the parent's session, untouched (closing it here could
        disturb the parent's connections); the next send opens one in this process. A
        caller's session cannot be replaced: it raises :class:`~authmatech.ConfigurationError`
        (on every send in the child), never shares the parent's sockets."""
        if self._forks == FORKS.value:
            return
        if self._given is not None:
            raise ConfigurationError(
                "this AiohttpTransport was given an aiohttp session before the process forked: "
                "its pooled connections belong to the parent process, and sharing them would mix "
                "up the two processes' answers. Create the session, the transport and the client "
                "after the fork (in the worker: gunicorn post_fork, Celery worker_process_init, "
                "or the multiprocessing target), or leave session out and the transport opens "
                "one of its own in each process"
            )
        self._park()
        self._forks = FORKS.value

    def _park(self) -> None:
        # Kept referenced, never closed from here: its loop has ended or belongs to the
        # parent process, and a collected session or guard would warn or close the parent's
        # sockets. At most a few are kept.
        if self._session is not None and self._given is None:
            self._parked.append((self._session, self._guard))
            del self._parked[:-8]
        self._session = None
        self._guard = None
        self._loop = None

    async def _open(self) -> aiohttp.ClientSession:
        """A session on the running loop; one this transport creates is closed when the loop
        shuts its async generators down (as ``asyncio.run()`` does), so the next loop gets a
        session of its own and no connection is left behind."""
        if self._closed:
            raise closed_error()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "AiohttpTransport runs on asyncio only and no asyncio loop is running (trio?); "
                "use the default AsyncHttpxTransport (the AsyncClient's default) instead"
            ) from None
        old = self._loop
        if old is not None and old is not loop and old.is_running():
            raise ConfigurationError(
                "this AiohttpTransport is in use on another event loop that is still running (in "
                "another thread); its session can serve one loop at a time. Create one transport "
                "and AsyncClient per thread that runs an event loop"
            )
        session = self._given
        if session is not None and getattr(session, "_loop", loop) is not loop:
            raise ConfigurationError(
                "this AiohttpTransport was given an aiohttp session of another event loop (one "
                "that has ended, e.g. an earlier asyncio.run(), or one running in another "
                "thread); its connections cannot serve this loop. Create the ClientSession "
                "inside the loop that uses it, or leave session out: the transport then opens "
                "a session per loop"
            )
        if self._session is not None:  # its loop has ended without closing it
            self._park()
        self._loop = loop
        if session is None:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._limit))
            # aiohttp silently sends a GET again after a reset; the core decides retries, so
            # switch that off (aiohttp's own test client does the same; there is no public knob).
            session._retry_connection = False
            guard = _close_with_loop(self, session)
            await guard.asend(None)
            self._guard = guard
        self._session = session
        return session

    async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send ``request`` once; see :mod:`authmatech.transports` for the failure contract."""
        if self._forks != FORKS.value:
            self.after_fork()
        session = self._session
        if session is None or self._loop is not asyncio._get_running_loop():
            session = await self._open()
        try:
            response: aiohttp.ClientResponse | None = await session.request(
                request.method,
                request.url,
                headers={**request.reveal_headers(), "Accept-Encoding": ACCEPT_ENCODING},
                data=request.reveal_body(),
                allow_redirects=False,
                auto_decompress=False,
                timeout=self._timeouts.get(timeout),
            )
        except _AIOHTTP_ERRORS as exc:
            raise _error(exc, request) from cause_of(exc, request)
        except RuntimeError:
            if session.closed:
                raise closed_error() from None
            raise
        except ValueError:
            response = None
        if response is None:
            raise _unsendable(request)
        try:
            headers = merge_headers(response.headers.items())
            limit = self._max_response_bytes
            check_declared_length(request, response.status, headers, limit, "AiohttpTransport")
            status = response.status
            reader = BodyReader(
                headers.get("content-encoding"), limit, request.url, status, "AiohttpTransport"
            )
            content = response.content
            size = 0
            while not content.at_eof():  # no read just to learn that the body has ended
                chunk = await content.read(min(limit + 1 - size, _READ_SIZE))
                if not chunk:
                    break
                size += len(chunk)
                reader.feed(chunk)
            body = reader.body()
        except _AIOHTTP_ERRORS as exc:
            raise _error(exc, request) from cause_of(exc, request)
        finally:
            response.release()
        return received(status, headers, body)

    async def aclose(self) -> None:
        """Close the session if this transport created it; a caller's session stays open."""
        self._closed = True
        session, self._session = self._session, None
        guard, self._guard = self._guard, None
        if session is not None and self._given is None:
            await session.close()
        if guard is not None:
            await guard.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> AiohttpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
