"""planwatch.build.engine_compare: what `make test-spark` relies on to call two builds equal."""

from __future__ import annotations

from pathlib import Path

import duckdb

from planwatch.build.engine_compare import compare_mart, compare_rows, mart_keys

REPO_ROOT = Path(__file__).resolve().parents[3]


def _warehouse(tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema marts")
    con.execute("""create table marts.fct as select * from (values
        ('a', 1.0, 'on_track', date '2023-12-31'), ('b', 2.5e6, 'deterioration', date '2023-12-31'),
        ('c', null, 'insufficient_data', null)) as t(progress_id, value, status, period_end)""")
    con.close()
    return db


def test_a_value_off_by_more_than_1e_9_relative_is_reported(tmp_path: Path) -> None:
    cols = ["progress_id", "value", "status"]
    ours = [("a", 1.0, "on_track"), ("b", 2.5e6, "deterioration")]
    close = [("a", 1.0 + 1e-12, "on_track"), ("b", 2.5e6 * (1 + 1e-10), "deterioration")]
    far = [("a", 1.0, "on_track"), ("b", 2.5e6 * (1 + 1e-8), "deterioration")]
    assert compare_rows("fct", ["progress_id"], cols, ours, cols, close).equal
    result = compare_rows("fct", ["progress_id"], cols, ours, cols, far)
    assert not result.equal
    assert result.differing_values == ["{'progress_id': 'b'} value: 2500000.0 here, 2500000.025 there"]


def test_statuses_keys_and_columns_must_match(tmp_path: Path) -> None:
    cols = ["progress_id", "value", "status"]
    ours = [("a", 1.0, "on_track"), ("b", None, "insufficient_data")]
    other_status = [("a", 1.0, "needs_acceleration"), ("b", None, "insufficient_data")]
    result = compare_rows("fct", ["progress_id"], cols, ours, cols, other_status)
    assert result.differing_values == ["{'progress_id': 'a'} status: 'on_track' here, 'needs_acceleration' there"]
    missing = compare_rows("fct", ["progress_id"], cols, ours, cols, ours[:1] + [("z", None, "insufficient_data")])
    assert missing.missing_keys == [("b",)] and missing.extra_keys == [("z",)]
    null_vs_zero = compare_rows("fct", ["progress_id"], cols, ours, cols, [ours[0], ("b", 0.0, "insufficient_data")])
    assert not null_vs_zero.equal
    fewer_columns = compare_rows("fct", ["progress_id"], cols, ours, cols[:2], [r[:2] for r in ours])
    assert fewer_columns.column_mismatch == "only here: ['status'], only there: []"


def test_compare_mart_reads_the_warehouse_and_the_parquet_folder(tmp_path: Path) -> None:
    db = _warehouse(tmp_path)
    con = duckdb.connect()
    con.execute(f"attach '{db}' as w (read_only)")
    folder = tmp_path / "other" / "fct"
    folder.mkdir(parents=True)
    # another engine's column order, and one status changed
    con.execute(f"""copy (select status, period_end, value, progress_id from w.marts.fct)
                    to '{folder / 'part-0.parquet'}' (format parquet)""")
    con.close()
    assert compare_mart(db, "fct", folder, ["progress_id"]).equal
    con = duckdb.connect()
    con.execute(f"attach '{db}' as w (read_only)")
    con.execute(f"""copy (select case when progress_id = 'c' then 'no_target' else status end as status,
                    period_end, value, progress_id from w.marts.fct) to '{folder / 'part-0.parquet'}' (format parquet)""")
    con.close()
    result = compare_mart(db, "fct", folder, ["progress_id"])
    assert result.values_compared == 12
    assert result.differing_values == ["{'progress_id': 'c'} status: 'insufficient_data' here, 'no_target' there"]


def test_every_mart_of_the_project_has_a_key() -> None:
    keys = mart_keys(REPO_ROOT / "dbt")
    marts = {p.stem for p in (REPO_ROOT / "dbt" / "models" / "marts").glob("*.sql")}
    assert set(keys) == marts
    assert keys["fct_indicator_progress"] == ["progress_id"]
    assert keys["fct_indicator_status_history"] == ["status_history_id"]
