"""Request-body parsing and field checks, each failure a ``400 BAD_REQUEST`` envelope.

Like the Spring backend it stands in for: the body must be a JSON object sent as
``application/json``; unknown fields are ignored; a field of the wrong type, or a required one
that is missing, is a 400 naming the field (never echoing its value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from ..core import _limits
from ._envelope import ApiError

__all__ = ["E164", "Fields", "check_mobile_number", "mask_number", "parse_body", "parse_flag"]

#: The E.164 shape the contract documents: ``+``, a non-zero digit, 6 to 14 more digits.
E164 = _limits.E164

_FLAG_VALUES: Mapping[str, bool] = MappingProxyType({
    "true": True, "1": True, "yes": True, "on": True,
    "false": False, "0": False, "no": False, "off": False,
})  # fmt: skip


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_body(body: bytes, content_type: str | None, *, required: bool) -> Fields:
    """The body as :class:`Fields`; an empty body is ``{}`` unless ``required``."""
    if not body.strip():
        if required:
            raise _bad("Required request body is missing.")
        return Fields({})
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise _bad("Content-Type must be application/json.")
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise _bad("Malformed JSON request body.") from None
    except RecursionError:
        raise _bad("JSON request body is nested too deeply.") from None
    if not isinstance(document, dict):
        raise _bad("Request body must be a JSON object.")
    return Fields(document)


def parse_flag(value: str | None, name: str) -> bool:
    """A boolean query parameter (absent = false), spelled as Spring accepts it."""
    if value is None:
        return False
    try:
        return _FLAG_VALUES[value.strip().lower()]
    except KeyError:
        raise _bad(f"Query parameter {name} must be true or false.") from None


def check_mobile_number(value: str) -> str:
    """``value`` if it is E.164, else 400 with code ``INVALID_MOBILE_NUMBER``."""
    if E164.fullmatch(value) is None:
        raise ApiError(400, "Invalid mobile number.", code="INVALID_MOBILE_NUMBER")
    return value


def mask_number(number: str) -> str:
    """Every character but the last two replaced by ``*`` (``+962791234567`` ->
    ``***********67``), as Verify N+ returns it."""
    return "*" * max(0, len(number) - 2) + number[-2:]


class Fields:
    """Typed access to one JSON object's fields; ``prefix`` names nested objects in errors."""

    __slots__ = ("_document", "_prefix")

    def __init__(self, document: Mapping[str, object], prefix: str = "") -> None:
        self._document = document
        self._prefix = prefix

    def _name(self, key: str) -> str:
        return self._prefix + key

    def _get(self, key: str) -> object:
        return self._document.get(key)

    def optional_str(
        self, key: str, *, min_length: int = 0, max_length: int = _limits.TEXT_MAX
    ) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _bad(f"{self._name(key)} must be a string.")
        if not min_length <= len(value) <= max_length:
            raise _bad(
                f"{self._name(key)} must be between {min_length} and {max_length} characters."
            )
        return value

    def required_str(
        self, key: str, *, min_length: int = 1, max_length: int = _limits.TEXT_MAX
    ) -> str:
        value = self.optional_str(key, min_length=min_length, max_length=max_length)
        if value is None:
            raise _bad(f"{self._name(key)} is required.")
        return value

    def optional_bool(self, key: str) -> bool | None:
        value = self._get(key)
        if value is None or isinstance(value, bool):
            return value
        raise _bad(f"{self._name(key)} must be a boolean.")

    def optional_int(
        self, key: str, *, minimum: int = -(2**31), maximum: int = 2**31 - 1
    ) -> int | None:
        value = self._get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(f"{self._name(key)} must be an integer.")
        if not minimum <= value <= maximum:
            raise _bad(f"{self._name(key)} must be between {minimum} and {maximum}.")
        return value

    def optional_object(self, key: str) -> Fields | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _bad(f"{self._name(key)} must be an object.")
        return Fields(value, prefix=f"{self._name(key)}.")

    def required_object(self, key: str) -> Fields:
        value = self.optional_object(key)
        if value is None:
            raise _bad(f"{self._name(key)} is required.")
        return value

    def raw(self) -> dict[str, object]:
        """A shallow copy of the object (for echoing non-secret structures such as mappings)."""
        return dict(self._document)

    def __len__(self) -> int:
        return len(self._document)
