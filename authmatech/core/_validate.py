"""Argument checks that run before anything is built, so bad input never reaches the wire.

Messages say what was wrong and how to fix it; a phone number is echoed only masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ..errors import RequestValidationError
from ..models import ServiceType
from . import _limits
from ._redact import mask_phone

__all__ = [
    "check_e164",
    "check_flag",
    "check_identifier",
    "check_instance",
    "check_mapping",
    "check_optional_text",
    "check_service_type",
    "check_text",
    "check_unicode",
]

T = TypeVar("T")

E164 = _limits.E164
_SERVICE_TYPE = _limits.SERVICE_TYPE_PATTERN
_KNOWN_SERVICE_TYPES = {member.value: member for member in ServiceType}
MAX_TEXT = _limits.TEXT_MAX


def check_e164(value: object, name: str = "mobile_number") -> str:
    """``value`` if it is an E.164 number (``+962791234567``), else ``RequestValidationError``."""
    if type(value) is str and E164.fullmatch(value):
        return value
    if not isinstance(name, str):
        raise RequestValidationError(
            f"check_e164's name (the argument to name in messages) must be a str, "
            f"not {type(name).__name__}"
        )
    if not isinstance(value, str):
        raise RequestValidationError(
            f"{name} must be a str in E.164 format (e.g. '+962791234567'), "
            f"not {type(value).__name__}"
        )
    shown = f"'{mask_phone(value)}'" if len(value) <= 64 else f"a {len(value)}-character string"
    raise RequestValidationError(
        f"{name} must be in E.164 format: '+', the country code, then the subscriber number, "
        f"digits only, 8 to 16 characters in all, no spaces, dashes or parentheses "
        f"(e.g. '+962791234567'); got {shown}"
    )


def check_text(value: object, name: str, *, max_length: int = MAX_TEXT) -> str:
    """A required, non-blank string of bounded length."""
    if not isinstance(value, str):
        raise RequestValidationError(f"{name} must be a str, not {type(value).__name__}")
    if not value or value.isspace():
        raise RequestValidationError(f"{name} must not be empty")
    if len(value) > max_length:
        raise RequestValidationError(
            f"{name} is {len(value)} characters long; the limit is {max_length}"
        )
    check_unicode(value, name)
    return value


def check_unicode(value: str, name: str) -> str:
    """``value`` if it can be sent as UTF-8 (no lone surrogate), else naming ``name``."""
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise RequestValidationError(
                f"{name} contains a lone surrogate (not valid Unicode text)"
            ) from None
    return value


def check_optional_text(value: object, name: str, *, max_length: int = MAX_TEXT) -> str | None:
    return None if value is None else check_text(value, name, max_length=max_length)


def check_identifier(value: object, name: str) -> str:
    """A path segment such as a transaction or session id: non-blank, no '/' or whitespace."""
    text = check_text(value, name, max_length=_limits.PATH_ID_MAX)
    if "/" in text or any(char.isspace() or not char.isprintable() for char in text):
        raise RequestValidationError(
            f"{name} must not contain '/', whitespace or control characters"
        )
    if text in (".", ".."):
        raise RequestValidationError(f"{name} must not be '.' or '..' (a path segment)")
    return text


def check_flag(value: object, name: str) -> bool:
    if type(value) is not bool:
        raise RequestValidationError(f"{name} must be True or False, not {type(value).__name__}")
    return value


def check_service_type(value: object) -> str | None:
    """One of the five documented values (enum or str); another UPPER_CASE string passes through
    so a value Authmatech adds later works without an upgrade."""
    if value is None:
        return None
    if isinstance(value, ServiceType):
        return value.value
    if not isinstance(value, str):
        raise RequestValidationError(
            f"service_type must be a ServiceType or a str, not {type(value).__name__}"
        )
    if value in _KNOWN_SERVICE_TYPES or _SERVICE_TYPE.fullmatch(value):
        return value
    known = ", ".join(_KNOWN_SERVICE_TYPES)
    hint = f"; did you mean '{value.upper()}'?" if value.upper() in _KNOWN_SERVICE_TYPES else ""
    raise RequestValidationError(
        f"service_type must be one of {known} (or ServiceType.<NAME>){hint}"
    )


def check_instance(value: object, cls: type[T], name: str) -> T:
    if not isinstance(value, cls):
        raise RequestValidationError(f"{name} must be a {cls.__name__}, not {type(value).__name__}")
    return value


def check_mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise RequestValidationError(f"{name} must be a mapping with str keys")
    return value
