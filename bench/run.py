"""The authmatech benchmark: the library against raw httpx / aiohttp on a loopback server.

    python bench/run.py [--quick] [--requests N] [--rounds R] [--json PATH] [--png PATH]
    python bench/run.py --profile {sync,async,aiohttp,core}    # cProfile of one library path

A minimal keep-alive HTTP/1.1 server (``bench/server.py``) runs in its own process and answers
every request with the verify envelope, so the client's own cost dominates. Every pair (raw
client, library) is measured back to back, alternating which goes first, over several rounds;
the table shows medians and the median of the per-round library/raw ratios, so machine drift
cancels out. See ``bench/README.md`` for how to read the results.

Tests can call :func:`run` (``run(quick=True)`` takes well under 30 s) and inspect the dict.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import os
import platform
import pstats
import select
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

try:
    import httpx2
except ImportError:  # the httpx2 rows need `pip install "authmatech[httpx2]"`
    httpx2 = None

import authmatech
from authmatech import Credentials, core
from authmatech.transports import AiohttpTransport, AsyncTransport

__all__ = ["run", "main"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVER = HERE / "server.py"
DEFAULT_JSON = HERE / "results" / "latest.json"
DEFAULT_PNG = HERE / "results" / "latest.png"

PHONE = "+962791234567"
PROOF = "bench-proof-3f1c9a7e5b2d4c6a8e0f1a2b3c4d5e6f"
OPERATOR = "ZAIN_JO"
CLIENT_ID = "bench-client-id"
API_KEY = "bench-api-key-0123456789abcdef"
PAYLOAD = {"mobileNumber": PHONE, "encryptedMobileNumber": PROOF, "operatorId": OPERATOR}
RAW_HEADERS = {"X-API-KEY": API_KEY, "X-CLIENT-ID": CLIENT_ID, "Accept": "application/json"}
VERIFY_PATH = "/v1/api/verify"

#: The raw clients get the same pool and timeouts as the library's own transports.
HTTPX_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5)
HTTPX_TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)
AIOHTTP_LIMIT = 100
#: What AiohttpTransport asks of aiohttp for a default client (Timeout(): connect 5, pool 5,
#: read 15, total 60), set once on the raw session: the read timeout costs aiohttp two timer
#: handles per request, and a raw client without one would be measured doing less work.
AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(total=60.0, connect=10.0, sock_connect=5.0, sock_read=15.0)

#: Modules ``import authmatech`` must not import (optional or lazily loaded).
MUST_NOT_IMPORT = ("aiohttp", "trio", "asyncio", "authmatech.sandbox")
IMPORT_BASELINE = ("httpx", "attrs", "cattrs", "anyio")

TARGETS: dict[str, float | None] = {
    "sync": 0.95,
    "async": 0.95,
    "aiohttp_1": None,  # reported only; the target is set at concurrency 50
    "aiohttp_50": 0.85,
}
CORE_TARGET_US = 10.0
IMPORT_TARGET_MS = 25.0
RSS_TARGET_MB = 2.0


@dataclass(frozen=True)
class Settings:
    requests: int
    rounds: int
    import_runs: int
    rss_requests: dict[str, int]
    rss_warmup: int
    core_number: int
    server_seconds: float


def settings_for(
    quick: bool,
    requests: int | None = None,
    rounds: int | None = None,
    rss_requests: int | None = None,
) -> Settings:
    """``--quick``: a smoke test (< 30 s). Full: ~2-3 minutes on 2 idle cores.

    RSS runs 20,000 requests through the aiohttp transport but 5,000 through the default httpx
    one, whose pool manages only ~100-200 req/s at concurrency 50 (20,000 would take minutes);
    ``rss_requests`` sets both.
    """
    if quick:
        rss = {"aiohttp": 2_000, "httpx": 500}
        base = Settings(300, 1, 3, rss, 300, 2_000, 120.0)
    else:
        rss = {"aiohttp": 20_000, "httpx": 5_000}
        # Many short rounds rather than a few long ones: on a shared machine the paired
        # ratio of one round swings by several percent, and the median of 11 holds still.
        base = Settings(1_000, 11, 15, rss, 1_000, 20_000, 600.0)
    return Settings(
        requests=requests or base.requests,
        rounds=rounds or base.rounds,
        import_runs=base.import_runs,
        rss_requests=dict.fromkeys(base.rss_requests, rss_requests)
        if rss_requests
        else base.rss_requests,
        rss_warmup=base.rss_warmup,
        core_number=base.core_number,
        server_seconds=base.server_seconds,
    )


# --- the server process ----------------------------------------------------------------------


@contextlib.contextmanager
def loopback_server(seconds: float) -> Iterator[str]:
    """Start ``bench/server.py`` in its own process; yield its base URL; always stop it.

    The server exits when its stdin closes (here, or when this process dies) and in any case
    after ``seconds``.
    """
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--seconds", str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        ready, _, _ = select.select([process.stdout], [], [], 15.0)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"the benchmark server did not start (said {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        process.stdout.close()


# --- one measurement: build a client, warm it up, time n requests, close it ------------------


def _warmup_count(n: int, concurrency: int) -> int:
    return max(2 * concurrency, min(200, n // 5))


def _fail(what: object) -> None:
    raise RuntimeError(f"unexpected answer from the benchmark server: {what!r}")


#: Wall-clock and CPU seconds (of this process: the client's own cost) of one measurement.
Timing = tuple[float, float]


def _time_sync(one: Callable[[], None], n: int) -> Timing:
    for _ in range(_warmup_count(n, 1)):
        one()
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        one()
    return time.perf_counter() - wall, time.process_time() - cpu


async def _concurrently(one: Callable[[], Awaitable[None]], n: int, concurrency: int) -> None:
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))


async def _time_async(one: Callable[[], Awaitable[None]], n: int, concurrency: int) -> Timing:
    await _concurrently(one, _warmup_count(n, concurrency), concurrency)
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    await _concurrently(one, n, concurrency)
    return time.perf_counter() - wall, time.process_time() - cpu


Measure = Callable[[str, int], Timing]


def _limits(x: Any) -> Any:
    """``HTTPX_LIMITS`` in the family of ``x`` (httpx or httpx2)."""
    return x.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5)


def _timeout(x: Any) -> Any:
    return x.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)


def _check_raw(response: Any) -> None:
    if response.status_code != 200 or response.json()["data"]["validNumber"] is not True:
        _fail(response)


def _raw_sync(x: Any) -> Measure:
    """The raw sync client of the httpx-family module ``x``, with the library's pool and
    timeouts."""

    def measure(base_url: str, n: int) -> Timing:
        url = base_url + VERIFY_PATH
        with x.Client(limits=_limits(x), timeout=_timeout(x)) as client:

            def one() -> None:
                response = client.post(url, json=PAYLOAD, headers=RAW_HEADERS)
                if (
                    response.status_code != 200
                    or response.json()["data"]["validNumber"] is not True
                ):
                    _fail(response)

            return _time_sync(one, n)

    return measure


def _library_sync(family: str) -> Measure:
    def measure(base_url: str, n: int) -> Timing:
        with authmatech.Client(
            client_id=CLIENT_ID, api_key=API_KEY, base_url=base_url, http_family=family
        ) as client:

            def one() -> None:
                result = client.verify(PHONE, PROOF, operator_id=OPERATOR)
                if result.valid_number is not True:
                    _fail(result)

            return _time_sync(one, n)

    return measure


def _raw_async(x: Any) -> Callable[[str, int, int], Coroutine[Any, Any, Timing]]:
    async def measure(base_url: str, n: int, concurrency: int) -> Timing:
        url = base_url + VERIFY_PATH
        async with x.AsyncClient(limits=_limits(x), timeout=_timeout(x)) as client:

            async def one() -> None:
                response = await client.post(url, json=PAYLOAD, headers=RAW_HEADERS)
                if (
                    response.status_code != 200
                    or response.json()["data"]["validNumber"] is not True
                ):
                    _fail(response)

            return await _time_async(one, n, concurrency)

    return measure


def _library_async_client(
    base_url: str, transport: AsyncTransport | None = None, family: str | None = None
) -> authmatech.AsyncClient:
    return authmatech.AsyncClient(
        client_id=CLIENT_ID,
        api_key=API_KEY,
        base_url=base_url,
        transport=transport,
        http_family=family,  # type: ignore[arg-type]
    )


async def _library_async(client: authmatech.AsyncClient, n: int, concurrency: int) -> Timing:
    async def one() -> None:
        result = await client.verify(PHONE, PROOF, operator_id=OPERATOR)
        if result.valid_number is not True:
            _fail(result)

    return await _time_async(one, n, concurrency)


def _library_async_family(family: str) -> Callable[[str, int, int], Coroutine[Any, Any, Timing]]:
    async def measure(base_url: str, n: int, concurrency: int) -> Timing:
        async with _library_async_client(base_url, family=family) as client:
            return await _library_async(client, n, concurrency)

    return measure


async def raw_aiohttp(base_url: str, n: int, concurrency: int) -> Timing:
    url = base_url + VERIFY_PATH
    connector = aiohttp.TCPConnector(limit=AIOHTTP_LIMIT)
    async with aiohttp.ClientSession(connector=connector, timeout=AIOHTTP_TIMEOUT) as session:

        async def one() -> None:
            async with session.post(url, json=PAYLOAD, headers=RAW_HEADERS) as response:
                document = await response.json()
                if response.status != 200 or document["data"]["validNumber"] is not True:
                    _fail(response)

        return await _time_async(one, n, concurrency)


async def library_aiohttp(base_url: str, n: int, concurrency: int) -> Timing:
    async with (
        AiohttpTransport(limit=AIOHTTP_LIMIT) as transport,
        _library_async_client(base_url, transport) as client,
    ):
        return await _library_async(client, n, concurrency)


#: The httpx measures by name (bench/ladder.py uses them as reference rungs).
raw_httpx_sync = _raw_sync(httpx)
library_sync = _library_sync("httpx")
raw_httpx_async = _raw_async(httpx)
library_async = _library_async_family("httpx")


# --- pairs, rounds and medians ---------------------------------------------------------------


def _in_loop(
    measure: Callable[[str, int, int], Coroutine[Any, Any, Timing]], concurrency: int
) -> Measure:
    return lambda base_url, n: asyncio.run(measure(base_url, n, concurrency))


@dataclass(frozen=True)
class Pair:
    key: str
    scenario: str
    raw: Measure
    library: Measure
    target: float | None
    scale: float = 1.0
    """This pair's share of ``--requests``: httpx's pool at concurrency 50 is ~30x slower than
    aiohttp's, so it gets fewer requests and the fast pairs more, to keep rounds balanced."""


