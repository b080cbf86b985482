"""The sandbox as a plain ASGI 3 application (no framework).

Serve it with any ASGI server, or drive it with ``httpx.ASGITransport``. Injected resets raise
:class:`InjectedReset` out of the application, which makes a server drop the connection: before
``http.response.start`` for ``"before_response"``, after part of the body for ``"mid_body"``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio

from ._sandbox import MAX_BODY_BYTES, Sandbox
from ._values import SandboxRequest

__all__ = ["InjectedReset", "SandboxASGIApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class InjectedReset(Exception):
    """Raised by the ASGI app so the server drops the connection, as an injected fault asks."""


class SandboxASGIApp:
    """``await app(scope, receive, send)`` for ``http`` and ``lifespan`` scopes."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "http":
            await self._http(scope, receive, send)
        else:
            raise ValueError(f"the sandbox serves only http, not {kind!r}")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its whole request
        raw_headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        query: bytes = scope.get("query_string", b"")
        request = SandboxRequest.of(
            str(scope["method"]),
            str(scope["path"]),
            query=parse_qsl(query.decode("latin-1"), keep_blank_values=True),
            headers=[
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers
            ],
            body=body,
        )
        reply = self.sandbox.handle(request)
        if reply.delay > 0:
            await anyio.sleep(reply.delay)
        if reply.reset == "before_response":
            raise InjectedReset("injected fault: connection reset before the response")
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in reply.headers
        ]
        headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if reply.reset == "mid_body":
            await send(
                {"type": "http.response.body", "body": reply.partial_body, "more_body": True}
            )
            raise InjectedReset("injected fault: connection reset in the middle of the body")
        await send({"type": "http.response.body", "body": reply.body, "more_body": False})


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, cut at ``MAX_BODY_BYTES + 1`` (enough for the sandbox to answer 413);
    None if the client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES or not message.get("more_body", False):
            return b"".join(chunks)[: MAX_BODY_BYTES + 1]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
