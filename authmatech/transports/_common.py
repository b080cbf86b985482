"""Pieces every transport shares: the body cap, error translation and the timeout cache."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Generic, NamedTuple, TypeVar
from urllib.parse import urlsplit

from .._mask import bounded
from ..core._http import HttpRequest, Timeout
from ..errors import (
    APIConnectionError,
    APITimeoutError,
    AuthmatechError,
    ConfigurationError,
    ResponseValidationError,
    UnderlyingError,
)

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Failure",
    "TimeoutCache",
    "body_too_large",
    "cause_of",
    "failed",
    "check_max_response_bytes",
    "check_declared_length",
    "host_of",
    "merge_headers",
    "translate",
    "underlying",
]

#: 1 MiB: far above any documented response, far below what could exhaust memory.
DEFAULT_MAX_RESPONSE_BYTES = 1_048_576

_T = TypeVar("_T")
_CACHE_SIZE = 32


class Failure(NamedTuple):
    """How one library exception class reads to the caller."""

    exc_type: type[BaseException]
    what: str
    maybe_processed: bool
    timeout: bool = False


def check_max_response_bytes(value: int) -> int:
    """Return ``value`` if it is a usable body cap, else raise :class:`ConfigurationError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError("max_response_bytes must be a positive number of bytes")
    return value


def host_of(url: str) -> str:
    """``host[:port]`` of ``url``, for messages: never the user info, path or query."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "the configured host"
    if not host:
        return "the configured host"
    if ":" in host:
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def translate(exc: BaseException, url: str, failures: Iterable[Failure]) -> APIConnectionError:
    """The :class:`APIConnectionError` for ``exc``: the first matching ``failures`` row wins."""
    for failure in failures:
        if isinstance(exc, failure.exc_type):
            break
    else:
        failure = Failure(BaseException, "the request to {host} failed in transit", True)
    outcome = (
        "the server may have processed the request"
        if failure.maybe_processed
        else "nothing reached the server"
    )
    what = failure.what.format(host=host_of(url))
    error_type = APITimeoutError if failure.timeout else APIConnectionError
    return error_type(
        f"{what} ({type(exc).__name__}); {outcome}", maybe_processed=failure.maybe_processed
    )


#: How much of the HTTP library's text an :class:`UnderlyingError` keeps.
_MAX_DETAIL = 1000


def failed(error: AuthmatechError, exc: BaseException, request: HttpRequest) -> AuthmatechError:
    """``error``, caused by an :class:`UnderlyingError` standing in for ``exc``.

    Raise what this returns *after* the ``except`` block that caught ``exc`` (so that neither
    ``exc`` nor its frames stay reachable as ``__context__`` or as a local of the raising
    frame): the library's exception holds the request as sent, and its text may quote what a
    broken server echoed.
    """
    error.__cause__ = underlying(exc, request)
    return error


def cause_of(exc: BaseException, request: HttpRequest) -> UnderlyingError:
    """What to chain to the library's error for ``exc``: the frameless, scrubbed stand-in
    (:func:`underlying`), never ``exc`` itself (its frames and request hold the credentials)."""
    return underlying(exc, request)


def underlying(exc: BaseException, request: HttpRequest) -> UnderlyingError:
    """The frameless, scrubbed stand-in for ``exc`` and the exceptions it chains."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 5:
        seen.add(id(current))
        text = str(current)
        parts.append(_name_of(type(current)) + (f": {text}" if text else ""))
        current = current.__cause__ or current.__context__
    detail = bounded(request.redact(" <- ".join(parts)), _MAX_DETAIL)
    return UnderlyingError(detail, _name_of(type(exc)))


def _name_of(kind: type) -> str:
    """``httpx.ConnectError``, ``aiohttp.ClientConnectorError``, ``ConnectionRefusedError``."""
    package = kind.__module__.partition(".")[0]
    return kind.__qualname__ if package == "builtins" else f"{package}.{kind.__qualname__}"


def body_too_large(
    url: str, status_code: int, limit: int, transport: str
) -> ResponseValidationError:
    """The error for a response body over ``limit`` bytes, saying how to raise the cap."""
    return ResponseValidationError(
        f"the response body from {host_of(url)} is larger than max_response_bytes={limit}; "
        f"it was not read. Pass {transport}(max_response_bytes=...) as the client's transport "
        "to accept larger bodies",
        status_code=status_code,
    )


def check_declared_length(
    request: HttpRequest, status_code: int, headers: Mapping[str, str], limit: int, transport: str
) -> None:
    """Refuse, before reading it, a body whose ``Content-Length`` (``headers`` lower-cased) is
    over ``limit`` bytes. A HEAD response declares a length it does not send."""
    value = headers.get("content-length")
    if value is None or request.method == "HEAD":
        return
    try:
        length = int(value)
    except ValueError:
        return
    if length > limit:
        raise body_too_large(request.url, status_code, limit, transport)


def merge_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a plain dict: names lower-cased, repeated values joined with ``", "``."""
    merged: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        if key in merged:
            merged[key] = f"{merged[key]}, {value}"
        else:
            merged[key] = value
    return merged


class TimeoutCache(Generic[_T]):
    """Converts :class:`Timeout` values to a library's timeout objects, remembering recent ones.

    The last conversion is checked by identity first, since a client sends the same ``Timeout``
    object again and again; the bounded dict serves the rest (deadline-capped timeouts are all
    different, so it must not grow without limit).
    """

    __slots__ = ("_build", "_cache", "_last")

    def __init__(self, build: Callable[[Timeout], _T]) -> None:
        self._build = build
        self._cache: dict[Timeout, _T] = {}
        self._last: tuple[Timeout, _T] | None = None

    def get(self, timeout: Timeout) -> _T:
        """The converted ``timeout``, built at most once per distinct recent value."""
        last = self._last
        if last is not None and last[0] is timeout:
            return last[1]
        converted = self._cache.get(timeout)
        if converted is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            converted = self._cache[timeout] = self._build(timeout)
        self._last = (timeout, converted)
        return converted


def closed_error() -> ConfigurationError:
    """Sending through a closed client is a lifecycle bug in the caller, found before any I/O."""
    return ConfigurationError(
        "this client's connection pool is closed (close()/aclose() was called, or its `with` "
        "block ended): keep one client open for the application's lifespan, or create a new one"
    )
