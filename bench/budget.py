"""The account rate budget against the sandbox's rate limit, over loopback.

    python bench/budget.py                  # 150 requests per 10 s, 3 windows, 200 in flight
    python bench/budget.py --quick          # a smoke run: 20 per 2 s, 1 window, 20 in flight
    python bench/budget.py --limit 300 --window 10 --windows 3 --in-flight 200 --json PATH

Each scenario serves a fresh sandbox with ``authmatech sandbox serve --rate-limit N
--rate-window S`` in its own process and keeps ``--in-flight`` verifies going through one
``AsyncClient`` (on ``AiohttpTransport``, the cheapest client side) for ``--windows`` windows,
with retries off so that every 429 is seen. The default limit (150 per 10 s) is one the
sandbox's pure-Python server answers with room to spare on a small shared machine; raise it
where the server keeps up:

* **without a budget**: how many 429s, and the rate the account actually got;
* **with** ``RateBudget(limit=N, per=S)``: the target is 0 429s and at least 95 % of the limit
  used (the budget keeps 2 % back as its safety margin).

Tests can call :func:`run` and inspect the dict it returns.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio

import authmatech
from authmatech.transports import AiohttpTransport

__all__ = ["main", "run"]

NUMBER = "+962791234567"
USED_TARGET = 0.95


@dataclass
class Served:
    url: str
    client_id: str
    api_key: str
    proof: str


@dataclass
class Outcome:
    scenario: str
    ok: int
    rate_limited: int
    other_errors: int
    seconds: float
    limit: int
    window: float

    @property
    def rate(self) -> float:
        """Verifies answered 200 per window of the limit."""
        return self.ok / self.seconds * self.window

    @property
    def used(self) -> float:
        return self.ok / (self.limit * self.seconds / self.window)


@contextmanager
def sandbox_server(limit: int, window: float) -> Iterator[Served]:
    """``authmatech sandbox serve`` on a free loopback port, with the given rate limit."""
    command = [sys.executable, "-u", "-m", "authmatech", "sandbox", "serve", "--port", "0"]
    command += ["--rate-limit", str(limit), "--rate-window", str(window)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        banner = ""
        while "Products enabled" not in banner:
            line = server.stdout.readline()
            if not line:
                raise RuntimeError(f"the sandbox did not start: {server.stderr.read()}")  # type: ignore[union-attr]
            banner += line
        exports = dict(re.findall(r"export (AUTHMATECH_\w+)=(\S+)", banner))
        proof = re.search(r'"encryptedMobileNumber": "([^"]+)"', banner)
        assert proof is not None
        yield Served(
            url=exports["AUTHMATECH_BASE_URL"],
            client_id=exports["AUTHMATECH_CLIENT_ID"],
            api_key=exports["AUTHMATECH_API_KEY"],
            proof=proof.group(1),
        )
    finally:
        server.terminate()
        server.communicate(timeout=10)


async def _drive(
    served: Served, budget: authmatech.RateBudget | None, in_flight: int, seconds: float
) -> tuple[int, int, int, float]:
    counts = {"ok": 0, "429": 0, "other": 0}
    client = authmatech.AsyncClient(
        client_id=served.client_id,
        api_key=served.api_key,
        base_url=served.url,
        max_retries=0,
        timeout=authmatech.Timeout(connect=10, read=30, write=10, pool=30, total=60),
        rate_budget=budget,
        transport=AiohttpTransport(),
    )
    started = time.monotonic()
    async with client, client._transport:  # type: ignore[attr-defined]

        async def worker() -> None:
            while True:
                try:
                    await client.verify(NUMBER, served.proof)
                    counts["ok"] += 1
                except authmatech.RateLimitError:
                    counts["429"] += 1
                except authmatech.AuthmatechError:
                    counts["other"] += 1

        with anyio.move_on_after(seconds):
            async with anyio.create_task_group() as group:
                for _ in range(in_flight):
                    group.start_soon(worker)
    return counts["ok"], counts["429"], counts["other"], time.monotonic() - started


def scenario(
    name: str, *, limit: int, window: float, windows: int, in_flight: int, paced: bool
) -> Outcome:
    with sandbox_server(limit, window) as served:
        budget = authmatech.RateBudget(limit=limit, per=window) if paced else None
        ok, limited, other, seconds = anyio.run(_drive, served, budget, in_flight, window * windows)
    return Outcome(name, ok, limited, other, seconds, limit, window)


def run(
    quick: bool = True,
    *,
    limit: int | None = None,
    window: float | None = None,
    windows: int | None = None,
    in_flight: int | None = None,
    json_path: str | Path | None = None,
) -> dict[str, Any]:
    """Both scenarios; the report has ``outcomes``, ``passed`` and a Markdown ``table``."""
    limit = limit or (20 if quick else 150)
    window = window or (2.0 if quick else 10.0)
    windows = windows or (1 if quick else 3)
    in_flight = in_flight or (20 if quick else 200)
    shape = {"limit": limit, "window": window, "windows": windows, "in_flight": in_flight}
    outcomes = [
        scenario("without a budget", **shape, paced=False),
        scenario(f"RateBudget(limit={limit}, per={window:g})", **shape, paced=True),
    ]
    paced = outcomes[1]
    passed = paced.rate_limited == 0 and paced.other_errors == 0 and paced.used >= USED_TARGET
    report: dict[str, Any] = {
        "settings": shape,
        "outcomes": [{**asdict(o), "rate": o.rate, "used": o.used} for o in outcomes],
        "passed": passed,
        "table": format_table(outcomes, shape),
    }
    if json_path is not None:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def format_table(outcomes: list[Outcome], shape: dict[str, Any]) -> str:
    lines = [
        f"{shape['in_flight']} verifies in flight, limit {shape['limit']} per "
        f"{shape['window']:g} s, {shape['windows']} windows",
        "",
        "| scenario | answered 200 | 429s | other errors | rate per window | limit used |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.scenario} | {o.ok:,} | {o.rate_limited:,} | {o.other_errors:,} | "
            f"{o.rate:,.1f} | {o.used:.1%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (a few seconds)")
    parser.add_argument("--limit", type=int, help="requests per window (default 150)")
    parser.add_argument("--window", type=float, help="the window in seconds (default 10)")
    parser.add_argument("--windows", type=int, help="how many windows to run (default 3)")
    parser.add_argument("--in-flight", type=int, help="concurrent verifies (default 200)")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    report = run(
        args.quick,
        limit=args.limit,
        window=args.window,
        windows=args.windows,
        in_flight=args.in_flight,
        json_path=args.json,
    )
    print(report["table"])
    print()
    print("PASS" if report["passed"] else "FAIL", "(target: 0 429s and >= 95 % of the limit used)")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
