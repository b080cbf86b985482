"""An async worker that verifies a batch of numbers with bounded concurrency.

Each item is verified once; a failure is recorded with its item instead of stopping the batch,
so every item comes back with either a verdict or the error to act on. It runs under asyncio
and trio alike (the library and this file use anyio, never asyncio directly)::

    # a CSV of mobile_number,encrypted_mobile_number[,operator_id] against the real API
    export AUTHMATECH_CLIENT_ID=... AUTHMATECH_API_KEY=...
    python examples/async_worker.py batch.csv --concurrency 20 --backend trio

    # or a generated batch against an in-process sandbox (offline)
    python examples/async_worker.py --sandbox 200

Verify is billable and has no idempotency key, so the worker never resends an item on its
own: an error whose ``maybe_processed`` is true may already have been charged; look it up
(``client.account.verifications()``) before deciding to verify it again.
"""

from __future__ import annotations

import argparse
import csv
import functools
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import anyio

import authmatech

if TYPE_CHECKING:
    from authmatech.sandbox import Sandbox

__all__ = [
    "Item",
    "Outcome",
    "main",
    "read_items",
    "run",
    "sandbox_items",
    "summarize",
    "verify_batch",
]


@dataclass(frozen=True)
class Item:
    """One number to verify, with the proof its device obtained."""

    key: str
    mobile_number: str
    encrypted_mobile_number: str
    operator_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened to one item: a verdict or an error, never both."""

    item: Item
    result: authmatech.VerifyResult | None = None
    error: authmatech.AuthmatechError | None = None

    @property
    def status(self) -> str:
        """``valid``, ``invalid`` (a verdict), or the error's class name."""
        if self.error is not None:
            return type(self.error).__name__
        assert self.result is not None
        return "valid" if self.result.valid_number else "invalid"

    @property
    def maybe_billed(self) -> bool:
        """Whether Authmatech may have processed (and charged for) this item."""
        if self.error is None:
            return True
        return bool(getattr(self.error, "maybe_processed", False))


async def _verify_one(client: authmatech.AsyncClient, item: Item) -> Outcome:
    try:
        result = await client.verify(
            item.mobile_number,
            item.encrypted_mobile_number,
            operator_id=item.operator_id,
            service_type=authmatech.ServiceType.REGISTRATION,
        )
    except authmatech.AuthmatechError as error:
        # Only the library's errors are per-item outcomes. Anything else (a bug, or the
        # task group being cancelled) propagates and stops the whole batch.
        return Outcome(item, error=error)
    return Outcome(item, result=result)


async def verify_batch(
    client: authmatech.AsyncClient, items: Iterable[Item], *, concurrency: int = 20
) -> list[Outcome]:
    """Verify every item, at most ``concurrency`` at a time; outcomes in the items' order.

    ``concurrency`` workers share one iterator over the items, so memory stays bounded by the
    worker count however long the batch is (one task per item would not be).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    outcomes: dict[int, Outcome] = {}
    pending = enumerate(items)  # shared by the workers; next() never awaits, so this is safe

    async def worker() -> None:
        for index, item in pending:
            outcomes[index] = await _verify_one(client, item)

    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    return [outcomes[index] for index in range(len(outcomes))]


def summarize(outcomes: Sequence[Outcome]) -> Counter[str]:
    """How many items ended in each status."""
    return Counter(outcome.status for outcome in outcomes)


def read_items(lines: Iterable[str]) -> list[Item]:
    """Items from CSV rows ``mobile_number,encrypted_mobile_number[,operator_id]``."""
    items = []
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) not in (2, 3):
            raise ValueError(f"line {number}: expected 2 or 3 columns, got {len(row)}")
        operator_id = row[2] if len(row) == 3 and row[2] else None
        items.append(Item(f"line-{number}", row[0], row[1], operator_id))
    return items


def sandbox_items(sandbox: Sandbox, size: int) -> list[Item]:
    """A batch of proofs issued by ``sandbox``: every tenth number mistyped by its customer
    (a valid "no"), every tenth in national format (refused before anything is sent)."""
    items = []
    for index in range(size):
        number = f"+96279{index:07d}"
        proof = sandbox.device_proof(number)
        if index % 10 == 3:
            number = f"+9627{index:07d}9"
        elif index % 10 == 7:
            number = f"07{index:08d}"
        items.append(Item(f"item-{index}", number, proof.encrypted_mobile_number, "ZAIN_JO"))
    return items


async def run(
    items: Sequence[Item],
    concurrency: int,
    out: TextIO,
    client: authmatech.AsyncClient | None = None,
) -> int:
    """Verify ``items``, print the failures and a summary; 1 if any item failed, else 0.

    Without ``client`` one is created from the ``AUTHMATECH_*`` environment and closed after.
    """
    if client is None:
        async with authmatech.AsyncClient() as owned:
            return await run(items, concurrency, out, owned)
    outcomes = await verify_batch(client, items, concurrency=concurrency)
    for outcome in outcomes:
        if outcome.error is not None:
            out.write(f"{outcome.item.key}: {outcome.status}: {outcome.error}\n")
    counts = summarize(outcomes)
    out.write(", ".join(f"{status} {count}" for status, count in sorted(counts.items())) + "\n")
    return 1 if any(outcome.error is not None for outcome in outcomes) else 0


async def run_sandbox(size: int, concurrency: int, out: TextIO) -> int:
    """``run()`` over a generated batch, against an in-process sandbox (offline)."""
    import httpx

    from authmatech.sandbox import Sandbox

    sandbox = Sandbox()
    account = sandbox.create_account()
    async with httpx.AsyncClient(transport=sandbox.async_transport()) as http:
        client = authmatech.AsyncClient(
            client_id=account.client_id,
            api_key=account.api_key,
            base_url="https://sandbox.authmatech.local",
            http_client=http,  # ours to close: the AsyncClient never closes a caller's client
        )
        async with client:
            status = await run(sandbox_items(sandbox, size), concurrency, out, client)
    out.write(f"balance left: {sandbox.balance(account.client_id)}\n")
    return status


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="CSV file (default: standard input)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument(
        "--sandbox", type=int, metavar="N", help="verify N generated items against a sandbox"
    )
    args = parser.parse_args(argv)
    if args.sandbox is not None:
        job = functools.partial(run_sandbox, args.sandbox, args.concurrency, out)
    else:
        if args.source:
            with open(args.source, newline="") as file:
                items = read_items(file)
        else:
            items = read_items(sys.stdin)
        job = functools.partial(run, items, args.concurrency, out)
    return anyio.run(job, backend=args.backend)


if __name__ == "__main__":
    sys.exit(main())
