"""The integration suite runs each test on both httpx families (``httpx``, and ``httpx2`` where
it is installed) and on two wires:

* ``memory``: the library's own pytest fixtures (``authmatech_client``,
  ``authmatech_async_client``), which talk to the sandbox through its in-memory transports of
  the family that ``authmatech_http_family`` (parametrized here) names;
* ``loopback``: the same sandbox served over real sockets on 127.0.0.1 (``ServerThread``), and
  a client with a pool of its own (``http_family=``), so every byte goes through the family's
  connection pool, as in production. (respx would not do: it does not intercept httpx2.)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from authmatech import AsyncClient, Client
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread
from authmatech.testing import sandbox_async_client, sandbox_client

FAMILIES = ["httpx", "httpx2"] if importlib.util.find_spec("httpx2") is not None else ["httpx"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=FAMILIES)
def authmatech_http_family(request: pytest.FixtureRequest) -> str:
    """Both families, for the library's fixtures and for the loopback clients alike."""
    return str(request.param)


@pytest.fixture(params=["memory", "loopback"])
def served_url(request: pytest.FixtureRequest, authmatech_sandbox: Sandbox) -> Iterator[str | None]:
    """None in memory; the URL of ``authmatech_sandbox`` served on loopback otherwise."""
    if request.param == "memory":
        yield None
        return
    with ServerThread(authmatech_sandbox) as server:
        yield server.url


def _no_sleep(seconds: float) -> None:
    """Backoff is skipped: the sandbox answers at once."""


async def _no_async_sleep(seconds: float) -> None:
    """Backoff is skipped: the sandbox answers at once."""


def _credentials(account: SandboxAccount) -> dict[str, Any]:
    return {
        "client_id": account.client_id,
        "api_key": account.api_key,
        "client_secret": account.client_secret,
        "sdk_token": account.sdk_token,
    }


@pytest.fixture
def connect(
    authmatech_sandbox: Sandbox, authmatech_http_family: str, served_url: str | None
) -> Callable[..., Client]:
    """``connect(account, **options)``: a sync client on this test's wire and family (the
    caller closes it); ``options`` override the account's credentials."""

    def make(account: SandboxAccount, **options: Any) -> Client:
        if served_url is None and not options:
            return sandbox_client(authmatech_sandbox, account, family=authmatech_http_family)
        wiring: dict[str, Any] = (
            {
                "base_url": "https://x.test",
                "http_client": authmatech_sandbox.http_client(authmatech_http_family),
            }
            if served_url is None
            else {"base_url": served_url, "http_family": authmatech_http_family}
        )
        made = Client(**{**_credentials(account), **wiring, **options}, sleep=_no_sleep)
        assert made._transport.family == authmatech_http_family  # type: ignore[attr-defined]
        return made

    return make


@pytest.fixture
def aconnect(
    authmatech_sandbox: Sandbox, authmatech_http_family: str, served_url: str | None
) -> Callable[[SandboxAccount], AsyncClient]:
    """``aconnect(account)``: an async client on this test's wire and family; use it as
    ``async with`` (on loopback it owns a pool, closed in the test's own event loop)."""

    def make(account: SandboxAccount) -> AsyncClient:
        if served_url is None:
            return sandbox_async_client(authmatech_sandbox, account, family=authmatech_http_family)
        made = AsyncClient(
            **_credentials(account),
            base_url=served_url,
            http_family=authmatech_http_family,  # type: ignore[arg-type]
            sleep=_no_async_sleep,
        )
        assert made._transport.family == authmatech_http_family  # type: ignore[attr-defined]
        return made

    return make


@pytest.fixture
def client(
    request: pytest.FixtureRequest,
    served_url: str | None,
    connect: Callable[..., Client],
    authmatech_account: SandboxAccount,
) -> Iterator[Client]:
    """The library's ``authmatech_client`` fixture in memory; a loopback client otherwise."""
    if served_url is None:
        fixture: Client = request.getfixturevalue("authmatech_client")
        assert fixture._transport.family == request.getfixturevalue("authmatech_http_family")
        yield fixture
        return
    with connect(authmatech_account) as made:
        yield made


@pytest.fixture
def async_client(
    request: pytest.FixtureRequest,
    served_url: str | None,
    aconnect: Callable[[SandboxAccount], AsyncClient],
    authmatech_account: SandboxAccount,
) -> AsyncClient:
    """The library's ``authmatech_async_client`` fixture in memory; a loopback client
    otherwise. Use it as ``async with``, so that its pool closes in the test's loop."""
    if served_url is None:
        fixture: AsyncClient = request.getfixturevalue("authmatech_async_client")
        assert fixture._transport.family == request.getfixturevalue("authmatech_http_family")
        return fixture
    return aconnect(authmatech_account)
