"""The default transports, on the httpx family: :class:`HttpxTransport` (sync) and
:class:`AsyncHttpxTransport` (asyncio or trio, through httpcore's anyio backend).

One implementation serves ``httpx`` and ``httpx2`` (see :mod:`._family`): the family is the one
of the caller's client, or the ``family`` argument for a client the transport creates. Bodies
are read raw and decoded by :mod:`._decode`, never inflated by the library without a limit.
"""

from __future__ import annotations

import contextlib
import math
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._fork import FORKS
from .._lifecycle import Pool, running_loop
from ..core._http import HttpRequest, HttpResponse, Timeout, received
from ..errors import APITimeoutError, AuthmatechError, ConfigurationError, ResponseValidationError
from ._common import (
    DEFAULT_MAX_RESPONSE_BYTES,
    TimeoutCache,
    cause_of,
    check_declared_length,
    check_max_response_bytes,
    closed_error,
    host_of,
    translate,
)
from ._deadline import Deadline, install
from ._decode import ACCEPT_ENCODING, BodyReader
from ._family import Family, FamilyName, family_named, family_of

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncHttpxTransport", "HttpxTransport"]


def _timeout_builder(family: Family) -> TimeoutCache[Any]:
    timeout_class = family.module.Timeout

    def build(timeout: Timeout) -> Any:
        return timeout_class(
            connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
        )

    return TimeoutCache(build)


def _error(
    family: Family, exc: BaseException, request: HttpRequest, status_code: int | None = None
) -> AuthmatechError:
    x = family.module
    if isinstance(exc, (x.UnsupportedProtocol, x.InvalidURL)):
        return ConfigurationError(
            f"cannot send to {host_of(request.url)}: the URL is invalid or not http(s) "
            f"({type(exc).__name__})"
        )
    if isinstance(exc, x.DecodingError):
        return ResponseValidationError(
            f"the response body from {host_of(request.url)} could not be decoded "
            f"({type(exc).__name__})",
            status_code=status_code,
        )
    return translate(exc, request.url, family.failures)


def _unsendable(request: HttpRequest) -> ConfigurationError:
    # h11's message quotes the offending header value, which may be a credential: never chain it.
    return ConfigurationError(
        f"the request to {host_of(request.url)} was not sent: a header name or value is not "
        "valid HTTP (check credentials and app_info for control characters)"
    )


def _deadline_passed(request: HttpRequest) -> APITimeoutError:
    return APITimeoutError(
        f"the call's deadline ran out while reading the response from {host_of(request.url)}; "
        "the server may have processed the request",
        maybe_processed=True,
    )


def _encoding(response: Any, headers: dict[str, str]) -> str | None:
    """The ``Content-Encoding`` left to decode: none for a response an in-memory transport
    (a mock, the sandbox) built from bytes, which httpx has already read and decoded."""
    return None if response.is_stream_consumed else headers.get("content-encoding")


def _raw_chunks(response: Any) -> Iterator[bytes]:
    if response.is_stream_consumed:
        return iter((response.content,))
    chunks: Iterator[bytes] = response.iter_raw()
    return chunks


def _async_raw_chunks(response: Any) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:
        return _Once(response.content)
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    return chunks


def _headers_to_send(request: HttpRequest) -> dict[str, str]:
    """The request's headers, asking only for the encodings :mod:`._decode` bounds."""
    return {**request.reveal_headers(), "Accept-Encoding": ACCEPT_ENCODING}


def _request_body_class(family: Family) -> type:
    """A request body for the async client, iterated without an async generator.

    httpx wraps ``bytes`` content in an async generator; a send cancelled while httpcore
    writes the body leaves that generator suspended, and trio warns when it is collected
    (``ResourceWarning: Async generator ... was garbage collected``). The class derives from
    the family's ``AsyncByteStream``, which the family's client checks for.
    """

    def __init__(self: Any, body: bytes) -> None:
        self._body = body

    def __aiter__(self: Any) -> AsyncIterator[bytes]:
        return _Once(self._body)

    return type(
        "_RequestBody",
        (family.module.AsyncByteStream,),
        {"__slots__": ("_body",), "__init__": __init__, "__aiter__": __aiter__},
    )


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


