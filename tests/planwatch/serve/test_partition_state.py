"""The record of what each quarter of the partitioned facts holds (serve/partition_state.py): an
incremental publish marks changed only the quarters its build can have changed, with their row
counts, and keeps the others' hashes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from planwatch.core.periods import Quarter
from planwatch.serve.partition_state import quarter_states, record_partition_states, recorded_states

TABLES = ["fct_indicator_progress", "fct_indicator_status_history"]


def assert_changed_from(con: duckdb.DuckDBPyConnection, table: str, quarter: str, before: dict) -> None:
    """The quarters before `quarter` keep the hashes of the whole table (and of the record before);
    the others have their row counts and a token no export has seen."""
    got, whole = recorded_states(con, table), quarter_states(con, table)
    assert got is not None and sorted(got) == sorted(whole)
    for i, (n, state) in got.items():
        if int(i) < _i(quarter):
            assert [n, state] == whole[i] == before[i], (table, i)
        else:
            assert n == whole[i][0] and state.startswith("changed ") and state != before.get(i, [0, ""])[1], (table, i)


def _i(quarter: str) -> int:
    return Quarter.parse(quarter).index


def _published(path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse as an incremental build finds it: statistics (raw), facts and status history of
    two series up to 2025Q3; series B reports yearly, its last row is 2023 (at 2023Q4's index)."""
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create schema marts")
    con.execute("create table raw.stat_observations (series_id varchar, period_index integer, file_seq integer)")
    con.execute("create table marts.fct_indicator_progress (series_id varchar, period_index integer, "
                "source_file_seq integer, actual_value double)")
    con.execute("create table marts.fct_indicator_status_history (series_id varchar, period_index integer, "
                "source_file_seq integer, status varchar, is_latest boolean, previous_period varchar)")
    rows = [("A", _i(q), 1) for q in ("2022Q4", "2023Q4", "2024Q4", "2025Q1", "2025Q2", "2025Q3")]
    rows += [("B", _i(q), 1) for q in ("2022Q4", "2023Q4")]
    con.executemany("insert into raw.stat_observations values (?, ?, ?)", rows)
    con.execute("insert into marts.fct_indicator_progress select series_id, period_index, file_seq, "
                "period_index / 10 from raw.stat_observations")
    con.execute("insert into marts.fct_indicator_status_history select series_id, period_index, file_seq, "
                "'on_track', period_index = max(period_index) over (partition by series_id), "
                f"lag({LABEL}) over (partition by series_id order by period_index) "
                "from raw.stat_observations")
    return con


# A row's period as the model prints it: B's yearly rows as YYYY (at their Q4's index), A's as YYYYQn.
LABEL = ("case when series_id = 'B' then (period_index // 4)::varchar "
         "else (period_index // 4)::varchar || 'Q' || (period_index % 4 + 1)::varchar end")


def _build_2025q4(con: duckdb.DuckDBPyConnection) -> None:
    """What the incremental build for 2025Q4 writes: file 2 brings A's 2025Q4 and B's 2025 figure;
    the status history writes B's 2023 row again as no longer the latest (its anchor)."""
    con.executemany("insert into raw.stat_observations values (?, ?, 2)", [("A", _i("2025Q4")), ("B", _i("2025Q4"))])
    con.execute("insert into marts.fct_indicator_progress select series_id, period_index, file_seq, 1.5 "
                "from raw.stat_observations where file_seq = 2")
    con.execute("update marts.fct_indicator_status_history set is_latest = false")
    # each new row names the series' row before it, the anchor, as its previous period (B's: 2023)
    con.execute("insert into marts.fct_indicator_status_history select series_id, period_index, file_seq, "
                "'lagging', true, case series_id when 'A' then '2025Q3' else '2023' end "
                "from raw.stat_observations where file_seq = 2")


def test_an_incremental_publish_marks_the_changed_quarters_and_the_anchors(tmp_path: Path) -> None:
    con = _published(tmp_path / "w.duckdb")
    assert record_partition_states(con, TABLES) == {t: "all" for t in TABLES}
    before = {t: recorded_states(con, t) for t in TABLES}
    assert before["fct_indicator_progress"] == quarter_states(con, "fct_indicator_progress")
    assert sorted(before["fct_indicator_progress"], key=int) == [
        str(_i(q)) for q in ("2022Q4", "2023Q4", "2024Q4", "2025Q1", "2025Q2", "2025Q3")]
    # published again with nothing new: nothing hashed
    assert record_partition_states(con, TABLES) == {t: "none" for t in TABLES}

    _build_2025q4(con)
    # the copy carries the published record, which no longer describes its rows: not used
    assert all(recorded_states(con, t) is None for t in TABLES)
    done = record_partition_states(con, TABLES)
    # the facts from the new period; the status history from B's anchor, its 2023 row (at
    # 2023Q4's index), which changed (its hash differs)
    assert done == {"fct_indicator_progress": "2025Q4", "fct_indicator_status_history": "2023Q4"}
    assert_changed_from(con, "fct_indicator_progress", "2025Q4", before["fct_indicator_progress"])
    assert_changed_from(con, "fct_indicator_status_history", "2023Q4", before["fct_indicator_status_history"])
    anchor = str(_i("2023Q4"))
    assert (quarter_states(con, "fct_indicator_status_history")[anchor]
            != before["fct_indicator_status_history"][anchor])
    # the next publish with nothing new keeps the tokens
    after = {t: recorded_states(con, t) for t in TABLES}
    assert record_partition_states(con, TABLES) == {t: "none" for t in TABLES}
    assert {t: recorded_states(con, t) for t in TABLES} == after


