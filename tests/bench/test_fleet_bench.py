"""bench/fleet.py end to end at tiny sizes: it runs every scenario and reports every figure
(this checks that it works; the numbers are the bench's, not the test's)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import fleet  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_tiny_fleet_run_reports_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    argv = ["--processes", "2", "--in-flight", "6", "--limit", "30", "--window", "1"]
    assert fleet.main([*argv, "--windows", "2", "--json", str(out)]) == 0
    rows = {row["scenario"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"none", "shared", "outage", "rotation"}
    for row in rows.values():
        assert row["sent"] > 0
        assert len(row["accepted_per_window"]) == 2
        assert row["busiest_window"] > 0
    assert rows["shared"]["status_429"] == 0
    assert rows["shared"]["budget"]["acquired"] >= rows["shared"]["sent"]
    assert rows["outage"]["budget"]["circuit_opens"] >= 1
    assert rows["outage"]["budget"]["local"] >= 1
    rotation = rows["rotation"]["rotation"]
    assert rotation["workers_switched"] == 2
    assert rotation["converge_s"] is not None
    assert len(rotation["switch_s"]) == len(rotation["first_new_key_s"]) == 2
    assert rotation["last_old_key_s"] is not None
    assert "the last answer to the old key" in fleet.format_table(list(rows.values()), 30, 1.0)
