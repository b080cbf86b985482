"""The fleet bench: K processes share one account, with and without the Redis budget.

Starts a real ``redis-server`` and ``python -m authmatech sandbox serve`` with a short window
(600 requests per 10 s by default) on loopback, then runs each scenario for ``--windows``
windows with ``--processes`` OS processes (async workers, ``--in-flight`` calls in flight in
all, each call a verify):

* ``none``: no budget; each client backs off on its own (its default retries, ``Retry-After``);
* ``shared``: one :class:`authmatech.fleet.AsyncRedisRateBudget` for the fleet;
* ``outage``: the same, with ``redis-server`` killed for the second window and restarted;
* ``rotation``: the same, with one fleet key rotation in the middle of the run.

For each it reports the attempts sent, the 429s, the requests accepted in each window and the
share of the limit they used, and the most accepted in any sliding window (the server's view)::

    python bench/fleet.py                         # about 2 minutes on 2 cores
    python bench/fleet.py --processes 2 --in-flight 8 --limit 40 --window 1 --windows 2
    nox -s fleet
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from redis_server import RedisServer

SCENARIOS = ("none", "shared", "outage", "rotation")
NUMBER = "+962791234567"


# ---------------------------------------------------------------------------- the sandbox


class SandboxProcess:
    """``python -m authmatech sandbox serve`` on a free port, its credentials read from the
    banner it prints."""

    def __init__(self, limit: int, window: float) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "authmatech", "sandbox", "serve", "--port", "0",
                "--rate-limit", str(limit), "--rate-window", str(window),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        banner: list[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            banner.append(line)
            if "encryptedMobileNumber" in line:
                break
        text = "".join(banner)

        def grab(pattern: str) -> str:
            found = re.search(pattern, text)
            if not found:
                self.stop()
                raise RuntimeError(f"sandbox serve printed no {pattern!r}:\n{text}")
            return found.group(1)

        self.account = {
            "base_url": grab(r"AUTHMATECH_BASE_URL=(\S+)"),
            "client_id": grab(r"AUTHMATECH_CLIENT_ID=(\S+)"),
            "api_key": grab(r"AUTHMATECH_API_KEY=(\S+)"),
            "client_secret": grab(r"AUTHMATECH_CLIENT_SECRET=(\S+)"),
            "proof": grab(r'"encryptedMobileNumber": "([^"]+)"'),
        }

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(5)
        if self.process.stdout:
            self.process.stdout.close()


# ---------------------------------------------------------------------------- one worker


class CountingTransport:
    """Wraps the client's transport and records (answer time, status, key fingerprint) for
    every attempt."""

    def __init__(self, inner: Any, events: list[tuple[float, int, str]]) -> None:
        self._inner = inner
        self._events = events

    async def send(self, request: Any, timeout: Any) -> Any:
        key = _header(request, "x-api-key")
        try:
            response = await self._inner.send(request, timeout)
        except BaseException:
            self._events.append((time.time(), 0, key))
            raise
        # The answer's arrival: on a loaded machine, closer than the send to the moment the
        # server counted the request.
        self._events.append((time.time(), response.status_code, key))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _header(request: Any, name: str) -> str:
    for key, value in request.reveal_headers().items():
        if key.lower() == name:
            return authmatech_fingerprint(str(value))
    return ""


def authmatech_fingerprint(value: str) -> str:
    """Which key an attempt used, as the library shows it (never the key)."""
    from authmatech import Secret

    return Secret(value).fingerprint


def worker(options: dict[str, Any], pipe: Any) -> None:
    """One OS process: imports, says it is ready, receives the run's times, runs ``tasks``
    concurrent verify loops from ``start`` until ``stop`` and sends back what it saw."""
    import anyio

    try:
        pipe.send(anyio.run(_worker, options, pipe))
    except BaseException:
        import traceback

        pipe.send({"error": traceback.format_exc()})
    pipe.close()


async def _worker(options: dict[str, Any], pipe: Any) -> dict[str, Any]:
    import anyio
    import coredis

    import authmatech
    from authmatech.fleet import AsyncRedisRateBudget, FleetKeyWatcher
    from authmatech.transports import AsyncHttpxTransport

    account = options["account"]
    events: list[tuple[float, int, str]] = []
    outcomes: dict[str, int] = {}
    store = Path(options["store"])

    def read_store() -> str:
        return store.read_text().strip()

    async with coredis.Redis.from_url(options["redis_url"]) as redis:
        budget = None
        if options["shared"]:
            budget = AsyncRedisRateBudget(
                redis,
                client_id=account["client_id"],
                limit=options["limit"],
                per=options["window"],
                local_share=1.0 / options["processes"],
                redis_timeout=options["redis_timeout"],
            )
        watcher = FleetKeyWatcher(
            redis, client_id=account["client_id"], provider=read_store, check_every=0.1
        )

        def on_rotated(key: authmatech.Secret) -> None:
            store.write_text(key.reveal())  # the "secret store": written first

        def make_client() -> authmatech.AsyncClient:
            return authmatech.AsyncClient(
                client_id=account["client_id"],
                api_key=watcher.api_key,
                client_secret=account["client_secret"],
                base_url=account["base_url"],
                transport=CountingTransport(AsyncHttpxTransport(), events),
                rate_budget=budget,
                on_api_key_rotated=watcher.on_api_key_rotated(on_rotated),
                timeout=30.0,
            )

        client = make_client()

        async def loop() -> None:
            while time.time() < options["stop"]:
                try:
                    await client.verify(NUMBER, account["proof"], operator_id="ZAIN_JO")
                    outcome = "ok"
                except authmatech.AuthmatechError as error:  # a 401 told the watcher itself
                    outcome = type(error).__name__
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

        rotated: dict[str, Any] = {}

        async def rotate_at(when: float) -> None:
            # A client of its own: the serving client keeps the watcher as its key provider.
            await anyio.sleep(max(0.0, when - time.time()))
            async with make_client() as rotation_client:
                await watcher.rotate(rotation_client)
            rotated["answered_at"] = watcher.answered_at

        async with client:
            await watcher.api_key()  # the first look at Redis and the store, before the clock
            pipe.send("ready")
            options.update(await anyio.to_thread.run_sync(pipe.recv))
            await anyio.sleep(max(0.0, options["start"] - time.time()))
            async with anyio.create_task_group() as group:
                for _ in range(options["tasks"]):
                    group.start_soon(loop)
                if options["rotator"]:
                    group.start_soon(rotate_at, options["rotate_at"])
        return {
            "events": events,
            "outcomes": outcomes,
            "stats": _attrs_dict(budget.stats()) if budget else {},
            "rotated": rotated,
            "switched_at": watcher.switched_at,
            "key_stats": _attrs_dict(watcher.stats()),
        }


def _attrs_dict(value: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(value)


# ---------------------------------------------------------------------------- a scenario


def run_scenario(
    scenario: str,
    *,
    processes: int,
    in_flight: int,
    limit: int,
    window: float,
    windows: int,
    redis_timeout: float = 1.0,
) -> dict[str, Any]:
    """Run one scenario on fresh servers; returns its row."""
    with RedisServer() as redis:
        sandbox = SandboxProcess(limit, window)
        store = Path(os.environ.get("TMPDIR", "/tmp")) / f"fleet-store-{os.getpid()}"
        store.write_text(sandbox.account["api_key"])
        try:
            tasks = [in_flight // processes + (i < in_flight % processes) for i in range(processes)]
            context = multiprocessing.get_context("spawn")
            pipes, children = [], []
            for i in range(processes):
                job = {
                    "account": sandbox.account,
                    "redis_url": redis.url,
                    "shared": scenario != "none",
                    "limit": limit,
                    "window": window,
                    "processes": processes,
                    "tasks": tasks[i],
                    "store": str(store),
                    "rotator": scenario == "rotation" and i == 0,
                    "redis_timeout": redis_timeout,
                }
                ours, theirs = context.Pipe()
                child = context.Process(target=worker, args=(job, theirs), daemon=True)
                child.start()
                pipes.append(ours)
                children.append(child)
            for pipe in pipes:
                if not pipe.poll(60) or pipe.recv() != "ready":
                    raise RuntimeError("a worker process did not start within 60 s")
            start = time.time() + 0.5
            stop = start + windows * window
            for pipe in pipes:
                pipe.send({"start": start, "stop": stop, "rotate_at": start + windows * window / 2})
            if scenario == "outage":
                time.sleep(max(0.0, start + window - time.time()))
                redis.kill()
                time.sleep(max(0.0, start + 2 * window - time.time()))
                redis.start()
            results = []
            for pipe in pipes:
                if not pipe.poll(stop - time.time() + 120):
                    raise RuntimeError("a worker process did not finish")
                result = pipe.recv()
                if "error" in result:
                    raise RuntimeError(f"a worker failed:\n{result['error']}")
                results.append(result)
            for child in children:
                child.join(10)
        finally:
            sandbox.stop()
            store.unlink(missing_ok=True)
    return summarize(scenario, results, start=start, window=window, windows=windows, limit=limit)


def summarize(
    scenario: str,
    results: Sequence[dict[str, Any]],
    *,
    start: float,
    window: float,
    windows: int,
    limit: int,
) -> dict[str, Any]:
    events = sorted(event for result in results for event in result["events"])
    accepted_times = [sent for sent, status, _ in events if status == 200]
    per_window = [
        sum(1 for sent in accepted_times if start + i * window <= sent < start + (i + 1) * window)
        for i in range(windows)
    ]
    # The server counts a sliding window: the most accepted in any `window` seconds.
    busiest = 0
    for index, sent in enumerate(accepted_times):
        busiest = max(busiest, bisect.bisect_left(accepted_times, sent + window) - index)
    outcomes: dict[str, int] = {}
    for result in results:
        for name, count in result["outcomes"].items():
            outcomes[name] = outcomes.get(name, 0) + count
    stats: dict[str, float] = {}
    for result in results:
        for name, value in result["stats"].items():
            stats[name] = stats.get(name, 0) + value
    row: dict[str, Any] = {
        "scenario": scenario,
        "sent": len(events),
        "status_429": sum(1 for _, status, _ in events if status == 429),
        "status_401": sum(1 for _, status, _ in events if status == 401),
        "accepted_per_window": per_window,
        "used_per_window": [round(count / limit, 3) for count in per_window],
        "busiest_window": busiest,
        "calls": outcomes,
        "budget": stats,
    }
    rotated = [r["rotated"] for r in results if r["rotated"]]
    if rotated:
        answered = rotated[0]["answered_at"]
        switched = [r["switched_at"] for r in results]
        old_key = events[0][2] if events else ""
        row["rotation"] = {
            "converge_s": round(max(s for s in switched if s) - answered, 3)
            if all(switched)
            else None,
            "workers_switched": sum(1 for s in switched if s),
            # Each worker's watcher switch, and the last answer to an attempt with the old key,
            # in seconds after the rotation's answer.
            "switch_s": sorted(round(s - answered, 3) for s in switched if s),
            "first_new_key_s": sorted(
                round(
                    min(
                        (t for t, _, key in r["events"] if t > answered and key != old_key),
                        default=answered,
                    )
                    - answered,
                    3,
                )
                for r in results
            ),
            "last_old_key_s": round(
                max((t for t, _, key in events if key == old_key), default=answered) - answered, 3
            ),
            "status_401": row["status_401"],
            "key_stats": [r["key_stats"] for r in results],
        }
    return row


def format_table(rows: Sequence[dict[str, Any]], limit: int, window: float) -> str:
    lines = [
        f"limit {limit} per {window:g} s; accepted per window (share of the limit used)",
        f"{'scenario':<10} {'sent':>7} {'429s':>6} {'401s':>5}  accepted per window"
        "                 busiest",
    ]
    for row in rows:
        windows = "  ".join(
            f"{count} ({used:.0%})"
            for count, used in zip(row["accepted_per_window"], row["used_per_window"], strict=True)
        )
        lines.append(
            f"{row['scenario']:<10} {row['sent']:>7} {row['status_429']:>6} "
            f"{row['status_401']:>5}  {windows:<36} {row['busiest_window']}"
        )
        if "rotation" in row:
            rotation = row["rotation"]
            lines.append(
                f"{'':<10} rotation: every worker on the new key {rotation['converge_s']} s "
                f"after the answer ({rotation['workers_switched']} workers), "
                f"{rotation['status_401']} 401s in all; the last answer to the old key "
                f"{rotation['last_old_key_s']} s after"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument(
        "--redis-timeout",
        type=float,
        default=1.0,
        help="each budget's redis_timeout (default 1 s: 8 busy processes on 2 shared cores "
        "starve their event loops, and a starved loop looks like a slow Redis)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for scenario in args.scenarios.split(","):
        if scenario not in SCENARIOS:
            parser.error(f"unknown scenario {scenario!r} (one of {', '.join(SCENARIOS)})")
        rows.append(
            run_scenario(
                scenario,
                processes=args.processes,
                in_flight=args.in_flight,
                limit=args.limit,
                window=args.window,
                windows=args.windows,
                redis_timeout=args.redis_timeout,
            )
        )
    print(format_table(rows, args.limit, args.window))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
