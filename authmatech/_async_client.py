"""The asynchronous client: the core's call flow driven with ``anyio.sleep`` over an async
transport, so it runs under asyncio and trio alike."""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from . import core
from ._base_client import (
    NOT_GIVEN,
    AttemptTimeouts,
    BaseClient,
    ClientState,
    NotGiven,
    new_key_of,
    prepare_state,
)
from ._budget import AsyncRateBudget, RateBudget
from ._fork import FORKS
from ._frameless import frameless_configuration_errors
from ._lifecycle import running_loop
from ._pacing import CallPacing, checked_wait, left_after, retry_after_of, shortened
from .core import Authenticate, Call, Clock, HttpResponse, RetryPolicy, Send, Timeout
from .core._flow import unchecked_flow
from .credentials import Credentials, Secret
from .errors import (
    APITimeoutError,
    AuthmatechError,
    ConfigurationError,
    KeyResponseError,
    RotationCallbackError,
)
from .models import (
    ApiResult,
    ConnectIntegration,
    DetectAnalysis,
    DeviceContext,
    GeneratedApiKey,
    RotatedApiKey,
    SdkSession,
    ServiceType,
    ShieldAssessment,
    Signals,
    TrustScore,
    VerifyResult,
)
from .transports import AsyncTransport

if TYPE_CHECKING:
    from .transports import AsyncHttpClient
    from .transports._family import FamilyName

__all__ = ["AsyncClient"]


def _asyncio_timeout() -> Callable[[float], Any] | None:
    """``asyncio.timeout`` if this coroutine runs on asyncio and it exists (Python 3.11+).

    asyncio is looked up, not imported: if nothing imported it, nothing runs on it, and
    ``import authmatech`` stays without it (it is not among the dependencies' imports).
    """
    asyncio = sys.modules.get("asyncio")
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:
        return None
    try:
        asyncio.current_task()  # type: ignore[union-attr]
    except RuntimeError:  # no asyncio loop here: trio
        return None
    return typing.cast("Callable[[float], Any]", timeout)


T = TypeVar("T")
QueryParams = Mapping[str, "str | int | bool"]


