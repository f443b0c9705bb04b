"""The raw snapshot of a candidate: the ingest store's raw tables, as of the run's quarter.

Statistics are copied only for periods ending at or before the quarter (the loader's period_index);
an incremental candidate (a copy of the published warehouse) brings its copied statistics up to
date instead of copying them again. The audit tables only get their shape here: their rows reach the
candidate once, at publish.

A full-refresh candidate starts as a byte copy of the ingest store (copy_ingest_file), trimmed to the
raw tables and the quarter (trim_ingest_copy): its 5 M statistics rows are not decoded and compressed
again (5.2 s of a national build's CTAS copy and checkpoint, bench/README.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.db import (STORAGE_VERSION_NUMBER, attach_read_only, connect, ensure_audit_schema, quote_identifier,
                               storage_version_number, wal_of)
from planwatch.core.errors import TerminalError
from planwatch.core.periods import Quarter

if TYPE_CHECKING:
    import duckdb

# indicator_rules and unit_conversions: derived from the catalog by the plan loader (load_plans.RULE_TABLES)
REFERENCE_TABLES = ("regions", "indicators", "indicator_aliases", "units", "plan_periods",
                    "indicator_rules", "unit_conversions")
PLAN_TABLES = ("plan_indicators", "plan_completion", "plan_prose_targets")
STAT_TABLES = ("file_ledger", "stat_observations", "stat_quarantine")
RAW_TABLES = REFERENCE_TABLES + PLAN_TABLES + STAT_TABLES
# The tables the fingerprint hashes (build/fingerprint.py FINGERPRINT_TABLES): equal in an extended copy.
KEPT_WHEN_EXTENDED = REFERENCE_TABLES + PLAN_TABLES

# The period filter reads the index the loader wrote on every observation (planwatch.core.periods.period_index).
_PERIOD_INDEX_SQL = "period_index"


def remove_db(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log, if there: the log first, so that a crash in
    between never leaves a log that DuckDB would replay into the next file made at this path."""
    for p in (wal_of(path), path):
        p.unlink(missing_ok=True)


def copy_ingest_file(ingest_db: Path, candidate_db: Path) -> bool:
    """Start a full-refresh candidate as a byte copy of the ingest store (and its WAL, if any).

    Returns False, copying nothing, when the store is not in the storage format this version writes
    (a store from before planwatch pinned it): the candidate would inherit the format, and the BI
    tools read the published file in that pinned one (planwatch.core.db.STORAGE_VERSION).
    The read-only connection held during the copy is DuckDB's lock: no writer changes the bytes.
    """
    if storage_version_number(ingest_db) != STORAGE_VERSION_NUMBER:
        return False
    with connect(ingest_db, read_only=True):
        shutil.copyfile(ingest_db, candidate_db)
        if wal_of(ingest_db).exists():
            shutil.copyfile(wal_of(ingest_db), wal_of(candidate_db))
    return True


