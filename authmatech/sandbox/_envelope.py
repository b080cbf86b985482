"""The response envelope every answer is wrapped in, and the error that produces a failure.

``{"success": ..., "messages": [{"type", "code", "message", "httpStatus", "technical",
"arguments"}], "data": ...}``: ``httpStatus`` mirrors the HTTP status as a Spring
``HttpStatus`` name, as the real service does.
"""

from __future__ import annotations

import http
import json
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ApiError", "encode", "failure_body", "status_name", "success_body"]

# Where Python's HTTPStatus name differs from Spring's HttpStatus name.
_SPRING_NAMES: Mapping[int, str] = MappingProxyType({413: "PAYLOAD_TOO_LARGE"})


def status_name(status: int) -> str:
    """``OK``, ``BAD_REQUEST``, ... for a status code (the code itself if it has no name)."""
    if status in _SPRING_NAMES:
        return _SPRING_NAMES[status]
    try:
        return http.HTTPStatus(status).name
    except ValueError:
        return str(status)


class ApiError(Exception):
    """Raised by a handler to answer a failure envelope (handlers check before they change)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


def encode(document: object) -> bytes:
    """Compact UTF-8 JSON, as a Spring backend sends it."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _message(kind: str, status: int, code: str | None, message: str | None) -> dict[str, object]:
    return {
        "type": kind,
        "code": code,
        "message": message,
        "httpStatus": status_name(status),
        "technical": False,
        "arguments": None,
    }


def success_body(data: object, status: int = 200) -> bytes:
    """A ``success: true`` envelope around ``data``."""
    return encode(
        {"success": True, "messages": [_message("SUCCESS", status, None, None)], "data": data}
    )


def failure_body(status: int, message: str, code: str | None = None) -> bytes:
    """A ``success: false`` envelope with one FAILURE message and ``data: null``."""
    return encode(
        {"success": False, "messages": [_message("FAILURE", status, code, message)], "data": None}
    )
