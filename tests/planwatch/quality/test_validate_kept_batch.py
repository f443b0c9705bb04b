"""The raw checks keep their batch between runs (warehouse/gx/validate_raw/) and recompute only the
periods that changed: the findings must be those of a check from scratch on the same data, and an
error found earlier must block again while its row is still the latest version."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "dq"))
import dqdata  # noqa: E402

from planwatch.core.config import Settings  # noqa: E402
from planwatch.core.errors import ChecksFailed  # noqa: E402
from planwatch.core.periods import Quarter  # noqa: E402
from planwatch.core.types import RunContext  # noqa: E402
from planwatch.quality import validate  # noqa: E402
from planwatch.serve import publish as publish_mod  # noqa: E402

# A late file (file_seq 3) corrects 2024Q1 of 110102's nursing-bed share to an impossible 104 % and
# brings 2024Q4 of 110105's allowance standard five times the 2024Q3 one.
LATE_FILE = """
insert into raw.stat_observations
select 'f3', 3, line_no, region_code, period, period_type, indicator_code, breakdown,
       case when indicator_code = 'AST_DIBAO_STANDARD' then value * 5 else 104 end, unit, raw_value, raw_unit,
       null, null, reported_on, source, is_simulated, loaded_at, mapped, period_index
from raw.stat_observations
where file_seq = 1 and ((region_code = '110102' and indicator_code = 'ELD_NURSING_BED_SHARE' and period = '2024Q1')
                     or (region_code = '110105' and indicator_code = 'AST_DIBAO_STANDARD' and period = '2024Q4'));