def _family_pairs(x: Any, family: str, suffix: str, scale_50: float) -> tuple[Pair, ...]:
    """Client and AsyncClient (at 1 and 50 in flight) against the raw clients of ``x``."""
    return (
        Pair(
            f"sync{suffix}",
            f"Client vs {family}.Client",
            _raw_sync(x),
            _library_sync(family),
            TARGETS["sync"],
        ),
        Pair(
            f"async_1{suffix}",
            f"AsyncClient vs {family}.AsyncClient, c=1",
            _in_loop(_raw_async(x), 1),
            _in_loop(_library_async_family(family), 1),
            TARGETS["async"],
        ),
        Pair(
            f"async_50{suffix}",
            f"AsyncClient vs {family}.AsyncClient, c=50",
            _in_loop(_raw_async(x), 50),
            _in_loop(_library_async_family(family), 50),
            TARGETS["async"],
            scale=scale_50,
        ),
    )


PAIRS = (
    *_family_pairs(httpx, "httpx", "", 0.25),
    Pair(
        "aiohttp_1",
        "AsyncClient+AiohttpTransport vs aiohttp, c=1",
        _in_loop(raw_aiohttp, 1),
        _in_loop(library_aiohttp, 1),
        TARGETS["aiohttp_1"],
        scale=2.0,
    ),
    Pair(
        "aiohttp_50",
        "AsyncClient+AiohttpTransport vs aiohttp, c=50",
        _in_loop(raw_aiohttp, 50),
        _in_loop(library_aiohttp, 50),
        TARGETS["aiohttp_50"],
        scale=2.0,
    ),
    # httpx2's pool keeps its pace at 50 in flight, so that pair needs no smaller share.
    *(_family_pairs(httpx2, "httpx2", "_httpx2", 1.0) if httpx2 is not None else ()),
)


