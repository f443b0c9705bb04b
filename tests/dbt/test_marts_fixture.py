"""Build the marts from the tiny ingest fixture for 2023Q4 and check rows by value.

Expected numbers are computed by hand in docs/methodology.md ("Worked examples") from
tests/fixtures/ingest/*.csv: baseline 50 % in 2020, target 60 % in 2025, 56 % at the end of 2023
projects to 50 × (56/50)^(5/3) = 60.39 at 2025, so the projected ratio is 1.04 (on track).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from planwatch.core.db import connect


def _rows(db: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with connect(db, read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def _progress(db: Path, region: str, indicator: str, period: str) -> dict[str, Any]:
    rows = _rows(db, "select * from marts.fct_indicator_progress where region_code = ? "
                     "and indicator_code = ? and period = ?", [region, indicator, period])
    assert len(rows) == 1, f"expected one row for {region} {indicator} {period}, got {len(rows)}"
    return rows[0]


def test_build_metrics(built: tuple[Path, dict[str, Any]]) -> None:
    _, metrics = built
    assert metrics["build_mode"] == "full_refresh"
    assert metrics["tests_failed"] == 0
    assert metrics["models_built"] >= 20
    assert metrics["tests_passed"] > 50
    assert metrics["unit_tests_passed"] >= 10
    # 22 fixture lines up to 2023Q4, minus 2 superseded versions (2022Q4 days, 2023Q4 share)
    assert metrics["fct_indicator_progress_rows"] == 21


def test_snapshot_drops_periods_after_the_quarter(built: tuple[Path, dict[str, Any]]) -> None:
    db, _ = built
    assert _rows(db, "select count(*) as n from raw.stat_observations where period = '2024Q1'")[0]["n"] == 0
    assert _rows(db, "select count(*) as n from marts.fct_indicator_progress where period_year > 2023")[0]["n"] == 0


def test_latest_revision_wins(built: tuple[Path, dict[str, Any]]) -> None:
    db, _ = built
    share = _progress(db, "330100", "ELD_NURSING_BED_SHARE", "2023Q4")
    assert share["actual_value"] == 56.0  # file 4 corrects file 3's 55.5
    days = _progress(db, "330100", "AST_APPROVAL_DAYS", "2022Q4")
    assert days["actual_value"] == 18.5  # file 3 revises file 1's 18
    # only revised keys are ranked (int_observations_latest): their count, and one version elsewhere
    counts = {(r["indicator_code"], r["period"]): (r["version_count"], r["source_file_seq"]) for r in _rows(
        db, "select indicator_code, period, version_count, source_file_seq from intermediate.int_observations_latest "
            "where region_code = '330100' and breakdown = '' and indicator_code in "
            "('ELD_NURSING_BED_SHARE', 'AST_APPROVAL_DAYS') and period in ('2022Q4', '2023Q4')")}
    assert counts[("ELD_NURSING_BED_SHARE", "2023Q4")] == (2, 4) and counts[("AST_APPROVAL_DAYS", "2022Q4")] == (2, 3)
    by_count = {r["version_count"]: r["n"] for r in _rows(
        db, "select version_count, count(*) as n from intermediate.int_observations_latest group by all")}
    expected = {r["version_count"]: r["n"] for r in _rows(
        db, "select version_count, count(*) as n from (select count(*) as version_count "
            "from staging.stg_stats__observations where value is not null "
            "group by region_code, indicator_code, breakdown, period) group by all")}
    assert by_count == expected == {1: 19, 2: 2}  # both branches of the model: one version, revised


def test_on_track_stock(built: tuple[Path, dict[str, Any]]) -> None:
    db, _ = built
    row = _progress(db, "330100", "ELD_NURSING_BED_SHARE", "2023Q4")
    assert row["region_name"] == "杭州市"
    assert row["indicator_name"] == "护理型床位占比"  # as this plan prints it
    assert row["plan"] == "14th" and row["attribute"] == "expected"
    assert str(row["period_end"]) == "2023-12-31"
    assert row["baseline_value"] == 50.0 and row["target_value"] == 60.0 and row["target_year"] == 2025
    assert row["expected_value"] == pytest.approx(56.0)
    assert row["progress_ratio"] == pytest.approx(0.6)
    assert row["projected_value"] == pytest.approx(60.3949, abs=1e-3)
    assert row["status"] == "on_track" and row["status_zh"] == "进度正常"
    assert row["is_simulated"] is False


def test_flow_with_printed_annual_targets_in_another_unit(built: tuple[Path, dict[str, Any]]) -> None:
    db, _ = built
    # plan prints 亿元; catalog keeps 万元: 0.13 亿元 = 1300 万元 for 2023, YTD expected at Q2 = 650
    row = _progress(db, "330100", "CHA_DONATIONS", "2023Q2")
    assert row["target_value"] == pytest.approx(1500.0)
    assert row["expected_value"] == pytest.approx(650.0)
    assert row["comparable_value"] == pytest.approx(1200.0)  # 600 YTD × 4/2
    assert row["progress_ratio"] == pytest.approx(0.4)
    assert row["projected_value"] == pytest.approx(1355.09, abs=0.01)
    assert row["status"] == "needs_acceleration"


def test_special_cases(built: tuple[Path, dict[str, Any]]) -> None:
    db, _ = built
    assert _progress(db, "330100", "COM_SERVICE_COVERAGE", "2022Q4")["status"] == "deterioration"  # binding maintain
    assert _progress(db, "330100", "COM_SERVICE_COVERAGE", "2023Q4")["status"] == "target_achieved"
    assert _progress(db, "330100", "ELD_BEDS_PER_1000", "2022Q4")["status"] == "target_achieved"  # met at baseline
    assert _progress(db, "330100", "ELD_BEDS_PER_1000", "2023Q4")["status"] == "deterioration"
    no_baseline = _progress(db, "330100", "SOC_ORGS_PER_10K", "2022Q4")
    assert no_baseline["status"] == "insufficient_data" and no_baseline["projected_value"] is None
    assert _progress(db, "330100", "SOC_ORGS_PER_10K", "2023Q4")["status"] == "on_track"
    lower = _progress(db, "330100", "AST_APPROVAL_DAYS", "2023Q4")
    assert lower["progress_ratio"] == pytest.approx(0.3)
    assert lower["status"] == "needs_acceleration"
    unplanned = _progress(db, "990100", "CHA_DONATIONS", "2023")
    assert unplanned["status"] == "no_target" and unplanned["is_simulated"] is True


def test_fact_ids_are_computed_from_their_key_not_stored(built: tuple[Path, dict[str, Any]]) -> None:
    """progress_id and status_history_id are virtual columns (dbt/macros/virtual_columns.sql): the
    table holds their expression, and every reader gets the id made of the row's own key, in the
    column's place (first), as when it was stored."""
    db, _ = built
    columns = _rows(db, "select table_name, column_name, ordinal_position, is_generated "
                        "from information_schema.columns where table_schema = 'marts' "
                        "and column_name in ('progress_id', 'status_history_id') order by table_name")
    assert [(c["table_name"], c["column_name"], c["ordinal_position"], c["is_generated"]) for c in columns] == [
        ("fct_indicator_latest", "progress_id", 1, "NEVER"),  # a copy of the fact's rows, stored
        ("fct_indicator_progress", "progress_id", 1, "ALWAYS"),
        ("fct_indicator_status_history", "status_history_id", 1, "ALWAYS")]
    row = _progress(db, "330100", "ELD_NURSING_BED_SHARE", "2023Q4")
    assert row["progress_id"] == "330100|ELD_NURSING_BED_SHARE||2023Q4"
    history = _rows(db, "select status_history_id, series_id, period_index from marts.fct_indicator_status_history "
                        "where series_id = ? order by period_index", [row["series_id"]])
    assert history and all(h["status_history_id"] == f"{h['series_id']}|{h['period_index']}" for h in history)