class AsyncClient(BaseClient[AsyncTransport, Callable[[float], Awaitable[object]]]):
    """The asynchronous Authmatech client (asyncio or trio); one per event loop and lifespan.

    >>> async with authmatech.AsyncClient() as client:   # credentials from AUTHMATECH_*
    ...     result = await client.verify("+962791234567", proof, operator_id="ZAIN_JO")
    ...     result.valid_number

    Arguments left out are read from the environment (``AUTHMATECH_CLIENT_ID``,
    ``AUTHMATECH_API_KEY``, ``AUTHMATECH_CLIENT_SECRET``, ``AUTHMATECH_SDK_TOKEN``,
    ``AUTHMATECH_BASE_URL``). ``api_key`` may be a zero-argument callable or async callable,
    read before every attempt. ``http_client`` (an ``httpx.AsyncClient``: proxies, mTLS, custom
    CA) or ``transport`` (e.g. ``authmatech.transports.AiohttpTransport()``)
    replace the default transport and are never closed by this client. ``rate_budget`` (an
    async budget, or the in-process ``authmatech.RateBudget``; shared with derived clients)
    paces every attempt under the account's rate limit.
    """

    sdk: AsyncSdkResource
    """``register_session``: the one call an SDK token may make."""
    intelligence: AsyncIntelligenceResource
    """Trust, Shield and Detect."""
    account: AsyncAccountResource
    """Key rotation and generation, products, usage, verifications, balance history."""
    stuck_plus: AsyncStuckPlusResource
    """Stuck+ overview, sessions, journeys, reveals, resets and backfill."""
    connect: AsyncConnectResource
    """Connect imports and CRM integrations."""

    @frameless_configuration_errors
    def __init__(
        self,
        *,
        client_id: str | None = None,
        api_key: str | Secret | Callable[[], str | Secret | Awaitable[str | Secret]] | None = None,
        client_secret: str | Secret | None = None,
        sdk_token: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        http_client: AsyncHttpClient | None = None,
        transport: AsyncTransport | None = None,
        http_family: FamilyName | None = None,
        on_api_key_rotated: Callable[[Secret], object | Awaitable[object]] | None = None,
        app_info: str | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
        rate_budget: AsyncRateBudget | RateBudget | None = None,
    ) -> None:
        from .transports import AsyncHttpxTransport

        if http_family is not None and transport is not None:
            raise ConfigurationError(
                "http_family chooses the library of the pool this client creates; "
                "a transport you pass brings its own"
            )

        self._use(
            prepare_state(
                client_id=client_id,
                api_key=api_key,
                client_secret=client_secret,
                sdk_token=sdk_token,
                base_url=base_url,
                timeout=timeout,
                max_retries=max_retries,
                retry_policy=retry_policy,
                http_client=http_client,
                transport=transport,
                on_api_key_rotated=on_api_key_rotated,
                app_info=app_info,
                clock=clock,
                sleep=anyio.sleep if sleep is None else sleep,
                protocol=AsyncTransport,
                default_transport=lambda given: AsyncHttpxTransport(given, family=http_family),
                rate_budget=rate_budget,
                asynchronous=True,
            )
        )

    def _use(
        self, state: ClientState[AsyncTransport, Callable[[float], Awaitable[object]]]
    ) -> None:
        super()._use(state)
        self._transport_keeps_deadline = (
            getattr(self._transport, "enforces_deadline", False) is True
        )
        self._attempt_timeouts = AttemptTimeouts()
        self._budget_awaited = state.budget_awaited

    def _bind_resources(self) -> None:
        self.sdk = AsyncSdkResource(self)
        self.intelligence = AsyncIntelligenceResource(self)
        self.account = AsyncAccountResource(self)
        self.stuck_plus = AsyncStuckPlusResource(self)
        self.connect = AsyncConnectResource(self)

    def with_options(
        self,
        *,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        app_info: str | NotGiven | None = NOT_GIVEN,
    ) -> AsyncClient:
        """A client with other call settings that shares this one's connection pool and keys
        (a rotation through either switches both). Closing it leaves the pool open."""
        return self._derive(
            timeout=timeout, max_retries=max_retries, retry_policy=retry_policy, app_info=app_info
        )

    async def aclose(self) -> None:
        """Close the connection pool this client created (never a caller's ``http_client``)."""
        transport = self._pool.close_transport()
        if transport is not None:
            await transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _credentials(self, remaining: float, rejected: bool = False) -> Credentials:
        """The credentials for the next attempt; an async key provider has what is left of the
        call's deadline to answer. After a 401 (``rejected``), a key provider with an
        ``unauthorized()`` method (a fleet watcher's key) hears of it first, within the same
        deadline."""
        provider = self._keys.provider
        if provider is None:
            return self._keys.static()
        if rejected:
            unauthorized = getattr(provider, "unauthorized", None)
            told = unauthorized() if callable(unauthorized) else None
            if inspect.isawaitable(told):
                started = self._clock.monotonic()
                with anyio.move_on_after(max(0.0, remaining)):
                    await told
                remaining -= self._clock.monotonic() - started
        value = provider()
        if inspect.isawaitable(value):
            with anyio.move_on_after(max(0.0, remaining)) as scope:
                value = await value
            if scope.cancelled_caught:
                raise APITimeoutError(
                    "the api_key provider did not return the key within what was left of the "
                    f"call's deadline (Timeout.total {self._settings.timeout.total:g} s); "
                    "nothing was sent",
                    maybe_processed=False,
                )
        try:
            return self._keys.with_provided(value)
        finally:
            del value  # a refused key is no local of this frame's traceback

    async def _attempt(self, step: Send) -> HttpResponse | AuthmatechError:
        """The response or the transport's error, handed straight to the flow: no frame of
        the driver keeps it (an echoing server may have put a secret in it; the flow scrubs)."""
        outcome: HttpResponse | AuthmatechError
        if not self._transport_keeps_deadline:
            outcome = await self._send_by_deadline(step)
        else:
            try:
                outcome = await self._transport.send(step.request, self._attempt_timeouts.get(step))
            except AuthmatechError as error:
                outcome = error
        if self._budget is not None:
            await self._report(outcome)
        return outcome

    async def _send_by_deadline(self, step: Send) -> HttpResponse | AuthmatechError:
        """Send within what is left of the call's deadline, for a transport that cannot.

        On asyncio (Python 3.11+) this uses asyncio's own timeout, which costs less than half
        of anyio's cancel scope per call; elsewhere (trio, Python 3.10) anyio's scope.
        """
        asyncio_timeout = _asyncio_timeout()
        if asyncio_timeout is not None:
            deadline = asyncio_timeout(step.remaining)
            try:
                async with deadline:
                    try:
                        sent: HttpResponse = await self._transport.send(step.request, step.timeout)
                        return sent
                    except AuthmatechError as error:
                        return error
            except TimeoutError:
                if not deadline.expired():
                    raise
            return self._deadline_passed()
        with anyio.move_on_after(step.remaining):
            try:
                answer: HttpResponse = await self._transport.send(step.request, step.timeout)
                return answer
            except AuthmatechError as error:
                return error
        return self._deadline_passed()

    def _deadline_passed(self) -> APITimeoutError:
        return APITimeoutError(
            f"the call's overall deadline ({self._settings.timeout.total:g} s) ran out while "
            "waiting for the response",
            maybe_processed=True,
        )

    async def _run(self, call: Call[T]) -> T:
        """Drive the core's call flow. A rotation first takes the key ring's rotation gate
        (within the call's deadline); a call answered 401 waits, within its deadline, for a
        rotation under way."""
        if self._forks != FORKS.value:
            self._renew_after_fork()
        loop = running_loop()
        if loop is not self._pool.loop and loop is not None:
            await self._pool.bind(loop)
        if self._transport is not self._pool.transport:
            self._transport = self._pool.transport
        keys = self._keys
        rotation = call.operation.replaces_key
        gated = False
        pacing = None if self._budget is None else CallPacing()
        try:
            first = keys.current() if pacing is None else None
            flow = unchecked_flow(call, self._settings, self._clock, first)
            try:
                step = next(flow)
                while True:
                    if isinstance(step, Send):
                        if pacing is not None:
                            step = pacing.send(step, self._settings) or shortened(
                                step, self._settings, await self._slot(step.remaining)
                            )
                        step = flow.send(await self._attempt(step))
                    elif isinstance(step, Authenticate):
                        if rotation and not gated:
                            await keys.enter_rotation_async(step.remaining)
                            gated = True
                        elif step.rejected:
                            await keys.gate.wait_async(step.remaining)
                        if pacing is None:
                            step = flow.send(await self._credentials(step.remaining, step.rejected))
                            continue
                        left = step.remaining
                        credentials = await self._credentials(left, True) if step.rejected else None
                        if pacing.slot_first(step, credentials):
                            left = await self._slot(left)
                            pacing.took(left)
                            credentials = await self._credentials(left)
                        assert credentials is not None
                        step = flow.send(pacing.hand(credentials))
                    else:
                        await self._sleep(step.seconds)
                        step = flow.send(None)
            except StopIteration as stop:
                result: T = stop.value
            except KeyResponseError as error:
                if error.api_key is not None:
                    await self._hand_over(error.api_key, error)
                raise
            finally:
                flow.close()
            new_key = new_key_of(result)
            if new_key is not None:
                await self._switch_to(new_key, result)
            return result
        finally:
            if gated:
                keys.leave_rotation()

    async def _replace_key(self, call: Call[T]) -> T:
        """Run a rotation or generation shielded from the caller's cancellation, for at most
        the call's deadline and one second more.

        Once it is sent, the server retires the old key whether or not anyone reads the answer,
        so the answer is read, the client switches and ``on_api_key_rotated`` runs even if the
        caller is cancelled meanwhile (an outer timeout, a closed request); the cancellation is
        not swallowed: it takes effect at the caller's next checkpoint.
        """
        limit = self._settings.timeout.total + 1.0
        with anyio.CancelScope(shield=True, deadline=anyio.current_time() + limit):
            return await self._run(call)
        raise APITimeoutError(
            f"{call.operation.method} {call.operation.path} and its on_api_key_rotated callback "
            f"did not finish within the call's deadline and one second ({limit:g} s); the "
            "server may have issued a new key: compare api_key_fingerprint with the key you "
            "hold, and check whether the old key still works",
            maybe_processed=True,
        )

    async def _slot(self, max_wait: float) -> float:
        """Wait for the rate budget's slot for one attempt, within the ``max_wait`` left of
        the call's deadline (an ordinary cancellable sleep); returns what is left after it."""
        budget = self._budget
        if self._budget_awaited:
            answer = await budget.acquire(max_wait)
        else:
            answer = budget.acquire(max_wait)
        wait = checked_wait(answer, budget, max_wait, self._settings)
        if not wait > 0.0:
            return max_wait
        started = self._clock.monotonic()
        await self._sleep(wait)
        return left_after(max_wait, wait, self._clock.monotonic() - started)

    async def _report(self, outcome: object) -> None:
        """A 429 moves the shared schedule back for every caller of the budget."""
        if isinstance(outcome, HttpResponse) and outcome.status_code == 429:
            retry_after = retry_after_of(outcome, self._clock.wall())
            if self._budget_awaited:
                await self._budget.penalize(retry_after)
            else:
                self._budget.penalize(retry_after)

    async def _switch_to(self, new_key: Secret, result: object) -> None:
        """Use the rotated or generated key from now on, and tell the application about it."""
        self._keys.swap_api_key(new_key)
        try:
            await self._notify(new_key)
        except Exception as error:
            raise RotationCallbackError(result, error) from error  # type: ignore[arg-type]

    async def _hand_over(self, key: Secret, error: KeyResponseError) -> None:
        """A key the server issued but this client cannot send still goes to the application
        (the error that follows carries it too); a failing callback becomes its cause."""
        try:
            await self._notify(key)
        except Exception as failure:
            error.__cause__ = failure

    async def _notify(self, key: Secret) -> None:
        if self._on_api_key_rotated is None:
            return
        notified = self._on_api_key_rotated(key)
        if inspect.isawaitable(notified):
            await notified

    async def verify(
        self,
        mobile_number: str,
        encrypted_mobile_number: str,
        *,
        operator_id: str | None = None,
        service_type: ServiceType | str | None = None,
        sdk_session_id: str | None = None,
        mask_mobile: bool = False,
    ) -> VerifyResult:
        """Does the customer control ``mobile_number``? (``POST /v1/api/verify``, billable)

        ``encrypted_mobile_number`` is the device SDK's ``authmatechCode``, passed unchanged;
        ``operator_id`` its ``MNOID``. ``valid_number=False`` is an answer, not an error.
        """
        return await self._run(
            core.verify(
                mobile_number,
                encrypted_mobile_number,
                operator_id=operator_id,
                service_type=service_type,
                sdk_session_id=sdk_session_id,
                mask_mobile=mask_mobile,
            )
        )

    async def verify_web(
        self,
        transaction_id: str,
        mobile_number: str,
        *,
        service_type: ServiceType | str | None = None,
        mask_mobile: bool = False,
    ) -> VerifyResult:
        """The web variant of :meth:`verify`, by transaction id (billable)."""
        return await self._run(
            core.verify_web(
                transaction_id, mobile_number, service_type=service_type, mask_mobile=mask_mobile
            )
        )


