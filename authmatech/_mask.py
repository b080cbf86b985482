"""Phone-number masking, shared by the core's redaction and the models' reprs."""

from __future__ import annotations

import re

from .errors import RequestValidationError

__all__ = ["mask_phone", "redact_text"]

# A '+' and 7 to 15 digits, as E.164 allows, not glued to other digits or word characters.
_PHONE = re.compile(r"(?<![\w+])\+[1-9][0-9]{6,14}(?![0-9])")


def mask_phone(number: str) -> str:
    """``+962791234567`` -> ``+9627*****67``: enough to recognise, not enough to dial."""
    if not isinstance(number, str):
        raise RequestValidationError(f"mask_phone takes a str, not {type(number).__name__}")
    if len(number) <= 7:
        return "*" * len(number)
    return f"{number[:5]}*****{number[-2:]}"


def redact_text(text: str) -> str:
    """``text`` with every E.164-looking number masked."""
    if not isinstance(text, str):
        raise RequestValidationError(f"redact_text takes a str, not {type(text).__name__}")
    if "+" not in text:
        return text
    return _PHONE.sub(lambda match: mask_phone(match.group(0)), text)
