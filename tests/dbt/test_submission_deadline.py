"""The submission deadline has one home, planwatch/core/scheduling.py: the forms, the DAG's schedule
and the bi submission views all read it (dbt through the var every planwatch dbt run passes)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb

from planwatch.core.periods import Quarter
from planwatch.core.scheduling import DEADLINE_DBT_VAR, SCHEDULE_CRON, SUBMISSION_DEADLINE_DAYS, submission_deadline


def _deadlines(db: Path, table: str) -> list[tuple[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select distinct period, deadline from bi.{table} order by period").fetchall()


def test_bi_deadlines_are_the_ones_the_forms_print(built: tuple[Path, dict[str, Any]]) -> None:
    candidate, _ = built
    for table in ("submission_status", "submission_counts"):
        rows = _deadlines(candidate, table)
        assert len(rows) >= 4, table  # the fixture's quarters with plan figures
        for period, deadline in rows:
            assert deadline == submission_deadline(Quarter.parse(period)), (table, period)
    # 2023Q4 closes on 31 December: due on 15 January, the day the DAG runs
    assert submission_deadline(Quarter.parse("2023Q4")).isoformat() == "2024-01-15"
    assert SCHEDULE_CRON.split()[2] == str(SUBMISSION_DEADLINE_DAYS)


def test_a_changed_deadline_reaches_dbt(built: tuple[Path, dict[str, Any]], dbt_dir: Path, tmp_path: Path) -> None:
    from planwatch.build.dbt_runner import run_dbt

    candidate, _ = built
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(candidate, copy)
    # a full refresh, as a pipeline build with a changed deadline is (the var is in the build's
    # fingerprint): bi.submission_counts is incremental and would keep its rows otherwise
    outcome = run_dbt(dbt_dir, copy, tmp_path / "work", {"as_of_quarter": "2023Q4", DEADLINE_DBT_VAR: 30},
                      command="run", select=["submission_counts"], full_refresh=True)
    assert outcome.success, outcome.errors
    rows = dict(_deadlines(copy, "submission_counts"))
    assert rows["2023Q4"].isoformat() == "2024-01-30"


def test_dbt_without_the_deadline_says_where_it_lives(tmp_path: Path, dbt_dir: Path) -> None:
    """A dbt command started by hand without the var fails on the models that need it, naming the home."""
    from dbt.cli.main import dbtRunner

    from planwatch.build.dbt_runner import _build_db_env

    with _build_db_env(tmp_path / "compile.duckdb"):
        result = dbtRunner().invoke(["compile", "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir),
                                     "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
                                     "--quiet", "--select", "submission_counts",
                                     "--vars", '{"as_of_quarter": "2023Q4"}'])
    assert not result.success
    assert "submission_deadline_days" in str(result.exception)
    assert "planwatch/core/scheduling.py" in str(result.exception)
