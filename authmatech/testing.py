"""Pytest fixtures for testing code that uses Authmatech, against the local sandbox.

Installed with the library and registered through the ``pytest11`` entry point, so they are
available in every test suite without an import::

    def test_login(authmatech_client, authmatech_sandbox):
        proof = authmatech_sandbox.device_proof("+962791234567")
        result = authmatech_client.verify("+962791234567", proof.encrypted_mobile_number)
        assert result.valid_number

    @pytest.mark.anyio            # or @pytest.mark.asyncio (pytest-asyncio, strict or auto)
    async def test_login_async(authmatech_async_client, authmatech_sandbox): ...

Faults for reliability tests: ``authmatech_sandbox.inject_fault(status=500, times=1)``.
Nothing here touches the network: the clients talk to the sandbox through in-memory httpx
transports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .sandbox import Sandbox, SandboxAccount

from ._async_client import AsyncClient
from ._client import Client

__all__ = [
    "SANDBOX_BASE_URL",
    "authmatech_account",
    "authmatech_async_client",
    "authmatech_client",
    "authmatech_http_family",
    "authmatech_sandbox",
    "sandbox_async_client",
    "sandbox_client",
]

#: The base URL sandbox clients use; any host works, nothing leaves the process.
SANDBOX_BASE_URL = "https://sandbox.authmatech.local"


def _no_sleep(seconds: float) -> None:
    """Backoff is skipped in tests: the sandbox answers at once."""


async def _no_async_sleep(seconds: float) -> None:
    """Backoff is skipped in tests: the sandbox answers at once."""


def sandbox_client(
    sandbox: Sandbox, account: SandboxAccount, *, fast: bool = True, family: str = "httpx"
) -> Client:
    """A :class:`~authmatech.Client` wired to ``sandbox`` with ``account``'s credentials,
    through an in-memory client of the httpx ``family`` (``"httpx"`` or ``"httpx2"``)."""
    return Client(
        client_id=account.client_id,
        api_key=account.api_key,
        client_secret=account.client_secret,
        sdk_token=account.sdk_token,
        base_url=SANDBOX_BASE_URL,
        http_client=sandbox.http_client(family),
        sleep=_no_sleep if fast else None,
    )


def sandbox_async_client(
    sandbox: Sandbox, account: SandboxAccount, *, fast: bool = True, family: str = "httpx"
) -> AsyncClient:
    """An :class:`~authmatech.AsyncClient` wired to ``sandbox`` with ``account``'s credentials
    (``family`` as for :func:`sandbox_client`)."""
    return AsyncClient(
        client_id=account.client_id,
        api_key=account.api_key,
        client_secret=account.client_secret,
        sdk_token=account.sdk_token,
        base_url=SANDBOX_BASE_URL,
        http_client=sandbox.async_http_client(family),
        sleep=_no_async_sleep if fast else None,
    )


@pytest.fixture
def authmatech_sandbox() -> Sandbox:
    """A fresh in-memory :class:`~authmatech.sandbox.Sandbox` per test."""
    from .sandbox import Sandbox

    return Sandbox()


@pytest.fixture
def authmatech_http_family() -> str:
    """The httpx family the client fixtures run on: ``"httpx"``. Override this fixture in a
    ``conftest.py`` (or parametrize it) to run them on ``"httpx2"``, or on both."""
    return "httpx"


@pytest.fixture
def authmatech_account(authmatech_sandbox: Sandbox) -> SandboxAccount:
    """An account with every product enabled and a generous balance."""
    return authmatech_sandbox.create_account()


@pytest.fixture
def authmatech_client(
    authmatech_sandbox: Sandbox, authmatech_account: SandboxAccount, authmatech_http_family: str
) -> Iterator[Client]:
    """A sync client for :func:`authmatech_account`, closed after the test."""
    client = sandbox_client(authmatech_sandbox, authmatech_account, family=authmatech_http_family)
    with client:
        yield client


@pytest.fixture
def authmatech_async_client(
    authmatech_sandbox: Sandbox, authmatech_account: SandboxAccount, authmatech_http_family: str
) -> AsyncClient:
    """An async client for :func:`authmatech_account`, for any async test runner.

    A plain (synchronous) fixture on purpose: an ``async def`` fixture belongs to whichever
    plugin claims it, so pytest-asyncio's strict mode refuses it, its auto mode runs it in its
    own event loop, and anyio runs it only for anyio tests. This one works under anyio
    (asyncio and trio), pytest-asyncio (strict and auto) and any other runner alike. The client
    talks to the sandbox in memory and holds no connection, so there is nothing to close.
    """
    return sandbox_async_client(
        authmatech_sandbox, authmatech_account, family=authmatech_http_family
    )
