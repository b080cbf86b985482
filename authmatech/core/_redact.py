"""Masking for anything that may reach a log, a repr or an error message.

* secrets show as fingerprints (see :class:`~authmatech.Secret`);
* secret headers (``X-API-KEY``, ``X-SDK-TOKEN``) show as ``<masked>``;
* phone numbers keep the country prefix and the last two digits: ``+9627*****67``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .._mask import mask_phone, redact_secrets, redact_text
from ..credentials import Secret
from ..errors import ConfigurationError
from ._http import mask_headers
from ._scrub import secrets_in_flight

__all__ = ["InFlightFilter", "RedactionFilter", "mask_headers", "mask_phone", "redact_text"]


class _Filter(logging.Filter):
    """A ``logging.Filter`` whose ``name`` is checked: the wrong type is a library error."""

    def __init__(self, name: str = "") -> None:
        if not isinstance(name, str):
            raise ConfigurationError(
                f"{type(self).__name__}'s name (a logger name prefix) must be a str, "
                f"not {type(name).__name__}"
            )
        super().__init__(name)


def _check_record(record: object, kind: str) -> None:
    if not isinstance(record, logging.LogRecord):
        raise ConfigurationError(
            f"{kind}.filter takes a logging.LogRecord, not {type(record).__name__} (install "
            "the filter on a logger or handler: logging calls it with each record)"
        )


class RedactionFilter(_Filter):
    """Masks phone numbers and turns :class:`Secret` arguments into fingerprints; while this
    thread or task sends an Authmatech request, also scrubs that request's secrets (an echo in
    a status line, a header, a URL) from the whole formatted record.

    Installed on the ``authmatech`` logger. Add it to your own handlers too if you log
    Authmatech values yourself, or to cover loggers the library does not know of.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        _check_record(record, "RedactionFilter")
        secrets = secrets_in_flight()
        if secrets:
            return _scrub_record(record, secrets)
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


class InFlightFilter(_Filter):
    """Scrubs the records created while an Authmatech request is in flight in this thread or
    task: that request's secrets become fingerprints and phone numbers (``+`` or ``%2B``) are
    masked, in the formatted message. Any other record passes untouched.

    Stateless (what is in flight is a context variable), so one instance is installed at import
    on the loggers of the HTTP libraries the transports use: ``httpx``, ``httpx2``,
    ``httpcore.*``, ``httpcore2.*``, ``hpack.*``, ``h2.*``, ``aiohttp.*`` and ``asyncio``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record in place; never drops it."""
        _check_record(record, "InFlightFilter")
        secrets = secrets_in_flight()
        return _scrub_record(record, secrets) if secrets else True


def _scrub_record(record: logging.LogRecord, secrets: tuple[Secret, ...]) -> bool:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed record: logging reports it itself
        return True
    record.msg = redact_secrets(message, secrets)
    record.args = None
    return True
