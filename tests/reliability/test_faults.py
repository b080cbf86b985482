"""The fault matrix: a billable POST (``verify``) and an idempotent GET (``account.products``)
through every driver against real loopback servers that fail on purpose.

For each fault: the exception class, ``maybe_processed``, how many requests the server saw (a
billable POST is never sent again once it may have been processed, unless the caller opted in
with ``RetryPolicy(retry_non_idempotent=True)``; GETs are retried), and that the call ends
within its deadline.
"""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from authmatech import (
    APIConnectionError,
    APITimeoutError,
    AuthmatechError,
    RateLimitError,
    RedirectError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread

from .support import (
    DRIVERS,
    FAST,
    NUMBER,
    RawRequest,
    RawServer,
    Sleeps,
    call_with,
    closed_port,
)

VERIFY_PATH = "/v1/api/verify"
PRODUCTS_PATH = "/v1/api/me/products"
HTML = b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
OVER_CAP = 1_048_576 + 1
ATTEMPTS = 3  # the default max_retries=2

#: Tallies for the final report (printed with -s): faults tried and requests counted.
TALLY = {"faults": 0, "requests": 0}


@attrs.frozen
class Expect:
    error: type[AuthmatechError] | None
    maybe_processed: bool | None
    requests: int


@attrs.frozen
class Fault:
    """One row: how to misbehave and what each kind of call must do about it."""

    name: str
    inject: dict[str, Any] | None  # Sandbox.inject_fault arguments; None: special setup
    post: Expect
    get: Expect
    post_opt_in: int | None = None  # requests with retry_non_idempotent=True (None: as post)


def _http_date(seconds_ahead: float) -> str:
    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)


def _resend(error: type[AuthmatechError], processed: bool) -> tuple[Expect, Expect, int]:
    """A fault after which a GET is retried and a POST is not (unless opted in)."""
    return (
        Expect(error, processed, 1),
        Expect(error, processed, ATTEMPTS),
        ATTEMPTS,
    )


def _row(name: str, inject: dict[str, Any] | None, error: type[AuthmatechError]) -> Fault:
    post, get, opt_in = _resend(error, True)
    return Fault(name, inject, post, get, opt_in)


def _final(name: str, inject: dict[str, Any] | None, error: type[AuthmatechError]) -> Fault:
    """A fault that is never retried, whatever the method."""
    expect = Expect(error, True, 1)
    return Fault(name, inject, expect, expect)


FAULTS = [
    Fault(
        "connection_refused",
        None,
        Expect(APIConnectionError, False, 0),
        Expect(APIConnectionError, False, 0),
    ),
    _row("reset_before_response", {"reset": "before_response"}, APIConnectionError),
    _row("reset_mid_body", {"reset": "mid_body"}, APIConnectionError),
    _row("headers_never_arrive", {"delay": 5.0}, APITimeoutError),
    Fault(
        "429_without_retry_after",
        {"status": 429},
        Expect(RateLimitError, False, ATTEMPTS),
        Expect(RateLimitError, False, ATTEMPTS),
    ),
    Fault(
        "429_retry_after_seconds",
        {"status": 429, "headers": {"Retry-After": "1"}},
        Expect(RateLimitError, False, ATTEMPTS),
        Expect(RateLimitError, False, ATTEMPTS),
    ),
    Fault(
        "429_retry_after_http_date",
        {"status": 429, "headers": {"Retry-After": "<date>"}},
        Expect(RateLimitError, False, ATTEMPTS),
        Expect(RateLimitError, False, ATTEMPTS),
    ),
    Fault("429_once", {"status": 429, "times": 1}, Expect(None, None, 2), Expect(None, None, 2)),
    _row("500", {"status": 500}, ServerError),
    _row(
        "502_html",
        {"status": 502, "body": HTML, "headers": {"Content-Type": "text/html"}},
        ServerError,
    ),
    _row(
        "503_html",
        {"status": 503, "body": HTML, "headers": {"Content-Type": "text/html; charset=utf-8"}},
        ServerError,
    ),
    _final("truncated_json", {"malformed_body": True}, ResponseValidationError),
    _final(
        "json_not_envelope", {"body": b'{"error": "nope", "data": []}'}, ResponseValidationError
    ),
    _final("json_array", {"body": b"[1, 2, 3]"}, ResponseValidationError),
    Fault(
        "redirect_302_other_host",
        {"status": 302, "headers": {"Location": "<other>"}},
        Expect(RedirectError, False, 1),
        Expect(RedirectError, False, 1),
    ),
    Fault(
        "redirect_307_other_host",
        {"status": 307, "headers": {"Location": "<other>"}},
        Expect(RedirectError, False, 1),
        Expect(RedirectError, False, 1),
    ),
    _final("body_over_cap_content_length", {"body": b"x" * OVER_CAP}, ResponseValidationError),
    _final("body_over_cap_chunked", None, ResponseValidationError),
]


