"""The Redis budgets inside the clients: two "processes" (two clients, two budget objects) on
one sandbox account never meet a 429; the async client refuses the blocking sync budget."""

from __future__ import annotations

from collections.abc import Callable

import coredis
import pytest
from redis_server import RedisServer

import authmatech
from authmatech.fleet import AsyncRedisRateBudget, RedisRateBudget
from authmatech.sandbox import Sandbox

NUMBER = "+962791234567"
LIMIT = 12
#: A deadline much shorter than the budget's interval (5.5 s): a call either goes now or fails.
SHORT = authmatech.Timeout(connect=0.5, read=0.5, write=0.5, pool=0.5, total=0.5)


def test_two_sync_clients_share_the_account_without_a_429(
    redis_server: RedisServer, make_budget: Callable[..., RedisRateBudget]
) -> None:
    sandbox = Sandbox()
    account = sandbox.create_account(rate_limit_per_minute=LIMIT)
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    clients = [
        authmatech.Client(
            client_id=account.client_id,
            api_key=account.api_key,
            http_client=sandbox.http_client(),
            rate_budget=make_budget(redis_server, account.client_id, limit=LIMIT, per=60.0),
            timeout=SHORT,
            max_retries=0,
        )
        for _ in range(2)
    ]
    ok = 0
    refused: list[authmatech.RateBudgetTimeoutError] = []
    for round_ in range(LIMIT):
        for client in clients:
            try:
                client.verify(NUMBER, proof, operator_id="ZAIN_JO")
                ok += 1
            except authmatech.RateBudgetTimeoutError as error:
                refused.append(error)
            except authmatech.RateLimitError:  # pragma: no cover - the failure this prevents
                pytest.fail(f"a 429 in round {round_}")
    for client in clients:
        client._transport.close()
        client.close()
    assert not any(error.maybe_processed for error in refused)  # refused before sending
    assert ok + len(refused) == 2 * LIMIT
    assert 1 <= ok <= LIMIT


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Unclosed <MemoryObject:ResourceWarning")
async def test_the_async_client_takes_the_async_budget_and_refuses_the_sync_one(
    redis_server: RedisServer, make_budget: Callable[..., RedisRateBudget], client_id: str
) -> None:
    with pytest.raises(authmatech.ConfigurationError, match="async flavour"):
        authmatech.AsyncClient(
            client_id=client_id, api_key="k", rate_budget=make_budget(redis_server, client_id)
        )
    sandbox = Sandbox()
    account = sandbox.create_account(rate_limit_per_minute=LIMIT)
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    async with coredis.Redis.from_url(redis_server.url) as redis:
        budget = AsyncRedisRateBudget(redis, client_id=account.client_id, limit=LIMIT, per=60.0)
        http = sandbox.async_http_client()
        async with authmatech.AsyncClient(
            client_id=account.client_id,
            api_key=account.api_key,
            http_client=http,
            rate_budget=budget,
            timeout=SHORT,
        ) as client:
            assert (await client.verify(NUMBER, proof, operator_id="ZAIN_JO")).valid_number
        await http.aclose()
        assert budget.stats().acquired == 1


def test_a_call_queued_on_the_fleet_budget_sends_the_key_rotated_meanwhile(
    redis_server: RedisServer, make_budget: Callable[..., RedisRateBudget]
) -> None:
    """A worker's call waits for its slot on the shared budget while another worker rotates
    the key: it reads the key when the slot comes, so it sends the new one (no 401)."""
    from key_store import Store
    from sandbox_helpers import FakeClock

    from authmatech.fleet import SyncFleetKeyWatcher

    sandbox = Sandbox()
    account = sandbox.create_account(rate_limit_per_minute=LIMIT)
    proof = sandbox.device_proof(NUMBER).encrypted_mobile_number
    store, clock = Store(account.api_key.reveal()), FakeClock()
    watchers = [
        SyncFleetKeyWatcher(
            redis_server.url, client_id=account.client_id, provider=store.read, clock=clock
        )
        for _ in range(2)
    ]
    rotator, watcher = watchers
    statuses: list[int] = []
    http = sandbox.http_client()
    http.event_hooks["response"].append(lambda response: statuses.append(response.status_code))
    rotation_http = sandbox.http_client()
    rotation_client = authmatech.Client(
        client_id=account.client_id,
        api_key=rotator.api_key,
        client_secret=account.client_secret,
        http_client=rotation_http,
        on_api_key_rotated=rotator.on_api_key_rotated(store.write),
    )
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the budget's wait: another worker rotates meanwhile
        waits.append(seconds)
        rotator.rotate(rotation_client)
        clock.advance(1.0)

    budget = make_budget(redis_server, account.client_id, limit=LIMIT, per=60.0, burst=1)
    client = authmatech.Client(
        client_id=account.client_id,
        api_key=watcher.api_key,
        http_client=http,
        rate_budget=budget,
        sleep=sleep,
        timeout=30.0,
        max_retries=0,
    )
    try:
        assert client.verify(NUMBER, proof, operator_id="ZAIN_JO").valid_number  # slot now
        assert client.verify(NUMBER, proof, operator_id="ZAIN_JO").valid_number  # waited
        assert len(waits) == 1
        assert waits[0] > 1.0
        assert statuses == [200, 200]
        assert watcher.version == rotator.version == 1
    finally:
        for item in (client, rotation_client, http, rotation_http, *watchers):
            item.close()
