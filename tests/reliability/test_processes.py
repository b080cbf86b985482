"""Processes, threads and event loops, against the sandbox served on loopback.

* fork: a client used before ``os.fork()`` never shares a connection with the child (100+
  trials of one verify on each side right after the fork, verdicts never crossed), on both
  families and with an explicit transport (``transport=HttpxTransport(...)``, ...) as well;
* ``multiprocessing`` with the fork start method;
* one ``AsyncClient`` across successive event loops (``asyncio.run()`` per job, asyncio then
  trio), with no warning and no leaked socket, on both families and with an explicit
  transport;
* one sync ``Client`` across 32 threads while another thread rotates the key.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import multiprocessing
import os
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import anyio
import pytest
import trio
from forking import child_outcome, fork

import authmatech
from authmatech import AsyncClient, Client, Timeout
from authmatech.sandbox import Sandbox, SandboxAccount, ServerThread
from authmatech.transports import AiohttpTransport, AsyncHttpxTransport, HttpxTransport

from .support import HAVE_HTTPX2

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

MINE = "+962791234567"
THEIRS = "+962791234568"
TIMEOUT = Timeout(connect=10, read=20, write=10, pool=20, total=30)
TRIALS = 120
#: Fork trials for each further family and transport, sync and async (without the reset,
#: about half of the trials cross).
MORE_TRIALS = 30
MORE_ASYNC_TRIALS = 20
FAMILIES = ["httpx", "httpx2"] if HAVE_HTTPX2 else ["httpx"]


@pytest.fixture(scope="module")
def tls() -> ssl.SSLContext:
    """One TLS context for the explicit transports: each client they open (one per process and
    loop) reuses it instead of loading the CA store again (about 0.1 s a time here)."""
    return ssl.create_default_context()


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


def verdict(result: authmatech.VerifyResult) -> bool:
    return bool(result.valid_number)


def verifies(sandbox: Sandbox) -> int:
    return sum(1 for seen in sandbox.requests if seen.path == "/v1/api/verify")


def sync_trials(client: Client, proof: str, trials: int) -> tuple[int, list[Any]]:
    """``trials`` forks, each right after ``client`` (or a client derived from it, in turn)
    pooled a connection: the child verifies THEIRS, the parent MINE. (crossed, errors)."""
    crossed, errors = 0, []
    derived = client.with_options(max_retries=0)
    assert client.verify(MINE, proof).valid_number  # the pool now holds a connection
    for trial in range(trials):
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
    return crossed, errors


def test_sync_fork_trials_never_cross(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    sandbox, server = served
    with Client(**options(account, server)) as client:
        assert sync_trials(client, proof, TRIALS) == (0, [])
    assert verifies(sandbox) == 1 + 2 * TRIALS


SYNC_POOLS = [
    *(["httpx2"] if HAVE_HTTPX2 else []),
    *(f"transport-{family}" for family in FAMILIES),
]


@pytest.mark.parametrize("pool", SYNC_POOLS)
def test_sync_fork_trials_never_cross_on_every_family_and_transport(
    served: tuple[Sandbox, ServerThread],
    account: SandboxAccount,
    proof: str,
    tls: ssl.SSLContext,
    pool: str,
) -> None:
    """``http_family="httpx2"``, and ``transport=HttpxTransport(...)`` of either family: the
    transport itself opens a client of the child's own (its ``after_fork``)."""
    sandbox, server = served
    kind, _, family = pool.rpartition("-")
    extra: dict[str, Any] = {"http_family": family}
    if kind == "transport":
        transport = HttpxTransport(family=family, verify=tls)  # type: ignore[arg-type]
        extra = {"transport": transport}
    with Client(**options(account, server, **extra)) as client:
        assert sync_trials(client, proof, MORE_TRIALS) == (0, [])
    if kind == "transport":
        assert transport._client.is_closed is False  # a caller's transport stays open
        transport.close()
    assert verifies(sandbox) == 1 + 2 * MORE_TRIALS


