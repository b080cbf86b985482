"""Phone-number and secret masking, shared by the core's redaction and the models' reprs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import RequestValidationError

if TYPE_CHECKING:
    from .credentials import Secret

__all__ = ["bounded", "mask_phone", "redact_secrets", "redact_text", "replace_secrets"]

# A '+' (or '%2B', as in a URL's query) and 7 to 15 digits, as E.164 allows, not glued to
# other digits or word characters.
_PHONE = re.compile(r"(?<![\w+%])(\+|%2[Bb])([1-9][0-9]{6,14})(?![0-9])")

#: Characters that JSON and URL encoding leave as they are (most credentials are only these).
_UNCHANGED = re.compile(r"[A-Za-z0-9_.~-]+")

#: Shorter values would match ordinary words; every Authmatech credential is far longer.
_MIN_SECRET = 6


def mask_phone(number: str) -> str:
    """``+962791234567`` -> ``+9627*****67``: enough to recognise, not enough to dial."""
    if not isinstance(number, str):
        raise RequestValidationError(f"mask_phone takes a str, not {type(number).__name__}")
    if len(number) <= 7:
        return "*" * len(number)
    return f"{number[:5]}*****{number[-2:]}"


def _masked(match: re.Match[str]) -> str:
    plus, digits = match.group(1), match.group(2)
    return f"{plus}{digits[:4]}*****{digits[-2:]}"


def redact_text(text: str) -> str:
    """``text`` with every E.164-looking number masked (``+`` or URL-encoded ``%2B``)."""
    if not isinstance(text, str):
        raise RequestValidationError(f"redact_text takes a str, not {type(text).__name__}")
    if "+" not in text and "%2" not in text:
        return text
    return _PHONE.sub(_masked, text)


def replace_secrets(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with each of ``secrets`` replaced by ``<secret sha256:...>``, as it is, JSON-
    escaped or URL-encoded (the forms an echo takes)."""
    for secret in secrets:
        if secret.is_withheld:
            continue
        for form in _forms(secret.reveal()):
            if form in text:
                text = text.replace(form, f"<secret {secret.fingerprint}>")
    return text


def redact_secrets(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with ``secrets`` replaced (see :func:`replace_secrets`) and phone numbers
    masked."""
    return redact_text(replace_secrets(text, secrets))


def _forms(value: str) -> tuple[str, ...]:
    if len(value) < _MIN_SECRET:
        return ()
    if _UNCHANGED.fullmatch(value):
        return (value,)
    import json
    from urllib.parse import quote

    escaped = json.dumps(value)[1:-1]
    return tuple(
        dict.fromkeys((value, escaped, escaped.replace("/", "\\/"), quote(value, safe="")))
    )


def bounded(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