def trim_ingest_copy(con: "duckdb.DuckDBPyConnection", ingest_db: Path, quarter: Quarter) -> int:
    """Make a byte copy of the ingest store what copy_raw_tables would have written; returns raw rows.

    Everything but the raw tables goes (the audit tables come back empty, as in any candidate), and
    the statistics of periods after the quarter are deleted (a backfill of an earlier quarter).
    """
    present = {(r[0], r[1]) for r in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = current_database()").fetchall()}
    _require_raw_tables(ingest_db, {t for s, t in present if s == "raw"})
    for schema, table in sorted(present):
        if schema != "raw" or table not in RAW_TABLES:
            con.execute(f"DROP TABLE {quote_identifier(schema)}.{quote_identifier(table)}")
    for schema, view in con.execute(
            "select schema_name, view_name from duckdb_views() where not internal "
            "and database_name = current_database()").fetchall():
        con.execute(f"DROP VIEW {quote_identifier(schema)}.{quote_identifier(view)}")
    con.execute(f"DELETE FROM raw.stat_observations WHERE {_PERIOD_INDEX_SQL} > ?", [quarter.index])
    ensure_audit_schema(con)
    return sum(_count_raw_rows(con, table) for table in RAW_TABLES)


def _require_raw_tables(ingest_db: Path, present: set[str]) -> None:
    missing = [t for t in RAW_TABLES if t not in present]
    if missing:
        raise TerminalError(
            f"`file={ingest_db}` has no table(s) {', '.join('raw.' + t for t in missing)}. "
            "Load the reference, plan and statistics files first (stages load_plans and load_statistics)."
        )


def copy_raw_tables(con: "duckdb.DuckDBPyConnection", ingest_db: Path, quarter: Quarter,
                    extends: Quarter | None = None) -> int:
    """Copy the raw tables of the ingest store into the candidate; returns rows in them.

    The audit tables are created empty where missing, for the views that bind to them: their rows
    reach the candidate once, at publish (planwatch.serve.publish), after this run's checks.

    `extends` is the quarter of the published warehouse the candidate is a copy of: its statistics
    are then brought up to date instead of copied again (see _extend_observations), and its
    reference and plan tables are kept: the build extends it only when its fingerprint, a hash of
    exactly those tables' rows in the ingest store (build/fingerprint.py), equals this build's, so
    the copy already holds them (270 k plan rows at 2,850 regions, bench/README.md).
    """
    attach_read_only(con, ingest_db, "ingest")
    try:
        _require_raw_tables(ingest_db, {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = 'ingest' and table_schema = 'raw'"
        ).fetchall()})
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        ensure_audit_schema(con)
        copied = 0
        same: set[str] = set()  # tables the copy keeps: their columns are the ingest store's
        extended = False
        if extends is not None:
            same = _tables_with_same_columns(con)
            extended = "stat_observations" in same  # else copied whole, as in a full build
            if extended:
                _extend_observations(con, quarter, extends)
        for table in RAW_TABLES:
            if (table == "stat_observations" and extended) or (table in KEPT_WHEN_EXTENDED and table in same):
                copied += _count_raw_rows(con, table)
                continue
            where = f" where {_PERIOD_INDEX_SQL} <= ?" if table == "stat_observations" else ""
            params = [quarter.index] if where else []
            con.execute(f'CREATE OR REPLACE TABLE raw."{table}" AS SELECT * FROM ingest.raw."{table}"{where}', params)
            copied += _count_raw_rows(con, table)
    finally:
        con.execute("DETACH ingest")
    return copied


def _count_raw_rows(con: "duckdb.DuckDBPyConnection", table: str) -> int:
    row = con.execute(f'select count(*) from raw."{table}"').fetchone()  # names come from code
    return int(row[0]) if row else 0


def _tables_with_same_columns(con: "duckdb.DuckDBPyConnection") -> set[str]:
    """The raw tables with the same columns, in the same order, in the ingest store and the copy: one
    query for all of them (one per table and side took 60-80 ms of an incremental build, bench/README.md)."""
    columns: dict[str, dict[str, list[str]]] = {"ingest": {}, "copy": {}}
    for database, table, names in con.execute(
            "select case when database_name = 'ingest' then 'ingest' else 'copy' end, table_name, "
            "list(column_name order by column_index) from duckdb_columns() where schema_name = 'raw' "
            "and database_name in ('ingest', current_database()) group by all").fetchall():
        columns[database][table] = names
    return {table for table, names in columns["ingest"].items() if names and names == columns["copy"].get(table)}


def _extend_observations(con: "duckdb.DuckDBPyConnection", quarter: Quarter, extends: Quarter) -> None:
    """Bring the copied raw.stat_observations from the snapshot for `extends` to the one for `quarter`.

    Rows of a file change in the ingest store only when the file is loaded (again), and every load
    stamps the file's ledger row; so the rows to replace are those of files whose ledger row differs
    from the copy's (or exists on one side only), and the rows to add are, besides, the periods in
    (`extends`, `quarter`] that the earlier snapshot left out. Same rows as a full copy
    (tests/planwatch/build/test_candidate.py), without copying 5 M rows again (4.4 s at 2,850 regions).
    The caller has checked that the copy's columns are the ingest store's (_tables_with_same_columns).
    """
    con.execute(
        "create temp table _changed_files as "
        "select coalesce(i.file_id, c.file_id) as file_id "
        "from ingest.raw.file_ledger i full outer join raw.file_ledger c on c.file_id = i.file_id "
        "where i.file_id is null or c.file_id is null or i.status is distinct from c.status "
        "or i.loaded_at is distinct from c.loaded_at or i.rows_loaded is distinct from c.rows_loaded"
    )
    try:
        con.execute("delete from raw.stat_observations where file_id in (select file_id from _changed_files)")
        con.execute(
            f"insert into raw.stat_observations select * from ingest.raw.stat_observations "
            f"where {_PERIOD_INDEX_SQL} <= ? "
            f"and (file_id in (select file_id from _changed_files) or {_PERIOD_INDEX_SQL} > ?)",
            [quarter.index, extends.index],
        )
    finally:
        con.execute("drop table _changed_files")
