"""The benchmark scripts run end to end (tiny sizes: this checks that they work, not speed)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import budget  # noqa: E402
import ladder  # noqa: E402
import run  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stack", ["aiohttp", "httpx-sync", "httpx-async"])
def test_the_ladder_measures_every_rung(stack: str) -> None:
    rungs = {
        "aiohttp": lambda: ladder.aiohttp_rungs(5),
        "httpx-sync": ladder.httpx_sync_rungs,
        "httpx-async": lambda: ladder.httpx_async_rungs(2),
    }[stack]()
    steps = ladder.climb(rungs, requests=30, rounds=2)
    assert [step.name for step in steps] == [rung.name for rung in rungs]
    assert all(step.cpu_us > 0 and step.req_per_s > 0 for step in steps)
    assert steps[0].added_us is None
    assert all(step.added_us is not None for step in steps[1:])
    assert steps[-1].reference
    assert not steps[0].reference
    table = ladder.format_steps(steps)
    assert all(rung.name in table for rung in rungs)


def test_a_quick_run_reports_every_row_and_writes_json(tmp_path: Path) -> None:
    report = run.run(
        quick=True, requests=30, rounds=1, rss_requests=200, json_path=tmp_path / "bench.json"
    )
    keys = [row["key"] for row in report["rows"]]
    assert keys[:5] == ["sync", "async_1", "async_50", "aiohttp_1", "aiohttp_50"]
    if importlib.util.find_spec("httpx2") is not None:
        assert keys[5:8] == ["sync_httpx2", "async_1_httpx2", "async_50_httpx2"]
    assert {"core", "in_memory_sync", "in_memory_async", "import", "import_lazy"} <= set(keys)
    assert all(row["result"] in ("PASS", "FAIL", "info") for row in report["rows"])
    assert next(row for row in report["rows"] if row["key"] == "import_lazy")["passed"] is True
    written = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert written["rows"] == report["rows"]
    for row in report["rows"]:
        assert row["scenario"] in report["table"]


def test_the_budget_benchmark_runs_both_scenarios(tmp_path: Path) -> None:
    report = budget.run(
        quick=True, limit=20, window=1.0, windows=1, in_flight=5, json_path=tmp_path / "b.json"
    )
    plain, paced = report["outcomes"]
    assert plain["scenario"] == "without a budget"
    assert paced["rate_limited"] == 0
    assert paced["other_errors"] == 0
    assert paced["ok"] > 0
    assert "limit used" in report["table"]
    assert json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["outcomes"]