def test_a_revision_rehashes_from_the_revised_quarter(tmp_path: Path) -> None:
    con = _published(tmp_path / "w.duckdb")
    record_partition_states(con, TABLES)
    before = {t: recorded_states(con, t) for t in TABLES}
    # file 2 revises A's 2022 figure (an old period): the build rebuilds A from 2022 on
    con.execute("insert into raw.stat_observations values ('A', ?, 2)", [_i("2022Q4")])
    con.execute("update marts.fct_indicator_progress set source_file_seq = 2, actual_value = 0 "
                "where series_id = 'A' and period_index = ?", [_i("2022Q4")])
    con.execute("update marts.fct_indicator_status_history set source_file_seq = 2, status = 'lagging' "
                "where series_id = 'A' and period_index = ?", [_i("2022Q4")])
    done = record_partition_states(con, TABLES)
    assert done == {"fct_indicator_progress": "2022Q4", "fct_indicator_status_history": "2022Q4"}
    for table in TABLES:
        assert_changed_from(con, table, "2022Q4", before[table])


def test_a_record_by_year_from_an_older_version_is_replaced(tmp_path: Path) -> None:
    """A file published before the record was kept by quarter has one by year: not trusted, the
    quarters are hashed whole and the record is rewritten by quarter."""
    con = _published(tmp_path / "w.duckdb")
    con.execute("create schema audit")
    con.execute("create table audit.parquet_partitions (table_name varchar, period_year integer, row_count bigint, "
                "row_hash varchar, built_file_seq bigint, built_period_index bigint)")
    con.execute("insert into audit.parquet_partitions select t, 2025, 1, 'h', 1, ? "
                "from (values ('fct_indicator_progress'), ('fct_indicator_status_history')) v(t)", [_i("2025Q3")])
    assert all(recorded_states(con, t) is None for t in TABLES)
    assert record_partition_states(con, TABLES) == {t: "all" for t in TABLES}
    assert all(recorded_states(con, t) == quarter_states(con, t) for t in TABLES)


def test_a_first_publish_marks_every_quarter_changed_instead_of_hashing(tmp_path: Path) -> None:
    """With no export yet there are no files to keep, so no hashes to compare: every quarter gets its
    row count and a token, and the next incremental publish keeps the tokens of the quarters its
    build cannot have changed, as it keeps hashes."""
    con = _published(tmp_path / "w.duckdb")
    assert record_partition_states(con, TABLES, export_exists=False) == {t: "all" for t in TABLES}
    first = {t: recorded_states(con, t) for t in TABLES}
    for table in TABLES:
        whole = quarter_states(con, table)
        assert sorted(first[table]) == sorted(whole)
        assert all(n == whole[i][0] and state.startswith("changed ") for i, (n, state) in first[table].items())
    _build_2025q4(con)
    assert record_partition_states(con, TABLES, export_exists=False)["fct_indicator_progress"] == "2025Q4"
    after = recorded_states(con, "fct_indicator_progress")
    assert {i: s for i, s in after.items() if int(i) < _i("2025Q4")} == first["fct_indicator_progress"]
    assert after[str(_i("2025Q4"))][1] not in {s for _, s in first["fct_indicator_progress"].values()}


def test_a_record_that_fails_midway_leaves_the_record_before_it(tmp_path: Path) -> None:
    """The record is replaced in one transaction: a table that cannot be recorded (here the status
    history lost its period_index) leaves every table's record as it was, the fact's included."""
    con = _published(tmp_path / "w.duckdb")
    record_partition_states(con, TABLES)
    record = "select * from audit.parquet_partitions order by all"
    before = con.execute(record).fetchall()
    assert {r[0] for r in before} == set(TABLES)
    _build_2025q4(con)
    con.execute("alter table marts.fct_indicator_status_history rename column period_index to period_idx")
    with pytest.raises(duckdb.Error):
        record_partition_states(con, TABLES)
    assert con.execute(record).fetchall() == before
