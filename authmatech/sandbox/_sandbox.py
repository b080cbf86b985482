"""The Sandbox: accounts and operator-side fixtures, the sans-IO ``handle``, and adapters.

All state sits behind one ``threading.Lock``, taken for the in-memory work of one request and
never across a sleep or an await, so sync threads and async tasks (asyncio or trio) can share
a sandbox and balances stay exact.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from ..credentials import Secret
from ._auth import authenticate
from ._body import E164
from ._call import Call, wall_time
from ._envelope import ApiError, failure_body, success_body
from ._errors import SandboxConfigurationError
from ._faults import FaultQueue, fault_body, processes, validate
from ._mint import mint_proof, mint_web_transaction
from ._products import ALL_PRODUCTS
from ._ratelimit import admit
from ._router import match_route
from ._state import Account, Ids, World, digest, fingerprint_of
from ._values import (
    DeviceProof,
    Fault,
    Pairs,
    ResetKind,
    SandboxAccount,
    SandboxReply,
    SandboxRequest,
    SeenRequest,
)

if TYPE_CHECKING:
    import httpx

    from ._asgi import SandboxASGIApp

__all__ = ["MAX_BODY_BYTES", "REQUEST_LOG_LIMIT", "Sandbox"]

#: Larger request bodies are answered ``413 PAYLOAD_TOO_LARGE``.
MAX_BODY_BYTES = 256 * 1024
#: ``Sandbox.requests`` keeps this many most recent requests.
REQUEST_LOG_LIMIT = 100_000

_Answer = tuple[int, Pairs, bytes]


def _fingerprint(value: str | None) -> str | None:
    return None if value is None else Secret(value).fingerprint


def _check_number(mobile_number: str) -> str:
    if E164.fullmatch(mobile_number) is None:
        raise SandboxConfigurationError("mobile_number must be E.164, e.g. +962791234567")
    return mobile_number


class Sandbox:
    """An in-memory emulator of the Authmatech HTTP API.

    ``clock`` (seconds, monotonic) drives rate limits and velocity rules; ``wall`` (seconds
    since the epoch) dates what the answers report (``timestamp``, ``createdAt``...: ISO 8601
    in UTC); ``seed`` makes every id, key and proof reproducible (without it they come from the
    OS's CSPRNG).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._world = World(ids=Ids(seed))
        self._faults = FaultQueue()
        self._seen: deque[SeenRequest] = deque(maxlen=REQUEST_LOG_LIMIT)

    # -- fixtures -------------------------------------------------------------------------

    def create_account(
        self,
        *,
        products: Iterable[str] | None = None,
        balance: int = 10_000,
        rate_limit_per_minute: int = 1000,
        rate_window: float = 60.0,
    ) -> SandboxAccount:
        """A new account; its raw credentials are returned here and kept nowhere else.

        It admits ``rate_limit_per_minute`` requests in any ``rate_window`` seconds (a sliding
        window, like the API: 1,000 in 60 s) and answers 429 beyond; a short window lets tests
        and benchmarks meet the limit quickly.
        """
        if isinstance(products, str):
            raise TypeError("products is a collection of product names, not one string")
        enabled = ALL_PRODUCTS if products is None else frozenset(products)
        unknown = enabled - ALL_PRODUCTS
        if unknown:
            raise SandboxConfigurationError(
                f"unknown products {sorted(unknown)}; known: {sorted(ALL_PRODUCTS)}"
            )
        if balance < 0:
            raise SandboxConfigurationError("balance must be >= 0")
        if rate_limit_per_minute < 1:
            raise SandboxConfigurationError("rate_limit_per_minute must be >= 1")
        if isinstance(rate_window, bool) or not isinstance(rate_window, (int, float)):
            raise TypeError("rate_window must be a number of seconds")
        if not 0 < rate_window <= 86_400:
            raise SandboxConfigurationError(
                "rate_window must be more than 0 and at most 86400 seconds"
            )
        with self._lock:
            ids = self._world.ids
            client_id = "cl_sbx_" + ids.hex_id(10)
            api_key = ids.token("ak_sbx_", 30)
            client_secret = ids.token("cs_sbx_", 30)
            sdk_token = ids.token("sdk_sbx_", 24)
            account = Account(
                client_id=client_id,
                api_key_digest=digest(api_key),
                client_secret_digest=digest(client_secret),
                sdk_token_digest=digest(sdk_token),
                products=enabled,
                balance=balance,
                rate_limit_per_minute=rate_limit_per_minute,
                rate_window=float(rate_window),
            )
            account.balance_history.append(
                {
                    "delta": balance,
                    "balanceAfter": balance,
                    "reason": "INITIAL_CREDIT",
                    "timestamp": wall_time(self._wall()),
                }
            )
            self._world.accounts[client_id] = account
        return SandboxAccount(
            client_id=client_id,
            api_key=Secret(api_key),
            client_secret=Secret(client_secret),
            sdk_token=Secret(sdk_token),
            products=enabled,
        )

    def device_proof(self, mobile_number: str, operator_id: str = "ZAIN_JO") -> DeviceProof:
        """The ``encryptedMobileNumber`` a device SDK would obtain for ``mobile_number``."""
        _check_number(mobile_number)
        with self._lock:
            token = mint_proof(self._world, mobile_number, operator_id)
        return DeviceProof(encrypted_mobile_number=token, operator_id=operator_id)

    def web_transaction(self, mobile_number: str) -> str:
        """A web-flow transaction id (UUID) whose confirmed number is ``mobile_number``."""
        _check_number(mobile_number)
        with self._lock:
            return mint_web_transaction(self._world, mobile_number)

    # -- observation ----------------------------------------------------------------------

    @property
    def requests(self) -> tuple[SeenRequest, ...]:
        """Every request handled so far (the most recent ``REQUEST_LOG_LIMIT``), oldest first."""
        with self._lock:
            return tuple(self._seen)

    def reset_requests(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self._seen.clear()

    def _account(self, client_id: str) -> Account:
        account = self._world.accounts.get(client_id)
        if account is None:
            raise KeyError(f"no sandbox account {client_id!r}")
        return account

    def balance(self, client_id: str) -> int:
        """The account's remaining credits."""
        with self._lock:
            return self._account(client_id).balance

    def api_key_fingerprint(self, client_id: str) -> str:
        """The fingerprint (``Secret.fingerprint``) of the account's current API key."""
        with self._lock:
            return fingerprint_of(self._account(client_id).api_key_digest)

    # -- faults ---------------------------------------------------------------------------

    def inject_fault(
        self,
        *,
        status: int | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        reset: ResetKind | None = None,
        malformed_body: bool = False,
        times: int = 1,
        path: str | None = None,
        method: str | None = None,
        processed: bool | None = None,
    ) -> Fault:
        """Misbehave on the next ``times`` requests matching ``method`` and ``path``.

        * ``status``: answer it instead (``body`` defaults to an envelope for that status);
          ``headers`` are added or replace ours (``Retry-After``, ``Content-Type: text/html``).
        * ``delay``: wait this many seconds before answering (a read timeout shorter than it
          fires in the httpx adapters, after the request was processed).
        * ``reset``: ``"before_response"`` drops the connection without answering;
          ``"mid_body"`` sends the headers (with the full Content-Length) and half the body.
        * ``malformed_body``: the body is cut in half, so it is not valid JSON.
        * ``processed``: whether the request still reaches the service (state changes, billing).
          By default a fault that replaces the answer (``status``, a reset before the response)
          stops it in front of the service; one that only alters the answer lets it through.
        * ``path`` is exact or an ``fnmatch`` pattern; ``method`` is case-insensitive.
        """
        fault = validate(
            Fault(
                status=status,
                body=body,
                headers=tuple((headers or {}).items()),
                delay=delay,
                reset=reset,
                malformed_body=malformed_body,
                times=times,
                path=path,
                method=None if method is None else method.upper(),
                processed=processed,
            )
        )
        with self._lock:
            self._faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    # -- the sans-IO core -----------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxReply:
        """Answer one request. Pure in-memory work under the lock; adapters do the I/O."""
        with self._lock:
            now = self._clock()
            request_id = "req_" + self._world.ids.hex_id(12)
            fault = self._faults.take(request)
            if fault is None or processes(fault):
                status, headers, body = self._answer(request, now)
            else:
                status, headers, body = 0, (), b""
            if fault is not None:
                status, headers, body = _apply(fault, (status, headers, body))
            headers = _merge(
                (("Content-Type", "application/json"), ("X-Request-Id", request_id)), headers
            )
            reset = None if fault is None else fault.reset
            self._seen.append(
                SeenRequest(
                    method=request.method,
                    path=request.path,
                    status=None if reset == "before_response" else status,
                    client_id=request.header("x-client-id"),
                    api_key_fingerprint=_fingerprint(request.header("x-api-key")),
                    sdk_token_fingerprint=_fingerprint(request.header("x-sdk-token")),
                    at=now,
                    request_id=request_id,
                    faulted=fault is not None,
                )
            )
        return SandboxReply(
            status=status,
            headers=headers,
            body=body,
            delay=0.0 if fault is None else fault.delay,
            reset=reset,
        )

    def _answer(self, request: SandboxRequest, now: float) -> _Answer:
        try:
            if len(request.body) > MAX_BODY_BYTES:
                raise ApiError(413, "Request body is too large.")
            route, params = match_route(request.method, request.path)
            account = authenticate(
                self._world.accounts,
                route.auth,
                request.header("x-client-id"),
                request.header("x-api-key"),
                request.header("x-sdk-token"),
            )
            if not admit(account.window, account.rate_limit_per_minute, now, account.rate_window):
                raise ApiError(429, "Rate limit exceeded.")
            call = Call(
                request=request,
                account=account,
                world=self._world,
                params=params,
                now=now,
                timestamp=wall_time(self._wall()),
                api_key_fingerprint=_fingerprint(request.header("x-api-key")),
            )
            ok = route.handler(call)
            account.usage[route.name] = account.usage.get(route.name, 0) + 1
            return ok.status, (), success_body(ok.data, ok.status)
        except ApiError as error:
            return (
                error.status,
                error.headers,
                failure_body(error.status, error.message, error.code),
            )

    # -- adapters -------------------------------------------------------------------------

    def transport(self, family: str = "httpx") -> httpx.BaseTransport:
        """An httpx transport serving this sandbox in-process (any host in the URL);
        ``family="httpx2"`` gives an ``httpx2.BaseTransport`` instead."""
        from ._httpx import sync_transport

        transport: httpx.BaseTransport = sync_transport(self, family)
        return transport

    def async_transport(self, family: str = "httpx") -> httpx.AsyncBaseTransport:
        """The async twin of :meth:`transport` (asyncio or trio)."""
        from ._httpx import async_transport

        transport: httpx.AsyncBaseTransport = async_transport(self, family)
        return transport

    def http_client(self, family: str = "httpx") -> httpx.Client:
        """An ``httpx.Client`` (or, with ``family="httpx2"``, an ``httpx2.Client``) served by
        this sandbox, for ``Client(http_client=...)``; the caller closes it."""
        from ._httpx import family_module

        client: httpx.Client = family_module(family).Client(transport=self.transport(family))
        return client

    def async_http_client(self, family: str = "httpx") -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` (or ``httpx2.AsyncClient``) served by this sandbox, for
        ``AsyncClient(http_client=...)``; the caller closes it."""
        from ._httpx import family_module

        module = family_module(family)
        client: httpx.AsyncClient = module.AsyncClient(transport=self.async_transport(family))
        return client

    def asgi_app(self) -> SandboxASGIApp:
        """A plain ASGI 3 application serving this sandbox."""
        from ._asgi import SandboxASGIApp

        return SandboxASGIApp(self)


def _merge(base: Pairs, extra: Pairs) -> Pairs:
    """``base`` with every header in ``extra`` added, replacing same-named ones."""
    names = {name.lower() for name, _ in extra}
    return tuple(pair for pair in base if pair[0].lower() not in names) + extra


def _apply(fault: Fault, answer: _Answer) -> _Answer:
    status, headers, body = answer
    if fault.status is not None:
        status, headers, body = fault.status, (), fault_body(fault.status)
    if fault.body is not None:
        body = fault.body
    headers = _merge(headers, fault.headers)
    if fault.malformed_body:
        body = body[: max(1, len(body) // 2)]
    return status, headers, body
