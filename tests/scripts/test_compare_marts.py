"""scripts/compare_marts.py: two warehouses compared row for row, on real DuckDB files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_marts.py"


def _warehouse(path: Path, share: float = 55.5, extra_row: bool = False, bi_column: str = "n",
               checked_at: str = "2026-11-29 06:00:00") -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema bi; create schema audit")
        con.execute("create table marts.fct_indicator_progress (progress_id varchar, actual_value double, "
                    "status varchar, tags varchar[])")
        rows = [("330100|ELD_NURSING_BED_SHARE||2023Q4", share, "on_track", ["a"]),
                ("330100|ELD_BEDS||2023Q4", 1200.0, "needs_acceleration", []),
                ("330100|ELD_BEDS||2023Q4", 1200.0, "needs_acceleration", []),  # a duplicate row counts twice
                ("330100|NAN||2023Q4", float("nan"), None, None)]
        if extra_row:
            rows.append(("990100|ELD_BEDS||2023Q4", 3.0, "on_track", []))
        con.executemany("insert into marts.fct_indicator_progress values (?, ?, ?, ?)", rows)
        con.execute("create table marts.dim_status as select 'on_track' as status, 1 as status_order")
        con.execute("create table audit.dq_results as select 'r1' as run_id, ?::timestamp as checked_at", [checked_at])
        con.execute(f"create view bi.dq_last_run as select run_id, checked_at, 1 as {bi_column} from audit.dq_results")
    return path


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_identical_warehouses_compare_the_same_table_by_table(tmp_path: Path) -> None:
    a, b = _warehouse(tmp_path / "a.duckdb"), _warehouse(tmp_path / "b.duckdb")
    done = _run(a, b)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split() for line in lines[2:5]] == [
        ["bi.dq_last_run", "1", "1", "same"],
        ["marts.dim_status", "1", "1", "same"],
        ["marts.fct_indicator_progress", "4", "4", "same"]]
    assert lines[-1] == "3 relations compared in schemas marts, bi: 3 the same, 0 differ"


def test_doubles_agree_within_1e_9_relative_and_not_beyond(tmp_path: Path) -> None:
    a = _warehouse(tmp_path / "a.duckdb", share=55.5)
    close = _warehouse(tmp_path / "close.duckdb", share=55.5 * (1 + 1e-12))
    far = _warehouse(tmp_path / "far.duckdb", share=55.5 * (1 + 1e-6))
    assert _run(a, close).returncode == 0
    done = _run(a, far)
    assert done.returncode == 1
    assert "marts.fct_indicator_progress         4         4  1 row(s) only in A, 1 only in B" in done.stdout
    assert "    only in A: ('330100|ELD_NURSING_BED_SHARE||2023Q4', 55.5, 'on_track', ['a'])" in done.stdout
    assert "55.50005549" in done.stdout and done.stdout.rstrip().endswith("2 the same, 1 differ")


def test_an_extra_row_a_changed_column_and_a_missing_relation_each_differ(tmp_path: Path) -> None:
    a = _warehouse(tmp_path / "a.duckdb")
    b = _warehouse(tmp_path / "b.duckdb", extra_row=True, bi_column="m")
    with duckdb.connect(str(b)) as con:
        con.execute("drop table marts.dim_status")
    done = _run(a, b)
    assert done.returncode == 1
    assert "marts.fct_indicator_progress         4         5  0 row(s) only in A, 1 only in B" in done.stdout
    assert "only in B: ('990100|ELD_BEDS||2023Q4', 3.0, 'on_track', [])" in done.stdout
    assert "bi.dq_last_run                       -         -  columns differ: only in A ['n'], only in B ['m']" \
        in done.stdout
    assert "marts.dim_status                     -         -  only in A" in done.stdout


def test_run_specific_columns_can_be_left_out_and_are_named(tmp_path: Path) -> None:
    a = _warehouse(tmp_path / "a.duckdb", checked_at="2026-11-29 06:00:00")
    b = _warehouse(tmp_path / "b.duckdb", checked_at="2026-11-29 07:30:00")
    assert _run(a, b).returncode == 1
    done = _run(a, b, "--ignore-column", "checked_at")
    assert done.returncode == 0 and "columns left out: checked_at" in done.stdout
    # a relation with every column left out still compares its row counts
    done = _run(a, b, "--ignore-column", "checked_at", "--ignore-column", "run_id", "--ignore-column", "n")
    assert done.returncode == 0 and "bi.dq_last_run                       1         1  same" in done.stdout


def test_a_missing_file_is_named_with_exit_2(tmp_path: Path) -> None:
    done = _run(tmp_path / "nope.duckdb", tmp_path / "nope.duckdb")
    assert done.returncode == 2
    assert f"`file={tmp_path / 'nope.duckdb'}` does not exist" in done.stderr


@pytest.mark.parametrize("a, b, same", [
    (1.0, 1.0 + 1e-10, True), (0.0, 1e-13, True), (0.0, 1e-6, False), (float("nan"), float("nan"), True),
    (1, 1.0, True), ("1", 1.0, False), ([1.0, 2.0], [1.0, 2.0 + 1e-12], True), (None, 0.0, False),
])
def test_values_agree(a: object, b: object, same: bool) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_marts", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("compare_marts", module)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules["compare_marts"])
    module = sys.modules["compare_marts"]
    assert module.values_agree(a, b) is same
