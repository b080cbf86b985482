"""httpx transports that hand requests to a Sandbox in-process.

Faults become what httpx would raise over a network: a reset before the response is
``httpx.RemoteProtocolError``, a mid-body reset a response whose stream raises
``httpx.ReadError``, and a delay longer than the request's read timeout ``httpx.ReadTimeout``
(after the sandbox processed the request, as on a real network).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx

from ._sandbox import Sandbox
from ._values import SandboxReply, SandboxRequest

__all__ = ["AsyncSandboxTransport", "SandboxTransport"]


def _to_sandbox(request: httpx.Request, body: bytes) -> SandboxRequest:
    return SandboxRequest.of(
        request.method,
        request.url.path,
        query=request.url.params.multi_items(),
        headers=request.headers.multi_items(),
        body=body,
    )


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        value: object = timeouts.get("read")  # pyright: ignore[reportUnknownMemberType]
        if isinstance(value, (int, float)):
            return float(value)
    return None


def _wait(request: httpx.Request, reply: SandboxReply) -> tuple[float, bool]:
    """How long to sleep, and whether the read timeout fires at the end of it."""
    timeout = _read_timeout(request)
    if timeout is not None and reply.delay > timeout:
        return timeout, True
    return reply.delay, False


def _disconnected(request: httpx.Request) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        "Server disconnected without sending a response.", request=request
    )


def _headers(reply: SandboxReply) -> list[tuple[str, str]]:
    return [*reply.headers, ("Content-Length", str(len(reply.body)))]


class _BrokenStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, request: httpx.Request) -> None:
        self._data = data
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        yield self._data
        raise httpx.ReadError("Connection reset by peer.", request=self._request)


class _AsyncBrokenStream(httpx.AsyncByteStream):
    def __init__(self, data: bytes, request: httpx.Request) -> None:
        self._data = data
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._data
        raise httpx.ReadError("Connection reset by peer.", request=self._request)


class SandboxTransport(httpx.BaseTransport):
    """Sync transport: ``httpx.Client(transport=sandbox.transport(), base_url=...)``."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reply = self._sandbox.handle(_to_sandbox(request, request.read()))
        seconds, times_out = _wait(request, reply)
        if seconds > 0:
            time.sleep(seconds)
        if times_out:
            raise httpx.ReadTimeout("The read operation timed out.", request=request)
        if reply.reset == "before_response":
            raise _disconnected(request)
        if reply.reset == "mid_body":
            stream = _BrokenStream(reply.partial_body, request)
            return httpx.Response(reply.status, headers=_headers(reply), stream=stream)
        return httpx.Response(reply.status, headers=_headers(reply), content=reply.body)


class AsyncSandboxTransport(httpx.AsyncBaseTransport):
    """Async transport (asyncio or trio): ``httpx.AsyncClient(transport=...)``."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reply = self._sandbox.handle(_to_sandbox(request, await request.aread()))
        seconds, times_out = _wait(request, reply)
        if seconds > 0:
            await anyio.sleep(seconds)
        if times_out:
            raise httpx.ReadTimeout("The read operation timed out.", request=request)
        if reply.reset == "before_response":
            raise _disconnected(request)
        if reply.reset == "mid_body":
            stream = _AsyncBrokenStream(reply.partial_body, request)
            return httpx.Response(reply.status, headers=_headers(reply), stream=stream)
        return httpx.Response(reply.status, headers=_headers(reply), content=reply.body)
