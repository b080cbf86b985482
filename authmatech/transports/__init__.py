"""Transports: the only modules that import an HTTP library.

:class:`HttpxTransport` and :class:`AsyncHttpxTransport` are the defaults; they run on httpx or
on httpx2 (``pip install "authmatech[httpx2]"``), whichever the caller's client is, or as
``family=`` says for the pool they create. ``AiohttpTransport`` (asyncio only,
``pip install "authmatech[aiohttp]"``) is another option. Every one is imported on first
access, so importing this package imports no HTTP library. Anything meeting
:class:`SyncTransport` or :class:`AsyncTransport` can be used instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from ..errors import ConfigurationError
from ._base import AsyncTransport, SyncTransport

if TYPE_CHECKING:
    from typing import TypeAlias

    import httpx
    import httpx2

    from ._aiohttp import AiohttpTransport
    from ._httpx import AsyncHttpxTransport, HttpxTransport

    #: What a caller may pass as ``Client(http_client=...)``: an ``httpx.Client`` or an
    #: ``httpx2.Client``.
    SyncHttpClient: TypeAlias = httpx.Client | httpx2.Client
    #: What a caller may pass as ``AsyncClient(http_client=...)``.
    AsyncHttpClient: TypeAlias = httpx.AsyncClient | httpx2.AsyncClient

__all__ = [
    "AiohttpTransport",
    "AsyncHttpClient",
    "AsyncHttpxTransport",
    "AsyncTransport",
    "HttpxTransport",
    "SyncHttpClient",
    "SyncTransport",
]


def _aiohttp_missing(*args: object, **kwargs: object) -> NoReturn:
    raise ConfigurationError('AiohttpTransport needs aiohttp: pip install "authmatech[aiohttp]"')


def __getattr__(name: str) -> object:
    """Import a transport on first access; without aiohttp, constructing
    ``AiohttpTransport`` explains what to install."""
    if name in ("HttpxTransport", "AsyncHttpxTransport"):
        from . import _httpx

        return getattr(_httpx, name)
    if name in ("SyncHttpClient", "AsyncHttpClient"):
        import httpx  # at run time these name httpx's classes, as before

        return httpx.Client if name == "SyncHttpClient" else httpx.AsyncClient
    if name == "AiohttpTransport":
        try:
            from ._aiohttp import AiohttpTransport
        except ModuleNotFoundError as exc:
            if exc.name != "aiohttp":
                raise
            return _aiohttp_missing
        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
