"""Another SDK embedding ``authmatech.core`` with nothing but the standard library.

``authmatech.core`` knows everything about the Authmatech API except how to move bytes: it
builds each request (URL, headers, JSON body, credential scopes), parses each response into a
result or an exception, and decides retries. This file supplies the bytes with
``urllib.request`` and the waiting with ``time.sleep``: no httpx, no anyio, no event loop.

Two ways to drive the core:

* once, by hand: ``call.build(credentials)`` -> send -> ``call.parse(response)``;
* with retries: ``core.call_flow(call, settings, clock)`` is a generator that yields
  ``Authenticate``, ``Send`` and ``Sleep`` steps; ``MiniSdk.run()`` answers them.

Try it against a local sandbox (``python -m authmatech sandbox serve`` prints the variables)::

    export AUTHMATECH_BASE_URL=http://127.0.0.1:8080 AUTHMATECH_CLIENT_ID=... \\
           AUTHMATECH_API_KEY=...
    python examples/urllib_embedding.py +962791234567 <encryptedMobileNumber>
"""

from __future__ import annotations

import http.client
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import TypeVar

from authmatech import core
from authmatech.credentials import Credentials
from authmatech.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthmatechError,
    ResponseValidationError,
)
from authmatech.models import ApiResult, VerifyResult

__all__ = ["MiniSdk", "send_once", "verify_once"]

T = TypeVar("T")

#: Larger answers are refused (Authmatech's are a few hundred bytes).
MAX_RESPONSE_BYTES = 1024 * 1024


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects by default and would carry X-API-KEY to another host.

    Returning None makes a 3xx surface as an HTTPError; the core turns it into a
    ``RedirectError``.
    """

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _read(response: http.client.HTTPResponse | urllib.error.HTTPError, url: str) -> bytes:
    body = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ResponseValidationError(f"the response from {url} is larger than expected")
    return body


def send_once(request: core.HttpRequest, timeout: core.Timeout) -> core.HttpResponse:
    """Send ``request`` once with urllib; failures become the library's errors.

    ``maybe_processed`` is False only when nothing can have reached the server (connection
    refused, unknown host): the core retries those, even for billable calls. Anything later
    (a timeout, a reset, a truncated body) may have been processed, and billed.
    """
    host = request.url.split("/")[2]
    # The credentials stay sealed in `request` until this call: reveal them here, into
    # urllib's request, and keep them in no variable of your own (traceback locals show those).
    prepared = urllib.request.Request(
        request.url,
        data=request.reveal_body(),
        headers=request.reveal_headers(),
        method=request.method,
    )
    # urllib has one timeout for connecting and for each read; use the longer phase.
    seconds = max(timeout.connect, timeout.read)
    try:
        try:
            response = _OPENER.open(prepared, timeout=seconds)
        except urllib.error.HTTPError as error:  # 3xx, 4xx, 5xx: an answer, not a failure
            response = error
        with response:
            return core.HttpResponse(response.status, response.headers, _read(response, host))
    except urllib.error.URLError as error:  # raised while connecting or sending
        reason = error.reason
        if isinstance(reason, TimeoutError):
            raise APITimeoutError(f"{host} timed out", maybe_processed=True) from None
        nothing_sent = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
        raise APIConnectionError(
            f"could not reach {host} ({type(reason).__name__})", maybe_processed=not nothing_sent
        ) from None
    except TimeoutError:  # waiting for or reading the response
        raise APITimeoutError(f"{host} did not respond in time", maybe_processed=True) from None
    except (OSError, http.client.HTTPException) as error:  # reset, truncated body, bad HTTP
        raise APIConnectionError(
            f"connection to {host} failed ({type(error).__name__})", maybe_processed=True
        ) from None


def verify_once(
    credentials: Credentials,
    mobile_number: str,
    encrypted_mobile_number: str,
    *,
    base_url: str = core.DEFAULT_BASE_URL,
) -> VerifyResult:
    """The core by hand: build, send once, parse. No retries."""
    call = core.verify(mobile_number, encrypted_mobile_number)
    request = call.build(credentials, core.ClientConfig(base_url=base_url))
    return call.parse(send_once(request, core.Timeout()), now=time.time())


class MiniSdk:
    """A tiny client on ``core.call_flow``: the core's retry policy, urllib, ``time.sleep``."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str = core.DEFAULT_BASE_URL,
        timeout: core.Timeout | None = None,
        retry: core.RetryPolicy | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._credentials = credentials
        self._settings = core.Settings(
            config=core.ClientConfig(base_url=base_url, app_info="mini-sdk/1.0"),
            timeout=timeout or core.Timeout(),
            retry=retry or core.RetryPolicy(),
        )
        self._clock = core.Clock(monotonic=time.monotonic, wall=time.time)
        self._sleep = sleep

    def run(self, call: core.Call[T]) -> T:
        """Drive ``call`` to its result, or raise its final error."""
        flow = core.call_flow(call, self._settings, self._clock)
        try:
            step = next(flow)
            while True:
                if isinstance(step, core.Authenticate):
                    step = flow.send(self._credentials)
                elif isinstance(step, core.Send):
                    try:
                        outcome: core.HttpResponse | AuthmatechError = send_once(
                            step.request, step.timeout
                        )
                    except AuthmatechError as error:
                        outcome = error  # the flow decides whether to retry it
                    step = flow.send(outcome)
                else:
                    self._sleep(step.seconds)
                    step = flow.send(None)
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()

    def verify(
        self, mobile_number: str, encrypted_mobile_number: str, *, operator_id: str | None = None
    ) -> VerifyResult:
        return self.run(
            core.verify(mobile_number, encrypted_mobile_number, operator_id=operator_id)
        )

    def products(self) -> ApiResult:
        return self.run(core.account_products())


def main(argv: Sequence[str] | None = None) -> int:
    import os

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: urllib_embedding.py MOBILE_NUMBER ENCRYPTED_MOBILE_NUMBER", file=sys.stderr)
        return 2
    base_url = os.environ.get("AUTHMATECH_BASE_URL") or core.DEFAULT_BASE_URL
    sdk = MiniSdk(Credentials.from_env(), base_url=base_url)
    try:
        result = sdk.verify(args[0], args[1])
    except AuthmatechError as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 3
    print(f"validNumber: {str(result.valid_number).lower()}")
    return 0 if result.valid_number else 1


if __name__ == "__main__":
    sys.exit(main())
