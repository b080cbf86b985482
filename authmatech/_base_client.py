"""What the sync and async clients share: option handling and the key ring.

The clients themselves only add a driver for the core's call flow (``time.sleep`` or
``anyio.sleep``) and a transport.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Generic, TypeVar, cast

import attrs

from ._fork import FORKS
from ._keyring import KeyRing
from ._lifecycle import Pool
from ._pacing import check_budget
from ._repr import tolerant_repr
from .core import Clock, RetryPolicy, Send, Settings, Timeout
from .core._request import DEFAULT_BASE_URL, ClientConfig, check_base_url
from .credentials import Credentials, Secret
from .errors import ConfigurationError
from .models import GeneratedApiKey, RotatedApiKey

__all__ = ["NOT_GIVEN", "BaseClient", "ClientState", "KeyRing", "NotGiven", "prepare_state"]

ENV_BASE_URL = "AUTHMATECH_BASE_URL"


class NotGiven(enum.Enum):
    """Marks an argument left out, as opposed to an explicit ``None``."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven.NOT_GIVEN

KeyProvider = Callable[[], str | Secret]
AsyncKeyProvider = Callable[[], Awaitable[str | Secret]]


def default_clock() -> Clock:
    return Clock(monotonic=time.monotonic, wall=time.time)


def _timeout(value: float | Timeout | NotGiven | None) -> Timeout:
    if value is NOT_GIVEN:
        return Timeout()
    if value is None:
        raise ConfigurationError(
            "timeout=None would let a call hang forever; pass a number of seconds or "
            "authmatech.Timeout(connect=..., read=..., total=...)"
        )
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(
            f"timeout must be a number of seconds or an authmatech.Timeout, "
            f"not {type(value).__name__}"
        )
    return Timeout.of(float(value))


