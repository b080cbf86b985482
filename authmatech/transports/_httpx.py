"""The default transports, on httpx: :class:`HttpxTransport` (sync) and
:class:`AsyncHttpxTransport` (asyncio or trio, through httpcore's anyio backend)."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TypeVar

import httpx

from ..core._http import HttpRequest, HttpResponse, Timeout, received
from ..errors import AuthmatechError, ConfigurationError, ResponseValidationError
from ._common import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Failure,
    TimeoutCache,
    body_too_large,
    cause_of,
    check_declared_length,
    check_max_response_bytes,
    closed_error,
    host_of,
    translate,
)

__all__ = ["AsyncHttpClient", "AsyncHttpxTransport", "HttpxTransport", "SyncHttpClient"]

#: What a caller may pass as ``Client(http_client=...)``: an ``httpx.Client`` (named here so
#: that httpx is imported in ``transports/`` only).
SyncHttpClient = httpx.Client
#: What a caller may pass as ``AsyncClient(http_client=...)``: an ``httpx.AsyncClient``.
AsyncHttpClient = httpx.AsyncClient

_FAILURES = (
    Failure(httpx.ConnectTimeout, "connect to {host} timed out", False, timeout=True),
    Failure(httpx.PoolTimeout, "no free connection to {host} in time", False, timeout=True),
    Failure(httpx.ReadTimeout, "{host} did not respond in time", True, timeout=True),
    Failure(httpx.WriteTimeout, "sending to {host} timed out", True, timeout=True),
    Failure(httpx.TimeoutException, "request to {host} timed out", True, timeout=True),
    Failure(httpx.ConnectError, "could not connect to {host}", False),
    Failure(httpx.ProxyError, "proxy could not reach {host}", False),
    Failure(httpx.ReadError, "connection to {host} broke while reading", True),
    Failure(httpx.WriteError, "connection to {host} broke while sending", True),
    Failure(httpx.RemoteProtocolError, "{host} closed the connection or broke HTTP", True),
)

#: What ``send`` maps; anything else (cancellation included) propagates untouched.
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


def _httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    return httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
    )


def _error(exc: Exception, request: HttpRequest, status_code: int | None = None) -> AuthmatechError:
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return ConfigurationError(
            f"cannot send to {host_of(request.url)}: the URL is invalid or not http(s) "
            f"({type(exc).__name__})"
        )
    if isinstance(exc, httpx.DecodingError):
        return ResponseValidationError(
            f"the response body from {host_of(request.url)} could not be decoded "
            f"({type(exc).__name__})",
            status_code=status_code,
        )
    return translate(exc, request.url, _FAILURES)


def _unsendable(request: HttpRequest) -> ConfigurationError:
    # h11's message quotes the offending header value, which may be a credential: never chain it.
    return ConfigurationError(
        f"the request to {host_of(request.url)} was not sent: a header name or value is not "
        "valid HTTP (check credentials and app_info for control characters)"
    )


class _RequestBody(httpx.AsyncByteStream):
    """A request body for the async client, iterated without an async generator.

    httpx wraps ``bytes`` content in an async generator; a send cancelled while httpcore
    writes the body leaves that generator suspended, and trio warns when it is collected
    (``ResourceWarning: Async generator ... was garbage collected``).
    """

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _Once(self._body)


class _Once:
    __slots__ = ("_chunk",)

    def __init__(self, chunk: bytes) -> None:
        self._chunk = chunk

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        chunk, self._chunk = self._chunk, b""
        if not chunk:
            raise StopAsyncIteration
        return chunk


async def _reclaim_orphans(client: httpx.AsyncClient, url: str) -> None:
    """Give back the pool slots that a cancelled request leaves behind (httpcore 1.0.x,
    encode/httpcore#1093).

    A request cancelled after the pool assigned it a new connection, but before that
    connection started connecting, leaves the connection in the pool for good: never idle,
    closed or available, it holds a slot until ``max_connections`` of them make every later
    request fail with ``PoolTimeout``. Such a connection is still ``CONNECTING`` and belongs to
    no request; drop it and let the pool hand the slot to a queued request. Reaches into
    httpcore's pool, so anything unexpected makes this a no-op.
    """
    import httpcore  # httpx imports it lazily too: keep it off `import authmatech`

    try:
        pool = getattr(client._transport_for_url(httpx.URL(url)), "_pool", None)
        if not isinstance(pool, httpcore.AsyncConnectionPool):
            return
        with pool._optional_thread_lock:
            owned = {id(pending.connection) for pending in pool._requests}
            orphans = [
                connection
                for connection in pool._connections
                if connection.info() == "CONNECTING" and id(connection) not in owned
            ]
            if not orphans:
                return
            for connection in orphans:
                pool._connections.remove(connection)
            closing = pool._assign_requests_to_connections()
    except (AttributeError, TypeError, ValueError):  # another httpcore: leave its pool alone
        return
    await pool._close_connections(closing)  # shielded from cancellation by httpcore


async def _abandon(response: httpx.Response, stream: AsyncIterator[bytes]) -> None:
    """Stop reading a body midway: close the connection, then let httpx's nested generators run
    to their end (they now only see buffered bytes or the closed socket), so none is left
    suspended for the event loop to finalize (trio warns about those)."""
    await response.aclose()
    with contextlib.suppress(httpx.HTTPError):
        async for _ in stream:
            pass


def _owned_limits(limits: httpx.Limits | None) -> httpx.Limits:
    # httpx's own defaults, measured: keeping more connections alive (50 or 100) halves
    # httpcore's async throughput at 50 concurrent requests, since its pool scans every
    # connection per request; keeping fewer would cost TLS handshakes on real networks.
    return limits or httpx.Limits(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0
    )


_ClientT = TypeVar("_ClientT", httpx.Client, httpx.AsyncClient)


def _client_to_use(
    client: _ClientT | None,
    expected: type[_ClientT],
    limits: httpx.Limits | None,
    verify: ssl.SSLContext | bool,
) -> _ClientT:
    """The caller's client as it is (checked), or a new one this transport owns."""
    if client is None:
        return expected(
            follow_redirects=False, limits=_owned_limits(limits), verify=verify, trust_env=True
        )
    _check_caller_client(client, expected, limits, verify)
    return client


def _check_caller_client(
    client: object, expected: type, limits: httpx.Limits | None, verify: ssl.SSLContext | bool
) -> None:
    if not isinstance(client, expected):
        raise ConfigurationError(
            f"http_client must be an {expected.__module__}.{expected.__name__}, "
            f"not {type(client).__name__} (Client takes an httpx.Client, AsyncClient an "
            "httpx.AsyncClient)"
        )
    if limits is not None or verify is not True:
        raise ConfigurationError(
            "limits and verify configure the client this transport creates; "
            "set them on the http_client you pass instead"
        )


class HttpxTransport:
    """Sends each request once with an ``httpx.Client``; never follows redirects.

    Without ``http_client`` it creates and owns one (``trust_env=True``, pooled) and closes it in
    :meth:`close`. A caller's client is used as it is (proxies, mTLS, CA, hooks, mounts) and is
    never closed here.
    """

    __slots__ = ("_client", "_max_response_bytes", "_owns_client", "_timeouts")

    def __init__(
        self,
        http_client: httpx.Client | None = None,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._max_response_bytes = check_max_response_bytes(max_response_bytes)
        self._timeouts = TimeoutCache(_httpx_timeout)
        self._owns_client = http_client is None
        self._client = _client_to_use(http_client, httpx.Client, limits, verify)

    def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send ``request`` once; see :mod:`authmatech.transports` for the failure contract."""
        client = self._client
        try:
            response: httpx.Response | None = client.send(
                client.build_request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    content=request.body,
                    timeout=self._timeouts.get(timeout),
                ),
                stream=True,
                follow_redirects=False,
            )
        except httpx.LocalProtocolError:
            response = None
        except _HTTPX_ERRORS as exc:
            raise _error(exc, request) from cause_of(exc, request)
        except RuntimeError:
            if client.is_closed:
                raise closed_error() from None
            raise
        if response is None:
            raise _unsendable(request)
        try:
            headers = dict(response.headers.items())
            limit = self._max_response_bytes
            check_declared_length(request, response.status_code, headers, limit, "HttpxTransport")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise body_too_large(request.url, response.status_code, limit, "HttpxTransport")
                chunks.append(chunk)
        except _HTTPX_ERRORS as exc:
            raise _error(exc, request, response.status_code) from cause_of(exc, request)
        finally:
            response.close()
        return received(response.status_code, headers, b"".join(chunks))

    def close(self) -> None:
        """Close the client if this transport created it; a caller's client stays open."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpxTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncHttpxTransport:
    """Sends each request once with an ``httpx.AsyncClient``, under asyncio or trio.

    Ownership is as for :class:`HttpxTransport`: a created client is closed by :meth:`aclose`,
    a caller's never is. Cancellation propagates untouched and the response is always closed, so
    no pooled connection is left behind.
    """

    __slots__ = ("_client", "_max_response_bytes", "_owns_client", "_timeouts")

    def __init__(
        self,
        http_client: httpx.AsyncClient | None = None,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._max_response_bytes = check_max_response_bytes(max_response_bytes)
        self._timeouts = TimeoutCache(_httpx_timeout)
        self._owns_client = http_client is None
        self._client = _client_to_use(http_client, httpx.AsyncClient, limits, verify)

    async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send ``request`` once; see :mod:`authmatech.transports` for the failure contract."""
        client = self._client
        try:
            built = client.build_request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.body,
                timeout=self._timeouts.get(timeout),
            )
            if request.body:
                built.stream = _RequestBody(request.body)
            response: httpx.Response | None = await client.send(
                built, stream=True, follow_redirects=False
            )
        except httpx.LocalProtocolError:
            response = None
        except _HTTPX_ERRORS as exc:
            raise _error(exc, request) from cause_of(exc, request)
        except RuntimeError:
            if client.is_closed:
                raise closed_error() from None
            raise
        except BaseException:  # cancellation: make sure it cost no pool slot
            await _reclaim_orphans(client, request.url)
            raise
        if response is None:
            raise _unsendable(request)
        stream = response.aiter_bytes()
        try:
            headers = dict(response.headers.items())
            limit = self._max_response_bytes
            check_declared_length(
                request, response.status_code, headers, limit, "AsyncHttpxTransport"
            )
            chunks: list[bytes] = []
            size = 0
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    await _abandon(response, stream)
                    raise body_too_large(
                        request.url, response.status_code, limit, "AsyncHttpxTransport"
                    )
                chunks.append(chunk)
        except _HTTPX_ERRORS as exc:
            raise _error(exc, request, response.status_code) from cause_of(exc, request)
        finally:
            await response.aclose()
        return received(response.status_code, headers, b"".join(chunks))

    async def aclose(self) -> None:
        """Close the client if this transport created it; a caller's client stays open."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncHttpxTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
