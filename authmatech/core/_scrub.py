"""Keeping what the library sent out of what comes back: echoes, logs, errors.

A server or a proxy may echo the request (its headers, its body) into an error message, a code,
a request-id header or a status line; an HTTP library logs that text at DEBUG. The library
knows every secret a request carries (:attr:`HttpRequest.secrets`), so it scrubs them:

* from the response, before anything parses or logs it (:func:`scrub_response`);
* from a transport's error (:func:`scrub_error`);
* from every log record produced *while the request is in flight*, whichever logger produced
  it: :class:`InFlight` marks the attempt in a :class:`~contextvars.ContextVar` (per thread,
  per asyncio task, per trio task), and :class:`~authmatech.core.InFlightFilter`, installed on
  the loggers of the HTTP libraries, scrubs the records created inside it.

The context variable is the only module-level object here; it is not shared state (each
thread and task sees its own value), and the filter itself holds nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping

from .._mask import bounded, redact_secrets, replace_secrets
from ..credentials import Secret
from ..errors import AuthmatechError, UnderlyingError
from ._http import HttpResponse, received

__all__ = ["InFlight", "scrub_error", "scrub_response", "secrets_in_flight"]

_IN_FLIGHT: contextvars.ContextVar[tuple[Secret, ...]] = contextvars.ContextVar(
    "authmatech_in_flight", default=()
)


def secrets_in_flight() -> tuple[Secret, ...]:
    """The secrets of the request this thread or task is sending now (empty if none)."""
    return _IN_FLIGHT.get()


class InFlight:
    """Marks ``secrets`` as in flight in this context while entered, for the log filter (a
    plain context manager, not a generator one: it is entered once per attempt)."""

    __slots__ = ("_secrets", "_token")

    def __init__(self, secrets: tuple[Secret, ...]) -> None:
        self._secrets = secrets

    def __enter__(self) -> None:
        self._token = _IN_FLIGHT.set(self._secrets)

    def __exit__(self, *exc_info: object) -> None:
        try:
            _IN_FLIGHT.reset(self._token)
        except ValueError:  # resumed in another context (an embedder's own driver)
            _IN_FLIGHT.set(())


def _echoes(text: str, secrets: tuple[Secret, ...]) -> bool:
    return replace_secrets(text, secrets) != text


def scrub_response(response: HttpResponse, secrets: tuple[Secret, ...]) -> HttpResponse:
    """``response`` with every echo of ``secrets`` in its headers and body replaced by the
    secret's fingerprint; the same object when nothing was echoed (the usual case)."""
    if not secrets:
        return response
    headers: Mapping[str, str] = response.headers
    joined = "\n".join(headers.values())
    body = response.body
    text = body.decode("latin-1")
    if not _echoes(joined + "\n" + text, secrets):
        return response
    cleaned = {name: replace_secrets(value, secrets) for name, value in headers.items()}
    return received(response.status_code, cleaned, replace_secrets(text, secrets).encode("latin-1"))


def scrub_error(error: AuthmatechError, secrets: tuple[Secret, ...]) -> AuthmatechError:
    """``error`` with every echo of ``secrets`` scrubbed from its message (a transport of the
    caller's own may quote what it received), and without the traceback of the frames it was
    raised in: they belong to the transport and hold what it sent and received."""
    args = error.args
    if secrets and args and isinstance(args[0], str) and _echoes(args[0], secrets):
        error.args = (replace_secrets(args[0], secrets), *args[1:])
    for name, value in list(vars(error).items()):
        if secrets and isinstance(value, str) and _echoes(value, secrets):
            setattr(error, name, replace_secrets(value, secrets))
    cause = error.__cause__
    if cause is not None and not isinstance(cause, UnderlyingError):
        error.__cause__ = UnderlyingError(
            bounded(redact_secrets(f"{type(cause).__name__}: {cause}", secrets), 1000),
            type(cause).__name__,
        )
    error.__context__ = None  # the HTTP library's exception, whose frames hold the request
    return error.with_traceback(None)
