"""The checks of a :class:`~authmatech.core.HttpRequest` an embedder builds: every part is
one an HTTP library can send, so a wrong type or value fails here, naming the argument, not
as an ``AttributeError`` at ``repr`` or a ``UnicodeEncodeError`` inside a transport.

The requests the core builds (``Call.build``) are valid by construction and skip them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from .._received import bytes_of
from ..credentials import Secret
from ..errors import RequestValidationError
from ._hosts import check_host

__all__ = [
    "check_body",
    "check_headers",
    "check_method",
    "check_sealed_body",
    "check_secrets",
    "check_url",
]

#: RFC 9110 5.6.2: a method or a header name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: What every HTTP library sends as a header value: printable ASCII, spaces and tabs (no line
#: break, which would split the header; no other control character).
_VALUE = re.compile(r"[\t\x20-\x7e]*")
_METHOD_MAX = 32

_HEADERS_ACCEPTED = "a mapping of header names (str) to values (str or authmatech.Secret)"


def check_method(method: object, where: str) -> str:
    if not isinstance(method, str):
        raise RequestValidationError(
            f"{where} method must be a str such as 'GET' or 'POST', not {type(method).__name__}"
        )
    if len(method) > _METHOD_MAX or not _TOKEN.fullmatch(method):
        raise RequestValidationError(
            f"{where} method must be an HTTP method such as 'GET' or 'POST' (1 to {_METHOD_MAX} "
            "letters, digits or !#$%&'*+-.^_`|~)"
        )
    return method


def check_url(url: object, where: str) -> str:
    if not isinstance(url, str):
        raise RequestValidationError(
            f"{where} url must be an absolute http(s) URL as a str, not {type(url).__name__}"
        )
    if not url.isprintable() or any(char.isspace() for char in url):
        raise RequestValidationError(
            f"{where} url must not contain spaces or control characters (percent-encode them)"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (a port out of range or not a number raises here)
    except ValueError as exc:
        raise RequestValidationError(f"{where} url is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise RequestValidationError(
            f"{where} url must be an absolute http:// or https:// URL with a host, such as "
            "'https://service.authmatech.com/v1/api/verify'"
        )
    check_host(host, f"{where} url", RequestValidationError)
    return url


def _value_error(where: str, name: str, secret: bool) -> RequestValidationError:
    shown = "the Secret given for header" if secret else "header"
    return RequestValidationError(
        f"{where}: {shown} {name!r} has a value that cannot be sent: a header value must be "
        "printable ASCII text (spaces and tabs allowed, no line breaks or other control "
        "characters)"
    )


def check_headers(
    headers: object, where: str, *, secrets_allowed: bool = True
) -> Mapping[str, str | Secret]:
    """``headers`` if it is a mapping of token names to sendable values (``str``, or a
    :class:`Secret` when ``secrets_allowed``), no two names differing only in case."""
    accepted = _HEADERS_ACCEPTED if secrets_allowed else "a mapping of header names to str values"
    if not isinstance(headers, Mapping):
        raise RequestValidationError(
            f"{where} headers must be {accepted}, not {type(headers).__name__}"
        )
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str):
            raise RequestValidationError(
                f"{where}: a header name must be a str, not {type(name).__name__} "
                f"(headers are {accepted})"
            )
        if not _TOKEN.fullmatch(name):
            raise RequestValidationError(
                f"{where}: header name {name[:80]!r} is not an HTTP token (letters, digits and "
                "!#$%&'*+-.^_`|~, no spaces or colons)"
            )
        if name.lower() in seen:
            raise RequestValidationError(
                f"{where}: header {name!r} is given twice (names differing only in case are "
                "the same header)"
            )
        seen.add(name.lower())
        if isinstance(value, str):
            if not _VALUE.fullmatch(value):
                raise _value_error(where, name, secret=False)
        elif isinstance(value, Secret) and secrets_allowed:
            # the revealed value is matched in one expression and never named in a frame
            if value.is_withheld or not _VALUE.fullmatch(value.reveal()):
                raise _value_error(where, name, secret=True)
        else:
            raise RequestValidationError(
                f"{where}: header {name!r} must have a str value, not {type(value).__name__} "
                f"(headers are {accepted})"
            )
    return headers


def check_secrets(secrets: object, where: str) -> Mapping[str, Secret]:
    """``secrets`` if it is a mapping of header names to :class:`Secret` values."""
    if not isinstance(secrets, Mapping) or not all(
        isinstance(value, Secret) for value in secrets.values()
    ):
        raise RequestValidationError(
            f"{where} secrets must be a mapping of header names to authmatech.Secret values, "
            f"not {type(secrets).__name__}"
        )
    check_headers(secrets, where)
    return secrets


def check_body(body: object, where: str) -> bytes | None:
    """``body`` as ``bytes`` (``bytearray`` and ``memoryview`` copied), or ``None``."""
    if body is None:
        return None
    return bytes_of(body, f"{where} body", "bytes, bytearray, memoryview or None")


def check_sealed_body(
    sealed_body: object, where: str
) -> tuple[Secret, bytes, tuple[Secret, ...]] | None:
    """``sealed_body`` if it is ``None`` or ``(Secret, bytes shown instead, tuple of the
    Secrets in it)``."""
    if sealed_body is None:
        return None
    if (
        isinstance(sealed_body, tuple)
        and len(sealed_body) == 3
        and isinstance(sealed_body[0], Secret)
        and not sealed_body[0].is_withheld
        and isinstance(sealed_body[1], bytes)
        and isinstance(sealed_body[2], tuple)
        and all(isinstance(secret, Secret) for secret in sealed_body[2])
    ):
        return sealed_body
    raise RequestValidationError(
        f"{where} sealed_body must be None or a tuple (the JSON text as an authmatech.Secret, "
        "the bytes to show instead, a tuple of the Secrets in it)"
    )
