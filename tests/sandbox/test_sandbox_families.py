"""The sandbox's in-process adapters and the pytest fixtures on both httpx families: the same
flows and faults through ``Sandbox.http_client(family=...)`` and the library's clients."""

from __future__ import annotations

import importlib
import importlib.util

import pytest
from sandbox_helpers import NUMBER

import authmatech
from authmatech.errors import APIConnectionError, APITimeoutError, ConfigurationError
from authmatech.sandbox import Sandbox, SandboxAccount
from authmatech.testing import sandbox_async_client, sandbox_client

FAMILIES = ["httpx", "httpx2"] if importlib.util.find_spec("httpx2") is not None else ["httpx"]

pytestmark = pytest.mark.parametrize("family", FAMILIES)


def test_http_client_is_the_familys_own(sb: Sandbox, family: str) -> None:
    x = importlib.import_module(family)
    with sb.http_client(family) as http:
        assert isinstance(http, x.Client)
        assert isinstance(sb.transport(family), x.BaseTransport)
    assert isinstance(sb.async_transport(family), x.AsyncBaseTransport)


def test_sync_client_on_either_family(sb: Sandbox, account: SandboxAccount, family: str) -> None:
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    with sandbox_client(sb, account, family=family) as client:
        assert client._transport.family == family  # type: ignore[attr-defined]
        assert client.verify(NUMBER, proof, operator_id="ZAIN_JO").valid_number is True
        sb.inject_fault(path="/v1/api/me/products", reset="before_response", times=10)
        with pytest.raises(APIConnectionError) as info:
            client.account.products()
        assert info.value.maybe_processed is True


@pytest.mark.anyio
async def test_async_client_on_either_family(
    sb: Sandbox, account: SandboxAccount, family: str
) -> None:
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    client = sandbox_async_client(sb, account, family=family)
    async with client:
        assert client._transport.family == family  # type: ignore[attr-defined]
        result = await client.verify(NUMBER, proof, operator_id="ZAIN_JO")
        assert result.valid_number is True
        sb.inject_fault(path="/v1/api/me/products", reset="mid_body", times=10)
        with pytest.raises(APIConnectionError):
            await client.account.products()
        sb.clear_faults()
        sb.inject_fault(path="/v1/api/me/products", delay=30.0, times=10)
        with pytest.raises(APITimeoutError):
            await client.with_options(timeout=0.05, max_retries=0).account.products()


def test_unknown_family_is_refused(sb: Sandbox, family: str) -> None:
    with pytest.raises(ConfigurationError, match="httpx3"):
        sb.http_client("httpx3")


@pytest.fixture
def authmatech_http_family(family: str) -> str:
    return family


def test_fixtures_follow_authmatech_http_family(
    authmatech_client: authmatech.Client, family: str
) -> None:
    assert authmatech_client._transport.family == family  # type: ignore[attr-defined]
    assert authmatech_client.account.products() is not None