async def _reclaim_orphans(family: Family, client: Any, url: str) -> None:
    """Give back the pool slots that a cancelled request leaves behind (httpcore 1.0.x,
    encode/httpcore#1093; httpcore2 fixed it).

    A request cancelled after the pool assigned it a new connection, but before that
    connection started connecting, leaves the connection in the pool for good: never idle,
    closed or available, it holds a slot until ``max_connections`` of them make every later
    request fail with ``PoolTimeout``. Such a connection is still ``CONNECTING`` and belongs to
    no request; drop it and let the pool hand the slot to a queued request. Reaches into
    httpcore's pool, so anything unexpected makes this a no-op.
    """
    if family.name != "httpx":
        return
    core = family.core
    try:
        pool: Any = getattr(client._transport_for_url(family.module.URL(url)), "_pool", None)
        if not isinstance(pool, core.AsyncConnectionPool):
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


async def _abandon(family: Family, response: Any, stream: AsyncIterator[bytes]) -> None:
    """Stop reading a body midway: close the connection, then let httpx's nested generators run
    to their end (they now only see buffered bytes or the closed socket), so none is left
    suspended for the event loop to finalize (trio warns about those)."""
    await response.aclose()
    with contextlib.suppress(family.module.HTTPError, family.module.StreamError):
        async for _ in stream:
            pass


def _owned_limits(family: Family, limits: Any) -> Any:
    # httpx's own defaults, measured: keeping more connections alive (50 or 100) halves
    # httpcore's async throughput at 50 concurrent requests, since its pool scans every
    # connection per request; keeping fewer would cost TLS handshakes on real networks.
    return limits or family.module.Limits(
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0
    )


def _resolve(
    http_client: object,
    family: FamilyName | None,
    kind: str,
    limits: object,
    verify: ssl.SSLContext | bool,
) -> tuple[Family, Any, Callable[[], Any] | None]:
    """The family, the client to use, and how to make another one (``None`` for a caller's
    client, which cannot be replaced): the caller's client as it is (checked), or a new one of
    ``family`` (httpx unless told otherwise)."""
    if not isinstance(verify, (bool, ssl.SSLContext)):
        raise ConfigurationError(
            f"verify must be True, False or an ssl.SSLContext, not {type(verify).__name__} "
            "(for a CA bundle file: ssl.create_default_context(cafile=...))"
        )
    if http_client is None:
        chosen = family_named("httpx" if family is None else family)
        client_class = getattr(chosen.module, kind)
        if limits is not None and not isinstance(limits, chosen.module.Limits):
            raise ConfigurationError(
                f"limits must be an {chosen.name}.Limits (the family this transport sends "
                f"with), not {type(limits).__module__}.{type(limits).__name__}"
            )
        owned_limits = _owned_limits(chosen, limits)
        contexts: dict[int, ssl.SSLContext | bool] = {}

        def make() -> Any:
            # Building a TLS context loads the CA store (tens of ms): done once per process,
            # not per event loop. A child builds its own: a lock inside the parent's context
            # may have been held by another thread at the fork.
            forks = FORKS.value
            context = contexts.get(forks)
            if context is None:
                context = verify
                if verify is True:
                    context = chosen.module.create_ssl_context(verify=True, trust_env=True)
                contexts.clear()
                contexts[forks] = context
            return client_class(
                follow_redirects=False, limits=owned_limits, verify=context, trust_env=True
            )

        return chosen, make(), make
    found = family_of(http_client)
    if found is None or not isinstance(http_client, getattr(found.module, kind)):
        raise ConfigurationError(
            f"http_client must be an httpx.{kind} or an httpx2.{kind}, not "
            f"{type(http_client).__module__}.{type(http_client).__name__} (Client takes an "
            "httpx.Client or httpx2.Client, AsyncClient an httpx.AsyncClient or "
            "httpx2.AsyncClient)"
        )
    if family is not None and family != found.name:
        raise ConfigurationError(
            f"family={family!r} does not match the http_client passed, an {found.name} client; "
            "leave family out when passing http_client"
        )
    if limits is not None or verify is not True:
        raise ConfigurationError(
            "limits and verify configure the client this transport creates; "
            "set them on the http_client you pass instead"
        )
    return found, http_client, None


def _nothing() -> None:
    return None