@dataclass
class Row:
    """One line of the table (and of the JSON report)."""

    key: str
    scenario: str
    raw: str
    library: str
    us_raw: float | None
    us_library: float | None
    cpu_us_added: float | None
    measured: str
    target: str
    passed: bool | None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]


def measure_pairs(base_url: str, settings: Settings, log: Callable[[str], None]) -> list[Row]:
    sides = ("raw", "library")
    rates: dict[str, dict[str, list[float]]] = {p.key: {s: [] for s in sides} for p in PAIRS}
    cpus: dict[str, dict[str, list[float]]] = {p.key: {s: [] for s in sides} for p in PAIRS}
    ratios: dict[str, list[float]] = {p.key: [] for p in PAIRS}
    for number in range(settings.rounds):
        for pair in PAIRS:
            n = max(1, round(settings.requests * pair.scale))
            order = sides[::-1] if number % 2 else sides
            this_round: dict[str, float] = {}
            for side in order:
                wall, cpu = (pair.raw if side == "raw" else pair.library)(base_url, n)
                this_round[side] = n / wall
                rates[pair.key][side].append(n / wall)
                cpus[pair.key][side].append(cpu / n * 1e6)
            ratios[pair.key].append(this_round["library"] / this_round["raw"])
            log(
                f"round {number + 1}/{settings.rounds} {pair.scenario}: raw "
                f"{this_round['raw']:,.0f} req/s, library {this_round['library']:,.0f} req/s"
            )
    rows = []
    for pair in PAIRS:
        raw, library = (statistics.median(rates[pair.key][side]) for side in sides)
        cpu_raw, cpu_library = (statistics.median(cpus[pair.key][side]) for side in sides)
        ratio = statistics.median(ratios[pair.key])
        rows.append(
            Row(
                key=pair.key,
                scenario=pair.scenario,
                raw=f"{raw:,.0f} req/s",
                library=f"{library:,.0f} req/s",
                us_raw=1e6 / raw,
                us_library=1e6 / library,
                cpu_us_added=cpu_library - cpu_raw,
                measured=f"{ratio:.3f}x",
                target="-" if pair.target is None else f">= {pair.target:.2f}x",
                passed=None if pair.target is None else ratio >= pair.target,
                values={
                    "raw_req_per_s": raw,
                    "library_req_per_s": library,
                    "ratio": ratio,
                    "target_ratio": pair.target,
                    "raw_cpu_us_per_request": cpu_raw,
                    "library_cpu_us_per_request": cpu_library,
                    "requests": max(1, round(settings.requests * pair.scale)),
                    "rounds": {
                        "raw_req_per_s": rates[pair.key]["raw"],
                        "library_req_per_s": rates[pair.key]["library"],
                        "ratio": ratios[pair.key],
                        "raw_cpu_us": cpus[pair.key]["raw"],
                        "library_cpu_us": cpus[pair.key]["library"],
                    },
                },
            )
        )
    return rows


