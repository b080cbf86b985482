"""Parsing responses: an :class:`~authmatech.core.HttpResponse` becomes a result model or the
right exception.

The status code classifies, the envelope explains: a 503 from a proxy with an HTML body is still
a :class:`ServerError`. ``success: false`` on a 2xx is an :class:`APIStatusError`. The body is
parsed as JSON whatever the ``Content-Type`` says (the service answers ``*/*``).

A 2xx body that is a JSON object but not enveloped (``{}``, a bare object; the reference pages
render several answers so) is tolerated, as the contract asks: without a ``success`` field, a
top-level ``data`` is unwrapped, and otherwise the whole object is the ``data``, which is then
read like any ``data`` (a verdict still needs its fields: a bare ``{}`` to a verify is a
:class:`ResponseValidationError`, never a guessed answer). A ``success`` that is not a
boolean, an ``error`` object (Authmatech never sends one; a gateway does) and a JSON value
that is not an object are not tolerated. Key endpoints (rotation, generation) are read by
``_keys``: after a 2xx there, whatever the server sent reaches the caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import cattrs

from .. import models
from .._convert import converter
from .._mask import bounded, redact_text
from ..credentials import Secret, issued_key
from ..errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    FeatureNotEnabledError,
    InsufficientBalanceError,
    InvalidMobileNumberError,
    NotFoundError,
    RateLimitError,
    RedirectError,
    RequestValidationError,
    ResponseValidationError,
    ServerError,
)
from ..models import Message, MessageType
from ._checks import require
from ._http import HttpResponse, received, request_id_of
from ._keys import find_issued_key, header_problem, key_response_error
from ._operations import Operation

__all__ = ["parse_response", "parse_retry_after", "request_id_of"]

T = TypeVar("T")

#: Bounds on the server's text that an error carries (a hostile or broken server can send
#: megabytes of it): message, code, request id, how many envelope messages.
_MAX_MESSAGE = 500
_MAX_CODE = 100
_MAX_MESSAGES = 20

_AUTH_HINT = (
    "check that X-API-KEY and X-CLIENT-ID are the pair copied from the dashboard, with no "
    "surrounding quotes, whitespace or line breaks (the usual cause of persistent 401s); "
    "the SDK token is accepted only by POST /v1/api/sdk/session"
)
_SECRET_HINT = "check the client secret (it is not the API key)"


def _text(value: Any, limit: int) -> str | None:
    """Server text as an error may carry it: a str, phone numbers masked, bounded."""
    if not isinstance(value, str) or not value:
        return None
    return bounded(redact_text(value), limit)


def _arguments(value: Any) -> Any:
    """The message's ``arguments`` if small and free of phone numbers, else ``None``."""
    if value is None:
        return None
    shown = repr(value)
    return value if len(shown) <= _MAX_MESSAGE and redact_text(shown) == shown else None


def _check_now(now: object) -> None:
    if now is not None and (
        isinstance(now, bool) or not isinstance(now, (int, float)) or not -_EPOCHS < now < _EPOCHS
    ):
        shown = repr(now) if isinstance(now, float) else type(now).__name__
        raise RequestValidationError(
            f"now must be a Unix time in seconds (time.time()), not {shown}"
        )


#: Far beyond any Unix time a clock gives (year 5138); NaN and infinities fall outside too.
_EPOCHS = 10**11


