"""SyncFleetKeyWatcher (redis-py, for Client and threads) on a real redis-server, against the
in-process sandbox; it shares the async watcher's keys and decisions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import coredis
import pytest
from key_store import Store
from redis_server import RedisServer
from sandbox_helpers import FakeClock

import authmatech
from authmatech.fleet import FleetKeyWatcher, RotationInFlightError, SyncFleetKeyWatcher
from authmatech.sandbox import Sandbox

NUMBER = "+962791234567"


class SyncFleet:
    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.sandbox = Sandbox()
        self.account = self.sandbox.create_account()
        self.store = Store(self.account.api_key.reveal())
        self.proof = self.sandbox.device_proof(NUMBER).encrypted_mobile_number
        self.clock = FakeClock()
        self.opened: list[Any] = []

    def watcher(self, **options: Any) -> SyncFleetKeyWatcher:
        options.setdefault("clock", self.clock)
        watcher = SyncFleetKeyWatcher(
            self.server.url, client_id=self.account.client_id, provider=self.store.read, **options
        )
        self.opened.append(watcher)
        return watcher

    def client(self, watcher: SyncFleetKeyWatcher, **options: Any) -> authmatech.Client:
        options.setdefault("on_api_key_rotated", watcher.on_api_key_rotated(self.store.write))
        http = self.sandbox.http_client()
        self.opened.append(http)
        return authmatech.Client(
            client_id=self.account.client_id,
            api_key=watcher.api_key,
            client_secret=self.account.client_secret,
            http_client=http,
            max_retries=0,
            **options,
        )

    def verify(self, client: authmatech.Client) -> bool:
        return bool(client.verify(NUMBER, self.proof, operator_id="ZAIN_JO").valid_number)


@pytest.fixture
def fleet(redis_server: RedisServer) -> Iterator[SyncFleet]:
    fleet = SyncFleet(redis_server)
    yield fleet
    for item in fleet.opened:
        item.close()


def test_the_fleet_follows_one_rotation(fleet: SyncFleet) -> None:
    rotator, other_watch = fleet.watcher(), fleet.watcher(check_every=1.0)
    serving, other = fleet.client(rotator), fleet.client(other_watch)
    assert fleet.verify(serving)
    assert fleet.verify(other)
    rotated = rotator.rotate(fleet.client(rotator))
    assert fleet.sandbox.api_key_fingerprint(fleet.account.client_id) == rotated.api_key.fingerprint
    assert fleet.store.value == rotated.api_key.reveal()  # the store was written first
    assert fleet.verify(serving)  # the rotator's own workers switch at once
    assert rotator.version == 1
    assert fleet.verify(other)  # not yet looked at Redis: its 401 makes it look at once
    assert other_watch.stats().unauthorized == 1
    assert other_watch.version == 1
    assert other_watch.stats().switches == 1
    assert rotator.answered_at is not None
    assert other_watch.switched_at is not None


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Unclosed <MemoryObject:ResourceWarning")
async def test_sync_and_async_workers_follow_each_others_rotations(fleet: SyncFleet) -> None:
    sync_watch = fleet.watcher()
    async with coredis.Redis.from_url(fleet.server.url) as redis:
        async_watch = FleetKeyWatcher(
            redis, client_id=fleet.account.client_id, provider=fleet.store.read, clock=fleet.clock
        )
        await async_watch.api_key()
        rotated = sync_watch.rotate(fleet.client(sync_watch))
        fleet.clock.advance(1.0)
        assert (await async_watch.api_key()).fingerprint == rotated.api_key.fingerprint
        assert async_watch.version == sync_watch.version == 1


def test_a_stale_secret_store_is_read_again_with_backoff(
    fleet: SyncFleet, caplog: pytest.LogCaptureFixture
) -> None:
    naps: list[float] = []
    rotator, reader = fleet.watcher(), fleet.watcher(sleep=naps.append)
    client = fleet.client(reader)
    assert fleet.verify(client)
    old = fleet.store.value
    rotator.rotate(fleet.client(rotator))
    fleet.store.stale = [old, old, old]
    fleet.clock.advance(1.0)
    assert fleet.verify(client)
    assert reader.stats().stale_reads == 3
    assert naps == [0.05, 0.1, 0.2]
    fleet.store.value = old  # a store that never catches up: bounded, one warning
    rotator.rotate(
        fleet.client(rotator, on_api_key_rotated=rotator.on_api_key_rotated(lambda key: None))
    )
    fleet.clock.advance(1.0)
    with caplog.at_level(logging.WARNING, logger="authmatech.fleet"):
        reader.api_key()
    assert "still returns" in caplog.text
    assert reader.version == 1


def test_two_rotators_racing_in_threads_rotate_once(fleet: SyncFleet) -> None:
    first, second = fleet.watcher(), fleet.watcher()
    in_flight, release = threading.Event(), threading.Event()

    def held_store(key: authmatech.Secret) -> None:
        fleet.store.write(key)
        in_flight.set()
        release.wait(10)

    first_client = fleet.client(first, on_api_key_rotated=first.on_api_key_rotated(held_store))
    thread = threading.Thread(target=first.rotate, args=(first_client,))
    thread.start()
    assert in_flight.wait(10)
    with pytest.raises(RotationInFlightError, match="another worker"):
        second.rotate(fleet.client(second))
    release.set()
    thread.join(10)
    current = fleet.sandbox.api_key_fingerprint(fleet.account.client_id)
    assert current == authmatech.Secret(fleet.store.value).fingerprint
    assert (first.version, second.version) == (1, 0)
    second.rotate(fleet.client(second))
    assert second.version > first.version


def test_a_401_rereads_the_provider_once_by_itself(fleet: SyncFleet) -> None:
    watcher = fleet.watcher(check_every=3600.0)
    client = fleet.client(watcher)
    assert fleet.verify(client)
    other = fleet.watcher()
    other.rotate(fleet.client(other))
    import redis

    with redis.Redis.from_url(fleet.server.url) as raw:
        raw.delete(f"authmatech:{{{fleet.account.client_id}}}:key")  # Redis knows nothing
    reads = fleet.store.reads
    assert fleet.verify(client)  # answered 401: the client told the watcher, which re-read
    assert fleet.store.reads == reads + 1
    assert watcher.stats().unauthorized == 1


def test_redis_down_keeps_the_key_in_use(own_redis: RedisServer) -> None:
    fleet = SyncFleet(own_redis)
    try:
        watcher = fleet.watcher(redis_timeout=0.2)
        client = fleet.client(watcher)
        assert fleet.verify(client)
        own_redis.kill()
        fleet.clock.advance(5.0)
        assert fleet.verify(client)
        assert watcher.stats().redis_errors == 1
    finally:
        for item in fleet.opened:
            item.close()


def test_bad_configuration_is_refused_with_clear_errors(redis_server: RedisServer) -> None:
    import redis

    async def read() -> str:
        return "k"

    with pytest.raises(authmatech.ConfigurationError, match="async function"):
        SyncFleetKeyWatcher(redis_server.url, client_id="x", provider=read)  # type: ignore[arg-type]
    no_timeout = redis.Redis.from_url(redis_server.url)
    with pytest.raises(authmatech.ConfigurationError, match="socket_timeout"):
        SyncFleetKeyWatcher(no_timeout, client_id="x", provider=lambda: "k")
    no_timeout.close()
    with pytest.raises(authmatech.ConfigurationError, match="FleetKeyWatcher"):
        SyncFleetKeyWatcher(object(), client_id="x", provider=lambda: "k")
    with pytest.raises(authmatech.ConfigurationError, match="check_every"):
        SyncFleetKeyWatcher(redis_server.url, client_id="x", provider=lambda: "k", check_every=0)
