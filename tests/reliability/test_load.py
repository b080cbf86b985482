"""Load and rotation under load, through one AsyncClient against the sandbox served on
loopback: nothing lost or duplicated, the balance accounted exactly, and a key rotated while
requests are in flight never yields a torn or mixed credential."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from authmatech import AsyncClient, AuthenticationError, Client, Timeout
from authmatech.core import HttpRequest, HttpResponse
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread
from authmatech.transports import AiohttpTransport

from .support import HAVE_HTTPX2, NUMBER, backend_of

VERIFY_PATH = "/v1/api/verify"
#: Generous: a pool wait under 200 in flight is long on a 2-core machine, never a failure.
TIMEOUT = Timeout(connect=10, read=30, write=10, pool=30, total=120)

TALLY = {"verifies": 0, "seconds": 0.0}

#: (driver, total verifies, in flight)
LOADS = [("aiohttp", 2_000, 200), ("asyncio", 2_000, 20), ("trio", 2_000, 20)]
if HAVE_HTTPX2:
    LOADS += [("asyncio-httpx2", 2_000, 50), ("trio-httpx2", 1_000, 20)]


def _client(driver: str, account: SandboxAccount, url: str, **options: Any) -> AsyncClient:
    if driver == "aiohttp":
        options["transport"] = AiohttpTransport()
    if driver.endswith("-httpx2"):
        options["http_family"] = "httpx2"
    return AsyncClient(
        client_id=account.client_id,
        api_key=account.api_key,
        client_secret=account.client_secret,
        base_url=url,
        timeout=TIMEOUT,
        **options,
    )


async def _close(client: AsyncClient) -> None:
    await client.aclose()
    if not client._state.owns_transport:
        await client._transport.aclose()


async def _in_flight(count: int, limit: int, job: Callable[[int], Awaitable[None]]) -> None:
    """Run ``job(0..count-1)`` with at most ``limit`` running at once."""
    limiter = anyio.CapacityLimiter(limit)

    async def run(index: int) -> None:
        async with limiter:
            await job(index)

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(run, index)


@pytest.mark.parametrize(("driver", "total", "in_flight"), LOADS, ids=[load[0] for load in LOADS])
def test_load_nothing_lost_or_duplicated(
    driver: str,
    total: int,
    in_flight: int,
    served: tuple[Sandbox, ServerThread],
    sandbox_server: ServerThread,
    account: SandboxAccount,
) -> None:
    sandbox = served[0]
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    before = sandbox.balance(account.client_id)
    results: list[bool] = []

    async def main() -> None:
        client = _client(driver, account, sandbox_server.url)
        try:

            async def job(index: int) -> None:
                result = await client.verify(NUMBER, proof, operator_id="ZAIN_JO")
                results.append(result.valid_number)

            await _in_flight(total, in_flight, job)
        finally:
            await _close(client)

    started = time.monotonic()
    anyio.run(main, backend=backend_of(driver))
    elapsed = time.monotonic() - started
    seen = [r for r in sandbox.requests if r.path == VERIFY_PATH]
    assert len(results) == total
    assert all(results)
    assert len(seen) == total, f"the server saw {len(seen)} verifies for {total} calls"
    assert len({r.request_id for r in seen}) == total
    assert all(r.status == 200 for r in seen)
    assert sandbox.balance(account.client_id) == before - total
    TALLY["verifies"] += total
    TALLY["seconds"] += elapsed


ROTATION_IN_FLIGHT = 200
#: Verifies keep coming while the rotation is in flight (pools queue requests first come,
#: first served, so the rotation must not be the last request in the queue).
ROTATION_STREAM = 400


ROTATION_DRIVERS = ["aiohttp", "asyncio", "trio"]
if HAVE_HTTPX2:
    ROTATION_DRIVERS += ["asyncio-httpx2", "trio-httpx2"]


@pytest.mark.parametrize("driver", ROTATION_DRIVERS)
def test_rotation_under_load(
    driver: str,
    served: tuple[Sandbox, ServerThread],
    sandbox_server: ServerThread,
    account: SandboxAccount,
) -> None:
    sandbox = served[0]
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    old = account.api_key.fingerprint
    before = sandbox.balance(account.client_id)
    results: list[bool] = []
    rotated: list[Any] = []

    def verifies() -> list[Any]:
        return [r for r in sandbox.requests if r.path == VERIFY_PATH]

    async def main() -> None:
        client = _client(driver, account, sandbox_server.url)
        try:

            async def job(index: int) -> None:
                result = await client.verify(NUMBER, proof, operator_id="ZAIN_JO")
                results.append(result.valid_number)

            async with anyio.create_task_group() as group:
                group.start_soon(_in_flight, ROTATION_STREAM, ROTATION_IN_FLIGHT, job)
                with anyio.fail_after(30):
                    while len(verifies()) < ROTATION_IN_FLIGHT // 10:  # noqa: ASYNC110
                        await anyio.sleep(0.001)  # (the server runs in another thread)
                assert len(results) < ROTATION_STREAM - ROTATION_IN_FLIGHT
                rotated.append(await client.account.rotate_api_key())
            log = [r.path for r in sandbox.requests]
            rotation = log.index("/v1/api/me/api-key/rotate")
            assert VERIFY_PATH in log[rotation:], "no verify reached the server after the rotation"
            during = verifies()
            new = rotated[0].api_key.fingerprint
            assert client.api_key_fingerprint == new
            assert {r.api_key_fingerprint for r in during} <= {old, new}
            assert all(r.status == 200 for r in during if r.api_key_fingerprint == new)
            assert all(r.status in (200, 401) for r in during if r.api_key_fingerprint == old)
            assert len([r for r in during if r.status == 200]) == ROTATION_STREAM
            assert len([r for r in during if r.api_key_fingerprint == new]) > 0

            sandbox.reset_requests()  # requests started after the swap
            await _in_flight(ROTATION_IN_FLIGHT, ROTATION_IN_FLIGHT, job)
            after = verifies()
            assert len(after) == ROTATION_IN_FLIGHT
            assert all(r.api_key_fingerprint == new and r.status == 200 for r in after)
        finally:
            await _close(client)

    anyio.run(main, backend=backend_of(driver))
    assert len(results) == ROTATION_STREAM + ROTATION_IN_FLIGHT
    assert all(results)
    assert sandbox.balance(account.client_id) == before - ROTATION_STREAM - ROTATION_IN_FLIGHT
    with (
        Client(
            client_id=account.client_id, api_key=account.api_key, base_url=sandbox_server.url
        ) as stale,
        pytest.raises(AuthenticationError),
    ):
        stale.verify(NUMBER, proof)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_401_while_the_rotation_answer_is_on_its_way_is_retried_with_the_new_key(
    backend: str,
) -> None:
    """Regression: the server drops the old key when it processes the rotation, before the
    client hears of the new one; a verify answered 401 in that window used to fail for good
    (its retry was built with the old key still in use). It now waits for the rotation."""
    old, new = "ak_old_0123456789abcdef", "ak_new_0123456789abcdef"
    seen: list[tuple[str, str]] = []

    class Server:
        """A transport playing the server: rotates, then answers 401 to the old key."""

        def __init__(self) -> None:
            self.rotated = anyio.Event()
            self.refused = anyio.Event()

        async def send(self, request: HttpRequest, timeout: Timeout) -> HttpResponse:
            key = request.reveal_headers()["X-API-KEY"]
            seen.append((request.url.rsplit("/", 1)[-1], key))
            if request.url.endswith("/rotate"):
                self.rotated.set()
                await self.refused.wait()  # the answer is still on its way
                return HttpResponse(200, {}, _ok({"newApiKey": new}))
            await self.rotated.wait()
            if key == old:
                self.refused.set()
                return HttpResponse(401, {}, b'{"success": false, "messages": []}')
            return HttpResponse(200, {}, _ok({"validNumber": True}))

        async def aclose(self) -> None:
            pass

    async def main() -> None:
        client = AsyncClient(
            client_id="cl_race",
            api_key=old,
            client_secret="cs_race_0123456789",
            transport=Server(),
            timeout=Timeout.of(5),
        )
        results: list[Any] = []
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: _append(results, client.verify(NUMBER, "proof")))
            await anyio.sleep(0.01)
            await client.account.rotate_api_key()
        assert results[0].valid_number is True

    anyio.run(main, backend=backend)
    assert seen == [("verify", old), ("rotate", old), ("verify", new)]


def _ok(data: Any) -> bytes:
    return json.dumps({"success": True, "messages": [], "data": data}).encode()


async def _append(results: list[Any], awaitable: Awaitable[Any]) -> None:
    results.append(await awaitable)
