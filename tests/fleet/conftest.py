"""Fixtures for the fleet tests: a real redis-server on loopback (one per session, and a
private one for the tests that kill it), unique client ids, both event loops."""

from __future__ import annotations

import gc
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS.parent / "bench"))
sys.path.insert(0, str(TESTS / "sandbox"))

from redis_server import RedisServer  # noqa: E402
from sandbox_helpers import FakeClock  # noqa: E402

from authmatech.fleet import RedisRateBudget  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_coredis_garbage() -> Iterator[None]:
    """coredis 6.9 leaves the anyio memory streams of closed or dead connections for the
    garbage collector, which warns (reproduced with coredis alone); collect them here, where
    it is known, rather than in whatever test runs next."""
    yield
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unclosed <MemoryObject", ResourceWarning)
        gc.collect()


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """The session's redis-server (never killed: tests that kill one use ``own_redis``)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server for this test alone, which it may kill and restart."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def client_id() -> str:
    """A fresh account per test, so that tests sharing the session's Redis never meet."""
    return f"cid-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def connect() -> Iterator[Callable[[RedisServer], redis.Redis]]:
    """A redis-py client on a server, closed after the test."""
    opened: list[redis.Redis] = []

    def connect(server: RedisServer) -> redis.Redis:
        client = redis.Redis.from_url(server.url, socket_timeout=1.0)
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.close()


@pytest.fixture
def make_budget() -> Iterator[Callable[..., RedisRateBudget]]:
    """``make_budget(server, client_id, **options)``: a RedisRateBudget closed after the test."""
    made: list[RedisRateBudget] = []

    def make(server: RedisServer, client_id: str, **options: Any) -> RedisRateBudget:
        budget = RedisRateBudget(server.url, client_id=client_id, **options)
        made.append(budget)
        return budget

    yield make
    for budget in made:
        budget.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
