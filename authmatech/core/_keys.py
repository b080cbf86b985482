"""Reading the answer of a key endpoint (rotation, generation) without ever losing the key.

The contract publishes a response only for ``POST /v1/api/clients/rotate-key``
(``data.newApiKey``); the dashboard variant renders ``{}``, and ``me/api-key/rotate`` and
``me/api-key/generate`` publish nothing (open question 11). Authmatech retires the old key the
moment it issues a new one, so the answer is read as generously as can be done safely:

* the envelope's ``data`` (an object, or the key itself as a string), or the whole body when
  it is not enveloped, or a bare JSON string;
* the key under any of the plausible names below (compared without case, ``_`` or ``-``),
  also one or two levels down (``data.apiKey.value``);
* surrounding whitespace is removed, nothing else: the key is the server's truth, and the
  library's copy-paste hygiene rules (no quotes, no inner spaces, at most 4,096 characters)
  do not apply to it. Only a key an HTTP header cannot carry (control characters, line
  breaks, non-ASCII) is not adopted; it is handed over instead.

Whatever cannot be used ends in a :class:`~authmatech.errors.KeyResponseError` that carries
the raw body (and the key, if one was found) as a :class:`~authmatech.Secret`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..credentials import Secret
from ..errors import KeyResponseError
from ._http import HttpResponse

__all__ = ["KEY_FIELDS", "find_issued_key", "header_problem", "key_response_error"]

#: Where a new key may travel, most specific first. ``secretKey`` / ``clientSecret`` are left
#: out on purpose: that is the client secret (the request's field), never the new API key.
KEY_FIELDS = (
    "newApiKey",
    "apiKey",
    "newKey",
    "key",
    "apiKeyValue",
    "plainApiKey",
    "plainKey",
    "plaintextKey",
    "rawKey",
    "rawApiKey",
    "generatedKey",
    "generatedApiKey",
    "rotatedKey",
    "rotatedApiKey",
    "apiToken",
    "token",
    "value",
)
_WANTED = {name.lower(): rank for rank, name in enumerate(KEY_FIELDS)}
#: Objects a key may be wrapped in (``data.apiKey.value``, ``data.result.newApiKey``).
_CONTAINERS = {*_WANTED, "data", "result", "payload", "credentials", "credential"}
_MAX_DEPTH = 3


def _normal(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _in(document: Any, depth: int) -> str | None:
    if isinstance(document, str):
        return document if document.strip() else None
    if not isinstance(document, Mapping) or depth > _MAX_DEPTH:
        return None
    named = [(_normal(key), value) for key, value in document.items() if isinstance(key, str)]
    ranked = sorted(
        ((_WANTED[name], value) for name, value in named if name in _WANTED),
        key=lambda item: item[0],
    )
    for _, value in ranked:
        if isinstance(value, str) and value.strip():
            return value
    for name, value in named:
        if name in _CONTAINERS and isinstance(value, Mapping):
            found = _in(value, depth + 1)
            if found is not None:
                return found
    return None


def find_issued_key(document: Any) -> str | None:
    """The new key in a parsed answer (an envelope's ``data``, or an un-enveloped body), with
    surrounding whitespace removed; ``None`` if there is none."""
    if isinstance(document, Mapping) and "success" in document:
        data = document.get("data")
        if isinstance(data, str):  # the envelope's data is the key itself
            document = data
    found = _in(document, 0)
    return None if found is None else found.strip()


def header_problem(key: str) -> str | None:
    """Why ``key`` cannot travel in the ``X-API-KEY`` header, or ``None`` if it can.

    Visible ASCII and inner spaces can; control characters, line breaks and non-ASCII text
    cannot (HTTP clients refuse them, or they would split the header).
    """
    for char in key:
        if not " " <= char <= "~":
            if char in "\r\n":
                return "a line break"
            if not char.isascii():
                return "a non-ASCII character"
            return "a control character"
    return None


def key_response_error(
    operation_name: str,
    endpoint: str,
    response: HttpResponse,
    why: str,
    *,
    api_key: Secret | None = None,
    request_id: str | None = None,
) -> KeyResponseError:
    raw = response.body.decode("utf-8", "backslashreplace")
    found = "" if api_key is None else f" (the key found, {api_key.fingerprint}, is in .api_key)"
    return KeyResponseError(
        f"{endpoint} answered {response.status_code}, but {why}. The server may already have "
        "retired the old key: the whole answer is in this error's .raw_body (a Secret; "
        f".raw_body.reveal() shows it){found}. Store it before anything else, then check "
        f"whether the old key still works ({operation_name})",
        endpoint=endpoint,
        raw_body=Secret(raw),
        api_key=api_key,
        status_code=response.status_code,
        request_id=request_id,
    )