# --- the sans-IO core ------------------------------------------------------------------------


def _verify_response(base_url: str) -> core.HttpResponse:
    """A real answer of the benchmark server, captured once, to parse again and again."""
    with httpx.Client() as client:
        response = client.post(base_url + VERIFY_PATH, json=PAYLOAD, headers=RAW_HEADERS)
    return core.HttpResponse(response.status_code, dict(response.headers), response.content)


def _per_call_us(operation: Callable[[], object], number: int) -> float:
    """CPU µs per call: the best of 5 repeats (timeit's advice), in process time so that other
    processes competing for the CPU do not count."""
    times = timeit.repeat(operation, number=number, repeat=5, timer=time.process_time)
    return min(times) / number * 1e6


def measure_core(base_url: str, settings: Settings) -> list[Row]:
    response = _verify_response(base_url)
    credentials = Credentials(CLIENT_ID, api_key=API_KEY)
    config = core.ClientConfig(base_url=base_url)
    call = core.verify(PHONE, PROOF, operator_id=OPERATOR)
    request = call.build(credentials, config)
    if call.parse(response).valid_number is not True:
        _fail(response)

    def build_and_parse() -> object:
        call.build(credentials, config)
        return call.parse(response)

    def new_call() -> object:
        return core.verify(PHONE, PROOF, operator_id=OPERATOR)

    def whole() -> object:
        fresh = core.verify(PHONE, PROOF, operator_id=OPERATOR)
        fresh.build(credentials, config)
        return fresh.parse(response)

    number = settings.core_number
    parts = {
        "build_and_parse": _per_call_us(build_and_parse, number),
        "build": _per_call_us(lambda: call.build(credentials, config), number),
        "parse": _per_call_us(lambda: call.parse(response), number),
        "verify_call": _per_call_us(new_call, number),
        "verify_call_build_parse": _per_call_us(whole, number),
    }
    del request
    target = CORE_TARGET_US
    main_row = Row(
        key="core",
        scenario="core: Call.build + Call.parse (verify)",
        raw="-",
        library=f"{parts['build_and_parse']:.2f} µs",
        us_raw=None,
        us_library=parts["build_and_parse"],
        cpu_us_added=None,
        measured=f"{parts['build_and_parse']:.2f} µs",
        target=f"<= {target:g} µs",
        passed=parts["build_and_parse"] <= target,
        values={"us_per_op": parts, "target_us": target},
    )
    detail = (
        f"build {parts['build']:.2f} + parse {parts['parse']:.2f}; "
        f"core.verify() {parts['verify_call']:.2f}"
    )
    info_row = Row(
        key="core_whole",
        scenario="core: verify() + build + parse",
        raw="-",
        library=f"{parts['verify_call_build_parse']:.2f} µs",
        us_raw=None,
        us_library=parts["verify_call_build_parse"],
        cpu_us_added=None,
        measured=detail,
        target="-",
        passed=None,
        values={},
    )
    return [main_row, info_row]


