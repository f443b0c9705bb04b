"""The benchmark's own checks: the floor (DuckDB SQL) and the peer (pandas) compute the same
fct_indicator_progress rows, the comparison catches a difference, and (slow) `--quick` runs end to end
with the pipeline agreeing with both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench import run as bench_run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight simulated counties plus the real plan regions, 20 quarters, prepared as the bench does."""
    data = tmp_path_factory.mktemp("bench_data")
    manifest = bench_run.prepare(8, data_dir=data)
    assert manifest["regions_total"] > 8
    assert manifest["statistics_rows"] > 8 * 90 * 20
    return data / "r8"


def _published_from(parquet: Path, db: Path) -> None:
    """A stand-in published warehouse holding `parquet` as marts.fct_indicator_progress."""
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_indicator_progress as select * from read_parquet(?)", [str(parquet)])


def test_floor_and_peer_agree(small: Path, tmp_path: Path) -> None:
    home = small / "home"
    floor = bench_run._child_floor(home, tmp_path / "floor.parquet")
    peer = bench_run._child_peer(home, tmp_path / "peer.parquet")
    assert floor["rows"] == peer["rows"] > 0
    _published_from(tmp_path / "floor.parquet", tmp_path / "as_published.duckdb")
    result = bench_run.compare(tmp_path / "as_published.duckdb", tmp_path / "floor.parquet", tmp_path / "peer.parquet")
    assert result["mismatches"] == 0, result
    assert result["pipeline_rows"] == floor["rows"]
    # the simulator's four scenarios give several statuses, not one
    assert {"on_track", "deterioration", "target_achieved"} <= set(result["statuses"])


def test_compare_reports_a_changed_status_and_value(small: Path, tmp_path: Path) -> None:
    home = small / "home"
    bench_run._child_floor(home, tmp_path / "floor.parquet")
    with duckdb.connect() as con:
        con.execute("""copy (select * replace (
                              case when row_number() over (order by region_code, indicator_code, period) = 1
                                   then 'no_target' else status end as status,
                              case when row_number() over (order by region_code, indicator_code, period) = 2
                                   then actual_value + 1e-6 else actual_value end as actual_value)
                            from read_parquet(?)) to ? (format parquet)""",
                    [str(tmp_path / "floor.parquet"), str(tmp_path / "changed.parquet")])
    _published_from(tmp_path / "floor.parquet", tmp_path / "as_published.duckdb")
    result = bench_run.compare(tmp_path / "as_published.duckdb", tmp_path / "floor.parquet", tmp_path / "changed.parquet")
    assert result["floor"]["status_mismatches"] == 0
    assert result["peer"]["status_mismatches"] == 1
    assert result["peer"]["value_mismatches"] == 1
    assert result["mismatches"] == 2
    assert len(result["peer"]["examples"]) == 2


def test_direction_fix_and_fit() -> None:
    rows = [{"indicator_code": "A", "baseline_value": "10", "target_value": "8"},
            {"indicator_code": "A", "baseline_value": "10", "target_value": "12"},
            {"indicator_code": "B", "baseline_value": "10", "target_value": "12"},
            {"indicator_code": "C", "baseline_value": "10", "target_value": "10.5"},
            {"indicator_code": "C", "baseline_value": "", "target_value": "10.5"}]
    fixed = bench_run._fix_plan_directions(rows, {"A": "increase", "B": "decrease", "C": "maintain"})
    assert fixed == 3
    assert [r["target_value"] for r in rows] == ["10", "12", "10", "10", "10.5"]
    fit = bench_run._fit([(100, 12.0), (200, 22.0), (400, 42.0)])
    assert fit == {"intercept_s": 2.0, "seconds_per_1000_regions": 100.0, "r2": 1.0}


def test_a_refresh_counts_the_concurrent_stages_overlap_once() -> None:
    """The raw checks run beside the dbt build (CONCURRENT_STAGES): each keeps its own seconds, and the
    refresh's total is the stages' sum less the overlap, not the sum."""
    stages = {"register_files": 1.0, "load_plans": 2.0, "load_statistics": 10.0, "validate_raw": 5.0,
              "dbt_build": 40.0, "validate_marts": 0.5, "publish": 11.0, "report": 1.0}
    grouped = bench_run._grouped(stages, overlap=4.5)
    assert grouped["raw_checks"] == 5.0 and grouped["dbt_build"] == 40.0 and grouped["register_and_load"] == 13.0
    assert grouped["overlap"] == 4.5 and grouped["total"] == 66.0
    assert bench_run._grouped(stages)["total"] == 70.5


@pytest.mark.slow
def test_quick_bench_end_to_end(tmp_path: Path) -> None:
    """`python -m bench.run --quick`: every stage of the pipeline runs and publishes, and agrees with both."""
    env = dict(os.environ, PLANWATCH_BENCH_DATA=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "bench.run", "--quick"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results-quick.json").read_text())
    assert results["equality"]["mismatches"] == 0
    assert results["equality"]["pipeline_rows"] == results["input"]["statistics_rows"]
    assert results["full_refresh"]["published"]
    assert results["incremental"]["build_mode"] == ["incremental"]
    assert results["full_refresh"]["peak_rss_mib"]["max"] > 100
    # the raw checks ran beside the build: their seconds overlap, and the total counts them once
    full = results["full_refresh"]["groups_s"]
    assert 0 < full["overlap"]["median"] <= full["raw_checks"]["median"]
