"""The transport protocol: the one seam between the sans-IO core and an HTTP library.

A transport is as small as httpx's ``BaseTransport``: one method to send, one to close. Anything
with these methods works (``runtime_checkable`` lets clients check it up front).

Contract for implementers:

* **Send exactly once.** Never retry (the core decides, knowing what is billable) and never follow
  a redirect: return a 3xx as it is, so credentials never reach another host.
* **Map every failure** to :class:`~authmatech.errors.APIConnectionError` or
  :class:`~authmatech.errors.APITimeoutError` with ``maybe_processed`` set truthfully: ``False``
  only when nothing can have reached the server (connect error including refused and DNS, connect
  timeout, pool timeout); ``True`` otherwise (write or read timeout, a reset or protocol error
  after the request started being sent, a truncated body).
* **Bound the body.** A body over ``max_response_bytes`` raises
  :class:`~authmatech.errors.ResponseValidationError` without reading the rest: reject on
  ``Content-Length`` when it is known, else stop reading once over.
* **Keep secrets out.** Never log headers or bodies; error messages name the failure and the host
  only (no query, no headers). Chain the library's exception only when its text holds no header
  value.
* **Let cancellation through** untouched, and release the connection to the pool on every path.

Optional, for async transports: **enforce the deadline.** A transport class that sets
``enforces_deadline = True`` promises to end each ``send`` within ``timeout.total`` seconds with
an :class:`~authmatech.errors.APITimeoutError` (``maybe_processed=True`` unless nothing can have
reached the server). :class:`~authmatech.AsyncClient` then passes what is left of the call's
deadline as ``timeout.total`` and skips its own cancel scope around the attempt, which costs more
than a timer inside the HTTP library. Without it, the client enforces the deadline itself.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..core._http import HttpRequest, HttpResponse, Timeout

__all__ = ["AsyncTransport", "SyncTransport"]


@runtime_checkable
class SyncTransport(Protocol):
    """Sends one request and returns its response, blocking the calling thread."""

    def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send ``request`` once with the per-phase ``timeout``; see the module contract."""
        ...

    def close(self) -> None:
        """Release the connections this transport owns (never a caller-supplied client)."""
        ...


@runtime_checkable
class AsyncTransport(Protocol):
    """Sends one request and returns its response, under asyncio or trio."""

    async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
        """Send ``request`` once with the per-phase ``timeout``; see the module contract."""
        ...

    async def aclose(self) -> None:
        """Release the connections this transport owns (never a caller-supplied client)."""
        ...
