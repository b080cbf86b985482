"""Where the library's time goes: the same verify, measured one layer at a time.

``bench/run.py`` compares the library with a raw client; this script explains the difference.
Each rung adds one layer on top of the one before, from the HTTP client alone (bytes in,
bytes out) up to ``client.verify(...)``, against the same loopback server, alternating rungs
within each round. It prints the client's CPU µs per request for each rung and what the rung
added::

    python bench/ladder.py                     # aiohttp at concurrency 50 (the default)
    python bench/ladder.py --stack httpx-sync  # httpx.Client, one request at a time
    python bench/ladder.py --requests 6000 --rounds 7 --concurrency 50

CPU time is the process's own (the server runs in another process), so a busy machine
disturbs it less than wall-clock time; rounds and medians do the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench

from authmatech import Credentials, core
from authmatech.transports import AiohttpTransport, AsyncHttpxTransport, HttpxTransport
from authmatech.transports._aiohttp import _client_timeout


@dataclass(frozen=True)
class Rung:
    name: str
    measure: Callable[[str, int], bench.Timing]
    reference: bool = False
    """A comparison row (the raw client as ``run.py`` measures it), not a layer."""


def _request(base_url: str) -> core.HttpRequest:
    credentials = Credentials(bench.CLIENT_ID, api_key=bench.API_KEY)
    config = core.ClientConfig(base_url=base_url)
    return core.verify(bench.PHONE, bench.PROOF, operator_id=bench.OPERATOR).build(
        credentials, config
    )


def _verify_call() -> core.Call[Any]:
    return core.verify(bench.PHONE, bench.PROOF, operator_id=bench.OPERATOR)


# --- aiohttp ---------------------------------------------------------------------------------


_PHASES = core.Timeout()


def _transport_timeout(remaining: float) -> aiohttp.ClientTimeout:
    """The timeout AiohttpTransport gives aiohttp for one attempt of a default client."""
    return _client_timeout(_PHASES.until(remaining))


def aiohttp_rungs(concurrency: int) -> list[Rung]:
    def session_rung(timeouts: str) -> Callable[[str, int], bench.Timing]:
        """``timeouts``: "session" (run.py's raw client), "request" (as the transport sets
        them, per request) or "defaults" (aiohttp's own: no read timeout)."""

        async def measure(base_url: str, n: int) -> bench.Timing:
            request = _request(base_url)
            connector = aiohttp.TCPConnector(limit=bench.AIOHTTP_LIMIT)
            session_timeout = {"session": {"timeout": bench.AIOHTTP_TIMEOUT}}.get(timeouts, {})
            async with aiohttp.ClientSession(connector=connector, **session_timeout) as session:

                async def one() -> None:
                    extra = {"timeout": _transport_timeout(59.0)} if timeouts == "request" else {}
                    async with session.post(
                        request.url,
                        data=request.reveal_body(),
                        headers=request.reveal_headers(),
                        **extra,
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            bench._fail(response)

                return await bench._time_async(one, n, concurrency)

        return lambda base_url, n: asyncio.run(measure(base_url, n))

    def transport_rung(core_steps: int) -> Callable[[str, int], bench.Timing]:
        """The transport, after ``core_steps`` of the core's three: ``core.verify()`` (a new
        Call), ``Call.build`` (a new request), ``Call.parse`` (the typed result)."""

        async def measure(base_url: str, n: int) -> bench.Timing:
            credentials = Credentials(bench.CLIENT_ID, api_key=bench.API_KEY)
            config = core.ClientConfig(base_url=base_url)
            fixed_call = _verify_call()
            fixed_request = fixed_call.build(credentials, config)
            async with AiohttpTransport(limit=bench.AIOHTTP_LIMIT) as transport:

                async def one() -> None:
                    call = _verify_call() if core_steps >= 1 else fixed_call
                    request = call.build(credentials, config) if core_steps >= 2 else fixed_request
                    response = await transport.send(request, _PHASES.until(59.0))
                    if core_steps >= 3:
                        call.parse(response)
                    elif response.status_code != 200:
                        bench._fail(response)

                return await bench._time_async(one, n, concurrency)

        return lambda base_url, n: asyncio.run(measure(base_url, n))

    return [
        Rung("aiohttp: bytes in, bytes out (run.py's raw timeouts)", session_rung("session")),
        Rung("+ the transport's ClientTimeout, made per request", session_rung("request")),
        Rung("AiohttpTransport.send (+ headers, body cap, HttpResponse)", transport_rung(0)),
        Rung("+ core.verify() (validation, JSON body, a Call)", transport_rung(1)),
        Rung("+ Call.build (headers, scope rules, a request)", transport_rung(2)),
        Rung("+ Call.parse (envelope, typed VerifyResult)", transport_rung(3)),
        Rung(
            "AsyncClient.verify (+ call flow, deadline, driver)",
            bench._in_loop(bench.library_aiohttp, concurrency),
        ),
        Rung(
            "raw aiohttp as run.py measures it (json=, .json())",
            bench._in_loop(bench.raw_aiohttp, concurrency),
            reference=True,
        ),
        Rung(
            "aiohttp bytes in, bytes out, aiohttp's default timeouts",
            session_rung("defaults"),
            reference=True,
        ),
    ]


# --- httpx, sync -----------------------------------------------------------------------------


def httpx_sync_rungs() -> list[Rung]:
    def client_rung(base_url: str, n: int) -> bench.Timing:
        request = _request(base_url)
        with httpx.Client(limits=bench.HTTPX_LIMITS, timeout=bench.HTTPX_TIMEOUT) as client:

            def one() -> None:
                response = client.post(
                    request.url, content=request.reveal_body(), headers=request.reveal_headers()
                )
                if response.status_code != 200:
                    bench._fail(response)

            return bench._time_sync(one, n)

    def transport_rung(with_core: bool) -> Callable[[str, int], bench.Timing]:
        def measure(base_url: str, n: int) -> bench.Timing:
            credentials = Credentials(bench.CLIENT_ID, api_key=bench.API_KEY)
            config = core.ClientConfig(base_url=base_url)
            request = _request(base_url)
            phases = core.Timeout()
            with HttpxTransport() as transport:

                def one() -> None:
                    if with_core:
                        call = _verify_call()
                        call.parse(transport.send(call.build(credentials, config), phases))
                    else:
                        response = transport.send(request, phases)
                        if response.status_code != 200:
                            bench._fail(response)

                return bench._time_sync(one, n)

        return measure

    return [
        Rung("httpx.Client: bytes in, bytes out", client_rung),
        Rung("HttpxTransport.send (+ streaming, body cap, HttpResponse)", transport_rung(False)),
        Rung("+ core.verify() + Call.build + Call.parse", transport_rung(True)),
        Rung("Client.verify (+ call flow, deadline, driver)", bench.library_sync),
        Rung(
            "raw httpx as run.py measures it (json=, .json())", bench.raw_httpx_sync, reference=True
        ),
    ]


def httpx_async_rungs(concurrency: int) -> list[Rung]:
    async def client_measure(base_url: str, n: int) -> bench.Timing:
        request = _request(base_url)
        async with httpx.AsyncClient(
            limits=bench.HTTPX_LIMITS, timeout=bench.HTTPX_TIMEOUT
        ) as client:

            async def one() -> None:
                response = await client.post(
                    request.url, content=request.reveal_body(), headers=request.reveal_headers()
                )
                if response.status_code != 200:
                    bench._fail(response)

            return await bench._time_async(one, n, concurrency)

    def transport_rung(with_core: bool) -> Callable[[str, int], bench.Timing]:
        async def measure(base_url: str, n: int) -> bench.Timing:
            credentials = Credentials(bench.CLIENT_ID, api_key=bench.API_KEY)
            config = core.ClientConfig(base_url=base_url)
            request = _request(base_url)
            async with AsyncHttpxTransport() as transport:

                async def one() -> None:
                    if with_core:
                        call = _verify_call()
                        response = await transport.send(call.build(credentials, config), _PHASES)
                        call.parse(response)
                    else:
                        response = await transport.send(request, _PHASES)
                        if response.status_code != 200:
                            bench._fail(response)

                return await bench._time_async(one, n, concurrency)

        return lambda base_url, n: asyncio.run(measure(base_url, n))

    return [
        Rung(
            "httpx.AsyncClient: bytes in, bytes out", lambda u, n: asyncio.run(client_measure(u, n))
        ),
        Rung(
            "AsyncHttpxTransport.send (+ streaming, body cap, HttpResponse)", transport_rung(False)
        ),
        Rung("+ core.verify() + Call.build + Call.parse", transport_rung(True)),
        Rung(
            "AsyncClient.verify (+ call flow, deadline scope, driver)",
            bench._in_loop(bench.library_async, concurrency),
        ),
        Rung(
            "raw httpx as run.py measures it (json=, .json())",
            bench._in_loop(bench.raw_httpx_async, concurrency),
            reference=True,
        ),
    ]


# --- the ladder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One measured rung: its median CPU µs per request, what it added, its median req/s."""

    name: str
    cpu_us: float
    added_us: float | None
    req_per_s: float
    reference: bool


def climb(rungs: list[Rung], requests: int, rounds: int) -> list[Step]:
    """Measure every rung ``rounds`` times against one server, the order alternating."""
    cpu: dict[str, list[float]] = {rung.name: [] for rung in rungs}
    rates: dict[str, list[float]] = {rung.name: [] for rung in rungs}
    with bench.loopback_server(600.0) as base_url:
        for number in range(rounds):
            for rung in rungs if number % 2 == 0 else rungs[::-1]:
                seconds, cpu_seconds = rung.measure(base_url, requests)
                cpu[rung.name].append(cpu_seconds / requests * 1e6)
                rates[rung.name].append(requests / seconds)
            print(f"round {number + 1}/{rounds} done", file=sys.stderr)
    steps: list[Step] = []
    previous: float | None = None
    floor = statistics.median(cpu[rungs[0].name])
    for rung in rungs:
        us = statistics.median(cpu[rung.name])
        if rung.reference:
            added: float | None = us - floor
        else:
            added = None if previous is None else us - previous
            previous = us
        steps.append(
            Step(rung.name, us, added, statistics.median(rates[rung.name]), rung.reference)
        )
    return steps


def format_steps(steps: list[Step]) -> str:
    width = max(len(step.name) for step in steps)
    lines = [
        f"{'rung':<{width}}  {'CPU µs/req':>10}  {'added':>7}  {'req/s':>8}",
        "-" * (width + 33),
    ]
    for step in steps:
        added = "-" if step.added_us is None else f"{step.added_us:+.1f}"
        if step.reference:
            added += "*"
        lines.append(
            f"{step.name:<{width}}  {step.cpu_us:>10.1f}  {added:>7}  {step.req_per_s:>8,.0f}"
        )
    lines.append("* over the first rung (the HTTP client alone)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stack", choices=("aiohttp", "httpx-sync", "httpx-async"), default="aiohttp"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="the async stacks only")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.stack == "aiohttp":
        rungs = aiohttp_rungs(args.concurrency)
        title = f"aiohttp, concurrency {args.concurrency}"
    elif args.stack == "httpx-async":
        rungs = httpx_async_rungs(args.concurrency)
        title = f"httpx.AsyncClient, concurrency {args.concurrency}"
    else:
        rungs = httpx_sync_rungs()
        title = "httpx.Client, one request at a time"
    table = format_steps(climb(rungs, args.requests, args.rounds))
    print(f"{title}; {args.requests:,} requests per rung, median of {args.rounds} rounds\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