class _Answering:
    """A transport that answers at once with a captured response: the client's own logic,
    with no I/O at all."""

    enforces_deadline = True

    def __init__(self, response: core.HttpResponse) -> None:
        self._response = response

    def send(self, request: core.HttpRequest, timeout: core.Timeout) -> core.HttpResponse:
        return self._response

    def close(self) -> None:
        return None


class _AsyncAnswering(_Answering):
    async def send(self, request: core.HttpRequest, timeout: core.Timeout) -> core.HttpResponse:
        return self._response

    async def aclose(self) -> None:
        return None


def measure_clients_in_memory(base_url: str, settings: Settings) -> list[Row]:
    """``client.verify`` over a transport that answers at once: the clients' whole logic per
    call (validation, core, call flow, driver) without I/O, next to the JSON work alone."""
    response = _verify_response(base_url)
    options = {"client_id": CLIENT_ID, "api_key": API_KEY, "base_url": base_url}
    sync_client = authmatech.Client(**options, transport=_Answering(response))
    async_client = authmatech.AsyncClient(**options, transport=_AsyncAnswering(response))
    number = settings.core_number

    def sync_verify() -> object:
        return sync_client.verify(PHONE, PROOF, operator_id=OPERATOR)

    def async_us() -> float:
        async def batch() -> float:
            best = float("inf")
            for _ in range(5):
                started = time.process_time()
                for _ in range(number):
                    await async_client.verify(PHONE, PROOF, operator_id=OPERATOR)
                best = min(best, time.process_time() - started)
            return best / number * 1e6

        return asyncio.run(batch())

    def json_only() -> object:
        json.dumps(PAYLOAD).encode()
        return json.loads(response.body)

    figures = {
        "sync": _per_call_us(sync_verify, number),
        "async": async_us(),
        "json_only": _per_call_us(json_only, number),
    }
    rows = []
    for key, scenario in (
        ("sync", "Client.verify over an in-memory transport"),
        ("async", "AsyncClient.verify over an in-memory transport"),
    ):
        rows.append(
            Row(
                key=f"in_memory_{key}",
                scenario=scenario,
                raw=f"{figures['json_only']:.2f} µs",
                library=f"{figures[key]:.2f} µs",
                us_raw=figures["json_only"],
                us_library=figures[key],
                cpu_us_added=figures[key] - figures["json_only"],
                measured=f"{figures[key]:.2f} µs",
                target="-",
                passed=None,
                values={"us_per_call": figures[key], "json_dumps_loads_us": figures["json_only"]},
            )
        )
    return rows


BUDGET_TARGET_US = 2.0


