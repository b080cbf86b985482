"""Phone-number masking, shared by the core's redaction and the models' reprs."""

from __future__ import annotations

import re

__all__ = ["mask_phone", "redact_text"]

# A '+' and 7 to 15 digits, as E.164 allows, not glued to other digits or word characters.
_PHONE = re.compile(r"(?<![\w+])\+[1-9][0-9]{6,14}(?![0-9])")


def mask_phone(number: str) -> str:
    """``+962791234567`` -> ``+9627*****67``: enough to recognise, not enough to dial."""
    if len(number) <= 7:
        return "*" * len(number)
    return f"{number[:5]}*****{number[-2:]}"


def redact_text(text: str) -> str:
    """``text`` with every E.164-looking number masked."""
    if "+" not in text:
        return text
    return _PHONE.sub(lambda match: mask_phone(match.group(0)), text)
