"""Each fact is checked once: the mart defects that Great Expectations no longer looks for (#13)
are caught by the dbt test on the model that builds them (dbt/models/marts/_marts__models.yml).

Every case breaks one fact in a copy of the fixture build, runs `dbt test` on that model, and
expects its twin test to fail: the GX mart suites keep only what dbt does not know (catalog
bounds, the plan bridge, drift between runs; expectations/suites/marts.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from planwatch.build.dbt_runner import run_dbt
from planwatch.core.db import connect

# defect -> (SQL breaking it in the built warehouse, model to test, the dbt test that must fail)
CASES = {
    # progress_id is not stored: the table computes it from the row's key (a virtual column,
    # dbt/macros/virtual_columns.sql), so a row given twice has its id twice
    "duplicate_progress_row": (
        "insert into marts.fct_indicator_progress by name "
        "select * exclude (progress_id) from marts.fct_indicator_progress limit 1",
        "fct_indicator_progress", "unique_fct_indicator_progress_progress_id"),
    # two different keys that give one id ('A|B' + 'C' and 'A' + 'B|C'): the id's test groups the
    # key, and by the id itself the rows that hold '|' in a key column (tests/generic/unique_id.sql)
    "two_progress_keys_one_id": (
        "insert into marts.fct_indicator_progress by name "
        "select * exclude (progress_id) replace (k.region_code as region_code, k.indicator_code as indicator_code, "
        "'' as breakdown, '2023Q4' as period) "
        "from (select * from marts.fct_indicator_progress limit 1) "
        "cross join (values ('A|B', 'C'), ('A', 'B|C')) as k(region_code, indicator_code)",
        "fct_indicator_progress", "unique_fct_indicator_progress_progress_id"),
    "duplicate_status_history_row": (
        "insert into marts.fct_indicator_status_history by name "
        "select * exclude (status_history_id) from marts.fct_indicator_status_history limit 1",
        "fct_indicator_status_history", "unique_fct_indicator_status_history_status_history_id"),
    "progress_null_status": (
        "update marts.fct_indicator_progress set status = null where progress_id = "
        "(select min(progress_id) from marts.fct_indicator_progress)",
        # the model's not-null columns are one test node (tests/generic/not_null_columns.sql)
        "fct_indicator_progress", "not_null_columns_fct_indicator_progress"),
    "progress_unknown_region": (
        "update marts.fct_indicator_progress set region_code = '999999' where progress_id = "
        "(select min(progress_id) from marts.fct_indicator_progress)",
        "fct_indicator_progress", "relationships_fct_indicator_progress_region_code"),
    "progress_unknown_indicator": (
        "update marts.fct_indicator_progress set indicator_code = 'NOT_IN_CATALOG' where progress_id = "
        "(select min(progress_id) from marts.fct_indicator_progress)",
        "fct_indicator_progress", "relationships_fct_indicator_progress_indicator_code"),
    "plan_completion_unknown_region": (
        "update marts.fct_plan_completion set region_code = '999999' where completion_id = "
        "(select min(completion_id) from marts.fct_plan_completion)",
        "fct_plan_completion", "relationships_fct_plan_completion_region_code"),
    "duplicate_dim_region": (
        "insert into marts.dim_region select * from marts.dim_region limit 1",
        "dim_region", "unique_dim_region_region_code"),
    "duplicate_dim_indicator": (
        "insert into marts.dim_indicator select * from marts.dim_indicator limit 1",
        "dim_indicator", "unique_dim_indicator_indicator_code"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_dbt_test_catches_the_defect(tmp_path: Path, built: tuple[Path, dict[str, Any]], dbt_dir: Path,
                                     case: str) -> None:
    sql, model, twin = CASES[case]
    candidate = tmp_path / "candidate.duckdb"
    shutil.copy2(built[0], candidate)
    with connect(candidate) as con:
        before = con.execute(f"select count(*) from marts.{model}").fetchone()
        con.execute(sql)
    outcome = run_dbt(dbt_dir, candidate, tmp_path / "work", {"as_of_quarter": "2023Q4"},
                      command="test", select=[model])
    assert before is not None and before[0] > 0, f"marts.{model} is empty in the fixture build"
    failed = [label for label in outcome.failed + outcome.errors if label.startswith(twin)]
    assert failed, f"{case}: expected {twin}* to fail; failed: {outcome.failed}, errors: {outcome.errors}"


def test_a_failing_not_null_row_names_the_model_the_column_and_the_rule(
        tmp_path: Path, built: tuple[Path, dict[str, Any]], dbt_dir: Path) -> None:
    """One not_null_columns node checks all the model's not-null columns: its failing rows say which
    column holds nulls, in how many rows, so the failure still names the column dbt's name no longer does."""
    candidate = tmp_path / "candidate.duckdb"
    shutil.copy2(built[0], candidate)
    with connect(candidate) as con:
        con.execute("update marts.fct_indicator_progress set status = null, status_zh = null "
                    "where progress_id in (select progress_id from marts.fct_indicator_progress order by 1 limit 2)")
        con.execute("update marts.fct_indicator_progress set actual_value = null "
                    "where progress_id = (select max(progress_id) from marts.fct_indicator_progress)")
    outcome = run_dbt(dbt_dir, candidate, tmp_path / "work", {"as_of_quarter": "2023Q4"},
                      command="test", select=["fct_indicator_progress,test_name:not_null_columns"])
    assert [label.split(" (")[0][:39] for label in outcome.failed] == ["not_null_columns_fct_indicator_progress"]
    assert "Got 3 results" in outcome.failed[0]
    compiled = [path for path in (tmp_path / "work" / "target" / "compiled").rglob("*.sql")
                if "'fct_indicator_progress' as model_name" in path.read_text()]
    assert len(compiled) == 1, compiled
    with connect(candidate, read_only=True) as con:
        rows = con.execute(compiled[0].read_text()).fetchall()
    assert sorted(rows) == [("fct_indicator_progress", "actual_value", "not_null", 1),
                            ("fct_indicator_progress", "status", "not_null", 2),
                            ("fct_indicator_progress", "status_zh", "not_null", 2)]


