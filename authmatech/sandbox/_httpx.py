"""httpx-family transports (httpx or httpx2) that hand requests to a Sandbox in-process.

Faults become what the library would raise over a network: a reset before the response is
``RemoteProtocolError``, a mid-body reset a response whose stream raises ``ReadError``, and a
delay longer than the request's read timeout ``ReadTimeout`` (after the sandbox processed the
request, as on a real network), each the family's own class.

The two families' clients check that a transport's responses carry their own stream classes,
so each adapter is built for one family module (:func:`sync_transport`, :func:`async_transport`).
``SandboxTransport`` and ``AsyncSandboxTransport`` are the httpx ones.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx

from ._sandbox import Sandbox
from ._values import SandboxReply, SandboxRequest

__all__ = ["AsyncSandboxTransport", "SandboxTransport", "async_transport", "sync_transport"]

_FAMILIES = ("httpx", "httpx2")


def family_module(family: str) -> Any:
    """``httpx`` or ``httpx2``, imported; anything else is a :class:`ConfigurationError`."""
    from ..errors import ConfigurationError

    if family not in _FAMILIES:
        raise ConfigurationError(f"family must be 'httpx' or 'httpx2', not {family!r}")
    try:
        return importlib.import_module(family)
    except ModuleNotFoundError as exc:
        if exc.name != family:
            raise
        raise ConfigurationError(
            f'the sandbox adapter for {family} needs it: pip install "authmatech[{family}]"'
        ) from None


def _to_sandbox(request: Any, body: bytes) -> SandboxRequest:
    return SandboxRequest.of(
        request.method,
        request.url.path,
        query=request.url.params.multi_items(),
        headers=request.headers.multi_items(),
        body=body,
    )


def _read_timeout(request: Any) -> float | None:
    timeouts = request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        value: object = timeouts.get("read")  # pyright: ignore[reportUnknownMemberType]
        if isinstance(value, (int, float)):
            return float(value)
    return None


def _wait(request: Any, reply: SandboxReply) -> tuple[float, bool]:
    """How long to sleep, and whether the read timeout fires at the end of it."""
    timeout = _read_timeout(request)
    if timeout is not None and reply.delay > timeout:
        return timeout, True
    return reply.delay, False


def _headers(reply: SandboxReply) -> list[tuple[str, str]]:
    return [*reply.headers, ("Content-Length", str(len(reply.body)))]


class _Adapter:
    """What the sync and async adapters share: the sandbox, the family, and the replies."""

    def __init__(self, sandbox: Sandbox, module: Any) -> None:
        self._sandbox = sandbox
        self._x = module

    def _fail_early(self, request: Any, reply: SandboxReply, times_out: bool) -> None:
        if times_out:
            raise self._x.ReadTimeout("The read operation timed out.", request=request)
        if reply.reset == "before_response":
            raise self._x.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )

    def _reset(self, request: Any) -> Exception:
        error: Exception = self._x.ReadError("Connection reset by peer.", request=request)
        return error

    def _response(self, reply: SandboxReply, stream: Any = None) -> Any:
        if stream is not None:
            return self._x.Response(reply.status, headers=_headers(reply), stream=stream)
        return self._x.Response(reply.status, headers=_headers(reply), content=reply.body)


class _SyncAdapter(_Adapter):
    """Sync transport: ``httpx.Client(transport=sandbox.transport(), base_url=...)``."""

    def handle_request(self, request: Any) -> Any:
        reply = self._sandbox.handle(_to_sandbox(request, request.read()))
        seconds, times_out = _wait(request, reply)
        if seconds > 0:
            time.sleep(seconds)
        self._fail_early(request, reply, times_out)
        if reply.reset == "mid_body":
            adapter = self

            class Broken(self._x.SyncByteStream):  # type: ignore[name-defined,misc]
                def __iter__(self) -> Iterator[bytes]:
                    yield reply.partial_body
                    raise adapter._reset(request)

            return self._response(reply, Broken())
        return self._response(reply)


class _AsyncAdapter(_Adapter):
    """Async transport (asyncio or trio): ``httpx.AsyncClient(transport=...)``."""

    async def handle_async_request(self, request: Any) -> Any:
        reply = self._sandbox.handle(_to_sandbox(request, await request.aread()))
        seconds, times_out = _wait(request, reply)
        if seconds > 0:
            await anyio.sleep(seconds)
        self._fail_early(request, reply, times_out)
        if reply.reset == "mid_body":
            adapter = self

            class Broken(self._x.AsyncByteStream):  # type: ignore[name-defined,misc]
                async def __aiter__(self) -> AsyncIterator[bytes]:
                    yield reply.partial_body
                    raise adapter._reset(request)

            return self._response(reply, Broken())
        return self._response(reply)


class SandboxTransport(_SyncAdapter, httpx.BaseTransport):
    """Sync httpx transport: ``httpx.Client(transport=sandbox.transport(), base_url=...)``;
    ``sandbox.transport(family="httpx2")`` builds its httpx2 twin."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox, httpx)


class AsyncSandboxTransport(_AsyncAdapter, httpx.AsyncBaseTransport):
    """Async httpx transport (asyncio or trio): ``httpx.AsyncClient(transport=...)``."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(sandbox, httpx)


def sync_transport(sandbox: Sandbox, family: str = "httpx") -> Any:
    """A sync transport of ``family`` (a ``BaseTransport`` of that library) serving ``sandbox``."""
    if family == "httpx":
        return SandboxTransport(sandbox)
    module = family_module(family)
    cls = type("SandboxTransport", (_SyncAdapter, module.BaseTransport), {})
    return cls(sandbox, module)


def async_transport(sandbox: Sandbox, family: str = "httpx") -> Any:
    """The async twin of :func:`sync_transport` (asyncio or trio)."""
    if family == "httpx":
        return AsyncSandboxTransport(sandbox)
    module = family_module(family)
    cls = type("AsyncSandboxTransport", (_AsyncAdapter, module.AsyncBaseTransport), {})
    return cls(sandbox, module)
