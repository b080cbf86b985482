"""Response bodies read raw and decoded here, never by the HTTP library, so that no
``Content-Encoding`` can make a small response inflate past the body cap.

httpx inflates each network read with no output limit, and a 6.7 KB ``gzip, gzip`` body grows to
gigabytes before the first chunk reaches the caller. :class:`BodyReader` takes the raw bytes and
runs every layer of ``Content-Encoding`` through a decoder whose output per step is bounded
(``zlib``'s ``max_length``, brotli's ``output_buffer_limit``, zstd's ``max_length``), counting
each layer's output against the cap as it comes. The library holds at most the cap plus a few
64 KiB steps, whatever the encodings. Codings without a bounded decoder here are not advertised
in ``Accept-Encoding``; a server that sends one anyway gets its body passed through as it is,
as httpx and aiohttp do for codings they do not know.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ..errors import ResponseValidationError
from ._common import body_too_large, host_of

__all__ = ["ACCEPT_ENCODING", "BodyReader"]

#: Output of one decoding step, in bytes.
_STEP = 65_536
#: More layers than any real server stacks; more is refused (httpx2 stops at 5 too).
_MAX_LAYERS = 5


class _Layer(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...

    def flush(self) -> Iterator[bytes]: ...


class _Zlib:
    """gzip or deflate; ``deflate`` is tried zlib-wrapped first, then raw (servers send both)."""

    __slots__ = ("_d", "_raw_fallback")

    def __init__(self, wbits: int, raw_fallback: bool = False) -> None:
        self._d = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback

    def decode(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._d.decompress(data, _STEP)
        except zlib.error:
            if not self._raw_fallback:
                raise
            self._raw_fallback = False
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data, _STEP)
        self._raw_fallback = False
        while out:
            yield out
            out = self._d.decompress(self._d.unconsumed_tail, _STEP)

    def flush(self) -> Iterator[bytes]:
        yield from self.decode(b"")


def _brotli_module() -> Any:
    """brotli (or brotlicffi) if it has bounded output (brotli >= 1.2), else ``None``."""
    for name in ("brotli", "brotlicffi"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        process = getattr(module.Decompressor(), "process", None)
        if process is not None and "output_buffer_limit" in (process.__doc__ or ""):
            return module
    return None


class _Brotli:
    __slots__ = ("_d",)

    def __init__(self, module: Any) -> None:
        self._d = module.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        d = self._d
        out: bytes = d.process(data, output_buffer_limit=_STEP)
        while True:
            if out:
                yield out
            if d.can_accept_more_data() or d.is_finished():
                return
            out = d.process(b"", output_buffer_limit=_STEP)
            if not out:
                return

    def flush(self) -> Iterator[bytes]:
        return iter(())


def _zstd_class() -> Any:
    """The standard library's zstd decompressor (3.14+, or ``backports.zstd``), else ``None``.
    The ``zstandard`` package has no output limit per call, so it is not used."""
    names = ("compression.zstd",) if sys.version_info >= (3, 14) else ("backports.zstd",)
    for name in names:
        try:
            module = __import__(name, fromlist=["ZstdDecompressor"])
        except ImportError:
            continue
        return module.ZstdDecompressor
    return None


class _Zstd:
    __slots__ = ("_cls", "_d")

    def __init__(self, cls: Any) -> None:
        self._cls = cls
        self._d = cls()

    def decode(self, data: bytes) -> Iterator[bytes]:
        while True:
            d = self._d
            out: bytes = d.decompress(data, _STEP)
            while out:
                yield out
                if d.needs_input or d.eof:
                    break
                out = d.decompress(b"", _STEP)
            if not (d.eof and d.unused_data):
                return
            data = d.unused_data  # another frame follows
            self._d = self._cls()

    def flush(self) -> Iterator[bytes]:
        return iter(())


def _factories() -> dict[str, Callable[[], _Layer]]:
    factories: dict[str, Callable[[], _Layer]] = {
        "gzip": lambda: _Zlib(zlib.MAX_WBITS | 16),
        "x-gzip": lambda: _Zlib(zlib.MAX_WBITS | 16),
        "deflate": lambda: _Zlib(zlib.MAX_WBITS, raw_fallback=True),
    }
    brotli = _brotli_module()
    if brotli is not None:
        factories["br"] = lambda: _Brotli(brotli)
    zstd = _zstd_class()
    if zstd is not None:
        factories["zstd"] = lambda: _Zstd(zstd)
    return factories


_FACTORIES = _factories()

#: What every transport sends as ``Accept-Encoding``: only codings decoded with bounded output.
ACCEPT_ENCODING = ", ".join(name for name in _FACTORIES if name != "x-gzip")

_DECODE_ERRORS: tuple[type[Exception], ...] = (zlib.error, ValueError, OSError, EOFError)
if "br" in _FACTORIES:
    _DECODE_ERRORS += (_brotli_module().error,)


def _decoded(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """``pieces``, a decoder's error turned into :class:`_Corrupt`."""
    try:
        yield from pieces
    except _DECODE_ERRORS as exc:
        raise _Corrupt(type(exc).__name__) from None