class _Resource:
    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def _run(self, call: Call[T]) -> T:
        return await self._client._run(call)


class AsyncSdkResource(_Resource):
    """The one call an SDK token may make."""

    async def register_session(
        self,
        *,
        sdk_session_id: str | None = None,
        mno_id: str | None = None,
        authmatech_code_present: bool | None = None,
        authmatech_code_hash: str | None = None,
        device_context: DeviceContext | None = None,
    ) -> SdkSession:
        """Register a device session with the SDK token (``POST /v1/api/sdk/session``)."""
        return await self._run(
            core.register_sdk_session(
                sdk_session_id=sdk_session_id,
                mno_id=mno_id,
                authmatech_code_present=authmatech_code_present,
                authmatech_code_hash=authmatech_code_hash,
                device_context=device_context,
            )
        )


class AsyncIntelligenceResource(_Resource):
    """Trust, Shield and Detect: risk answers from device and network signals (billable)."""

    async def trust_score(self, signals: Signals | Mapping[str, Any]) -> TrustScore:
        """A 0-100 trust score with a recommendation."""
        return await self._run(core.trust_score(signals))

    async def shield_assess(self, signals: Signals | Mapping[str, Any]) -> ShieldAssessment:
        """An inline decision; ``Decision.BLOCK`` is an answer, not an error."""
        return await self._run(core.shield_assess(signals))

    async def detect_analyze(self, signals: Signals | Mapping[str, Any]) -> DetectAnalysis:
        """Anomalies across time and accounts, for review queues."""
        return await self._run(core.detect_analyze(signals))


