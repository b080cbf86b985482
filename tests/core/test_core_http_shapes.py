"""``core.HttpResponse`` takes headers and bodies the way real HTTP stacks hand them over.

h11 and ASGI give ``list[tuple[bytes, bytes]]``, ``http.client`` a message object or
``getheaders()`` pairs, aiohttp a multidict, some stacks ``dict[bytes, bytes]``; bodies come as
``bytes``, ``bytearray`` or ``memoryview``. Anything else is a library error saying what is
accepted, never a raw ``AttributeError``.
"""

from __future__ import annotations

import email.message
import http.client
import io
from typing import Any

import multidict
import pytest
from core_helpers import NUMBER, envelope

from authmatech import core
from authmatech.errors import RateLimitError, RequestValidationError

BODY = envelope({"validNumber": True})
RATE_LIMITED = envelope(None, success=False, messages=[{"type": "FAILURE", "message": "slow"}])


def _verify() -> core.Call[Any]:
    return core.verify(NUMBER, "proof")


def _http_message() -> http.client.HTTPMessage:
    raw = b"X-Request-Id: req-1\r\nRetry-After: 7\r\nVary: a\r\nVary: b\r\n\r\n"
    return http.client.parse_headers(io.BytesIO(raw))


SHAPES = {
    "dict[str, str]": {"X-Request-Id": "req-1", "Retry-After": "7", "Vary": "a, b"},
    "dict[bytes, bytes]": {b"X-Request-Id": b"req-1", b"Retry-After": b"7", b"Vary": b"a, b"},
    "list[tuple[bytes, bytes]] (h11, ASGI)": [
        (b"x-request-id", b"req-1"),
        (b"retry-after", b"7"),
        (b"vary", b"a"),
        (b"vary", b"b"),
    ],
    "list[tuple[str, str]] (http.client getheaders)": [
        ("X-Request-Id", "req-1"),
        ("Retry-After", "7"),
        ("Vary", "a"),
        ("Vary", "b"),
    ],
    "tuple of lists": (
        ["X-Request-Id", "req-1"],
        ["Retry-After", "7"],
        ["Vary", "a"],
        ["Vary", "b"],
    ),
    "multidict (aiohttp)": multidict.CIMultiDict(
        [("X-Request-Id", "req-1"), ("Retry-After", "7"), ("Vary", "a"), ("Vary", "b")]
    ),
    "http.client.HTTPMessage (urllib)": _http_message(),
}


@pytest.mark.parametrize("headers", SHAPES.values(), ids=SHAPES.keys())
def test_every_header_shape_keeps_request_id_retry_after_and_repeats(headers: Any) -> None:
    response = core.HttpResponse(429, headers, RATE_LIMITED)
    assert response.headers == {"x-request-id": "req-1", "retry-after": "7", "vary": "a, b"}
    assert response.request_id == "req-1"
    with pytest.raises(RateLimitError) as caught:
        _verify().parse(response)
    assert caught.value.retry_after == 7.0
    assert caught.value.request_id == "req-1"


def test_bytes_are_decoded_as_latin_1() -> None:
    response = core.HttpResponse(200, [(b"X-Note", "caf\u00e9".encode("latin-1"))], BODY)
    assert response.headers == {"x-note": "caf\u00e9"}


def test_an_email_message_is_accepted_like_http_message() -> None:
    message = email.message.Message()
    message["X-Request-Id"] = "req-2"
    assert core.HttpResponse(200, message, BODY).request_id == "req-2"


@pytest.mark.parametrize("body", [BODY, bytearray(BODY), memoryview(BODY)], ids=type)
def test_bodies_as_bytes_bytearray_or_memoryview(body: Any) -> None:
    response = core.HttpResponse(200, {}, body)
    assert type(response.body) is bytes
    assert response.body == BODY
    assert _verify().parse(response).valid_number is True


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((200, {}, BODY.decode()), "body must be bytes, bytearray or memoryview, not str"),
        ((200, {}, 5), "not int"),
        ((200, {}, None), "not NoneType"),
        ((200, "X-A: b"), "headers must be a mapping"),
        ((200, b"X-A: b"), "headers must be a mapping"),
        ((200, 5), "headers must be a mapping"),
        ((200, None), "headers must be a mapping"),
        ((200, [b"x-a"]), "(name, value) pair"),
        ((200, [("x-a", "b", "c")]), "(name, value) pair"),
        ((200, {"x-a": 1}), "value must be a str or bytes, not int"),
        ((200, {1: "b"}), "name must be a str or bytes, not int"),
        ((429, {"Retry-After": 5}), "value must be a str or bytes, not int"),
        (("200", {}), "status_code must be an int"),
        ((True, {}), "status_code must be an int"),
        ((2000, {}), "three-digit"),
        ((99, {}), "three-digit"),
    ],
)
def test_anything_else_is_a_library_error_saying_what_is_accepted(
    args: tuple[Any, ...], words: str
) -> None:
    with pytest.raises(RequestValidationError, match="HttpResponse") as caught:
        core.HttpResponse(*args)
    assert words in str(caught.value)


def test_parse_retry_after_takes_numbers_and_refuses_other_types() -> None:
    assert core.parse_retry_after(5) == 5.0
    assert core.parse_retry_after(2.5) == 2.5
    assert core.parse_retry_after(-1) is None
    assert core.parse_retry_after(float("nan")) is None
    assert core.parse_retry_after("  ") is None
    with pytest.raises(RequestValidationError, match="Retry-After"):
        core.parse_retry_after(b"5")  # type: ignore[arg-type]
    with pytest.raises(RequestValidationError, match="now must be"):
        core.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now="x")  # type: ignore[arg-type]
