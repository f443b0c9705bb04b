"""Parquet exports of the published warehouse's marts, for BI tools that read files.

The `bi` views are dbt models (dbt/models/bi/), built and tested with the marts they read in the
dbt build stage (planwatch.build.bi_views checks they are all there), so they are published with
the marts; `export_parquet` runs in the publish step on the published file
(read-only, after the rename). BI tools then read `warehouse/planwatch.duckdb` read-only, or the
Parquet files; see docs/bi.md.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.db import column_exists, connect
from planwatch.core.periods import Quarter
from planwatch.serve.partition_state import INDEX_COLUMN, recorded_states, year_states

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

MART_SCHEMA = "marts"


def mart_tables(con: "duckdb.DuckDBPyConnection") -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = ? order by table_name",
        [MART_SCHEMA]).fetchall()]


# Large facts are written one file per year (hive layout `<table>/period_year=<year>/data.parquet`),
# so that a publish that changed one year rewrites one file, not the whole history (bench/README.md).
# Tables not named here are written whole.
PARTITIONED = ("fct_indicator_progress", "fct_indicator_status_history")
PARTITION_COLUMN = "period_year"
# Years are found by `period_index` (INDEX_COLUMN: an integer the scan filters before it reads the
# other columns), not by the text of `period`: cast(left(period, 4)) made DuckDB decode every row's
# period for each year, 0.3-0.5 s of CPU per year file nationally (bench/README.md, sixth pass).
MANIFEST = "_partitions.json"  # what each partition file was written from: rows and a hash or token of them


def export_parquet(db_path: Path, out_dir: Path) -> dict[str, int]:
    """Write every table of the `marts` schema of `db_path` to `out_dir`: `<table>.parquet`, or for
    the facts in PARTITIONED one `<table>/period_year=<year>/data.parquet` per year.

    Opens `db_path` read-only. Each file is written under a temporary name and renamed over the old
    one, so a reader sees either the previous file or the new one, never half a file. A year whose
    rows are those of the last export (same count and state of its rows, recorded in MANIFEST) keeps
    its file: an incremental publish rewrites the years it changed. Parquet files of marts or years
    that no longer exist are removed. Returns rows per table.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / MANIFEST
    try:
        old_manifest: dict[str, dict[str, list[int | str]]] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        old_manifest = {}  # first export, or a file we cannot trust: write every year
    manifest: dict[str, dict[str, list[int | str]]] = {}
    rows: dict[str, int] = {}
    written = kept = 0
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        with connect(db_path, read_only=True) as con:
            con.execute("SET enable_progress_bar = false")  # no progress bars in task logs
            # Row order in a Parquet file means nothing to its readers; not keeping it lets DuckDB
            # write with every thread (5.4 M fact rows: 8.8 -> 6.7 s, bench/README.md).
            con.execute("SET preserve_insertion_order = false")
            for table in mart_tables(con):
                # Identifiers come from the catalog, not from files; quoted all the same.
                source = f'{MART_SCHEMA}."' + table.replace('"', '""') + '"'
                if table not in PARTITIONED or not column_exists(con, MART_SCHEMA, table, INDEX_COLUMN):
                    staged = staging / f"{table}.parquet"
                    con.execute(f"COPY (SELECT * FROM {source}) TO '{_sql_path(staged)}' "
                                "(FORMAT parquet, COMPRESSION zstd)")
                    os.replace(staging / f"{table}.parquet", out_dir / f"{table}.parquet")
                    count = con.execute(f"SELECT count(*) FROM {source}").fetchone()
                    rows[table] = int(count[0]) if count else 0
                    written += 1
                    continue
                # The year's row count and a state of its rows (an order-independent hash, or a token
                # for a year an incremental build changed): what decides whether the year's file must
                # be written again. Publish records them in the file (serve/partition_state.py);
                # a file without that record (a rollback to an older version) is hashed here.
                years = recorded_states(con, table) or year_states(con, table)
                manifest[table] = years
                rows[table] = sum(int(n) for n, _ in years.values())
                previous = old_manifest.get(table, {})
                folder = out_dir / table
                for year, state in years.items():
                    target = folder / f"{PARTITION_COLUMN}={year}" / "data.parquet"
                    if previous.get(year) == state and target.is_file():
                        kept += 1
                        continue
                    staged = staging / f"{table}-{year}.parquet"
                    first, last = Quarter(int(year), 1).index, Quarter(int(year), 4).index
                    con.execute(f"COPY (SELECT * FROM {source} WHERE {INDEX_COLUMN} BETWEEN {first} AND {last}) "
                                f"TO '{_sql_path(staged)}' (FORMAT parquet, COMPRESSION zstd)")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, target)
                    written += 1
                for stale in folder.glob(f"{PARTITION_COLUMN}=*"):
                    if stale.name.split("=", 1)[1] not in years:
                        shutil.rmtree(stale)
                (out_dir / f"{table}.parquet").unlink(missing_ok=True)  # the layout before partitions
        _write_atomic(manifest_path, json.dumps(manifest, indent=1, sort_keys=True))
        for old in out_dir.glob("*.parquet"):
            if old.stem not in rows or old.stem in manifest:
                old.unlink()
                log.info("removed %s: no such mart any more", old)
        for old in out_dir.iterdir():
            if old.is_dir() and old != staging and old.name not in rows:
                shutil.rmtree(old)
                log.info("removed %s: no such mart any more", old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("exported %d marts to %s (%d rows; %d files written, %d unchanged years kept)",
             len(rows), out_dir, sum(rows.values()), written, kept)
    return rows


def parquet_files(out_dir: Path) -> list[Path]:
    """Every Parquet file of an export (whole marts and the years of partitioned ones)."""
    return sorted(out_dir.glob("*.parquet")) + sorted(out_dir.glob(f"*/{PARTITION_COLUMN}=*/*.parquet"))


def partitioned_tables(con: "duckdb.DuckDBPyConnection") -> list[str]:
    """The marts written one file per year (PARTITIONED, when they have INDEX_COLUMN)."""
    present = set(mart_tables(con))
    return [t for t in PARTITIONED if t in present and column_exists(con, MART_SCHEMA, t, INDEX_COLUMN)]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _sql_path(path: Path) -> str:
    """A path as a SQL string literal body (COPY ... TO takes no parameter)."""
    return str(path).replace("'", "''")
