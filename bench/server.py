"""A minimal keep-alive HTTP/1.1 server that answers every request with the verify envelope.

It parses just enough HTTP/1.1 (request line, headers, ``Content-Length`` body, pipelining,
``Connection: close``) to be much faster than any client measured against it, so the client's
own cost dominates. Run it in its own process::

    python bench/server.py [--seconds 600]

It binds ``127.0.0.1`` on a free port, prints ``PORT <n>`` on stdout and serves until its stdin
is closed (the parent exited or closed the pipe) or ``--seconds`` have passed, whichever comes
first: it can never outlive the benchmark for long.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading

BODY = (
    b'{"success":true,"messages":[{"type":"SUCCESS","httpStatus":"OK","technical":false}],'
    b'"data":{"validNumber":true}}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)
CLOSING_RESPONSE = RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEAD = 65_536


class VerifyProtocol(asyncio.Protocol):
    """One connection: split the byte stream into requests, answer each with ``RESPONSE``."""

    __slots__ = ("buffer", "transport")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        buffer = self.buffer
        buffer += data
        out: list[bytes] = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    out.append(BAD_REQUEST)
                    self._finish(out, close=True)
                    return
                break
            head = bytes(buffer[:end]).lower()
            length = 0
            position = head.find(b"\r\ncontent-length:")
            if position >= 0:
                stop = head.find(b"\r\n", position + 2)
                value = head[position + 17 : stop if stop >= 0 else len(head)]
                try:
                    length = int(value)
                except ValueError:
                    out.append(BAD_REQUEST)
                    self._finish(out, close=True)
                    return
            total = end + 4 + length
            if len(buffer) < total:
                break
            del buffer[:total]
            if b"\r\nconnection: close" in head:
                out.append(CLOSING_RESPONSE)
                self._finish(out, close=True)
                return
            out.append(RESPONSE)
        self._finish(out, close=False)

    def _finish(self, out: list[bytes], *, close: bool) -> None:
        transport = self.transport
        assert transport is not None
        if out:
            transport.write(b"".join(out) if len(out) > 1 else out[0])
        if close:
            transport.close()


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop the server when stdin reaches EOF: the parent closed the pipe or died."""
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except (OSError, ValueError):
        pass
    loop.call_soon_threadsafe(stop.set)


async def serve(seconds: float, host: str = "127.0.0.1") -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    server = await loop.create_server(VerifyProtocol, host, 0, backlog=1024, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()
    threading.Thread(target=_watch_stdin, args=(loop, stop), daemon=True).start()
    loop.call_later(seconds, stop.set)
    async with server:
        await stop.wait()
        server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="hard lifetime limit")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.seconds))
    except KeyboardInterrupt:
        pass
    finally:
        sys.stdout.flush()
        # Never linger on open client connections or a blocked stdin thread.
        os._exit(0)


if __name__ == "__main__":
    main()