def test_the_parent_keeps_its_pool_after_a_fork(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    with Client(**options(account, served[1])) as client:
        client.verify(MINE, proof)
        http = client._transport._client  # type: ignore[attr-defined]
        pid, read = fork(lambda: client._transport._client is http)  # type: ignore[attr-defined]
        assert child_outcome(pid, read) is True  # untouched until the child's first call
        pid, read = fork(
            lambda: [
                verdict(client.verify(THEIRS, proof)),
                client._transport._client is http,  # type: ignore[attr-defined]
                http.is_closed,
            ]
        )
        # its own pool after its first call; the parent's left open
        assert child_outcome(pid, read) == [False, False, False]
        client.verify(MINE, proof)
        assert client._transport._client is http  # type: ignore[attr-defined]


ASYNC_POOLS = [
    "asyncio",
    "trio",
    "aiohttp",
    *(["asyncio-httpx2"] if HAVE_HTTPX2 else []),
    *(f"{loop}-transport-{family}" for loop in ("asyncio", "trio") for family in FAMILIES),
]


@pytest.mark.parametrize("backend", ASYNC_POOLS)
def test_async_fork_trials_never_cross(
    served: tuple[Sandbox, ServerThread],
    account: SandboxAccount,
    proof: str,
    tls: ssl.SSLContext,
    backend: str,
) -> None:
    """Each trial runs a new event loop on each side, so the pool is also renewed per loop:
    the library's own (``asyncio``, ``trio``, ``aiohttp``, ``*-httpx2``), or an explicit
    ``transport=AsyncHttpxTransport(...)``'s (``*-transport-*``)."""
    sandbox, server = served
    extra: dict[str, Any] = {}
    if backend == "aiohttp":
        extra["transport"] = AiohttpTransport()
    elif "-transport-" in backend:
        family = backend.rpartition("-")[2]
        extra["transport"] = AsyncHttpxTransport(family=family, verify=tls)  # type: ignore[arg-type]
    elif backend.endswith("-httpx2"):
        extra["http_family"] = "httpx2"
    client = AsyncClient(**options(account, server, **extra))
    run_on = "trio" if backend.startswith("trio") else "asyncio"
    trials = TRIALS // 4 if backend in ("asyncio", "trio", "aiohttp") else MORE_ASYNC_TRIALS

    async def check(number: str) -> bool:
        return verdict(await client.verify(number, proof))

    assert anyio.run(check, MINE, backend=run_on)
    outcomes = []
    for _ in range(trials):
        pid, read = fork(lambda: anyio.run(check, THEIRS, backend=run_on))
        mine = anyio.run(check, MINE, backend=run_on)
        outcomes.append((mine, child_outcome(pid, read)))
    anyio.run(_close_all, client, backend=run_on)
    assert outcomes == [(True, False)] * trials
    assert verifies(sandbox) == 1 + 2 * trials


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


@pytest.mark.parametrize("given", ["http_client", "transport"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_callers_http_client_in_a_child_is_a_clear_error(
    served: tuple[Sandbox, ServerThread],
    account: SandboxAccount,
    proof: str,
    family: str,
    given: str,
) -> None:
    """Given as ``http_client=``, or inside ``transport=HttpxTransport(http_client)``: every
    call in the child refuses, and the parent is unaffected."""
    x = importlib.import_module(family)
    with x.Client() as http:
        extra = (
            {"http_client": http} if given == "http_client" else {"transport": HttpxTransport(http)}
        )
        client = Client(**options(account, served[1], **extra))
        client.verify(MINE, proof)
        pid, read = fork(lambda: [_error_of(client.verify, THEIRS, proof) for _ in range(2)])
        outcome = child_outcome(pid, read)
        assert isinstance(outcome, list)
        assert len(outcome) == 2
        for each in outcome:
            assert each.startswith("ConfigurationError: ")
            assert "create the http_client and the client after the fork" in each.lower()
        assert client.verify(MINE, proof).valid_number  # the parent is unaffected
    assert verifies(served[0]) == 2


def test_a_callers_aiohttp_session_in_a_child_is_a_clear_error(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    async def parent() -> tuple[AsyncClient, aiohttp.ClientSession]:
        session = aiohttp.ClientSession()
        client = AsyncClient(**options(account, served[1], transport=AiohttpTransport(session)))
        assert (await client.verify(MINE, proof)).valid_number
        return client, session

    loop = asyncio.new_event_loop()
    client, session = loop.run_until_complete(parent())
    try:

        async def child() -> list[str]:
            return [await _async_error_of(client.verify, THEIRS, proof) for _ in range(2)]

        pid, read = fork(lambda: asyncio.run(child()))  # a loop of the child's own
        outcome = child_outcome(pid, read)
        assert isinstance(outcome, list)
        assert len(outcome) == 2
        for each in outcome:
            assert each.startswith("ConfigurationError: ")
            assert "create the session, the transport and the client after the fork" in each.lower()
        assert loop.run_until_complete(client.verify(MINE, proof)).valid_number
    finally:
        loop.run_until_complete(session.close())
        loop.close()
    assert verifies(served[0]) == 2


def _error_of(call: Callable[..., Any], *args: Any) -> str:
    try:
        call(*args)
    except authmatech.AuthmatechError as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


async def _async_error_of(call: Callable[..., Any], *args: Any) -> str:
    try:
        await call(*args)
    except authmatech.AuthmatechError as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


# -- event loops -------------------------------------------------------------------------------


LOOP_POOLS = [*FAMILIES, *(f"transport-{family}" for family in FAMILIES)]


@pytest.mark.parametrize("pool", LOOP_POOLS)
def test_one_async_client_across_asyncio_runs_and_trio(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str, pool: str
) -> None:
    """The library's pool (``http_family=``), or an explicit ``AsyncHttpxTransport``, which
    opens a client per loop itself and closes each as its loop ends."""
    kind, _, family = pool.rpartition("-")
    transport = AsyncHttpxTransport(family=family) if kind else None  # type: ignore[arg-type]
    extra = {"transport": transport} if transport else {"http_family": family}
    client = AsyncClient(**options(account, served[1], **extra))
    derived = client.with_options(max_retries=1)

    async def job() -> bool:
        results = [await client.verify(MINE, proof), await derived.verify(THEIRS, proof)]
        return [r.valid_number for r in results] == [True, False]

    assert asyncio.run(job())
    assert asyncio.run(job())
    assert trio.run(job)
    assert asyncio.run(job())
    asyncio.run(client.aclose())
    if transport is not None:
        asyncio.run(transport.aclose())
        with pytest.raises(authmatech.ConfigurationError, match="pool is closed"):
            asyncio.run(job())
    gc.collect()  # any socket left unclosed would warn now (warnings are errors here)


@pytest.mark.parametrize("family", FAMILIES)
def test_one_tls_context_per_process_for_every_loop(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str, family: str
) -> None:
    """Each loop gets a pool of its own, but building a TLS context loads the CA store (tens of
    milliseconds): the pools of one process share one; a forked child builds its own."""
    client = AsyncClient(**options(account, served[1], http_family=family))

    async def job() -> object:
        assert (await client.verify(MINE, proof)).valid_number
        return client._transport._client._transport._pool._ssl_context  # type: ignore[attr-defined]

    first = asyncio.run(job())
    http = client._transport._client  # type: ignore[attr-defined]
    assert anyio.run(job, backend="trio") is first
    assert client._transport._client is not http  # type: ignore[attr-defined]
    pid, read = fork(lambda: asyncio.run(job()) is not first)
    assert child_outcome(pid, read) is True
    assert asyncio.run(job()) is first
    asyncio.run(client.aclose())


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


@pytest.mark.parametrize("given", ["http_client", "transport"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_callers_http_client_on_an_ended_loop_is_a_clear_error(
    served: tuple[Sandbox, ServerThread],
    account: SandboxAccount,
    proof: str,
    family: str,
    given: str,
) -> None:
    x = importlib.import_module(family)
    # no keep-alive: the caller's client, never closed by the library, keeps no socket open
    http = x.AsyncClient(limits=x.Limits(max_keepalive_connections=0))
    extra = (
        {"http_client": http}
        if given == "http_client"
        else {"transport": AsyncHttpxTransport(http)}
    )
    client = AsyncClient(**options(account, served[1], **extra))
    asyncio.run(client.verify(MINE, proof))
    jobs = (
        lambda: asyncio.run(client.verify(MINE, proof)),
        lambda: trio.run(client.verify, MINE, proof),
    )
    for job in jobs:
        with pytest.raises(
            authmatech.ConfigurationError, match=r"Create the httpx\.AsyncClient inside"
        ):
            job()


def test_a_callers_aiohttp_session_on_an_ended_loop_is_a_clear_error(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str
) -> None:
    async def first() -> tuple[AsyncClient, aiohttp.ClientSession]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        client = AsyncClient(**options(account, served[1], transport=AiohttpTransport(session)))
        assert (await client.verify(MINE, proof)).valid_number
        await session.close()  # the caller's to close, as the loop ends
        return client, session

    client, _ = asyncio.run(first())
    with pytest.raises(authmatech.ConfigurationError, match="Create the ClientSession inside"):
        asyncio.run(client.verify(MINE, proof))


LIVE_POOLS = [
    "default",
    *(f"transport-{family}{shared}" for family in FAMILIES for shared in ("", "-shared")),
    "aiohttp",
    "aiohttp-shared",
]


@pytest.mark.parametrize("pool", LIVE_POOLS)
def test_two_live_loops_in_two_threads_get_a_clear_error(
    served: tuple[Sandbox, ServerThread], account: SandboxAccount, proof: str, pool: str
) -> None:
    """The client's own pool, an explicit ``AsyncHttpxTransport`` or an ``AiohttpTransport``,
    used by the same client or (``-shared``) by another client in the second thread: the
    second loop is refused, the first never notices."""
    kind, shared = pool.removesuffix("-shared"), pool.endswith("-shared")
    transport: Any = None
    if kind.startswith("transport-"):
        transport = AsyncHttpxTransport(family=kind.partition("-")[2])  # type: ignore[arg-type]
    elif kind == "aiohttp":
        transport = AiohttpTransport()
    client = AsyncClient(**options(account, served[1], transport=transport))
    second = AsyncClient(**options(account, served[1], transport=transport)) if shared else client
    started, finish = threading.Event(), threading.Event()
    outcome: list[object] = []

    async def first() -> None:
        outcome.append((await client.verify(MINE, proof)).valid_number)
        started.set()
        await anyio.to_thread.run_sync(finish.wait)
        outcome.append((await client.verify(MINE, proof)).valid_number)
        await client.aclose()
        if transport is not None:
            await transport.aclose()

    thread = threading.Thread(target=asyncio.run, args=(first(),))
    thread.start()
    assert started.wait(30)
    try:
        with pytest.raises(authmatech.ConfigurationError, match="AsyncClient per thread"):
            asyncio.run(second.verify(MINE, proof))
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