class _Corrupt(Exception):
    """A layer's data could not be decoded."""


class BodyReader:
    """Collects one response body from its raw chunks, decoding ``Content-Encoding`` with every
    layer's output bounded, and refusing a body (raw or decoded) over ``limit`` bytes.

    Over the cap raises :func:`~._common.body_too_large`'s error (naming ``transport``, whose
    ``max_response_bytes`` raises the cap); a body that cannot be decoded raises
    :class:`~authmatech.errors.ResponseValidationError` too.
    """

    __slots__ = (
        "_chunks",
        "_layers",
        "_limit",
        "_produced",
        "_raw",
        "_size",
        "_status",
        "_transport",
        "_url",
    )

    def __init__(
        self, content_encoding: str | None, limit: int, url: str, status_code: int, transport: str
    ) -> None:
        self._limit = limit
        self._url = url
        self._transport = transport
        self._status = status_code
        self._chunks: list[bytes] = []
        self._size = 0
        self._raw = 0
        self._layers: list[_Layer] = []
        self._produced: list[int] = []
        if content_encoding:
            codings = [c.strip().lower() for c in content_encoding.split(",")]
            known = [c for c in codings if c in _FACTORIES]
            if len(known) > _MAX_LAYERS:
                raise self._undecodable(f"more than {_MAX_LAYERS} content encodings")
            self._layers = [_FACTORIES[c]() for c in reversed(known)]
            self._produced = [0] * len(self._layers)

    def feed(self, raw: bytes) -> None:
        """Take the next raw chunk of the body."""
        self._raw += len(raw)
        if self._raw > self._limit:
            raise body_too_large(self._url, self._status, self._limit, self._transport)
        if not self._layers:
            self._keep(raw)
            return
        try:
            for piece in self._push(0, raw):
                self._keep(piece)
        except _Corrupt as exc:
            raise self._undecodable(str(exc)) from None

    def body(self) -> bytes:
        """The whole decoded body, once the raw stream has ended."""
        if self._layers:
            try:
                for index, layer in enumerate(self._layers):
                    for piece in _decoded(layer.flush()):
                        for final in self._push(index + 1, self._counted(index, piece)):
                            self._keep(final)
            except _Corrupt as exc:
                raise self._undecodable(str(exc)) from None
        return b"".join(self._chunks)

    def _push(self, index: int, data: bytes) -> Iterator[bytes]:
        """``data`` through layers ``index`` onwards, in bounded pieces."""
        if index == len(self._layers):
            yield data
            return
        for piece in _decoded(self._layers[index].decode(data)):
            yield from self._push(index + 1, self._counted(index, piece))

    def _counted(self, index: int, piece: bytes) -> bytes:
        # An inner layer's input is compressed data: far more of it than the cap allows in
        # the end is a bomb spending CPU (empty deflate blocks decode to nothing).
        self._produced[index] += len(piece)
        if self._produced[index] > 2 * self._limit + _STEP:
            raise body_too_large(self._url, self._status, self._limit, self._transport)
        return piece

    def _keep(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            raise body_too_large(self._url, self._status, self._limit, self._transport)
        if piece:
            self._chunks.append(piece)

    def _undecodable(self, why: str) -> ResponseValidationError:
        return ResponseValidationError(
            f"the response body from {host_of(self._url)} could not be decoded ({why})",
            status_code=self._status,
        )
