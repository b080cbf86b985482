"""Transports: the only modules that import an HTTP library.

:class:`HttpxTransport` and :class:`AsyncHttpxTransport` are the defaults. ``AiohttpTransport``
(asyncio only, ``pip install "authmatech[aiohttp]"``) is imported on first access, so importing
this package never imports aiohttp. Anything meeting :class:`SyncTransport` or
:class:`AsyncTransport` can be used instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from ..errors import ConfigurationError
from ._base import AsyncTransport, SyncTransport
from ._httpx import AsyncHttpClient, AsyncHttpxTransport, HttpxTransport, SyncHttpClient

if TYPE_CHECKING:
    from ._aiohttp import AiohttpTransport

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
    """Import ``AiohttpTransport`` on first access; without aiohttp, constructing it explains."""
    if name == "AiohttpTransport":
        try:
            from ._aiohttp import AiohttpTransport
        except ModuleNotFoundError as exc:
            if exc.name != "aiohttp":
                raise
            return _aiohttp_missing
        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