def _bounded(client: Any, family: Family) -> tuple[Any, tuple[Deadline, ...]]:
    """A sync client with the deadlines installed on its pools (see :mod:`._deadline`)."""
    return client, install(client, family.core)


class HttpxTransport:
    """Sends each request once with an ``httpx.Client`` or ``httpx2.Client``; never follows
    redirects, and ends each send within ``timeout.total`` (the call's deadline).

    Without ``http_client`` it creates and owns one of ``family`` (``"httpx"``, the default, or
    ``"httpx2"``; ``trust_env=True``, pooled) and closes it in :meth:`close`; in a forked child
    it opens a client of the child's own (see :meth:`after_fork`). A caller's client is used as
    it is (proxies, mTLS, CA, hooks, mounts) and is never closed here; its family is the
    client's own.
    """

    __slots__ = ("_family", "_max_response_bytes", "_owns_client", "_pool", "_timeouts")

    #: ``send`` ends within ``timeout.total``: every socket operation waits at most until then.
    enforces_deadline = True

    def __init__(
        self,
        http_client: httpx.Client | Any | None = None,
        *,
        family: FamilyName | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limits: httpx.Limits | Any | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._max_response_bytes = check_max_response_bytes(max_response_bytes)
        chosen, client, make = _resolve(http_client, family, "Client", limits, verify)
        self._family = chosen
        self._owns_client = make is not None
        self._timeouts = _timeout_builder(chosen)
        #: The client in use with its deadlines, for this process.
        self._pool: Pool[tuple[Any, tuple[Deadline, ...]]] = Pool(
            _bounded(client, chosen),
            factory=None if make is None else (lambda: _bounded(make(), chosen)),
            caller_client=make is None,
            owner="HttpxTransport",
        )

    @property
    def family(self) -> FamilyName:
        """``"httpx"`` or ``"httpx2"``: the library this transport sends with."""
        name: FamilyName = self._family.name  # type: ignore[assignment]
        return name

    @property
    def _client(self) -> Any:
        return self._pool.transport[0]

    def after_fork(self) -> None:
        """In a forked child: a client of this process's own, on the first send at the latest
        (the parent's is kept untouched: closing it here could disturb the parent's
        connections). A caller's ``http_client`` cannot be replaced: every send in the child
        then raises :class:`~authmatech.ConfigurationError`, never shares the parent's sockets.
        """
        self._pool.after_fork(_nothing)

    def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send ``request`` once; see :mod:`authmatech.transports` for the failure contract."""
        pool = self._pool
        if pool.forks != FORKS.value:
            pool.after_fork(_nothing)
        client, deadlines = pool.transport
        deadline = time.monotonic() + timeout.total
        for each in deadlines:
            each.at = deadline
        try:
            return self._send(client, request, timeout, deadline)
        finally:
            for each in deadlines:
                each.at = math.inf

    def _send(
        self, client: Any, request: HttpRequest, timeout: Timeout, deadline: float
    ) -> HttpResponse:
        family = self._family
        try:
            response: Any = client.send(
                client.build_request(
                    request.method,
                    request.url,
                    headers=_headers_to_send(request),
                    content=request.reveal_body(),
                    timeout=self._timeouts.get(timeout),
                ),
                stream=True,
                follow_redirects=False,
            )
        except family.module.LocalProtocolError:
            response = None
        except family.errors as exc:
            raise _error(family, exc, request) from cause_of(exc, request)
        except RuntimeError:
            if client.is_closed:
                raise closed_error() from None
            raise
        if response is None:
            raise _unsendable(request)
        try:
            status = response.status_code
            headers = dict(response.headers.items())
            limit = self._max_response_bytes
            check_declared_length(request, status, headers, limit, "HttpxTransport")
            reader = BodyReader(
                _encoding(response, headers), limit, request.url, status, "HttpxTransport"
            )
            for chunk in _raw_chunks(response):
                reader.feed(chunk)
                if time.monotonic() > deadline:
                    raise _deadline_passed(request)
            body = reader.body()
        except family.errors as exc:
            raise _error(family, exc, request, response.status_code) from cause_of(exc, request)
        finally:
            response.close()
        return received(status, headers, body)

    def close(self) -> None:
        """Close the client if this transport created it; a caller's client stays open."""
        if self._owns_client:
            held = self._pool.close_transport()
            if held is not None:
                held[0].close()

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
    """Sends each request once with an ``httpx.AsyncClient`` or ``httpx2.AsyncClient``, under
    asyncio or trio.

    Family and ownership are as for :class:`HttpxTransport`: a created client is closed by
    :meth:`aclose`, a caller's never is. Cancellation propagates untouched and the response is
    always closed, so no pooled connection is left behind.

    A created client belongs to one process and one event loop, as the client's own pool does
    (see :mod:`authmatech._lifecycle`): in a forked child, or on a later loop (a second
    ``asyncio.run()``, asyncio then trio), the transport opens a client of its own and the
    ended loop's client is closed as that loop shuts down. A caller's client cannot be
    replaced: used in a child or on a later loop it raises
    :class:`~authmatech.ConfigurationError`. Two loops running at once (in two threads) get a
    ``ConfigurationError`` either way.
    """

    __slots__ = (
        "_body_class",
        "_family",
        "_max_response_bytes",
        "_owns_client",
        "_pool",
        "_timeouts",
    )

    def __init__(
        self,
        http_client: httpx.AsyncClient | Any | None = None,
        *,
        family: FamilyName | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        limits: httpx.Limits | Any | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._max_response_bytes = check_max_response_bytes(max_response_bytes)
        chosen, client, make = _resolve(http_client, family, "AsyncClient", limits, verify)
        self._family = chosen
        self._owns_client = make is not None
        self._timeouts = _timeout_builder(chosen)
        self._body_class = _request_body_class(chosen)
        #: The client in use, for this process and event loop.
        self._pool: Pool[Any] = Pool(
            client, factory=make, caller_client=make is None, owner="AsyncHttpxTransport"
        )

    @property
    def family(self) -> FamilyName:
        """``"httpx"`` or ``"httpx2"``: the library this transport sends with."""
        name: FamilyName = self._family.name  # type: ignore[assignment]
        return name

    @property
    def _client(self) -> Any:
        return self._pool.transport

    def after_fork(self) -> None:
        """In a forked child: as :meth:`HttpxTransport.after_fork`."""
        self._pool.after_fork(_nothing)

    async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send ``request`` once; see :mod:`authmatech.transports` for the failure contract."""
        pool = self._pool
        if pool.forks != FORKS.value:
            pool.after_fork(_nothing)
        loop = running_loop()
        if loop is not pool.loop and loop is not None:
            await pool.bind(loop)
        client = pool.transport
        family = self._family
        try:
            built = client.build_request(
                request.method,
                request.url,
                headers=_headers_to_send(request),
                content=request.reveal_body(),
                timeout=self._timeouts.get(timeout),
            )
            if request.body:
                built.stream = self._body_class(request.reveal_body())
            response: Any = await client.send(built, stream=True, follow_redirects=False)
        except family.module.LocalProtocolError:
            response = None
        except family.errors as exc:
            raise _error(family, exc, request) from cause_of(exc, request)
        except RuntimeError:
            if client.is_closed:
                raise closed_error() from None
            raise
        except BaseException:  # cancellation: make sure it cost no pool slot
            await _reclaim_orphans(family, client, request.url)
            raise
        if response is None:
            raise _unsendable(request)
        stream = _async_raw_chunks(response)
        try:
            status = response.status_code
            headers = dict(response.headers.items())
            limit = self._max_response_bytes
            check_declared_length(request, status, headers, limit, "AsyncHttpxTransport")
            reader = BodyReader(
                _encoding(response, headers), limit, request.url, status, "AsyncHttpxTransport"
            )
            try:
                async for chunk in stream:
                    reader.feed(chunk)
                body = reader.body()
            except ResponseValidationError:
                await _abandon(family, response, stream)
                raise
        except family.errors as exc:
            raise _error(family, exc, request, response.status_code) from cause_of(exc, request)
        finally:
            await response.aclose()
        return received(status, headers, body)

    async def aclose(self) -> None:
        """Close the client if this transport created it; a caller's client stays open."""
        if self._owns_client:
            client = self._pool.close_transport()
            if client is not None:
                await client.aclose()

    async def __aenter__(self) -> AsyncHttpxTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