class AsyncAccountResource(_Resource):
    """Keys, products, usage and history of the calling account."""

    async def rotate_api_key(self) -> RotatedApiKey:
        """Rotate this client's API key with the client secret; the client switches to the new
        key and calls ``on_api_key_rotated``. Never retried once sent."""
        return await self._client._replace_key(core.rotate_api_key())

    async def rotate_client_key(self) -> RotatedApiKey:
        """Rotate by client (``POST /v1/api/clients/rotate-key``); same effects as
        :meth:`rotate_api_key`."""
        return await self._client._replace_key(core.rotate_client_key())

    async def rotate_client_key_by_id(self, client_id: str | None = None) -> RotatedApiKey:
        """The dashboard's rotation (``/v1/api/clients/{clientId}/rotate-key``)."""
        own = self._client._keys.client_id
        return await self._client._replace_key(
            core.rotate_client_key_by_id(own if client_id is None else client_id)
        )

    async def generate_api_key(self) -> GeneratedApiKey:
        """Generate an API key (``201``); like a rotation, the client switches to it and calls
        ``on_api_key_rotated``."""
        return await self._client._replace_key(core.generate_api_key())

    async def products(self, params: QueryParams | None = None) -> ApiResult:
        """Which products are enabled for the account."""
        return await self._run(core.account_products(params))

    async def usage(self, params: QueryParams | None = None) -> ApiResult:
        """Usage analytics; avoid tight polling."""
        return await self._run(core.account_usage(params))

    async def verifications(self, params: QueryParams | None = None) -> ApiResult:
        """Verification history."""
        return await self._run(core.account_verifications(params))

    async def balance_history(self, params: QueryParams | None = None) -> ApiResult:
        """Balance movements over time."""
        return await self._run(core.account_balance_history(params))


