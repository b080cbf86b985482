"""The httpx transports, sync and async (asyncio and trio), and concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest
from sandbox_helpers import BASE_URL, NUMBER, OTHER_NUMBER, UNAUTHORIZED, auth, sdk_auth

from authmatech.sandbox import Sandbox, SandboxAccount

pytestmark = pytest.mark.anyio


def test_sync_client_flow_with_any_host(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER)
    body = {
        "mobileNumber": NUMBER,
        "encryptedMobileNumber": proof.encrypted_mobile_number,
        "operatorId": proof.operator_id,
    }
    for base_url in (BASE_URL, "http://localhost:8080", "https://anything.invalid"):
        with httpx.Client(transport=sb.transport(), base_url=base_url) as client:
            response = client.post(
                "/v1/api/verify", json=body, headers=auth(account), params={"maskMobile": "true"}
            )
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.headers["x-request-id"].startswith("req_")
            assert response.json()["data"] == {"validNumber": True, "mobileNumber": "***********67"}
            assert client.get("/v1/api/me/products").json() == UNAUTHORIZED


def test_sync_client_sees_raw_header_values(sb: Sandbox, account: SandboxAccount):
    with httpx.Client(transport=sb.transport(), base_url=BASE_URL) as client:
        headers = {"X-CLIENT-ID": account.client_id, "X-API-KEY": account.api_key.reveal() + " "}
        assert client.get("/v1/api/me/products", headers=headers).status_code == 401


async def test_async_client_flow(sb: Sandbox, account: SandboxAccount):
    async with httpx.AsyncClient(transport=sb.async_transport(), base_url=BASE_URL) as client:
        session = await client.post(
            "/v1/api/sdk/session", headers=sdk_auth(account), json={"mnoId": "ZAIN_JO"}
        )
        session_id = session.json()["data"]["sdkSessionId"]
        proof = sb.device_proof(OTHER_NUMBER).encrypted_mobile_number
        response = await client.post(
            "/v1/api/verify",
            headers=auth(account),
            json={
                "mobileNumber": NUMBER,
                "encryptedMobileNumber": proof,
                "sdkSessionId": session_id,
            },
        )
        assert response.json()["data"] == {"validNumber": False}
        rotated = await client.post(
            "/v1/api/me/api-key/rotate",
            headers=auth(account),
            json={"secretKey": account.client_secret.reveal()},
        )
        assert rotated.status_code == 200
        stale = await client.get("/v1/api/me/products", headers=auth(account))
        assert stale.status_code == 401


async def test_async_faults(sb: Sandbox, account: SandboxAccount):
    async with httpx.AsyncClient(
        transport=sb.async_transport(), base_url=BASE_URL, headers=auth(account), timeout=0.05
    ) as client:
        sb.inject_fault(reset="before_response")
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client.get("/v1/api/me/products")
        sb.inject_fault(reset="mid_body")
        with pytest.raises(httpx.ReadError):
            await client.get("/v1/api/me/products")
        sb.inject_fault(delay=10.0)
        with anyio.fail_after(2):
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/v1/api/me/products")
        sb.inject_fault(delay=0.01)
        assert (await client.get("/v1/api/me/products")).status_code == 200
        sb.inject_fault(status=429, headers={"Retry-After": "1"})
        limited = await client.get("/v1/api/me/products")
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    assert [seen.status for seen in sb.requests] == [None, 200, 200, 200, 429]


async def test_async_cancellation_during_a_delay_is_not_swallowed(
    sb: Sandbox, account: SandboxAccount
):
    sb.inject_fault(delay=10.0)
    async with httpx.AsyncClient(transport=sb.async_transport(), base_url=BASE_URL) as client:
        with anyio.move_on_after(0.05) as scope:
            await client.get("/v1/api/me/products", headers=auth(account))
        assert scope.cancelled_caught


async def test_500_concurrent_verifies_are_billed_exactly(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    statuses: list[int] = []

    async def one(client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/api/verify",
            headers=auth(account),
            json={"mobileNumber": NUMBER, "encryptedMobileNumber": proof},
        )
        assert response.json()["data"] == {"validNumber": True}
        statuses.append(response.status_code)

    transport = sb.async_transport()
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
        anyio.create_task_group() as group,
    ):
        for _ in range(500):
            group.start_soon(one, client)
    assert statuses == [200] * 500
    assert sb.balance(account.client_id) == 10_000 - 500
    assert len(sb.requests) == 500
    assert len({seen.request_id for seen in sb.requests}) == 500


async def test_concurrent_calls_never_overdraw(sb: Sandbox):
    account = sb.create_account(balance=100)
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    messages: list[str | None] = []

    async def one(client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/api/verify",
            headers=auth(account),
            json={"mobileNumber": NUMBER, "encryptedMobileNumber": proof},
        )
        messages.append(response.json()["messages"][0]["message"])

    transport = sb.async_transport()
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
        anyio.create_task_group() as group,
    ):
        for _ in range(300):
            group.start_soon(one, client)
    assert messages.count(None) == 100
    assert messages.count("Insufficient balance.") == 200
    assert sb.balance(account.client_id) == 0


def test_threads_share_a_sandbox_exactly(sb: Sandbox, account: SandboxAccount):
    proof = sb.device_proof(NUMBER).encrypted_mobile_number
    barrier = threading.Barrier(8)

    def worker(_: int) -> list[int]:
        barrier.wait()
        with httpx.Client(transport=sb.transport(), base_url=BASE_URL, headers=auth(account)) as c:
            body = {"mobileNumber": NUMBER, "encryptedMobileNumber": proof}
            return [c.post("/v1/api/verify", json=body).status_code for _ in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [status for batch in pool.map(worker, range(8)) for status in batch]
    assert results == [200] * 400
    assert sb.balance(account.client_id) == 10_000 - 400
    assert len(sb.requests) == 400


def test_rotation_races_leave_one_winner(sb: Sandbox, account: SandboxAccount):
    barrier = threading.Barrier(6)

    def rotate(_: int) -> int:
        barrier.wait()
        with httpx.Client(transport=sb.transport(), base_url=BASE_URL, headers=auth(account)) as c:
            body = {"secretKey": account.client_secret.reveal()}
            return c.post("/v1/api/me/api-key/rotate", json=body).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(rotate, range(6)))
    assert statuses == [200, 401, 401, 401, 401, 401]