def test_fact_id_rechecks_the_chain_keys_a_run_leaves_out(tmp_path: Path, built: tuple[Path, dict[str, Any]],
                                                          dbt_dir: Path) -> None:
    """A run leaves out the key tests of int_observations_latest and int_progress_series_counted
    (tag chain_logic, planwatch.build.candidate): a duplicate key there is caught by the fact's
    unique progress_id, built on it as a run builds it."""
    from planwatch.build.candidate import CHAIN_LOGIC_TAG

    candidate = tmp_path / "candidate.duckdb"
    shutil.copy2(built[0], candidate)
    with connect(candidate) as con:
        con.execute("insert into intermediate.int_observations_latest "
                    "select * from intermediate.int_observations_latest limit 1")
    outcome = run_dbt(dbt_dir, candidate, tmp_path / "work", {"as_of_quarter": "2023Q4"}, full_refresh=True,
                      select=["int_progress_series_counted+"], exclude=[f"tag:{CHAIN_LOGIC_TAG}"],
                      exclude_resource_types=("unit_test",))
    failed = outcome.failed + outcome.errors
    assert any(label.startswith("unique_fct_indicator_progress_progress_id") for label in failed), failed
    assert not any("int_progress_series_counted" in label or "int_observations_latest" in label for label in failed)


def test_fact_id_with_a_separator_in_its_key_is_still_unique(tmp_path: Path, built: tuple[Path, dict[str, Any]],
                                                              dbt_dir: Path) -> None:
    """A '|' inside a key column does not by itself fail the id's test: two rows whose keys hold
    '|' pass while their ids differ (tests/generic/unique_id.sql compares them by the id)."""
    candidate = tmp_path / "candidate.duckdb"
    shutil.copy2(built[0], candidate)
    with connect(candidate) as con:
        con.execute("insert into marts.fct_indicator_progress by name "
                    "select * exclude (progress_id) replace (k.region_code as region_code, "
                    "k.indicator_code as indicator_code, 'x|y' as breakdown, '2023Q4' as period) "
                    "from (select * from marts.fct_indicator_progress limit 1) "
                    "cross join (values ('A|B', 'C'), ('A', 'C')) as k(region_code, indicator_code)")
        ids = con.execute("select progress_id from marts.fct_indicator_progress "
                          "where breakdown = 'x|y' order by 1").fetchall()
    assert ids == [("A|B|C|x|y|2023Q4",), ("A|C|x|y|2023Q4",)]
    outcome = run_dbt(dbt_dir, candidate, tmp_path / "work", {"as_of_quarter": "2023Q4"},
                      command="test", select=["test_name:unique_id"])
    labels = outcome.failed + outcome.errors
    assert not any(label.startswith("unique_fct_indicator_progress_progress_id") for label in labels), labels
    assert outcome.counts.get("test:pass", 0) == 2, outcome.counts
