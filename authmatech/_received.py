"""A response as received, the one value every layer shares: the core parses it, the
transports build it, and every result keeps it (``result.response``).

It lives outside :mod:`authmatech.core` so that the models can refer to it without importing
the core; :class:`authmatech.core.HttpResponse` is this class.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeGuard, Union

import attrs

from ._mask import redact_text
from ._repr import tolerant_repr
from .errors import RequestValidationError

if TYPE_CHECKING:
    from email.message import Message

__all__ = [
    "Headers",
    "HttpResponse",
    "bytes_of",
    "normalize_headers",
    "pairs_of",
    "plain_headers",
    "received",
    "request_id_of",
]

#: The header shapes HTTP stacks hand over: a mapping (a ``dict``, an aiohttp multidict), an
#: ``http.client.HTTPMessage`` (urllib) or a list of ``(name, value)`` pairs (h11, ASGI, raw
#: urllib3), names and values as ``str`` or as ``bytes`` (decoded as Latin-1, as HTTP/1.1
#: defines them).
Headers = Union[
    Mapping[str, str],
    Mapping[bytes, bytes],
    Iterable[tuple[str, str]],
    Iterable[tuple[bytes, bytes]],
    "Message",
]

_HEADERS_ACCEPTED = (
    "a mapping of header names to values, or a list of (name, value) pairs, each name and "
    "value a str or bytes"
)


def plain_headers(headers: object) -> TypeGuard[dict[str, str]]:
    """Whether ``headers`` is a ``dict[str, str]``, the common case with a short path."""
    return type(headers) is dict and all(
        type(name) is str and type(value) is str for name, value in headers.items()
    )


_REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id", "x-amzn-requestid")


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The first request-id header's value (phone numbers masked, at most 128 characters)."""
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return redact_text(value[:256])[:128]
    return None


def _header_text(value: object, what: str, where: str) -> str:
    if type(value) is str:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    if isinstance(value, str):
        return str(value)
    raise RequestValidationError(
        f"{where}: a header {what} must be a str or bytes, not "
        f"{type(value).__name__} (headers are {_HEADERS_ACCEPTED})"
    )


def _header_items(headers: object, where: str) -> Iterable[object]:
    if isinstance(headers, Mapping):
        return headers.items()
    if isinstance(headers, (str, bytes, bytearray, memoryview)):
        raise RequestValidationError(
            f"{where} must be {_HEADERS_ACCEPTED}, not {type(headers).__name__}"
        )
    items = getattr(headers, "items", None)
    if callable(items):  # http.client.HTTPMessage / email.message.Message: not a Mapping
        pairs = items()
        if isinstance(pairs, Iterable):
            return pairs
    if isinstance(headers, Iterable):
        return headers
    raise RequestValidationError(
        f"{where} must be {_HEADERS_ACCEPTED}, not {type(headers).__name__}"
    )


def pairs_of(headers: object, where: str) -> Iterator[tuple[str, str]]:
    """``(name, value)`` as text for each header of ``headers``, in order, repeats included."""
    for item in _header_items(headers, where):
        if isinstance(item, (str, bytes, bytearray, memoryview)) or not isinstance(
            item, (tuple, list)
        ):
            raise RequestValidationError(
                f"{where}: each item must be a (name, value) pair, not "
                f"{type(item).__name__} (headers are {_HEADERS_ACCEPTED})"
            )
        if len(item) != 2:
            raise RequestValidationError(
                f"{where}: each item must be a (name, value) pair, not a "
                f"{len(item)}-item {type(item).__name__}"
            )
        yield _header_text(item[0], "name", where), _header_text(item[1], "value", where)


def normalize_headers(headers: Headers) -> dict[str, str]:
    """``headers`` in any shape :data:`Headers` allows, as a ``dict`` with lower-case names;
    a repeated header's values joined with ``", "`` in order, as HTTP allows (RFC 9110 5.3)."""
    if plain_headers(headers):
        return {name.lower(): value for name, value in headers.items()}
    merged: dict[str, str] = {}
    for name, value in pairs_of(headers, "HttpResponse headers"):
        key = name.lower()
        previous = merged.get(key)
        merged[key] = value if previous is None else f"{previous}, {value}"
    return merged


def _status(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestValidationError(
            f"HttpResponse status_code must be an int such as 200, not {type(value).__name__}"
        )
    if not 100 <= value <= 999:
        raise RequestValidationError(
            f"HttpResponse status_code must be a three-digit HTTP status (100 to 999), not {value}"
        )
    return int(value)


def bytes_of(value: object, where: str, accepted: str = "bytes, bytearray or memoryview") -> bytes:
    """``value`` as ``bytes`` (a ``bytearray`` or ``memoryview`` copied), or
    ``RequestValidationError`` saying that ``where`` must be one of ``accepted``."""
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    hint = " (encode it: body.encode())" if isinstance(value, str) else ""
    raise RequestValidationError(f"{where} must be {accepted}, not {type(value).__name__}{hint}")


def _body(value: bytes | bytearray | memoryview) -> bytes:
    return bytes_of(value, "HttpResponse body")


@tolerant_repr
@attrs.frozen(slots=True, repr=False)
class HttpResponse:
    """A response as received: status code, headers and the raw body.

    ``headers`` may come in any shape an HTTP stack hands over (see :data:`Headers`): a
    mapping, a multidict or a list of ``(name, value)`` pairs, as ``str`` or Latin-1 ``bytes``.
    They are kept as a ``dict`` with lower-case names, repeated headers joined with ``", "``.
    ``body`` may be ``bytes``, ``bytearray`` or ``memoryview``; it is kept as ``bytes``.
    Anything else raises :class:`~authmatech.RequestValidationError` saying what is accepted.
    """

    status_code: int = attrs.field(converter=_status)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=normalize_headers)
    body: bytes = attrs.field(default=b"", converter=_body)

    @property
    def request_id(self) -> str | None:
        """The request id the server (or a gateway in front of it) sent, if any: quote it to
        Authmatech support."""
        return request_id_of(self.headers)

    def __repr__(self) -> str:
        return f"HttpResponse(status_code={self.status_code}, body=<{len(self.body)} bytes>)"

    def __rich_repr__(self) -> Iterator[tuple[str, object]]:
        """What ``rich`` shows (it reads attrs fields, not ``__repr__``): the same summary."""
        yield "status_code", self.status_code
        yield "body", _Shown(f"<{len(self.body)} bytes>")


class _Shown(str):
    """Text that ``rich`` prints as it is, without quotes."""

    def __repr__(self) -> str:
        return str(self)


def received(status_code: int, headers: dict[str, str], body: bytes) -> HttpResponse:
    """The :class:`HttpResponse` a transport read, its header names already lower-case: built
    without the converter's second pass over the headers (once per response, on the hot path)."""
    response: HttpResponse = object.__new__(HttpResponse)
    put = object.__setattr__
    put(response, "status_code", status_code)
    put(response, "headers", headers)
    put(response, "body", body)
    return response
