"""RedisRateBudget against a real redis-server: the script's decisions, the server's clock,
the keys, the breaker, restarts and flushes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot
from redis_server import RedisServer
from sandbox_helpers import FakeClock

from authmatech import ConfigurationError
from authmatech.fleet import FleetKeys, RedisRateBudget, hash_tag

#: A window so long that the milliseconds a test takes are nothing against one interval: the
#: script's decisions can then be compared exactly with the model at a fixed ``now``.
SLOW = {"limit": 102, "per": 1_000_000.0, "burst": 5}


Connect = Callable[[RedisServer], redis.Redis]
MakeBudget = Callable[..., RedisRateBudget]


def model_reserve(
    tat: float, now: float, interval: float, tolerance: float, max_wait: float
) -> tuple[float | None, float]:
    """GCRA, as the script should decide: ``(wait or None, new tat)``."""
    start = max(tat, now)
    wait = max(0.0, start - tolerance - now)
    if wait > max_wait:
        return None, tat
    return wait, start + interval


def model_penalize(tat: float, now: float, tolerance: float, pause: float) -> float:
    return max(tat, now + pause + tolerance)


Op = tuple[str, float]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.sampled_from([0.0, 0.5, 1.5, 3.5, 10.5, 1e9])),
        st.tuples(st.just("penalize"), st.sampled_from([0.0, 2.0, 4.5])),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=ops)
def test_the_script_decides_as_the_gcra_model(
    make_budget: MakeBudget, connect: Connect, redis_server: RedisServer, sequence: list[Op]
) -> None:
    import uuid

    budget = make_budget(redis_server, f"model-{uuid.uuid4().hex}", **SLOW)
    interval = budget._core.interval
    tolerance = budget._core.tolerance
    tat, now = float("-inf"), 0.0
    for op, units in sequence:
        if op == "acquire":
            expected, tat = model_reserve(tat, now, interval, tolerance, units * interval)
            got = budget.acquire(units * interval)
            if expected is None:
                assert got is None
            else:
                assert got is not None
                assert got == pytest.approx(expected, abs=5.0)  # seconds, against 9804 s steps
        else:
            tat = model_penalize(tat, now, tolerance, min(units * interval, budget.per))
            budget.penalize(units * interval)


def test_a_burst_then_one_slot_per_interval(
    make_budget: MakeBudget, connect: Connect, redis_server: RedisServer, client_id: str
) -> None:
    budget = make_budget(redis_server, client_id, **SLOW)
    now_slots = [budget.acquire(0.0) for _ in range(8)]
    assert now_slots == [0.0] * 5 + [None] * 3
    assert budget.stats().acquired == 5
    assert budget.stats().denied == 3


def test_decisions_use_the_redis_servers_clock_not_the_callers(
    make_budget: MakeBudget, connect: Connect, redis_server: RedisServer, client_id: str
) -> None:
    """Two "machines" whose clocks are hours apart share one schedule: no overspend."""
    east = make_budget(redis_server, client_id, clock=lambda: 10_000.0, **SLOW)
    west = make_budget(redis_server, client_id, clock=lambda: 99_999_999.0, **SLOW)
    granted = [b.acquire(0.0) for b in (east, west) * 5]
    assert granted.count(0.0) == 5
    seconds, micros = connect(redis_server).time()
    server_now = seconds * 1_000_000 + micros
    tat = int(connect(redis_server).get(east.key) or 0)
    assert abs(tat - (server_now + 5 * east._core.interval * 1e6)) < 5_000_000


def test_keys_share_one_cluster_slot_per_client_id() -> None:
    keys = FleetKeys.of("acme-prod")
    names = [keys.budget, keys.rotation_lock, keys.rotation_fence, keys.key_version]
    assert all("{acme-prod}" in name for name in names)
    assert len({key_slot(name.encode()) for name in names}) == 1
    odd = FleetKeys.of("we{ird}id")
    assert hash_tag("we{ird}id").count("{") == 1
    assert len({key_slot(n.encode()) for n in (odd.budget, odd.key_version)}) == 1
    assert key_slot(keys.budget.encode()) != key_slot(FleetKeys.of("other").budget.encode())


def test_the_script_touches_only_its_key(
    make_budget: MakeBudget, connect: Connect, redis_server: RedisServer
) -> None:
    import uuid

    prefix = f"p{uuid.uuid4().hex[:8]}"
    budget = make_budget(redis_server, "solo", key_prefix=prefix)
    budget.acquire(1.0)
    budget.penalize(None)
    assert connect(redis_server).keys(f"{prefix}:*") == [budget.key.encode()]
    assert 0 < connect(redis_server).pttl(budget.key) <= 62_000


def test_a_429_seen_by_one_worker_pauses_the_others(
    make_budget: MakeBudget, connect: Connect, redis_server: RedisServer, client_id: str
) -> None:
    seen, other = (make_budget(redis_server, client_id, limit=600, per=10.0) for _ in range(2))
    assert other.acquire(0.0) == 0.0
    seen.penalize(3.0)
    wait = other.acquire(10.0)
    assert wait is not None
    assert 2.5 < wait <= 3.0 + 0.2
    assert seen.stats().penalties == 1


def test_script_flush_is_survived(
    make_budget: MakeBudget, connect: Connect, redis_server: RedisServer, client_id: str
) -> None:
    budget = make_budget(redis_server, client_id)
    assert budget.acquire(1.0) == 0.0
    loads = budget.stats().script_loads
    connect(redis_server).script_flush()
    assert budget.acquire(1.0) == 0.0
    assert budget.stats().script_loads == loads + 1
    assert budget.stats().redis_errors == 0


def test_the_circuit_opens_with_one_warning_and_closes_when_redis_answers(
    make_budget: MakeBudget,
    connect: Connect,
    own_redis: RedisServer,
    client_id: str,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = make_budget(
        own_redis, client_id, limit=100, per=10.0, local_share=0.2, clock=clock, redis_timeout=0.2
    )
    assert budget.acquire(1.0) == 0.0
    own_redis.kill()
    with caplog.at_level(logging.DEBUG, logger="authmatech.fleet"):
        answers = [budget.acquire(60.0) for _ in range(10)]
        assert all(a is not None for a in answers)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "local share of 20 requests per 10 s" in warnings[0].getMessage()
        stats = budget.stats()
        assert stats.circuit_opens == 1
        assert stats.redis_errors == 3  # the breaker's threshold; then no more tries
        assert stats.local == 10
        own_redis.start()
        assert budget.acquire(60.0) is not None  # not yet time to probe: still local
        assert budget.stats().local == 11
        clock.advance(1.0)
        assert budget.acquire(60.0) is not None
        assert not budget._core.breaker.is_open
        assert any("answers again" in r.getMessage() for r in caplog.records)
    assert budget.stats().local == 11
    assert budget.stats().script_loads == 2  # the restarted server had forgotten it


def test_the_local_share_paces_while_redis_is_down(
    make_budget: MakeBudget,
    connect: Connect,
    own_redis: RedisServer,
    client_id: str,
    clock: FakeClock,
) -> None:
    budget = make_budget(own_redis, client_id, limit=100, per=10.0, local_share=0.1, clock=clock)
    own_redis.kill()
    answers = [budget.acquire(0.0) for _ in range(30)]
    assert 1 <= answers.count(0.0) < 10
    assert budget.acquire(100.0) is not None


def test_the_handover_keeps_the_slots_already_promised_both_ways(
    make_budget: MakeBudget, own_redis: RedisServer, client_id: str, clock: FakeClock
) -> None:
    """Slots granted ahead of time still go out after a handover: the local share starts after
    the last one Redis granted here, and Redis, when it answers again, after the last one the
    local share granted (else the server's window sees both schedules at once: 429s)."""
    budget = make_budget(
        own_redis, client_id, limit=100, per=10.0, burst=1, local_share=0.5, clock=clock,
        failures_to_open=1, redis_timeout=0.2, probe_every=0.5,
    )  # fmt: skip
    promised = [budget.acquire(60.0) for _ in range(5)]  # one every 103 ms, on Redis's clock
    assert promised[0] == 0.0
    redis_horizon = max(a for a in promised if a is not None)
    assert redis_horizon > 0.3
    own_redis.kill()
    local = [budget.acquire(60.0) for _ in range(4)]
    assert budget._core.breaker.is_open
    assert local[0] == pytest.approx(redis_horizon, abs=1e-6)  # not 0.0: after Redis's slots
    assert budget.stats().local == 4
    own_redis.start()
    clock.advance(0.5)  # the probe is due; local slots are still ahead
    local_horizon = max(a for a in local if a is not None) - 0.5
    assert local_horizon > 0.3
    back = budget.acquire(60.0)
    assert not budget._core.breaker.is_open
    assert back == pytest.approx(local_horizon, abs=0.05)  # Redis's clock ran on meanwhile


def test_the_local_share_waits_for_the_fleets_queue_as_last_seen(
    make_budget: MakeBudget, own_redis: RedisServer, client_id: str, clock: FakeClock
) -> None:
    """Busy processes take turns on the shared queue: this one's last slot may lie well before
    the fleet's. The last wait Redis granted is the queue's length; it goes out from the first
    failure on."""
    budget = make_budget(
        own_redis, client_id, limit=100, per=10.0, burst=1, local_share=0.5, clock=clock,
        failures_to_open=1, redis_timeout=0.2,
    )  # fmt: skip
    promised = [budget.acquire(60.0) for _ in range(5)]
    queue = promised[-1]
    assert queue is not None
    assert queue > 0.3
    clock.advance(queue)  # this process's slots have all come; the fleet's queue has not
    own_redis.kill()
    assert budget.acquire(60.0) == pytest.approx(queue, abs=1e-6)


@pytest.mark.parametrize("policy", ["fail", "wait"])
def test_policies_fail_and_wait(
    make_budget: MakeBudget,
    connect: Connect,
    own_redis: RedisServer,
    client_id: str,
    clock: FakeClock,
    policy: str,
) -> None:
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        clock.advance(seconds)
        if len(naps) == 2:
            own_redis.start()

    budget = make_budget(
        own_redis, client_id, on_redis_down=policy, clock=clock, sleep=nap, failures_to_open=1
    )
    own_redis.kill()
    if policy == "fail":
        assert budget.acquire(30.0) is None
        assert budget.stats().denied == 1
        return
    assert budget.acquire(0.5) is None  # Redis cannot answer within the deadline
    assert budget.acquire(30.0) == 0.0  # waited for the restart, then Redis decided
    assert naps
    assert budget.stats().local == 0


def test_a_restart_mid_run_loses_no_call(
    make_budget: MakeBudget, connect: Connect, own_redis: RedisServer, client_id: str
) -> None:
    budget = make_budget(own_redis, client_id, limit=100_000, per=10.0, probe_every=0.05)
    answers: list[float | None] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                answers.append(budget.acquire(1.0))
            except BaseException as error:
                errors.append(error)
            time.sleep(0.002)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    own_redis.kill()
    time.sleep(0.2)
    own_redis.start()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert answers
    assert all(a is not None for a in answers)
    stats = budget.stats()
    assert stats.redis_errors >= 1
    assert stats.local >= 1
    assert not budget._core.breaker.is_open
    assert stats.script_loads >= 2


def test_bad_configuration_is_refused_with_clear_errors(
    make_budget: MakeBudget, connect: Connect, redis_server: RedisServer
) -> None:
    no_timeout = redis.Redis.from_url(redis_server.url)
    no_timeout.close()
    with pytest.raises(ConfigurationError, match="socket_timeout"):
        RedisRateBudget(no_timeout, client_id="x")
    with pytest.raises(ConfigurationError, match="on_redis_down"):
        RedisRateBudget(redis_server.url, client_id="x", on_redis_down="panic")
    with pytest.raises(ConfigurationError, match="local_share"):
        RedisRateBudget(redis_server.url, client_id="x", local_share=0)
    with pytest.raises(ConfigurationError, match="client_id"):
        RedisRateBudget(redis_server.url, client_id="")
    with pytest.raises(ConfigurationError, match="Redis URL"):
        RedisRateBudget("http://nope", client_id="x")
    with pytest.raises(ConfigurationError, match="AsyncRedisRateBudget"):
        RedisRateBudget(object(), client_id="x")
    with RedisRateBudget(redis_server.url, client_id="x") as budget:
        assert "usable=980" in repr(budget)


def test_import_authmatech_never_imports_the_fleet() -> None:
    import subprocess
    import sys

    code = (
        "import sys, authmatech; "
        "print([m for m in ('authmatech.fleet', 'redis', 'coredis') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