""" + dqdata.LEDGER_ROWS


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dq_kept")
    ingest = dqdata.build_ingest(root / "ingest.duckdb")
    return ingest, dqdata.build_candidate(root / "candidate.duckdb", ingest)


def _settings(tmp_path: Path, clean: tuple[Path, Path]) -> Settings:
    settings = Settings(home=tmp_path)
    settings.ensure_dirs()
    shutil.copy2(clean[0], settings.ingest_db)
    return settings


def _run(settings: Settings, run_id: str, quarter: str, afresh: bool = False) -> dict[tuple[str, str], tuple]:
    """Run the raw checks; return their findings with the sample as a sorted list (its order is the query's)."""
    if afresh:
        shutil.rmtree(validate._kept_batches(settings, "validate_raw").parent)
    validate.validate_raw(settings, RunContext(run_id, Quarter.parse(quarter)))
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        rows = con.execute("select suite, expectation, severity, success, unexpected_count, sample "
                           "from audit.dq_results where run_id = ?", [run_id]).fetchall()
    finally:
        con.close()
    return {(r[0], r[1]): (r[2], r[3], r[4], sorted(json.dumps(x, sort_keys=True) for x in json.loads(r[5])))
            for r in rows}


def _apply(settings: Settings, sql: str) -> None:
    con = duckdb.connect(str(settings.ingest_db))
    try:
        con.execute(sql)
    finally:
        con.close()


def _kept_rows(settings: Settings) -> list[tuple]:
    con = duckdb.connect(str(validate._kept_batches(settings, "validate_raw")), read_only=True)
    try:
        return sorted(con.execute("select * from raw_statistics").fetchall())
    finally:
        con.close()


def test_kept_batch_gives_the_findings_of_a_check_from_scratch(tmp_path: Path, clean: tuple[Path, Path],
                                                                caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path, clean)
    first = _run(settings, "q3", "2024Q3")
    assert all(f[1] for f in first.values())

    # a new quarter and a late file correcting an older one: recomputed from 2024Q1 on, 2023 kept
    _apply(settings, LATE_FILE)
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        kept = _run(settings, "q4", "2024Q4")
    assert f"periods from index {Quarter.parse('2024Q1').index} recomputed" in caplog.text
    kept_rows = _kept_rows(settings)
    fresh = _run(settings, "q4-fresh", "2024Q4", afresh=True)
    assert kept == fresh
    assert _kept_rows(settings) == kept_rows
    bounds = kept[("raw_statistics", "value_within_catalog_bounds")]
    assert bounds[:3] == ("error", False, 1) and '"period": "2024Q1"' in bounds[3][0] and '"f3"' in bounds[3][0]
    assert kept[("raw_statistics", "stock_quarter_jump")][:3] == ("warn", False, 1)
    # the 2025Q1 row of file f2 is after the run's quarter: not in the batch
    assert max(r[10] for r in kept_rows) == Quarter.parse("2024Q4").index  # period_index

    # a row changed in place, no file added: its file's checksum changed, so its periods are recomputed
    _apply(settings, (dqdata.BAD / "ingest" / "share_above_100_percent.sql").read_text(encoding="utf-8"))
    caplog.clear()
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        changed = _run(settings, "q4-changed", "2024Q4")
    assert "recomputed" in caplog.text
    assert changed[("raw_statistics", "value_within_catalog_bounds")][2] == 2
    assert changed == _run(settings, "q4-changed-fresh", "2024Q4", afresh=True)

    # back to an earlier quarter: the later periods leave the batch, findings as from scratch
    assert _run(settings, "q3-again", "2024Q3") == _run(settings, "q3-again-fresh", "2024Q3", afresh=True)


def test_an_earlier_error_blocks_again_when_nothing_changed(tmp_path: Path, clean: tuple[Path, Path],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path, clean)
    _apply(settings, (dqdata.BAD / "ingest" / "share_above_100_percent.sql").read_text(encoding="utf-8"))
    first = _run(settings, "r1", "2024Q4")
    assert first[("raw_statistics", "value_within_catalog_bounds")][:3] == ("error", False, 1)

    run = RunContext("r2", Quarter.parse("2024Q4"))
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        second = _run(settings, run.run_id, "2024Q4")
    assert "kept, nothing changed" in caplog.text
    assert second == first
    shutil.copy2(clean[1], settings.candidate_db(run.run_id))
    validate.validate_marts(settings, run)
    with pytest.raises(ChecksFailed) as info:
        publish_mod.publish(settings, run)
    assert info.value.failed == ["raw_statistics.value_within_catalog_bounds"]


def test_a_new_quarter_is_compared_with_the_kept_quarter_before_it(tmp_path: Path, clean: tuple[Path, Path],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """stock_quarter_jump reads the batch's previous_quarter_value: when only the new quarter is recomputed,
    its rows must still get the value of the quarter before, which the kept batch already holds."""
    settings = _settings(tmp_path, clean)
    assert _run(settings, "q3", "2024Q3")[("raw_statistics", "stock_quarter_jump")][:3] == ("warn", True, 0)
    _apply(settings, LATE_FILE.replace("period = '2024Q1'", "period = '2099Q1'"))  # the 2024Q4 jump alone
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        kept = _run(settings, "q4", "2024Q4")
    assert f"periods from index {Quarter.parse('2024Q4').index} recomputed" in caplog.text
    jump = kept[("raw_statistics", "stock_quarter_jump")]
    assert jump[:3] == ("warn", False, 1) and '"period": "2024Q4"' in jump[3][0]
    assert kept == _run(settings, "q4-fresh", "2024Q4", afresh=True)


# 110102 reports AST_DIBAO_PERSONS only yearly (its Q4 rows as years): complete_for_closed_quarters
# expects it in Q4 only. A later file with one quarter row of it makes every quarter expected again.
YEARLY_ONLY = """
delete from raw.stat_observations where region_code = '110102' and indicator_code = 'AST_DIBAO_PERSONS'
                                    and period not like '%Q4';
update raw.stat_observations set period_type = 'year', period = left(period, 4)
where region_code = '110102' and indicator_code = 'AST_DIBAO_PERSONS';
"""
ONE_QUARTER_ROW = """
insert into raw.stat_observations
select 'f9', 9, 1, region_code, '2024Q4', 'quarter', indicator_code, breakdown, value, unit, raw_value, raw_unit,
       numerator, denominator, reported_on, source, is_simulated, loaded_at, mapped, period_index
from raw.stat_observations where region_code = '110102' and indicator_code = 'AST_DIBAO_PERSONS' and period = '2024';
""" + dqdata.LEDGER_ROWS


def test_kept_missing_quarters_follow_a_pair_no_longer_yearly_and_the_plan(
        tmp_path: Path, clean: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    """complete_for_closed_quarters' rows are kept beside the batch; a new quarter recomputes its own
    period, the region × indicator pairs whose yearly-only standing changed (all their quarters) and,
    when the plan changed, everything: always the findings of a check from scratch."""
    rule = ("raw_statistics", "complete_for_closed_quarters")
    settings = _settings(tmp_path, clean)
    _apply(settings, YEARLY_ONLY)
    assert _run(settings, "q3", "2024Q3")[rule][:3] == ("warn", True, 0)

    _apply(settings, ONE_QUARTER_ROW)
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        kept = _run(settings, "q4", "2024Q4")
    assert f"periods from index {Quarter.parse('2024Q4').index} recomputed" in caplog.text
    assert "1 changed group(s) recomputed" in caplog.text
    missing = kept[rule]
    assert missing[:3] == ("warn", False, 6)  # 2023Q1-Q3 and 2024Q1-Q3, before the recomputed period
    assert sum('"period": "2023Q2"' in row and '"110102"' in row for row in missing[3]) == 1
    assert kept == _run(settings, "q4-fresh", "2024Q4", afresh=True)

    # the file withdrawn: yearly only again, nothing missing
    _apply(settings, "delete from raw.stat_observations where file_id = 'f9'")
    again = _run(settings, "q4-again", "2024Q4")
    assert again[rule][:3] == ("warn", True, 0)
    assert again == _run(settings, "q4-again-fresh", "2024Q4", afresh=True)

    # the quarter row back, then the plan drops the indicator for 110102: its quarters are no longer expected
    _apply(settings, ONE_QUARTER_ROW)
    assert _run(settings, "q4-back", "2024Q4")[rule][2] == 6
    _apply(settings, "delete from raw.plan_indicators where region_code = '110102' "
                     "and indicator_code = 'AST_DIBAO_PERSONS'")
    caplog.clear()
    with caplog.at_level("INFO", logger="planwatch.quality.validate"):
        planned = _run(settings, "q4-plan", "2024Q4")
    assert "raw_statistics__missing computed afresh" in caplog.text
    assert planned[rule][:3] == ("warn", True, 0)
    assert planned == _run(settings, "q4-plan-fresh", "2024Q4", afresh=True)
