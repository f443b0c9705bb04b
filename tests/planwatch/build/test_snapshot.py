"""The raw snapshot of a full-refresh candidate: a byte copy of the ingest store, trimmed, equals the
table-by-table copy it replaces (planwatch/build/snapshot.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb

from planwatch.build.candidate import build_from_ingest
from planwatch.build.snapshot import copy_ingest_file, copy_raw_tables, trim_ingest_copy
from planwatch.core.db import STORAGE_VERSION_NUMBER, connect, storage_version_number, wal_of
from planwatch.core.periods import Quarter
from tests.planwatch.build.test_candidate import REPO_ROOT, _fixture_builder


def _contents(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the file with its rows, in a stable order."""
    with connect(db, read_only=True) as con:
        names = [f"{r[0]}.{r[1]}" for r in con.execute(
            "select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()]
        return {name: con.execute(f"select * from {name} order by all").fetchall() for name in names}


def _table_by_table(ingest: Path, out: Path, quarter: Quarter) -> dict[str, list[tuple[Any, ...]]]:
    with connect(out) as con:
        copy_raw_tables(con, ingest, quarter)
    return _contents(out)


def _byte_copy(ingest: Path, out: Path, quarter: Quarter) -> dict[str, list[tuple[Any, ...]]]:
    assert copy_ingest_file(ingest, out)
    with connect(out) as con:
        trim_ingest_copy(con, ingest, quarter)
    return _contents(out)


def test_byte_copy_equals_the_table_copy(tmp_path: Path) -> None:
    ingest = _fixture_builder().build_ingest(tmp_path / "ingest.duckdb")
    with connect(ingest) as con:
        # what the ingest store holds that a candidate must not: audit rows of the loads
        con.execute("insert into audit.load_state values ('load_plans', 'abc', null, now())")
        # and a table someone made by hand, its name quoted
        con.execute('create table raw."scratch ""copy""" as select 1 as x')
        periods = [r[0] for r in con.execute(
            "select distinct period_index from raw.stat_observations order by 1").fetchall()]
    assert len(periods) > 2
    for index in (periods[-1], periods[1]):  # the latest quarter, and a backfill of an early one
        quarter = Quarter.from_index(index)
        expected = _table_by_table(ingest, tmp_path / f"table-{index}.duckdb", quarter)
        got = _byte_copy(ingest, tmp_path / f"bytes-{index}.duckdb", quarter)
        assert got == expected
        assert got["audit.load_state"] == []
        assert {r[-1] for r in got["raw.stat_observations"]} == {p for p in periods if p <= index}
    assert storage_version_number(tmp_path / f"bytes-{periods[1]}.duckdb") == STORAGE_VERSION_NUMBER


def test_byte_copy_takes_the_write_ahead_log_along(tmp_path: Path) -> None:
    ingest = _fixture_builder().build_ingest(tmp_path / "ingest.duckdb")
    before = _contents(ingest)["raw.stat_observations"]
    # a writer that stopped without a checkpoint (a crash) leaves its last rows in the WAL only
    con = duckdb.connect(str(ingest))
    con.execute("SET checkpoint_threshold = '1TB'")
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("delete from raw.stat_observations where file_seq = 4")
    con.close()
    assert wal_of(ingest).exists()
    quarter = Quarter.from_index(max(r[-1] for r in before))
    got = _byte_copy(ingest, tmp_path / "bytes.duckdb", quarter)["raw.stat_observations"]
    assert got == [r for r in before if r[1] != 4] and len(got) < len(before)


def test_a_store_in_another_storage_format_is_copied_table_by_table(tmp_path: Path) -> None:
    """A store from before the format was pinned (DuckDB 2.0's own): a byte copy would publish that
    format, which DuckDB 1.4 readers cannot open, so the candidate gets the tables, in the pinned one."""
    ingest = _fixture_builder().build_ingest(tmp_path / "ingest.duckdb")
    newer = tmp_path / "ingest_v2.duckdb"
    with duckdb.connect(str(newer)) as con:
        con.execute(f"ATTACH '{ingest}' AS old (READ_ONLY)")
        con.execute("COPY FROM DATABASE old TO ingest_v2")
    assert storage_version_number(newer) != STORAGE_VERSION_NUMBER
    assert not copy_ingest_file(newer, tmp_path / "unused.duckdb")
    assert not (tmp_path / "unused.duckdb").exists()
    candidate = tmp_path / "candidate.duckdb"
    build_from_ingest(newer, candidate, Quarter.parse("2024Q4"), REPO_ROOT / "dbt", full_refresh=True)
    assert storage_version_number(candidate) == STORAGE_VERSION_NUMBER
    with connect(candidate, read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_indicator_progress").fetchone()[0] > 0  # type: ignore[index]
    shutil.rmtree(tmp_path / "candidate.dbt", ignore_errors=True)


def test_an_extended_copy_keeps_only_the_tables_whose_columns_are_the_ingest_stores(tmp_path: Path) -> None:
    """An incremental candidate keeps its reference and plan tables and extends its statistics, but a
    table whose columns differ from the ingest store's (an older build's layout) is copied whole again."""
    ingest = _fixture_builder().build_ingest(tmp_path / "ingest.duckdb")
    expected = _contents(ingest)
    quarter = Quarter.from_index(max(r[-1] for r in expected["raw.stat_observations"]))
    copy = tmp_path / "copy.duckdb"
    _table_by_table(ingest, copy, quarter)
    with connect(copy) as con:
        # kept as they are: the build extends a copy only when its fingerprint says these rows are equal
        con.execute("delete from raw.regions where region_code = (select min(region_code) from raw.regions)")
        # other columns than the ingest store's: copied again
        con.execute("alter table raw.units add column scratch integer")
        con.execute("alter table raw.stat_observations rename column period_index to period_number")
    with connect(copy) as con:
        copy_raw_tables(con, ingest, quarter, extends=quarter)
    got = _contents(copy)
    assert len(got["raw.regions"]) == len(expected["raw.regions"]) - 1
    assert got["raw.units"] == expected["raw.units"]
    assert got["raw.stat_observations"] == expected["raw.stat_observations"]