def measure_budget(base_url: str, settings: Settings) -> list[Row]:
    """The rate budget's own CPU per call: one ``RateBudget.acquire`` (lock, clock, GCRA), and
    ``Client.verify`` over the in-memory transport with a budget that never makes it wait."""
    number = settings.core_number
    budget = authmatech.RateBudget(limit=10**9, per=1.0)
    acquire_us = _per_call_us(lambda: budget.acquire(60.0), number)
    response = _verify_response(base_url)
    options = {"client_id": CLIENT_ID, "api_key": API_KEY, "base_url": base_url}
    plain = authmatech.Client(**options, transport=_Answering(response))
    paced = authmatech.Client(**options, transport=_Answering(response), rate_budget=budget)
    plain_us = _per_call_us(lambda: plain.verify(PHONE, PROOF, operator_id=OPERATOR), number)
    paced_us = _per_call_us(lambda: paced.verify(PHONE, PROOF, operator_id=OPERATOR), number)
    return [
        Row(
            key="budget",
            scenario="RateBudget.acquire (the budget's own CPU per attempt)",
            raw="-",
            library=f"{acquire_us:.2f} µs",
            us_raw=None,
            us_library=acquire_us,
            cpu_us_added=None,
            measured=f"{acquire_us:.2f} µs",
            target=f"<= {BUDGET_TARGET_US:g} µs",
            passed=acquire_us <= BUDGET_TARGET_US,
            values={"us_per_acquire": acquire_us, "target_us": BUDGET_TARGET_US},
        ),
        Row(
            key="budget_client",
            scenario="Client.verify in memory, without / with rate_budget=",
            raw=f"{plain_us:.2f} µs",
            library=f"{paced_us:.2f} µs",
            us_raw=plain_us,
            us_library=paced_us,
            cpu_us_added=paced_us - plain_us,
            measured=f"+{paced_us - plain_us:.2f} µs",
            target="-",
            passed=None,
            values={"us_without": plain_us, "us_with": paced_us},
        ),
    ]


# --- import time -----------------------------------------------------------------------------

# CPU time (not wall time) of the import alone, so other busy processes don't count.
_IMPORT_PROBE = """\
import time
started = time.process_time()
import {modules}
elapsed = time.process_time() - started
import sys
print(elapsed, *[name for name in {forbidden!r} if name in sys.modules])
"""


def _import_once(modules: tuple[str, ...], env: dict[str, str]) -> tuple[float, list[str]]:
    code = _IMPORT_PROBE.format(modules=", ".join(modules), forbidden=MUST_NOT_IMPORT)
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    return float(output[0]) * 1000, output[1:]