def _operation(method: str, proof: str) -> Callable[[Any], Any]:
    if method == "POST":
        return lambda client: client.verify(NUMBER, proof, operator_id="ZAIN_JO")
    return lambda client: client.account.products()


def _chunked_big(conn: socket.socket, request: RawRequest) -> bool:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    step = 65536
    for _ in range(OVER_CAP // step + 2):
        try:
            conn.sendall(b"%x\r\n" % step + b"{" * step + b"\r\n")
        except OSError:
            return False  # the client stopped reading, as it should
    conn.sendall(b"0\r\n\r\n")
    return True


CASES = [
    pytest.param(fault, method, opt_in, id=f"{fault.name}-{method}{'-opt_in' if opt_in else ''}")
    for fault in FAULTS
    for method, opt_in in [("POST", False), ("GET", False), ("POST", True)]
    if not opt_in or fault.post_opt_in is not None
]


@pytest.mark.parametrize(("fault", "method", "opt_in"), CASES)
@pytest.mark.parametrize("driver", DRIVERS)
def test_fault(
    driver: str,
    fault: Fault,
    method: str,
    opt_in: bool,
    served: tuple[Sandbox, ServerThread],
    sandbox_server: ServerThread,
    account: SandboxAccount,
    other_host: RawServer,
) -> None:
    sandbox = served[0]
    path = VERIFY_PATH if method == "POST" else PRODUCTS_PATH
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    base_url = sandbox_server.url
    raw: RawServer | None = None
    if fault.name == "connection_refused":
        base_url = f"http://127.0.0.1:{closed_port()}"
    elif fault.name == "body_over_cap_chunked":
        raw = RawServer(_chunked_big)
        base_url = raw.url
    else:
        assert fault.inject is not None
        inject = dict(fault.inject)
        headers = dict(inject.pop("headers", {}))
        for name, value in headers.items():
            if value == "<date>":
                headers[name] = _http_date(2)
            elif value == "<other>":
                headers[name] = f"{other_host.url}{path}"
        inject.setdefault("times", 10)
        sandbox.inject_fault(path=path, method=method, headers=headers, **inject)
    expect = fault.post if method == "POST" else fault.get
    requests = expect.requests
    if opt_in:
        assert fault.post_opt_in is not None
        requests = fault.post_opt_in
    sleeps = Sleeps()
    options: dict[str, Any] = {
        "client_id": account.client_id,
        "api_key": account.api_key,
        "base_url": base_url,
        "timeout": FAST,
    }
    if opt_in:
        options["retry_policy"] = RetryPolicy(retry_non_idempotent=True)
    started = time.monotonic()
    try:
        outcome = call_with(driver, options, _operation(method, proof), sleeps)
    finally:
        if raw is not None:
            raw.close()
    elapsed = time.monotonic() - started

    if expect.error is None:
        assert not isinstance(outcome, BaseException), repr(outcome)
    else:
        assert type(outcome) is expect.error, repr(outcome)
        assert outcome.maybe_processed is expect.maybe_processed
    seen = (
        raw.count
        if raw is not None
        else len([r for r in sandbox.requests if r.path == path and r.method == method])
    )
    if fault.name == "connection_refused":
        assert len(sleeps.calls) == ATTEMPTS - 1  # tried three times, nothing reached a server
    assert seen == requests, f"the server saw {seen} requests, expected {requests}"
    assert elapsed < FAST.total + 1.0, f"the call took {elapsed:.2f} s"
    assert other_host.count == 0
    if fault.name == "429_retry_after_seconds":
        assert sleeps.calls == [1.0] * (ATTEMPTS - 1)
    if fault.name == "429_retry_after_http_date":
        assert len(sleeps.calls) == ATTEMPTS - 1
        assert all(0 < delay <= 2.5 for delay in sleeps.calls), sleeps.calls
    TALLY["faults"] += 1
    TALLY["requests"] += seen