def parse_retry_after(value: str | float | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds (as text or a number), or an
    HTTP date (then ``now``, the current Unix time, is needed). ``None`` when absent or
    unreadable."""
    _check_now(now)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float: no wait that long is honoured
            return None
        return seconds if 0 <= seconds < float("inf") else None
    if not isinstance(value, str):
        raise RequestValidationError(
            f"a Retry-After value must be a str or a number of seconds, not {type(value).__name__}"
        )
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < float("inf") else None
    if now is None:
        return None
    import email.utils  # only for the rare HTTP-date form; it is slow to import

    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_response(
    operation: Operation[T], response: HttpResponse, *, now: float | None = None
) -> T:
    """The operation's result, or raise the exception the response stands for.

    ``now`` (Unix time) lets a ``Retry-After`` given as an HTTP date be turned into seconds.
    """
    require(
        "parse_response", (operation, Operation, "operation"), (response, HttpResponse, "response")
    )
    _check_now(now)
    status = response.status_code
    if 200 <= status < 300:
        if operation.replaces_key:
            return _issued(operation, response, now)
        envelope = _envelope(response)
        if envelope is None:
            if status == 204:
                return _result(operation, None, response)
            raise _invalid(response, "the body is empty")
        success, raw_messages, data = envelope
        if success is False:
            raise _status_error(response, _messages(raw_messages), operation, now)
        return _result(operation, data, response)
    if 300 <= status < 400:
        raise _redirect(response)
    envelope = _envelope(response, strict=False)
    messages = _messages(envelope[1]) if envelope else ()
    raise _status_error(response, messages, operation, now, enveloped=envelope is not None)


def _issued(operation: Operation[T], response: HttpResponse, now: float | None) -> T:
    """The new key of a 2xx to a rotation or generation, or a ``KeyResponseError`` carrying
    the whole answer (see ``_keys``)."""
    endpoint = f"{operation.method} {operation.path}"
    request_id = request_id_of(response.headers)
    if not response.body or response.body.isspace():
        why = "the body is empty"
        raise key_response_error(operation.name, endpoint, response, why, request_id=request_id)
    try:
        document = _from_json(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        why = "the body is not JSON"
        raise key_response_error(
            operation.name, endpoint, response, why, request_id=request_id
        ) from None
    if isinstance(document, dict) and document.get("success") is False:
        raise _status_error(response, _messages(document.get("messages")), operation, now)
    key = find_issued_key(document)
    if key is None:
        why = "no new API key was found in it (looked for data.newApiKey, data.apiKey and similar)"
        raise key_response_error(operation.name, endpoint, response, why, request_id=request_id)
    problem = header_problem(key)
    if problem is not None:
        why = (
            f"the new key contains {problem}, which an HTTP header cannot carry, so this client "
            "goes on with the old key"
        )
        raise key_response_error(
            operation.name, endpoint, response, why, api_key=Secret(key), request_id=request_id
        )
    result = operation.result(issued_key(key))
    _keep_response(result, response)
    return result


def _result(operation: Operation[T], data: Any, response: HttpResponse) -> T:
    try:
        result = operation.result(data)
    except (TypeError, ValueError, KeyError, cattrs.BaseValidationError) as exc:
        why = f"data does not match {operation.name}'s result: {_why(exc)}"
        raise _invalid(response, why) from None
    _keep_response(result, response)
    return result


_KEEP_RESPONSE = (
    models.VerifyResult,
    models.SdkSession,
    models.TrustScore,
    models.ShieldAssessment,
    models.DetectAnalysis,
    models.ApiResult,
)
_KEY_RESULTS = (models.RotatedApiKey, models.GeneratedApiKey)


def _keep_response(result: object, response: HttpResponse) -> None:
    """Give ``result`` the response it was read from (``result.response``); a new key's result
    gets it without the body, which holds the key."""
    if isinstance(result, _KEEP_RESPONSE):
        object.__setattr__(result, "response", response)
    elif isinstance(result, _KEY_RESULTS):
        headers = dict(response.headers)
        object.__setattr__(result, "response", received(response.status_code, headers, b""))


def _why(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))[:_MAX_MESSAGE]
    return str(exc)[:_MAX_MESSAGE]


#: The C scanner behind ``json.loads``, called without ``JSONDecoder.decode``'s Python layers
#: (json.loads shares one module-wide decoder the same way).
_scan: Callable[[str, int], tuple[Any, int]] = getattr(json.JSONDecoder(), "scan_once")  # noqa: B009


def _from_json(body: bytes) -> Any:
    """``body`` parsed as JSON. Fast path: UTF-8 text that is exactly one JSON value, as
    servers send it; anything else (whitespace around it, a BOM, UTF-16/32, invalid JSON) goes
    to ``json.loads``, which accepts or rejects it by its usual rules."""
    try:
        text = body.decode()
        document, end = _scan(text, 0)
    except (ValueError, StopIteration, RecursionError):
        return json.loads(body)
    if end != len(text):
        return json.loads(body)
    return document


def _envelope(response: HttpResponse, strict: bool = True) -> tuple[bool, Any, Any] | None:
    """``(success, raw messages, data)``, ``None`` for an empty body.

    ``strict`` (a 2xx): an un-enveloped JSON object is tolerated (its ``data``, or itself, is
    the data); anything else raises: a body that is not JSON or not an object, a non-boolean
    ``success``, an ``error``/``errors`` object (a gateway's, never Authmatech's). Not
    ``strict`` (an error status): anything but the envelope is ``None``.
    """
    if not response.body or response.body.isspace():
        return None
    try:
        document = _from_json(response.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        if strict:
            raise _invalid(response, "the body is not JSON") from None
        return None
    if isinstance(document, dict) and type(document.get("success")) is bool:
        return document["success"], document.get("messages"), document.get("data")
    if not strict:
        return None
    if not isinstance(document, dict):
        raise _invalid(
            response, "the body is neither the {success, messages, data} envelope nor a JSON object"
        )
    if "success" in document:
        raise _invalid(response, "the envelope's success is not a boolean")
    if "error" in document or "errors" in document:
        raise _invalid(response, "the body is an error object, not the envelope")
    if "data" in document:
        return True, document.get("messages"), document["data"]
    return True, None, document


def _messages(raw: Any) -> tuple[Message, ...]:
    """The envelope's messages, as an error carries them: at most 20, their text bounded and
    phone numbers masked (``arguments`` only when short and free of phone numbers)."""
    if not isinstance(raw, list):
        return ()
    parsed: list[Message] = []
    for item in raw[:_MAX_MESSAGES]:
        try:
            message = converter.structure(item, Message)
        except (TypeError, ValueError, cattrs.BaseValidationError):
            continue
        parsed.append(
            Message(
                type=(
                    message.type
                    if isinstance(message.type, MessageType)
                    else _text(message.type, _MAX_CODE)
                ),
                code=_text(message.code, _MAX_CODE),
                message=_text(message.message, _MAX_MESSAGE),
                http_status=_text(message.http_status, _MAX_CODE),
                technical=message.technical,
                arguments=_arguments(message.arguments),
            )
        )
    return tuple(parsed)


def _invalid(response: HttpResponse, why: str) -> ResponseValidationError:
    return ResponseValidationError(
        f"unexpected response to a {response.status_code}: {why}",
        status_code=response.status_code,
        request_id=request_id_of(response.headers),
    )


def _redirect(response: HttpResponse) -> RedirectError:
    return RedirectError(
        "the server answered a redirect; redirects are never followed so that credentials "
        "never leave the configured host: check base_url",
        status_code=response.status_code,
        request_id=request_id_of(response.headers),
    )


def _first(messages: tuple[Message, ...]) -> tuple[str | None, str | None]:
    for item in messages:
        if item.code or item.message:
            return item.code, item.message
    return None, None


def _status_error(
    response: HttpResponse,
    messages: tuple[Message, ...],
    operation: Operation[Any],
    now: float | None,
    *,
    enveloped: bool = True,
) -> APIStatusError:
    status = response.status_code
    code, text = _first(messages)
    if not enveloped:
        text = f"{_reason(status)} (the body was not the JSON envelope)"
    message = text or _reason(status)
    common: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "messages": messages,
        "request_id": request_id_of(response.headers),
    }
    if status == 429:
        return RateLimitError(
            message,
            retry_after=parse_retry_after(response.headers.get("retry-after"), now),
            **common,
        )
    if status == 401:
        hint = _SECRET_HINT if operation.needs_client_secret else _AUTH_HINT
        return AuthenticationError(f"{message}: {hint}", **common)
    cls = _error_class(status, code, text)
    return cls(message, **common)


def _error_class(status: int, code: str | None, text: str | None) -> Callable[..., APIStatusError]:
    if status == 400:
        lowered = (text or "").lower()
        if code == "INVALID_MOBILE_NUMBER":
            return InvalidMobileNumberError
        if "not enabled" in lowered:
            return FeatureNotEnabledError
        if "balance" in lowered:
            return InsufficientBalanceError
        return BadRequestError
    if status == 404:
        return NotFoundError
    if status >= 500:
        return ServerError
    return APIStatusError


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _reason(status: int) -> str:
    return _REASONS.get(status, f"HTTP {status}")