def _bytecode_env(cache: str) -> dict[str, str]:
    """The environment for import probes: bytecode cached (in ``cache``, outside the repo) as
    an installed wheel's would be, even where ``PYTHONDONTWRITEBYTECODE`` is set."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def measure_import(settings: Settings) -> list[Row]:
    library = ("authmatech",)
    baseline_ms: list[float] = []
    library_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="authmatech-bench-pyc-") as cache:
        env = _bytecode_env(cache)
        _import_once(IMPORT_BASELINE, env)  # compile and cache bytecode before timing
        _, leaked = _import_once(library, env)
        for _ in range(settings.import_runs):
            baseline_ms.append(_import_once(IMPORT_BASELINE, env)[0])
            library_ms.append(_import_once(library, env)[0])
    base, lib = statistics.median(baseline_ms), statistics.median(library_ms)
    # Like the pairs' ratios: each library run is compared with the baseline run just before
    # it, and the median of those differences is kept, so that drift between runs cancels out.
    pairs = zip(library_ms, baseline_ms, strict=True)
    overhead = statistics.median(ours - theirs for ours, theirs in pairs)
    target = IMPORT_TARGET_MS
    return [
        Row(
            key="import",
            scenario="import authmatech vs httpx+attrs+cattrs+anyio",
            raw=f"{base:.1f} ms",
            library=f"{lib:.1f} ms",
            us_raw=None,
            us_library=None,
            cpu_us_added=None,
            measured=f"+{overhead:.1f} ms",
            target=f"<= {target:g} ms",
            passed=overhead <= target,
            values={
                "baseline_ms": base,
                "library_ms": lib,
                "overhead_ms": overhead,
                "runs_baseline_ms": baseline_ms,
                "runs_library_ms": library_ms,
                "target_ms": target,
            },
        ),
        Row(
            key="import_lazy",
            scenario="import authmatech skips " + ", ".join(MUST_NOT_IMPORT),
            raw="-",
            library="-",
            us_raw=None,
            us_library=None,
            cpu_us_added=None,
            measured="imports " + ", ".join(leaked) if leaked else "none imported",
            target="none imported",
            passed=not leaked,
            values={"imported": leaked},
        ),
    ]


# --- memory ------------------------------------------------------------------------------------


def _rss_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource  # peak RSS (KiB on Linux): a weaker stand-in where /proc is missing

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def rss_child(base_url: str, transport: str, requests: int, warmup: int) -> dict[str, Any]:
    """In a fresh interpreter: warm an AsyncClient up, then sample RSS over ``requests`` (c=50)."""
    async with contextlib.AsyncExitStack() as stack:
        chosen = None
        if transport == "aiohttp":
            chosen = await stack.enter_async_context(AiohttpTransport(limit=AIOHTTP_LIMIT))
        client = await stack.enter_async_context(_library_async_client(base_url, chosen))

        async def one() -> None:
            result = await client.verify(PHONE, PROOF, operator_id=OPERATOR)
            if result.valid_number is not True:
                _fail(result)

        await _concurrently(one, warmup, 50)
        gc.collect()
        before = _rss_kib()
        samples = []
        done = 0
        while done < requests:
            batch = min(max(requests // 4, 1), requests - done)
            await _concurrently(one, batch, 50)
            done += batch
            gc.collect()
            samples.append((done, _rss_kib()))
    return {"before_kib": before, "samples": samples, "after_kib": samples[-1][1]}


def measure_rss(base_url: str, settings: Settings) -> list[Row]:
    rows = []
    target = RSS_TARGET_MB
    for transport, requests in settings.rss_requests.items():
        argv = [sys.executable, str(Path(__file__).resolve()), "--rss-child", base_url]
        argv += ["--rss-transport", transport, "--requests", str(requests)]
        argv += ["--rss-warmup", str(settings.rss_warmup)]
        done = subprocess.run(
            argv, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
        growth_mb = (report["after_kib"] - report["before_kib"]) / 1024
        trend = " ".join(f"{kib / 1024:.1f}" for _, kib in report["samples"])
        name = "AsyncClient+AiohttpTransport" if transport == "aiohttp" else "AsyncClient (httpx)"
        rows.append(
            Row(
                key=f"rss_{transport}",
                scenario=f"RSS growth, {name} c=50, {requests:,} req",
                raw="-",
                library=f"{report['after_kib'] / 1024:.1f} MB",
                us_raw=None,
                us_library=None,
                cpu_us_added=None,
                measured=f"{growth_mb:+.2f} MB",
                target=f"< {target:g} MB",
                passed=growth_mb < target,
                values={**report, "growth_mb": growth_mb, "trend_mb": trend, "target_mb": target},
            )
        )
    return rows


# --- report ------------------------------------------------------------------------------------

COLUMNS = (
    "scenario",
    "raw",
    "library",
    "µs/req raw",
    "µs/req lib",
    "+CPU µs/req",
    "measured",
    "target",
    "result",
)


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def format_table(rows: list[Row]) -> str:
    cells = [
        (
            r.scenario,
            r.raw,
            r.library,
            _us(r.us_raw),
            _us(r.us_library),
            _us(r.cpu_us_added),
            r.measured,
            r.target,
            r.result,
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [COLUMNS, *cells]) for i in range(len(COLUMNS))]

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        )

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(COLUMNS), rule, *(line(c) for c in cells)])


def draw_png(rows: list[Row], path: Path) -> bool:
    """A bar chart of the library/raw ratios with their targets; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    pairs = [row for row in rows if "ratio" in row.values]
    figure, axes = plt.subplots(figsize=(9, 4.5))
    names = [row.scenario.replace(" vs ", "\nvs ") for row in pairs]
    ratios = [row.values["ratio"] for row in pairs]
    colours = [{True: "tab:green", False: "tab:red", None: "tab:gray"}[row.passed] for row in pairs]
    axes.bar(range(len(pairs)), ratios, color=colours)
    for index, row in enumerate(pairs):
        target = row.values["target_ratio"]
        if target is not None:
            axes.hlines(target, index - 0.4, index + 0.4, colors="black", linestyles="dashed")
        axes.text(index, ratios[index] + 0.01, f"{ratios[index]:.2f}x", ha="center")
    axes.axhline(1.0, color="gray", linewidth=0.8)
    axes.set_xticks(range(len(pairs)), names, fontsize=7)
    axes.set_ylabel("library / raw throughput")
    axes.set_title("authmatech vs raw clients (dashed: target)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def run(
    quick: bool = True,
    *,
    requests: int | None = None,
    rounds: int | None = None,
    rss_requests: int | None = None,
    json_path: str | Path | None = None,
    png_path: str | Path | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run the whole benchmark and return the report (also written to ``json_path`` if given).

    ``report["rows"]`` holds one dict per table line (``key``, ``passed``: True, False or None
    for informational rows, ``values``); ``report["passed"]`` is True when every target is met.
    """

    def log(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr, flush=True)

    settings = settings_for(quick, requests, rounds, rss_requests)
    started = time.perf_counter()
    load_before = os.getloadavg()
    with loopback_server(settings.server_seconds) as base_url:
        log(f"server at {base_url}; {settings}")
        rows = measure_pairs(base_url, settings, log)
        log("core build + parse")
        rows += measure_core(base_url, settings)
        rows += measure_clients_in_memory(base_url, settings)
        rows += measure_budget(base_url, settings)
        log("import time")
        rows += measure_import(settings)
        log("RSS growth")
        rows += measure_rss(base_url, settings)
    report: dict[str, Any] = {
        "meta": {
            "quick": quick,
            "settings": asdict(settings),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "versions": {
                "authmatech": authmatech.__version__,
                "httpx": httpx.__version__,
                "httpx2": httpx2.__version__ if httpx2 is not None else None,
                "aiohttp": aiohttp.__version__,
            },
            "seconds": round(time.perf_counter() - started, 1),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "rows": [{**asdict(row), "result": row.result} for row in rows],
        "passed": all(row.passed is not False for row in rows),
        "table": format_table(rows),
    }
    if json_path is not None:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if png_path is not None:
        report["png"] = str(png_path) if draw_png(rows, Path(png_path)) else None
    return report


# --- profiling -----------------------------------------------------------------------------------


def profile(scenario: str, requests: int, top: int) -> None:
    """cProfile one library path against the loopback server; print the costliest functions."""
    with loopback_server(300.0) as base_url:
        if scenario == "core":
            settings = settings_for(False, None, None)
            response = _verify_response(base_url)
            credentials = Credentials(CLIENT_ID, api_key=API_KEY)
            config = core.ClientConfig(base_url=base_url)
            call = core.verify(PHONE, PROOF, operator_id=OPERATOR)

            def target() -> None:
                for _ in range(settings.core_number):
                    call.build(credentials, config)
                    call.parse(response)

        elif scenario == "sync":

            def target() -> None:
                library_sync(base_url, requests)

        elif scenario == "async":

            def target() -> None:
                asyncio.run(library_async(base_url, requests, 50))

        else:

            def target() -> None:
                asyncio.run(library_aiohttp(base_url, requests, 50))

        profiler = cProfile.Profile()
        profiler.runcall(target)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="authmatech vs raw httpx / aiohttp benchmark")
    parser.add_argument("--quick", action="store_true", help="smoke test: few requests, 1 round")
    parser.add_argument("--requests", type=int, help="requests per measurement")
    parser.add_argument("--rounds", type=int, help="alternating rounds (the median is kept)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--png", type=Path, default=DEFAULT_PNG, help="chart (needs matplotlib)")
    parser.add_argument("--profile", choices=("sync", "async", "aiohttp", "core"))
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    parser.add_argument("--rss-requests", type=int, help="requests per RSS measurement")
    parser.add_argument("--rss-child", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--rss-transport", default="httpx", help=argparse.SUPPRESS)
    parser.add_argument("--rss-warmup", type=int, default=1_000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        requests = args.requests or 20_000
        child = rss_child(args.rss_child, args.rss_transport, requests, args.rss_warmup)
        print(json.dumps(asyncio.run(child)))
        return 0
    if args.profile:
        profile(args.profile, args.requests or 3_000, args.top)
        return 0
    report = run(
        quick=args.quick,
        requests=args.requests,
        rounds=args.rounds,
        rss_requests=args.rss_requests,
        json_path=args.json,
        png_path=args.png,
        verbose=True,
    )
    print(report["table"])
    load, cpus = report["meta"]["load_average_before"][0], report["meta"]["cpus"] or 1
    if load > 0.5 * cpus:
        print(
            f"\nnote: the machine was busy before the run (load {load:.1f} on {cpus} CPUs): "
            "wall-clock figures are unreliable; the ratios (paired per round) and the CPU "
            "columns hold up better"
        )
    print(f"\n{'all targets met' if report['passed'] else 'some targets missed'}; ", end="")
    print(f"{report['meta']['seconds']} s; JSON: {args.json}", end="")
    print(f"; PNG: {report['png']}" if report.get("png") else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
