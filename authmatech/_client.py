"""The synchronous client: the core's call flow driven with ``time.sleep`` over a sync transport."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

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
from ._budget import SyncRateBudget
from ._fork import FORKS
from ._frameless import frameless_configuration_errors
from ._pacing import CallPacing, checked_wait, left_after, retry_after_of, shortened
from .core import Authenticate, Call, Clock, HttpResponse, RetryPolicy, Send, Timeout
from .core._flow import unchecked_flow
from .credentials import Credentials, Secret
from .errors import AuthmatechError, ConfigurationError, KeyResponseError, RotationCallbackError
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
from .transports import SyncTransport

if TYPE_CHECKING:
    from .transports import SyncHttpClient
    from .transports._family import FamilyName

__all__ = ["Client"]

T = TypeVar("T")
QueryParams = Mapping[str, "str | int | bool"]


class Client(BaseClient[SyncTransport, Callable[[float], object]]):
    """The synchronous Authmatech client; one per application, shared across threads.

    >>> with authmatech.Client() as client:        # credentials from AUTHMATECH_* variables
    ...     result = client.verify("+962791234567", proof, operator_id="ZAIN_JO")
    ...     result.valid_number

    Arguments left out are read from the environment (``AUTHMATECH_CLIENT_ID``,
    ``AUTHMATECH_API_KEY``, ``AUTHMATECH_CLIENT_SECRET``, ``AUTHMATECH_SDK_TOKEN``,
    ``AUTHMATECH_BASE_URL``). ``api_key`` may be a zero-argument callable, read before every
    attempt. ``http_client`` (an ``httpx.Client``: proxies, mTLS, custom CA) or ``transport``
    replace the default transport and are never closed by this client. ``rate_budget`` (e.g.
    ``authmatech.RateBudget(limit=1000, per=60.0)``, shared with derived clients) paces every
    attempt under the account's rate limit.
    """

    sdk: SdkResource
    """``register_session``: the one call an SDK token may make."""
    intelligence: IntelligenceResource
    """Trust, Shield and Detect."""
    account: AccountResource
    """Key rotation and generation, products, usage, verifications, balance history."""
    stuck_plus: StuckPlusResource
    """Stuck+ overview, sessions, journeys, reveals, resets and backfill."""
    connect: ConnectResource
    """Connect imports and CRM integrations."""

    @frameless_configuration_errors
    def __init__(
        self,
        *,
        client_id: str | None = None,
        api_key: str | Secret | Callable[[], str | Secret] | None = None,
        client_secret: str | Secret | None = None,
        sdk_token: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        http_client: SyncHttpClient | None = None,
        transport: SyncTransport | None = None,
        http_family: FamilyName | None = None,
        on_api_key_rotated: Callable[[Secret], object] | None = None,
        app_info: str | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], object] | None = None,
        rate_budget: SyncRateBudget | None = None,
    ) -> None:
        from .transports import HttpxTransport

        for name, value in (("on_api_key_rotated", on_api_key_rotated), ("api_key", api_key)):
            if inspect.iscoroutinefunction(value) or (
                callable(value) and inspect.iscoroutinefunction(type(value).__call__)
            ):  # an async def, or an object with an async __call__
                raise ConfigurationError(
                    f"{name} is an async function, which the sync Client cannot await; pass a "
                    "plain function (or use AsyncClient)"
                )

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
                sleep=time.sleep if sleep is None else sleep,
                protocol=SyncTransport,
                default_transport=lambda given: HttpxTransport(given, family=http_family),
                rate_budget=rate_budget,
            )
        )

    def _use(self, state: ClientState[SyncTransport, Callable[[float], object]]) -> None:
        super()._use(state)
        self._transport_keeps_deadline = (
            getattr(self._transport, "enforces_deadline", False) is True
        )
        self._attempt_timeouts = AttemptTimeouts()

    def _bind_resources(self) -> None:
        self.sdk = SdkResource(self)
        self.intelligence = IntelligenceResource(self)
        self.account = AccountResource(self)
        self.stuck_plus = StuckPlusResource(self)
        self.connect = ConnectResource(self)

    def with_options(
        self,
        *,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        app_info: str | NotGiven | None = NOT_GIVEN,
    ) -> Client:
        """A client with other call settings that shares this one's connection pool and keys
        (a rotation through either switches both). Closing it leaves the pool open."""
        return self._derive(
            timeout=timeout, max_retries=max_retries, retry_policy=retry_policy, app_info=app_info
        )

    def close(self) -> None:
        """Close the connection pool this client created (never a caller's ``http_client``)."""
        transport = self._pool.close_transport()
        if transport is not None:
            transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _credentials(self, rejected: bool = False) -> Credentials:
        """The credentials for the next attempt. After a 401 (``rejected``), a key provider
        with an ``unauthorized()`` method (a fleet watcher's key) hears of it first."""
        provider = self._keys.provider
        if provider is None:
            return self._keys.static()
        if rejected:
            unauthorized = getattr(provider, "unauthorized", None)
            if callable(unauthorized):
                unauthorized()
        return self._keys.with_provided(provider())

    def _attempt(self, step: Send) -> HttpResponse | AuthmatechError:
        """The response or the transport's error, handed straight to the flow: no frame of
        the driver keeps it (an echoing server may have put a secret in it; the flow scrubs)."""
        timeout = (
            self._attempt_timeouts.get(step) if self._transport_keeps_deadline else step.timeout
        )
        try:
            outcome: HttpResponse | AuthmatechError = self._transport.send(step.request, timeout)
        except AuthmatechError as error:
            outcome = error
        if self._budget is not None:
            self._report(outcome)
        return outcome

    def _run(self, call: Call[T]) -> T:
        """Drive the core's call flow. A rotation first takes the key ring's rotation gate
        (within the call's deadline); a call answered 401 waits, within its deadline, for a
        rotation under way."""
        if self._forks != FORKS.value:
            self._renew_after_fork()
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
                                step, self._settings, self._slot(step.remaining)
                            )
                        step = flow.send(self._attempt(step))
                    elif isinstance(step, Authenticate):
                        if rotation and not gated:
                            keys.enter_rotation(step.remaining)
                            gated = True
                        elif step.rejected:
                            keys.gate.wait(step.remaining)
                        if pacing is None:
                            step = flow.send(self._credentials(step.rejected))
                            continue
                        credentials = self._credentials(True) if step.rejected else None
                        if pacing.slot_first(step, credentials):
                            pacing.took(self._slot(step.remaining))
                            credentials = self._credentials()
                        assert credentials is not None
                        step = flow.send(pacing.hand(credentials))
                    else:
                        self._sleep(step.seconds)
                        step = flow.send(None)
            except StopIteration as stop:
                result: T = stop.value
            except KeyResponseError as error:
                if error.api_key is not None:
                    self._hand_over(error.api_key, error)
                raise
            finally:
                flow.close()
            new_key = new_key_of(result)
            if new_key is not None:
                self._switch_to(new_key, result)
            return result
        finally:
            if gated:
                keys.leave_rotation()

    def _slot(self, max_wait: float) -> float:
        """Wait for the rate budget's slot for one attempt, within the ``max_wait`` left of
        the call's deadline; returns what is left after the wait."""
        wait = checked_wait(self._budget.acquire(max_wait), self._budget, max_wait, self._settings)
        if not wait > 0.0:
            return max_wait
        started = self._clock.monotonic()
        self._sleep(wait)
        return left_after(max_wait, wait, self._clock.monotonic() - started)

    def _report(self, outcome: object) -> None:
        """A 429 moves the shared schedule back for every caller of the budget."""
        if isinstance(outcome, HttpResponse) and outcome.status_code == 429:
            self._budget.penalize(retry_after_of(outcome, self._clock.wall()))

    def _switch_to(self, new_key: Secret, result: object) -> None:
        """Use the rotated or generated key from now on, and tell the application about it."""
        self._keys.swap_api_key(new_key)
        try:
            self._notify(new_key)
        except Exception as error:
            raise RotationCallbackError(result, error) from error  # type: ignore[arg-type]

    def _hand_over(self, key: Secret, error: KeyResponseError) -> None:
        """A key the server issued but this client cannot send still goes to the application
        (the error that follows carries it too); a failing callback becomes its cause."""
        try:
            self._notify(key)
        except Exception as failure:
            error.__cause__ = failure

    def _notify(self, key: Secret) -> None:
        if self._on_api_key_rotated is None:
            return
        outcome = self._on_api_key_rotated(key)
        if inspect.isawaitable(outcome):
            if inspect.iscoroutine(outcome):
                outcome.close()
            raise TypeError(
                "on_api_key_rotated returned an awaitable, which the sync Client cannot await: "
                "the new key was not stored by it; pass a plain function (or use AsyncClient)"
            )

    def verify(
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
        return self._run(
            core.verify(
                mobile_number,
                encrypted_mobile_number,
                operator_id=operator_id,
                service_type=service_type,
                sdk_session_id=sdk_session_id,
                mask_mobile=mask_mobile,
            )
        )

    def verify_web(
        self,
        transaction_id: str,
        mobile_number: str,
        *,
        service_type: ServiceType | str | None = None,
        mask_mobile: bool = False,
    ) -> VerifyResult:
        """The web variant of :meth:`verify`, by transaction id (billable)."""
        return self._run(
            core.verify_web(
                transaction_id, mobile_number, service_type=service_type, mask_mobile=mask_mobile
            )
        )


class _Resource:
    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def _run(self, call: Call[T]) -> T:
        return self._client._run(call)


class SdkResource(_Resource):
    """The one call an SDK token may make."""

    def register_session(
        self,
        *,
        sdk_session_id: str | None = None,
        mno_id: str | None = None,
        authmatech_code_present: bool | None = None,
        authmatech_code_hash: str | None = None,
        device_context: DeviceContext | None = None,
    ) -> SdkSession:
        """Register a device session with the SDK token (``POST /v1/api/sdk/session``)."""
        return self._run(
            core.register_sdk_session(
                sdk_session_id=sdk_session_id,
                mno_id=mno_id,
                authmatech_code_present=authmatech_code_present,
                authmatech_code_hash=authmatech_code_hash,
                device_context=device_context,
            )
        )


class IntelligenceResource(_Resource):
    """Trust, Shield and Detect: risk answers from device and network signals (billable)."""

    def trust_score(self, signals: Signals | Mapping[str, Any]) -> TrustScore:
        """A 0-100 trust score with a recommendation."""
        return self._run(core.trust_score(signals))

    def shield_assess(self, signals: Signals | Mapping[str, Any]) -> ShieldAssessment:
        """An inline decision; ``Decision.BLOCK`` is an answer, not an error."""
        return self._run(core.shield_assess(signals))

    def detect_analyze(self, signals: Signals | Mapping[str, Any]) -> DetectAnalysis:
        """Anomalies across time and accounts, for review queues."""
        return self._run(core.detect_analyze(signals))


class AccountResource(_Resource):
    """Keys, products, usage and history of the calling account."""

    def rotate_api_key(self) -> RotatedApiKey:
        """Rotate this client's API key with the client secret; the client switches to the new
        key and calls ``on_api_key_rotated``. Never retried once sent."""
        return self._run(core.rotate_api_key())

    def rotate_client_key(self) -> RotatedApiKey:
        """Rotate by client (``POST /v1/api/clients/rotate-key``); same effects as
        :meth:`rotate_api_key`."""
        return self._run(core.rotate_client_key())

    def rotate_client_key_by_id(self, client_id: str | None = None) -> RotatedApiKey:
        """The dashboard's rotation (``/v1/api/clients/{clientId}/rotate-key``)."""
        own = self._client._keys.client_id
        return self._run(core.rotate_client_key_by_id(own if client_id is None else client_id))

    def generate_api_key(self) -> GeneratedApiKey:
        """Generate an API key (``201``); like a rotation, the client switches to it and calls
        ``on_api_key_rotated``."""
        return self._run(core.generate_api_key())

    def products(self, params: QueryParams | None = None) -> ApiResult:
        """Which products are enabled for the account."""
        return self._run(core.account_products(params))

    def usage(self, params: QueryParams | None = None) -> ApiResult:
        """Usage analytics; avoid tight polling."""
        return self._run(core.account_usage(params))

    def verifications(self, params: QueryParams | None = None) -> ApiResult:
        """Verification history."""
        return self._run(core.account_verifications(params))

    def balance_history(self, params: QueryParams | None = None) -> ApiResult:
        """Balance movements over time."""
        return self._run(core.account_balance_history(params))


class StuckPlusResource(_Resource):
    """Stuck+, the fallback when silent verification cannot finish."""

    def overview(self, params: QueryParams | None = None) -> ApiResult:
        """An overview of stuck sessions."""
        return self._run(core.stuck_plus_overview(params))

    def sessions(self, params: QueryParams | None = None) -> ApiResult:
        """Stuck sessions with their journey context."""
        return self._run(core.stuck_plus_sessions(params))

    def journey(self, session_id: str) -> ApiResult:
        """One session's journey."""
        return self._run(core.stuck_plus_journey(session_id))

    def reveal(self, session_id: str) -> ApiResult:
        """Reveal a session's confirmed number: consumes credits, audited, never retried."""
        return self._run(core.stuck_plus_reveal(session_id))

    def reset(self, session_id: str) -> ApiResult:
        """Reset a session."""
        return self._run(core.stuck_plus_reset(session_id))

    def backfill(self, body: Mapping[str, Any] | None = None) -> ApiResult:
        """Recover historical sessions."""
        return self._run(core.stuck_plus_backfill(body))

    def reveals(self, params: QueryParams | None = None) -> ApiResult:
        """The reveal audit trail."""
        return self._run(core.stuck_plus_reveals(params))


class ConnectResource(_Resource):
    """Connect: CRM synchronisation."""

    def start_import(self, job_id: str, field_mappings: Mapping[str, Any]) -> ApiResult:
        """Apply field mappings to an uploaded job and process its rows."""
        return self._run(core.connect_start_import(job_id, field_mappings))

    def create_integration(self, integration: ConnectIntegration) -> ApiResult:
        """Create an integration delivering to your endpoint (its key is never returned)."""
        return self._run(core.connect_create_integration(integration))
