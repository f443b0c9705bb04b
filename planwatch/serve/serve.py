"""Serve the published warehouse to BI tools: the `bi` views and Parquet exports of the marts.

`create_bi_views` runs at the end of the dbt build stage on the candidate (so the views are
checked and published with the marts they read); `export_parquet` runs in the publish step on the
published file (read-only, after the rename). BI tools then read
`warehouse/planwatch.duckdb` read-only, or the Parquet files; see docs/bi.md.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.db import connect

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

BI_VIEWS_SQL = Path(__file__).resolve().parent / "sql" / "bi_views.sql"
BI_VIEWS: tuple[str, ...] = (
    "latest_status", "status_counts", "dq_last_run", "dq_summary", "dq_findings",
    "plan_figures_excluded", "submission_status", "submission_by_region",
    "observations_without_plan", "regions_without_current_plan",
)
MART_SCHEMA = "marts"


def create_bi_views(con: "duckdb.DuckDBPyConnection") -> list[str]:
    """Create (or replace) the `bi` views in the warehouse `con` is connected to; returns their names.

    Needs `marts.fct_indicator_progress`, `marts.dim_indicator`, `marts.dim_region`,
    `marts.dim_status` and `audit.dq_results` in the same file: DuckDB binds a view when it is created, so a missing table fails here, at publish time,
    rather than in a dashboard.
    """
    con.execute(BI_VIEWS_SQL.read_text(encoding="utf-8"))
    created = [r[0] for r in con.execute(
        "select view_name from duckdb_views() where schema_name = 'bi' and not internal "
        "order by view_name").fetchall()]
    missing = sorted(set(BI_VIEWS) - set(created))
    if missing:
        raise RuntimeError(f"{BI_VIEWS_SQL}: views {missing} were not created")
    log.info("created bi views: %s", ", ".join(created))
    return created


def mart_tables(con: "duckdb.DuckDBPyConnection") -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = ? order by table_name",
        [MART_SCHEMA]).fetchall()]


def export_parquet(db_path: Path, out_dir: Path) -> dict[str, int]:
    """Write every table of the `marts` schema of `db_path` to `out_dir/<table>.parquet`.

    Opens `db_path` read-only. Each file is written under a temporary name in `out_dir` and
    renamed over the old one, so a reader sees either the previous export or the new one, never
    half a file. Parquet files of marts that no longer exist are removed. Returns rows per table.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        with connect(db_path, read_only=True) as con:
            con.execute("SET enable_progress_bar = false")  # no progress bars in task logs
            # Row order in a Parquet file means nothing to its readers; not keeping it lets DuckDB
            # write with every thread (5.4 M fact rows: 8.8 -> 6.7 s, bench/README.md).
            con.execute("SET preserve_insertion_order = false")
            for table in mart_tables(con):
                target = staging / f"{table}.parquet"
                # Identifiers come from the catalog, not from files; quoted all the same.
                ident = '"' + table.replace('"', '""') + '"'
                con.execute(f"COPY (SELECT * FROM {MART_SCHEMA}.{ident}) TO '{_sql_path(target)}' "
                            "(FORMAT parquet, COMPRESSION zstd)")
                count = con.execute(f"SELECT count(*) FROM {MART_SCHEMA}.{ident}").fetchone()
                rows[table] = int(count[0]) if count else 0
        for table in rows:
            os.replace(staging / f"{table}.parquet", out_dir / f"{table}.parquet")
        for old in out_dir.glob("*.parquet"):
            if old.stem not in rows:
                old.unlink()
                log.info("removed %s: no such mart any more", old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("exported %d marts to %s (%d rows)", len(rows), out_dir, sum(rows.values()))
    return rows


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal body (COPY ... TO takes no parameter)."""
    return str(path).replace("'", "''")
