"""Cancellation at random points never leaks: 1,000 requests cancelled (seeded random deadlines
with ``anyio.move_on_after``) against a server answering after small seeded random delays, then
100 requests succeed on the same client; no ResourceWarning, unclosed connection, pending task
or exhausted pool (a small pool of 10 makes a leak show at once)."""

from __future__ import annotations

import asyncio
import gc
import random
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from authmatech import AsyncClient, Timeout
from authmatech.transports import AiohttpTransport

from .support import (
    ASYNC_DRIVERS,
    HAVE_HTTPX2,
    NUMBER,
    RawServer,
    backend_of,
    family_module,
    random_delay_handler,
)

CANCELLATIONS = 1_000
WORKERS = 20
POOL = 10
#: Cancellations that must land after the server got the request (how many can, depends on
#: the machine's speed and load: a loaded machine sends few requests within the cancel window).
LATE = 25
SERVER_DELAY = 0.010
#: Generous: nothing here should time out (a leaked pool slot would show as a PoolTimeout).
TIMEOUT = Timeout(connect=5, read=5, write=5, pool=5, total=20)

TALLY = {"cancelled": 0, "completed": 0}


def _pool_state(http: Any) -> tuple[int, int]:
    """(requests waiting or active in httpcore's pool, connections not idle or closed)."""
    pool: Any = http._transport._pool  # type: ignore[attr-defined]
    busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    return len(pool._requests), len(busy)


@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_random_cancellation_leaks_nothing(driver: str) -> None:
    with RawServer(random_delay_handler(seed=7, high=SERVER_DELAY)) as server:
        result = anyio.run(_cancel_many, driver, server, backend=backend_of(driver))
        gc.collect()  # an unclosed connection or session would warn now (warnings are errors)
        seen = server.count
    cancelled, completed = result
    assert cancelled >= CANCELLATIONS
    late = seen - completed - 100  # cancelled after the server got the request (100: the checks)
    assert late >= LATE, f"only {late} cancellations happened after sending"
    TALLY["cancelled"] += cancelled
    TALLY["completed"] += completed


async def _cancel_many(driver: str, server: RawServer) -> tuple[int, int]:
    rng = random.Random(2024)
    http: Any = None
    transport: AiohttpTransport | None = None
    options: dict[str, Any] = {
        "client_id": "cl_cancel",
        "api_key": "ak_cancel_0123456789",
        "base_url": server.url,
        "timeout": TIMEOUT,
    }
    if driver == "aiohttp":
        transport = AiohttpTransport(limit=POOL)
        options["transport"] = transport
    else:
        x = family_module(driver)
        http = x.AsyncClient(limits=x.Limits(max_connections=POOL))
        options["http_client"] = http
    counts = {"cancelled": 0, "completed": 0}
    client = AsyncClient(**options)

    async def one() -> Any:
        if rng.random() < 0.5:
            return await client.verify(NUMBER, "proof")
        return await client.account.products()

    def more() -> bool:
        # Keep going until 1,000 were cancelled, LATE of them after the server got the request
        # (how many land late depends on the machine's speed), within a hard bound.
        late = server.count - counts["completed"]
        total = counts["cancelled"] + counts["completed"]
        wanted = counts["cancelled"] < CANCELLATIONS or late < LATE
        return wanted and total < 5 * CANCELLATIONS

    async def worker() -> None:
        while more():
            with anyio.move_on_after(_cancel_after(rng)) as scope:
                await one()
            counts["cancelled" if scope.cancelled_caught else "completed"] += 1

    try:
        async with anyio.create_task_group() as group:
            for _ in range(WORKERS):
                group.start_soon(worker)
        if http is not None:
            await anyio.lowlevel.checkpoint()
            assert _pool_state(http) == (0, 0), "cancelled requests left the pool busy"
        # the same client still works, every time, with the pool as small as before
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                for _ in range(100):
                    group.start_soon(_succeed, one)
        if http is not None:
            assert _pool_state(http) == (0, 0)
    finally:
        await client.aclose()
        if transport is not None:
            await transport.aclose()
        if http is not None:
            await http.aclose()
    if not driver.startswith("trio"):
        await asyncio.sleep(0)  # noqa: TID251 (asyncio only: let closed transports finish)
        pending = asyncio.all_tasks() - {asyncio.current_task()}
        assert not pending, f"tasks left behind: {pending}"
    return counts["cancelled"], counts["completed"]


def _cancel_after(rng: random.Random) -> float:
    """Early (waiting for the pool or connecting) or late (sending, waiting for the answer,
    reading the body), at random."""
    if rng.random() < 0.3:
        return rng.uniform(0, 0.002)
    return rng.uniform(0.002, 6 * SERVER_DELAY)


async def _succeed(one: Any) -> None:
    result = await one()
    assert result is not None


@pytest.mark.parametrize("family", ["asyncio", *(["asyncio-httpx2"] if HAVE_HTTPX2 else [])])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_request_cancelled_while_queued_frees_its_pool_slot(backend: str, family: str) -> None:
    """Regression (encode/httpcore#1093): with one pool slot, a request cancelled while queued
    was handed a new connection that nobody used and nothing reclaimed: every later request
    then failed with a PoolTimeout. (httpcore2 fixed it; the guarantee holds for both.)"""
    x = family_module(family)

    async def main(server: RawServer) -> None:
        async with x.AsyncClient(limits=x.Limits(max_connections=1)) as http:
            client = AsyncClient(
                client_id="cl_cancel",
                api_key="ak_cancel_0123456789",
                base_url=server.url,
                timeout=Timeout(connect=1, read=1, write=1, pool=1, total=5),
                http_client=http,
                max_retries=0,
            )
            for _ in range(3):
                async with anyio.create_task_group() as group:
                    for _ in range(2):
                        group.start_soon(client.account.products)
                    await anyio.lowlevel.checkpoint()
                    group.cancel_scope.cancel()
            assert _pool_state(http) == (0, 0)
            assert await client.account.products() is not None

    with RawServer(random_delay_handler(seed=1, high=0.01)) as server:
        anyio.run(main, server, backend=backend)
