"""examples/async_worker.py under asyncio and trio, against the sandbox."""

from __future__ import annotations

import io
import sys
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest
from examples_support import load_example

import authmatech
from authmatech.sandbox import Sandbox, SandboxAccount

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

worker = load_example("async_worker")

VERIFY = "/v1/api/verify"


async def _no_sleep(seconds: float) -> None:
    """Backoff is skipped: the sandbox answers at once."""


def sandbox_client(http: httpx.AsyncClient, account: SandboxAccount) -> authmatech.AsyncClient:
    return authmatech.AsyncClient(
        client_id=account.client_id,
        api_key=account.api_key,
        base_url="https://sandbox.authmatech.local",
        http_client=http,
        sleep=_no_sleep,
    )


@pytest.fixture
async def client(
    sandbox: Sandbox, account: SandboxAccount
) -> AsyncIterator[authmatech.AsyncClient]:
    async with (
        httpx.AsyncClient(transport=sandbox.async_transport()) as http,
        sandbox_client(http, account) as client,
    ):
        yield client


class Gauge(httpx.AsyncBaseTransport):
    """The sandbox's transport, counting the most requests in flight at once."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.inner = sandbox.async_transport()
        self.now = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await anyio.sleep(0.001)  # let the other workers start theirs
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1


def expected_status(index: int) -> str:
    """The outcome of item ``index`` of the batch below, barring an injected 500."""
    if index % 10 == 7:
        return "RequestValidationError"  # national format
    if index % 10 == 3 or index < 2:
        return "invalid"  # mistyped, or a proof for another number
    return "valid"


@pytest.mark.anyio
async def test_200_items_concurrency_20(sandbox: Sandbox, account: SandboxAccount) -> None:
    items = worker.sandbox_items(sandbox, 200)  # 20 mistyped, 20 in national format
    # Some wrong proofs too: a proof issued for another number.
    stranger = sandbox.device_proof("+971501234567").encrypted_mobile_number
    items[0] = worker.Item("stranger-0", items[0].mobile_number, stranger)
    items[1] = worker.Item("stranger-1", items[1].mobile_number, stranger)
    # 429s are retried; 500s on a billable verify are not (it may have been processed).
    sandbox.inject_fault(status=429, headers={"Retry-After": "0"}, times=5, path=VERIFY)
    sandbox.inject_fault(status=500, times=3, path=VERIFY)
    before = sandbox.balance(account.client_id)
    gauge = Gauge(sandbox)

    async with (
        httpx.AsyncClient(transport=gauge) as http,
        sandbox_client(http, account) as client,
    ):
        outcomes = await worker.verify_batch(client, items, concurrency=20)

    assert [outcome.item for outcome in outcomes] == items  # none lost, order kept
    counts = worker.summarize(outcomes)
    assert counts["RequestValidationError"] == 20
    assert counts["ServerError"] == 3
    assert counts["valid"] + counts["invalid"] == 177
    assert set(counts) == {"valid", "invalid", "RequestValidationError", "ServerError"}
    # Every other item has its right verdict (which 3 items met the 500s depends on timing).
    for index, outcome in enumerate(outcomes):
        assert outcome.status in (expected_status(index), "ServerError"), outcome
    server_errors = [o.error for o in outcomes if isinstance(o.error, authmatech.ServerError)]
    assert all(error.maybe_processed for error in server_errors)

    verifies = [r for r in sandbox.requests if r.path == VERIFY]
    assert len(verifies) == 180 + 5  # national-format numbers were never sent
    assert sum(r.status == 200 for r in verifies) == 177
    # Injected 429s and 500s stopped in front of the service: only 177 verifies were billed.
    assert sandbox.balance(account.client_id) == before - 177
    assert sum(outcome.maybe_billed for outcome in outcomes) == 177 + 3
    assert 1 < gauge.peak <= 20


@pytest.mark.anyio
async def test_every_item_comes_back_when_all_fail(
    client: authmatech.AsyncClient, sandbox: Sandbox
) -> None:
    items = [worker.Item(f"bad-{n}", f"0{n:09d}", "proof") for n in range(30)]
    outcomes = await worker.verify_batch(client, items, concurrency=4)
    assert [outcome.status for outcome in outcomes] == ["RequestValidationError"] * 30
    assert sandbox.requests == ()


@pytest.mark.anyio
async def test_empty_batch_and_bad_concurrency(client: authmatech.AsyncClient) -> None:
    assert await worker.verify_batch(client, [], concurrency=5) == []
    with pytest.raises(ValueError, match="concurrency"):
        await worker.verify_batch(client, [], concurrency=0)


@pytest.mark.anyio
async def test_a_bug_stops_the_batch(client: authmatech.AsyncClient) -> None:
    def items() -> Iterator[object]:
        yield worker.Item("ok", "+962791234567", "proof")
        raise LookupError("the item source broke")

    # Not an AuthmatechError, so not an item's outcome: the task group stops and raises it.
    with pytest.raises(BaseExceptionGroup) as caught:
        await worker.verify_batch(client, items(), concurrency=3)  # type: ignore[arg-type]
    assert caught.group_contains(LookupError, match="item source broke")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_main_runs_a_sandbox_batch(backend: str) -> None:
    out = io.StringIO()
    status = worker.main(["--sandbox", "40", "--concurrency", "8", "--backend", backend], out)
    assert status == 1  # the national-format numbers failed
    lines = out.getvalue().splitlines()
    assert lines[-2] == "RequestValidationError 4, invalid 4, valid 32"
    assert lines[-1] == "balance left: 9964"


def test_read_items_from_csv() -> None:
    rows = worker.read_items(["# number,proof,operator", "+962791234567,abc,ZAIN_JO", "", "+1,x"])
    assert rows == [
        worker.Item("line-2", "+962791234567", "abc", "ZAIN_JO"),
        worker.Item("line-4", "+1", "x", None),
    ]
    with pytest.raises(ValueError, match="line 1"):
        worker.read_items(["only-one-column"])
