"""Processes, threads and event loops, against the sandbox served on loopback.

* fork: a client used before ``os.fork()`` never shares a connection with the child (100+
  trials of one verify on each side right after the fork, verdicts never crossed);
* ``multiprocessing`` with the fork start method;
* one ``AsyncClient`` across successive event loops (``asyncio.run()`` per job, asyncio then
  trio), with no warning and no leaked socket;
* one sync ``Client`` across 32 threads while another thread rotates the key.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
import trio

import authmatech
from authmatech import AsyncClient, Client, Timeout
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread
from authmatech.transports import AiohttpTransport

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

MINE = "+962791234567"
THEIRS = "+962791234568"
TIMEOUT = Timeout(connect=10, read=20, write=10, pool=20, total=30)
TRIALS = 120


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, ServerThread]]:
    sandbox = Sandbox(seed=12)
    with ServerThread(sandbox) as server:
        yield sandbox, server


@pytest.fixture
def account(served: tuple[Sandbox, ServerThread]) -> SandboxAccount:
    served[0].reset_requests()
    return served[0].create_account(rate_limit_per_minute=10_000_000, balance=10_000_000)


@pytest.fixture
def proof(served: tuple[Sandbox, ServerThread]) -> str:
    """A proof for MINE: verifying MINE with it is True, THEIRS with it False."""
    return served[0].device_proof(MINE).encrypted_mobile_number


def options(account: SandboxAccount, server: ServerThread, **more: Any) -> dict[str, Any]:
    return {
        "client_id": account.client_id,
        "api_key": account.api_key,
        "client_secret": account.client_secret,
        "base_url": server.url,
        "timeout": TIMEOUT,
        **more,
    }


def fork(child: Callable[[], object]) -> tuple[int, int]:
    """Fork; the child runs ``child`` and writes its outcome to a pipe. Returns (pid, read fd)."""
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+: "this process is multi-threaded"
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's side
        os.close(read)
        try:
            outcome: object = child()
        except BaseException as error:
            outcome = f"{type(error).__name__}: {error}"
        os.write(write, json.dumps(outcome).encode())
        os._exit(0)
    os.close(write)
    return pid, read


def child_outcome(pid: int, read: int) -> object:
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(b"".join(chunks))


def verdict(result: authmatech.VerifyResult) -> bool:
    return bool(result.valid_number)


def verifies(sandbox: Sandbox) -> int:
    return sum(1 for seen in sandbox.requests if seen.path == "/v1/api/verify")


def test_sync_fork_trials_never_cross(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    sandbox, server = served
    crossed, errors = 0, []
    with Client(**options(account, server)) as client:
        derived = client.with_options(max_retries=0)
        assert client.verify(MINE, proof).valid_number  # the pool now holds a connection
        for trial in range(TRIALS):
            user = derived if trial % 2 else client
            pid, read = fork(lambda user=user: verdict(user.verify(THEIRS, proof)))
            try:
                mine: object = verdict(client.verify(MINE, proof))
            except authmatech.AuthmatechError as error:
                mine = repr(error)
            theirs = child_outcome(pid, read)
            if mine is False or theirs is True:
                crossed += 1
            if not isinstance(mine, bool) or not isinstance(theirs, bool):
                errors.append((mine, theirs))
    assert (crossed, errors) == (0, [])
    assert verifies(sandbox) == 1 + 2 * TRIALS


def test_the_parent_keeps_its_pool_after_a_fork(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    with Client(**options(account, served[1])) as client:
        client.verify(MINE, proof)
        transport = client._transport
        pid, read = fork(lambda: client._transport is transport)
        assert child_outcome(pid, read) is True  # untouched until the child's first call
        pid, read = fork(
            lambda: [verdict(client.verify(THEIRS, proof)), client._transport is transport]
        )
        assert child_outcome(pid, read) == [False, False]  # its own pool after its first call
        client.verify(MINE, proof)
        assert client._transport is transport


@pytest.mark.parametrize("backend", ["asyncio", "trio", "aiohttp"])
def test_async_fork_trials_never_cross(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str, backend: str
) -> None:
    sandbox, server = served
    extra: dict[str, Any] = {}
    if backend == "aiohttp":
        extra["transport"] = AiohttpTransport()
    client = AsyncClient(**options(account, server, **extra))
    run_on = "trio" if backend == "trio" else "asyncio"

    async def check(number: str) -> bool:
        return verdict(await client.verify(number, proof))

    assert anyio.run(check, MINE, backend=run_on)
    outcomes = []
    for _ in range(TRIALS // 4):
        pid, read = fork(lambda: anyio.run(check, THEIRS, backend=run_on))
        mine = anyio.run(check, MINE, backend=run_on)
        outcomes.append((mine, child_outcome(pid, read)))
    anyio.run(_close_all, client, backend=run_on)
    assert outcomes == [(True, False)] * (TRIALS // 4)
    assert verifies(sandbox) == 1 + 2 * (TRIALS // 4)


async def _close_all(client: AsyncClient) -> None:
    await client.aclose()
    if not client._state.owns_transport:
        await client._transport.aclose()


def _in_child(queue: Any) -> None:  # pragma: no cover - runs in the child
    client, proof = _SHARED["client"], _SHARED["proof"]
    try:
        queue.put(verdict(client.verify(THEIRS, proof)))
    except BaseException as error:
        queue.put(repr(error))


_SHARED: dict[str, Any] = {}


def test_multiprocessing_with_the_fork_start_method(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    context = multiprocessing.get_context("fork")
    with Client(**options(account, served[1])) as client:
        assert client.verify(MINE, proof).valid_number
        _SHARED.update(client=client, proof=proof)
        try:
            queue = context.Queue()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                workers = [context.Process(target=_in_child, args=(queue,)) for _ in range(4)]
                for worker in workers:
                    worker.start()
            mine = [client.verify(MINE, proof).valid_number for _ in range(4)]
            answers = [queue.get(timeout=60) for _ in workers]
            for worker in workers:
                worker.join(60)
                assert worker.exitcode == 0
            queue.close()
            queue.join_thread()
        finally:
            _SHARED.clear()
    assert mine == [True] * 4
    assert answers == [False] * 4


def test_a_callers_http_client_in_a_child_is_a_clear_error(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    with httpx.Client() as http:
        client = Client(**options(account, served[1], http_client=http))
        client.verify(MINE, proof)
        pid, read = fork(lambda: client.verify(THEIRS, proof))
        outcome = child_outcome(pid, read)
        assert isinstance(outcome, str)
        assert outcome.startswith("ConfigurationError: ")
        assert "create the http_client and the client after the fork" in outcome.lower()
        assert client.verify(MINE, proof).valid_number  # the parent is unaffected


# -- event loops -------------------------------------------------------------------------------


def test_one_async_client_across_asyncio_runs_and_trio(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    client = AsyncClient(**options(account, served[1]))
    derived = client.with_options(max_retries=1)

    async def job() -> bool:
        results = [await client.verify(MINE, proof), await derived.verify(THEIRS, proof)]
        return [r.valid_number for r in results] == [True, False]

    assert asyncio.run(job())
    assert asyncio.run(job())
    assert trio.run(job)
    assert asyncio.run(job())
    asyncio.run(client.aclose())
    gc.collect()  # any socket left unclosed would warn now (warnings are errors here)


def test_a_closed_client_stays_closed_on_a_new_loop(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    async def job() -> None:
        async with AsyncClient(**options(account, served[1])) as client:
            await client.verify(MINE, proof)
        _SHARED["closed"] = client

    asyncio.run(job())
    client = _SHARED.pop("closed")
    with pytest.raises(authmatech.ConfigurationError, match="pool is closed"):
        asyncio.run(client.verify(MINE, proof))


def test_a_callers_http_client_on_an_ended_loop_is_a_clear_error(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    # no keep-alive: the caller's client, never closed by the library, keeps no socket open
    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
    client = AsyncClient(**options(account, served[1], http_client=http))
    asyncio.run(client.verify(MINE, proof))
    with pytest.raises(
        authmatech.ConfigurationError, match=r"Create the httpx\.AsyncClient inside"
    ):
        asyncio.run(client.verify(MINE, proof))


def test_two_live_loops_in_two_threads_get_a_clear_error(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    client = AsyncClient(**options(account, served[1]))
    started, finish = threading.Event(), threading.Event()
    outcome: list[object] = []

    async def first() -> None:
        outcome.append((await client.verify(MINE, proof)).valid_number)
        started.set()
        await anyio.to_thread.run_sync(finish.wait)
        outcome.append((await client.verify(MINE, proof)).valid_number)
        await client.aclose()

    thread = threading.Thread(target=asyncio.run, args=(first(),))
    thread.start()
    assert started.wait(30)
    try:
        with pytest.raises(authmatech.ConfigurationError, match="one AsyncClient per thread"):
            asyncio.run(client.verify(MINE, proof))
    finally:
        finish.set()
        thread.join(30)
    assert outcome == [True, True]  # the first loop never noticed


def test_aiohttp_transport_across_loops_and_closed(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    transport = AiohttpTransport()
    client = AsyncClient(**options(account, served[1], transport=transport))

    async def job() -> bool | None:
        return (await client.verify(MINE, proof)).valid_number

    assert asyncio.run(job())
    assert asyncio.run(job())
    asyncio.run(transport.aclose())
    with pytest.raises(authmatech.ConfigurationError, match="pool is closed"):
        asyncio.run(job())


# -- threads -----------------------------------------------------------------------------------


def test_32_threads_verify_while_another_rotates(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    sandbox, server = served
    rotated: list[Any] = []
    with Client(**options(account, server, max_retries=0)) as client:
        results: list[tuple[str, bool | None]] = []
        lock = threading.Lock()
        go = threading.Barrier(33)

        def verifier(index: int) -> None:
            go.wait()
            for call in range(10):
                number = MINE if (index + call) % 2 else THEIRS
                answer = client.verify(number, proof).valid_number
                with lock:
                    results.append((number, answer))

        def rotator() -> None:
            go.wait()
            rotated.append(client.account.rotate_api_key())

        threads = [threading.Thread(target=verifier, args=(i,)) for i in range(32)]
        threads.append(threading.Thread(target=rotator))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert client.api_key_fingerprint == rotated[0].api_key.fingerprint
    assert len(results) == 320
    assert all(answer is (number == MINE) for number, answer in results)
    answered = [seen.status for seen in sandbox.requests if seen.path == "/v1/api/verify"]
    assert answered.count(200) == 320  # nothing lost, nothing sent twice
    assert set(answered) <= {200, 401}  # a 401 (the old key, mid-rotation) is resent once