def make_settings(
    *,
    base_url: str | None,
    timeout: float | Timeout | NotGiven | None,
    max_retries: int | NotGiven,
    retry_policy: RetryPolicy | None,
    app_info: str | None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Validate the client options once; errors name the argument or variable at fault."""
    env = os.environ if environ is None else environ
    if base_url is None:
        from_env = env.get(ENV_BASE_URL, "")
        base_url = check_base_url(from_env, ENV_BASE_URL) if from_env.strip() else DEFAULT_BASE_URL
    if retry_policy is None:
        retry_policy = RetryPolicy()
    elif not isinstance(retry_policy, RetryPolicy):
        raise ConfigurationError(
            f"retry_policy must be an authmatech.RetryPolicy, not {type(retry_policy).__name__}"
        )
    if max_retries is not NOT_GIVEN:
        retry_policy = attrs.evolve(retry_policy, max_retries=max_retries)
    return Settings(
        config=ClientConfig(base_url=base_url, app_info=app_info),
        timeout=_timeout(timeout),
        retry=retry_policy,
    )


def evolve_settings(
    settings: Settings,
    *,
    timeout: float | Timeout | NotGiven | None,
    max_retries: int | NotGiven,
    retry_policy: RetryPolicy | None,
    app_info: str | NotGiven | None,
) -> Settings:
    retry = settings.retry if retry_policy is None else retry_policy
    if not isinstance(retry, RetryPolicy):
        raise ConfigurationError("retry_policy must be an authmatech.RetryPolicy")
    if max_retries is not NOT_GIVEN:
        retry = attrs.evolve(retry, max_retries=max_retries)
    config = settings.config
    if app_info is not NOT_GIVEN:
        config = ClientConfig(base_url=config.base_url, app_info=app_info)
    return Settings(
        config=config,
        timeout=settings.timeout if timeout is NOT_GIVEN else _timeout(timeout),
        retry=retry,
    )


def make_credentials(
    *,
    client_id: str | None,
    api_key: Any,
    client_secret: str | Secret | None,
    sdk_token: str | Secret | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Credentials, Callable[[], Any] | None]:
    """The static credentials and, if ``api_key`` is a callable, the key provider."""
    from_env = Credentials.from_env(environ)
    provider: Callable[[], Any] | None = None
    static_key: str | Secret | None = None
    if callable(api_key) and not isinstance(api_key, Secret):
        provider = api_key
    else:
        static_key = cast("str | Secret | None", api_key)
    credentials = Credentials(
        client_id if client_id is not None else from_env.client_id,
        api_key=static_key if static_key is not None or provider else from_env.api_key,
        sdk_token=sdk_token if sdk_token is not None else from_env.sdk_token,
        client_secret=client_secret if client_secret is not None else from_env.client_secret,
    )
    if credentials.client_id is None:
        raise ConfigurationError(
            "client_id is missing: pass client_id=... or set AUTHMATECH_CLIENT_ID "
            "(it is shown in the Authmatech dashboard)"
        )
    return credentials, provider


def new_key_of(result: object) -> Secret | None:
    """The new API key if ``result`` is a rotation or a generation; the client switches to it
    (whether the server keeps the old key valid after a generation is not documented, so the
    new key is the one that is sure to work)."""
    if isinstance(result, (RotatedApiKey, GeneratedApiKey)):
        return result.api_key
    return None


TransportT = TypeVar("TransportT")
SleepT = TypeVar("SleepT")


@attrs.frozen(slots=True, kw_only=True, eq=False)
class ClientState(Generic[TransportT, SleepT]):
    """Everything a client holds; derived clients share ``keys`` and ``transport``."""

    keys: KeyRing
    settings: Settings
    transport: TransportT
    owns_transport: bool
    on_api_key_rotated: Callable[[Secret], Any] | None
    clock: Clock
    sleep: SleepT
    pool: Any = None
    """The :class:`~authmatech._lifecycle.Pool` holding the transport in use (shared)."""
    budget: Any = None
    """The rate budget (shared by derived clients), or None."""
    budget_awaited: bool = False
    """Whether the budget's methods are coroutines (the async client awaits them)."""

    def derive(
        self,
        *,
        timeout: float | Timeout | NotGiven | None,
        max_retries: int | NotGiven,
        retry_policy: RetryPolicy | None,
        app_info: str | NotGiven | None,
    ) -> ClientState[TransportT, SleepT]:
        settings = evolve_settings(
            self.settings,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            app_info=app_info,
        )
        return attrs.evolve(self, settings=settings, owns_transport=False)


def prepare_state(
    *,
    client_id: str | None,
    api_key: Any,
    client_secret: str | Secret | None,
    sdk_token: str | Secret | None,
    base_url: str | None,
    timeout: float | Timeout | NotGiven | None,
    max_retries: int | NotGiven,
    retry_policy: RetryPolicy | None,
    http_client: object,
    transport: object,
    on_api_key_rotated: Callable[[Secret], Any] | None,
    app_info: str | None,
    clock: Clock | None,
    sleep: SleepT,
    protocol: type,
    default_transport: Callable[[Any], TransportT],
    rate_budget: object = None,
    asynchronous: bool = False,
) -> ClientState[TransportT, SleepT]:
    """Validate a client's constructor arguments (all of them, before any I/O)."""
    credentials, provider = make_credentials(
        client_id=client_id, api_key=api_key, client_secret=client_secret, sdk_token=sdk_token
    )
    settings = make_settings(
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        retry_policy=retry_policy,
        app_info=app_info,
    )
    if http_client is not None and transport is not None:
        raise ConfigurationError("pass either http_client (an httpx client) or transport, not both")
    if transport is not None and type(transport).__module__.partition(".")[0] == "httpx":
        raise ConfigurationError(
            "transport takes an authmatech transport; pass an httpx client as http_client=..."
        )
    if transport is not None and not isinstance(transport, protocol):
        raise ConfigurationError(
            f"transport must implement the {protocol.__name__} protocol "
            "(Client takes a SyncTransport, AsyncClient an AsyncTransport)"
        )
    if on_api_key_rotated is not None and not callable(on_api_key_rotated):
        raise ConfigurationError("on_api_key_rotated must be a callable taking a Secret")
    if clock is not None and not isinstance(clock, Clock):
        raise ConfigurationError("clock must be an authmatech.core.Clock")
    if not callable(sleep):
        raise ConfigurationError("sleep must be a callable taking a number of seconds")
    budget_awaited = check_budget(rate_budget, asynchronous=asynchronous)
    chosen = (
        cast(TransportT, transport) if transport is not None else default_transport(http_client)
    )
    # The default transports open an HTTP client per process and event loop themselves, so one
    # transport serves the client for its life (and reuses its TLS context within a process).
    pool = Pool(chosen, factory=None, caller_client=http_client is not None, made=transport is None)
    return ClientState(
        keys=KeyRing(credentials, provider),
        settings=settings,
        transport=chosen,
        pool=pool,
        owns_transport=transport is None,
        on_api_key_rotated=on_api_key_rotated,
        clock=clock or default_clock(),
        sleep=sleep,
        budget=rate_budget,
        budget_awaited=bool(budget_awaited),
    )


ClientT = TypeVar("ClientT", bound="BaseClient[Any, Any]")


@tolerant_repr
class BaseClient(Generic[TransportT, SleepT]):
    """What ``Client`` and ``AsyncClient`` share beyond the driver: state, repr, derivation."""

    _state: ClientState[TransportT, SleepT]

    def _use(self, state: ClientState[TransportT, SleepT]) -> None:
        self._state = state
        self._keys = state.keys
        self._settings = state.settings
        self._clock = state.clock
        self._sleep = state.sleep
        self._on_api_key_rotated = state.on_api_key_rotated
        self._budget = state.budget
        self._pool = state.pool
        self._forks = state.pool.forks
        self._transport = state.pool.transport
        self._bind_resources()

    def _renew_after_fork(self) -> None:
        """The first call in a forked child: a pool of this process's own, and a key ring
        without the parent's lock or rotation in flight (see :mod:`authmatech._lifecycle`)."""
        pool = self._pool
        pool.after_fork(self._keys.after_fork)
        self._transport = pool.transport
        self._forks = FORKS.value

    def _bind_resources(self) -> None:
        raise NotImplementedError

    def _derive(
        self: ClientT,
        *,
        timeout: float | Timeout | NotGiven | None,
        max_retries: int | NotGiven,
        retry_policy: RetryPolicy | None,
        app_info: str | NotGiven | None,
    ) -> ClientT:
        derived = object.__new__(type(self))
        derived._use(
            self._state.derive(
                timeout=timeout,
                max_retries=max_retries,
                retry_policy=retry_policy,
                app_info=app_info,
            )
        )
        return derived

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} client_id={self._keys.client_id!r} "
            f"base_url={self._settings.config.base_url!r}>"
        )

    @property
    def api_key_fingerprint(self) -> str | None:
        """The fingerprint of the API key in use (after a rotation, the new one)."""
        return self._keys.fingerprint()


class AttemptTimeouts:
    """``step.timeout.until(step.remaining)`` for a transport that enforces the deadline, with
    the remaining time rounded down to the millisecond (never late) and recent values reused:
    first attempts all have nearly the whole deadline left, so they share one ``Timeout``, and
    the transport can reuse what it built from it."""

    __slots__ = ("_by_millisecond", "_phases")

    def __init__(self) -> None:
        self._phases: Timeout | None = None
        self._by_millisecond: dict[int, Timeout] = {}

    def get(self, step: Send) -> Timeout:
        if step.timeout is not self._phases:
            self._phases = step.timeout
            self._by_millisecond = {}
        milliseconds = int(step.remaining * 1000)
        timeout = self._by_millisecond.get(milliseconds)
        if timeout is None:
            if len(self._by_millisecond) >= 64:
                self._by_millisecond.clear()
            timeout = step.timeout.until(milliseconds / 1000)
            self._by_millisecond[milliseconds] = timeout
        return timeout
