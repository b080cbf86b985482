"""Masking for anything that may reach a log, a repr or an error message.

* secrets show as fingerprints (see :class:`~authmatech.Secret`);
* secret headers (``X-API-KEY``, ``X-SDK-TOKEN``) show as ``<masked>``;
* phone numbers keep the country prefix and the last two digits: ``+9627*****67``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .._mask import mask_phone, redact_text
from ..credentials import Secret
from ..errors import ConfigurationError
from ._http import mask_headers

__all__ = ["RedactionFilter", "mask_headers", "mask_phone", "redact_text"]


class RedactionFilter(logging.Filter):
    """Masks phone numbers and turns :class:`Secret` arguments into fingerprints.

    Installed on the ``authmatech`` logger; add it to your own handlers too if you log
    Authmatech values yourself.
    """

    def __init__(self, name: str = "") -> None:
        if not isinstance(name, str):
            raise ConfigurationError(
                f"RedactionFilter's name (a logger name prefix) must be a str, "
                f"not {type(name).__name__}"
            )
        super().__init__(name)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(_redact_arg(arg) for arg in args)
        elif isinstance(args, Mapping) and args:
            record.args = {key: _redact_arg(value) for key, value in args.items()}
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        return True


def _text_of(value: object) -> str:
    """``str(value)`` redacted; a value whose ``__str__`` raises reads as its type, so that a
    broken argument never turns the caller's logging call into an exception."""
    try:
        text = str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
    if not isinstance(text, str):  # pragma: no cover (str() itself refuses this)
        return f"<unprintable {type(value).__name__}>"
    return redact_text(text)


def _redact_arg(value: object) -> object:
    if isinstance(value, Secret):
        return value.fingerprint
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, (int, float)):
        return value
    import numbers  # Decimal, Fraction, numpy scalars: keep them formattable with %d / %f

    if isinstance(value, numbers.Number):
        return value
    return _text_of(value)