class AsyncStuckPlusResource(_Resource):
    """Stuck+, the fallback when silent verification cannot finish."""

    async def overview(self, params: QueryParams | None = None) -> ApiResult:
        """An overview of stuck sessions."""
        return await self._run(core.stuck_plus_overview(params))

    async def sessions(self, params: QueryParams | None = None) -> ApiResult:
        """Stuck sessions with their journey context."""
        return await self._run(core.stuck_plus_sessions(params))

    async def journey(self, session_id: str) -> ApiResult:
        """One session's journey."""
        return await self._run(core.stuck_plus_journey(session_id))

    async def reveal(self, session_id: str) -> ApiResult:
        """Reveal a session's confirmed number: consumes credits, audited, never retried."""
        return await self._run(core.stuck_plus_reveal(session_id))

    async def reset(self, session_id: str) -> ApiResult:
        """Reset a session."""
        return await self._run(core.stuck_plus_reset(session_id))

    async def backfill(self, body: Mapping[str, Any] | None = None) -> ApiResult:
        """Recover historical sessions."""
        return await self._run(core.stuck_plus_backfill(body))

    async def reveals(self, params: QueryParams | None = None) -> ApiResult:
        """The reveal audit trail."""
        return await self._run(core.stuck_plus_reveals(params))


class AsyncConnectResource(_Resource):
    """Connect: CRM synchronisation."""

    async def start_import(self, job_id: str, field_mappings: Mapping[str, Any]) -> ApiResult:
        """Apply field mappings to an uploaded job and process its rows."""
        return await self._run(core.connect_start_import(job_id, field_mappings))

    async def create_integration(self, integration: ConnectIntegration) -> ApiResult:
        """Create an integration delivering to your endpoint (its key is never returned)."""
        return await self._run(core.connect_create_integration(integration))
