"""The raw snapshot of a candidate: the ingest store's raw tables, as of the run's quarter.

Statistics are copied only for periods ending at or before the quarter (the loader's period_index);
an incremental candidate (a copy of the published warehouse) brings its copied statistics up to
date instead of copying them again. The audit tables only get their shape here: their rows reach the
candidate once, at publish.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.db import ensure_audit_schema
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
    """Delete a DuckDB file and its write-ahead log, if there."""
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


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
    con.execute("ATTACH ? AS ingest (READ_ONLY)", [str(ingest_db)])
    try:
        present = {
            (r[0], r[1]) for r in con.execute(
                "select table_schema, table_name from information_schema.tables where table_catalog = 'ingest'"
            ).fetchall()
        }
        missing = [t for t in RAW_TABLES if ("raw", t) not in present]
        if missing:
            raise TerminalError(
                f"`file={ingest_db}` has no table(s) {', '.join('raw.' + t for t in missing)}. "
                "Load the reference, plan and statistics files first (stages load_plans and load_statistics)."
            )
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        ensure_audit_schema(con)
        copied = 0
        extended = extends is not None and _extend_observations(con, quarter, extends)
        for table in RAW_TABLES:
            if (table == "stat_observations" and extended) or (
                    extends is not None and table in KEPT_WHEN_EXTENDED and _same_columns(con, table)):
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


def _same_columns(con: "duckdb.DuckDBPyConnection", table: str) -> bool:
    """Whether raw.`table` has the same columns, in the same order, in the ingest store and the copy."""
    columns = [
        [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_catalog = ? and table_schema = 'raw' "
            "and table_name = ? order by ordinal_position", [catalog, table]).fetchall()]
        for catalog in ("ingest", con.execute("select current_database()").fetchone()[0])  # type: ignore[index]
    ]
    return bool(columns[0]) and columns[0] == columns[1]


def _extend_observations(con: "duckdb.DuckDBPyConnection", quarter: Quarter, extends: Quarter) -> bool:
    """Bring the copied raw.stat_observations from the snapshot for `extends` to the one for `quarter`.

    Rows of a file change in the ingest store only when the file is loaded (again), and every load
    stamps the file's ledger row; so the rows to replace are those of files whose ledger row differs
    from the copy's (or exists on one side only), and the rows to add are, besides, the periods in
    (`extends`, `quarter`] that the earlier snapshot left out. Same rows as a full copy
    (tests/planwatch/build/test_candidate.py), without copying 5 M rows again (4.4 s at 2,850 regions).
    Returns False, changing nothing, when the copy's columns are not the ingest store's.
    """
    if not _same_columns(con, "stat_observations"):
        return False
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
    return True
