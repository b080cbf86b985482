"""Fleet key rotation on a real redis-server, against the in-process sandbox."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import coredis
import pytest
from key_store import Store
from redis_server import RedisServer
from sandbox_helpers import FakeClock

import authmatech
from authmatech.fleet import FleetKeyWatcher, RotationInFlightError
from authmatech.sandbox import Sandbox, SandboxAccount

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Unclosed <MemoryObject:ResourceWarning"),
]

NUMBER = "+962791234567"


class Fleet:
    """Workers of one account: each a watcher and a client; one sandbox, one Redis."""

    def __init__(self, sandbox: Sandbox, account: SandboxAccount, redis: Any) -> None:
        self.sandbox, self.account, self.redis = sandbox, account, redis
        self.store = Store(account.api_key.reveal())
        self.proof = sandbox.device_proof(NUMBER)
        self.clock = FakeClock()
        self._clients: list[authmatech.AsyncClient] = []

    def watcher(self, **options: Any) -> FleetKeyWatcher:
        options.setdefault("clock", self.clock)
        return FleetKeyWatcher(
            self.redis, client_id=self.account.client_id, provider=self.store.read, **options
        )

    def client(self, watcher: FleetKeyWatcher, **options: Any) -> authmatech.AsyncClient:
        client = authmatech.AsyncClient(
            client_id=self.account.client_id,
            api_key=watcher.api_key,
            client_secret=self.account.client_secret,
            http_client=self.sandbox.async_http_client(),
            on_api_key_rotated=watcher.on_api_key_rotated(self.store.write),
            max_retries=0,
            **options,
        )
        self._clients.append(client)
        return client

    async def verify(self, client: authmatech.AsyncClient) -> bool:
        result = await client.verify(
            NUMBER, self.proof.encrypted_mobile_number, operator_id="ZAIN_JO"
        )
        return bool(result.valid_number)

    async def close(self) -> None:
        for client in self._clients:
            await client._transport.aclose()  # the sandbox's httpx clients are ours to close
            await client.aclose()


@asynccontextmanager
async def fleet_on(server: RedisServer) -> AsyncIterator[Fleet]:
    sandbox = Sandbox()
    account = sandbox.create_account()
    async with coredis.Redis.from_url(server.url) as redis:
        fleet = Fleet(sandbox, account, redis)
        try:
            yield fleet
        finally:
            await fleet.close()


async def test_the_fleet_follows_one_rotation(redis_server: RedisServer) -> None:
    async with fleet_on(redis_server) as fleet:
        rotator_watch, other_watch = fleet.watcher(), fleet.watcher(check_every=1.0)
        serving, other = fleet.client(rotator_watch), fleet.client(other_watch)
        rotation_client = fleet.client(rotator_watch)
        assert await fleet.verify(serving)
        assert await fleet.verify(other)
        old = fleet.account.api_key.fingerprint
        rotated = await rotator_watch.rotate(rotation_client)
        new = rotated.api_key.fingerprint
        assert fleet.sandbox.api_key_fingerprint(fleet.account.client_id) == new != old
        assert fleet.store.value == rotated.api_key.reveal()  # the store was written first
        assert await fleet.verify(serving)  # the rotator's own workers switch at once
        assert rotator_watch.version == 1
        # The other worker looks at Redis only every second; its old key's 401 makes it look
        # at once, and the call is sent again with the new key.
        assert await fleet.verify(other)
        assert other_watch.stats().unauthorized == 1
        assert other_watch.version == 1
        assert other_watch.stats().switches == 1


async def test_the_key_itself_never_reaches_redis(redis_server: RedisServer) -> None:
    async with fleet_on(redis_server) as fleet:
        watcher = fleet.watcher()
        rotated = await watcher.rotate(fleet.client(watcher))
        raw = rotated.api_key.reveal().encode()
        for key in await fleet.redis.keys(f"*{fleet.account.client_id}*"):
            dump = await fleet.redis.dump(key)
            assert raw not in (dump or b"")
        published = await fleet.redis.hgetall(f"authmatech:{{{fleet.account.client_id}}}:key")
        assert published == {b"version": b"1", b"fingerprint": rotated.api_key.fingerprint.encode()}


async def test_a_stale_secret_store_is_read_again_with_backoff(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with fleet_on(redis_server) as fleet:
        rotator, reader = fleet.watcher(), fleet.watcher(stale_backoff=0.001)
        client = fleet.client(reader)
        assert await fleet.verify(client)
        old = fleet.store.value
        await rotator.rotate(fleet.client(rotator))
        fleet.store.stale = [old, old, old]  # a cache that lags three reads behind
        fleet.clock.advance(1.0)
        assert await fleet.verify(client)
        assert reader.stats().stale_reads == 3
        assert reader.version == 1
        # A cache that never catches up: bounded retries, one warning, the old key kept.
        await rotator.rotate(fleet.client(rotator))
        current = fleet.store.value
        fleet.store.value = old
        fleet.clock.advance(1.0)
        with caplog.at_level(logging.WARNING, logger="authmatech.fleet"):
            await reader.api_key()
        assert "still returns" in caplog.text
        assert reader.version == 1
        fleet.store.value = current


async def test_two_rotators_racing_rotate_once(redis_server: RedisServer) -> None:
    async with fleet_on(redis_server) as fleet:
        first, second = fleet.watcher(), fleet.watcher()
        in_flight, release = anyio.Event(), anyio.Event()

        async def held_store(key: authmatech.Secret) -> None:
            fleet.store.write(key)
            in_flight.set()
            await release.wait()  # the first rotation is still in flight

        first_client = authmatech.AsyncClient(
            client_id=fleet.account.client_id,
            api_key=first.api_key,
            client_secret=fleet.account.client_secret,
            http_client=fleet.sandbox.async_http_client(),
            on_api_key_rotated=first.on_api_key_rotated(held_store),
        )
        fleet._clients.append(first_client)
        async with anyio.create_task_group() as group:
            group.start_soon(first.rotate, first_client)
            await in_flight.wait()
            with pytest.raises(RotationInFlightError, match="another worker"):
                await second.rotate(fleet.client(second))
            release.set()
        current = fleet.sandbox.api_key_fingerprint(fleet.account.client_id)
        assert current == authmatech.Secret(fleet.store.value).fingerprint
        assert (first.version, second.version) == (1, 0)
        # Once the first is done, the lock is free again.
        await second.rotate(fleet.client(second))
        assert second.version > first.version  # tokens: the refused attempt took one too


async def test_a_rotator_whose_lock_expired_cannot_publish_an_older_version(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with fleet_on(redis_server) as fleet:
        slow = fleet.watcher(lock_ttl=0.05)
        fast = fleet.watcher()
        release, stored = anyio.Event(), anyio.Event()

        async def slow_store(key: authmatech.Secret) -> None:
            fleet.store.write(key)
            stored.set()
            await release.wait()  # the rotator stalls past its lock's TTL before publishing

        slow_client = authmatech.AsyncClient(
            client_id=fleet.account.client_id,
            api_key=slow.api_key,
            client_secret=fleet.account.client_secret,
            http_client=fleet.sandbox.async_http_client(),
            on_api_key_rotated=slow.on_api_key_rotated(slow_store),
        )
        fleet._clients.append(slow_client)
        with caplog.at_level(logging.ERROR, logger="authmatech.fleet"):
            async with anyio.create_task_group() as group:
                group.start_soon(slow.rotate, slow_client)
                await stored.wait()
                await anyio.sleep(0.1)  # the slow rotator's lock expires
                newer = await fast.rotate(fleet.client(fast))
                release.set()
        assert "not published" in caplog.text
        published = await fleet.redis.hgetall(f"authmatech:{{{fleet.account.client_id}}}:key")
        assert published[b"fingerprint"] == newer.api_key.fingerprint.encode()
        assert published[b"version"] == b"2"
        assert fleet.sandbox.api_key_fingerprint(fleet.account.client_id) == (
            newer.api_key.fingerprint
        )


async def test_a_401_rereads_the_provider_once_by_itself(redis_server: RedisServer) -> None:
    async with fleet_on(redis_server) as fleet:
        watcher = fleet.watcher(check_every=3600.0)
        client = fleet.client(watcher)
        assert await fleet.verify(client)
        # The key changed behind the fleet's back (rotated from a dashboard): Redis knows nothing.
        other = fleet.watcher()
        await other.rotate(fleet.client(other))
        await fleet.redis.delete([f"authmatech:{{{fleet.account.client_id}}}:key"])
        reads = fleet.store.reads
        assert await fleet.verify(client)  # answered 401: the client told the watcher
        assert fleet.store.reads == reads + 1
        assert watcher.stats().unauthorized == 1


async def test_redis_down_keeps_the_key_in_use(own_redis: RedisServer) -> None:
    async with fleet_on(own_redis) as fleet:
        watcher = fleet.watcher(redis_timeout=0.2)
        client = fleet.client(watcher)
        assert await fleet.verify(client)
        own_redis.kill()
        fleet.clock.advance(5.0)
        assert await fleet.verify(client)
        assert watcher.stats().redis_errors == 1
