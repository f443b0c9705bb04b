"""Parquet exports of the published warehouse's marts, for BI tools that read files.

The `bi` views are dbt models (dbt/models/bi/), built and tested with the marts they read in the
dbt build stage (planwatch.build.bi_views checks they are all there), so they are published with
the marts; `export_parquet` runs in the publish step on the published file
(read-only, after the rename). BI tools then read `warehouse/planwatch.duckdb` read-only, or the
Parquet files; see docs/bi.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.db import column_exists, connect
from planwatch.core.periods import Quarter
from planwatch.serve.partition_state import INDEX_COLUMN, QuarterStates, quarter_states, recorded_states

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

MART_SCHEMA = "marts"


def mart_tables(con: "duckdb.DuckDBPyConnection") -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where schema_name = ? order by table_name",
        [MART_SCHEMA]).fetchall()]


# Large facts are written in the hive layout `<table>/period_year=<year>/<file>.parquet`: a full
# export writes one file per year, `data.parquet`; an export keeps a year's files that hold only
# quarters before its first changed one and writes the quarters from there on into one file,
# `data-from-<that quarter>.parquet` (so a new quarter writes its own rows, not its year's:
# bench/README.md, eighth pass). A year thus has at most one file per quarter until a change to a
# quarter of its first file gathers it into `data.parquet` again. Tables not named here are one file
# each, `<table>.parquet`, written when their rows differ from the last export's.
PARTITIONED = ("fct_indicator_progress", "fct_indicator_status_history")
PARTITION_COLUMN = "period_year"
# Quarters are found by `period_index` (INDEX_COLUMN: an integer the scan filters before it reads
# the other columns), not by the text of `period`: cast(left(period, 4)) made DuckDB decode every
# row's period for each year file, 0.3-0.5 s of CPU per year file nationally (bench/README.md, sixth pass).
# What each file was written from, per table: `{"period_year=<y>/data.parquet": {"<period_index>":
# [rows, hash or token], ...}, ...}`; under WHOLE, each whole mart's `[rows, hash]`, and under
# COLUMNS each mart's column names and types (a row's hash does not see them: a renamed or widened
# column must not keep a file).
MANIFEST = "_partitions.json"
WHOLE, COLUMNS = "_whole", "_columns"
# Tables whose newest quarter is always a file of its own: the next build writes that quarter's rows
# again. The status history rewrites each changed series' latest row as no longer the latest (its
# anchor, serve/partition_state.py), so a new Q4 changed its Q3, and the year's file of Q1-Q3 was
# written whole; apart, the export writes Q3 and Q4 (bench/README.md, ninth pass).
NEWEST_APART = ("fct_indicator_status_history",)

Pieces = dict[str, QuarterStates]  # a file's path under the table's folder -> the quarters it holds


def export_parquet(db_path: Path, out_dir: Path) -> dict[str, int]:
    """Write every table of the `marts` schema of `db_path` to `out_dir`: `<table>.parquet`, or for
    the facts in PARTITIONED the files of `<table>/period_year=<year>/`.

    Opens `db_path` read-only. Each file is written under a temporary name and renamed over the old
    one, so a reader sees either the previous file or the new one, never half a file. A file whose
    quarters' rows are those of the last export (same count and state per quarter, recorded in
    MANIFEST) is kept: an incremental publish writes the quarters it changed. So is a whole mart's
    file when its row count and hash are the last export's. Parquet files of marts
    or quarters that no longer exist are removed. Returns rows per table.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / MANIFEST
    try:
        old_manifest: dict[str, Pieces] = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        old_manifest = {}  # first export, or a file we cannot trust: write every year
    if not isinstance(old_manifest, dict) or not isinstance(old_manifest.get(COLUMNS, {}), dict) \
            or not isinstance(old_manifest.get(WHOLE, {}), dict):
        old_manifest = {}
    manifest: dict[str, Pieces] = {}
    whole: dict[str, list[int | str]] = {}
    columns: dict[str, str] = {}
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
                columns[table] = _columns(con, table)
                same_columns = old_manifest.get(COLUMNS, {}).get(table) == columns[table]
                if table not in PARTITIONED or not column_exists(con, MART_SCHEMA, table, INDEX_COLUMN):
                    # a mart whose rows are those of the last export keeps its file (fct_plan_figures
                    # changes only with the plans or the series set): an order-independent hash,
                    # 0.04-0.07 s of CPU for 536k rows against 0.44-0.51 s for the file (ninth pass)
                    n, digest = con.execute(f"SELECT count(*), sum(hash(t)::hugeint) FROM {source} AS t").fetchone()
                    rows[table], whole[table] = int(n), [int(n), str(digest)]
                    if same_columns and old_manifest.get(WHOLE, {}).get(table) == whole[table] \
                            and (out_dir / f"{table}.parquet").is_file():
                        kept += 1
                        continue
                    staged = staging / f"{table}.parquet"
                    con.execute(f"COPY (SELECT * FROM {source}) TO '{_sql_path(staged)}' "
                                "(FORMAT parquet, COMPRESSION zstd)")
                    os.replace(staging / f"{table}.parquet", out_dir / f"{table}.parquet")
                    written += 1
                    continue
                # Each quarter's row count and a state of its rows (an order-independent hash, or a
                # token for a quarter an incremental build changed): what decides whether a file
                # must be written again. Publish records them in the file (serve/partition_state.py);
                # a file without that record (a rollback to an older version) is hashed here.
                quarters = recorded_states(con, table) or quarter_states(con, table)
                rows[table] = sum(int(n) for n, _ in quarters.values())
                folder = out_dir / table
                pieces: Pieces = {}
                newest = max((int(i) for i in quarters), default=None) if table in NEWEST_APART else None
                for year, states in _by_year(quarters).items():
                    unchanged = _unchanged_pieces(old_manifest.get(table) if same_columns else None,
                                                  year, states, folder)
                    changed = [int(i) for i in states if not any(i in held for held in unchanged.values())]
                    # a year is written from its first changed quarter on (as builds change it): the
                    # unchanged files after that quarter are written again with it, so a year stays
                    # files in quarter order, and a change to a quarter of its first file gathers it
                    if changed:
                        unchanged = {piece: held for piece, held in unchanged.items()
                                     if max(int(i) for i in held) < min(changed)}
                    held_quarters = {i for held in unchanged.values() for i in held}
                    rest = [int(i) for i in states if i not in held_quarters]
                    if rest and any(int(i) >= min(rest) for i in held_quarters):
                        unchanged, rest = {}, [int(i) for i in states]  # files out of order: the year again
                    kept += len(unchanged)
                    pieces.update(unchanged)
                    if not rest:
                        continue
                    groups = [sorted(rest)]
                    if newest in rest and len(rest) > 1:
                        groups = [[i for i in groups[0] if i != newest], [newest]]
                    for g, group in enumerate(groups):
                        first, last = group[0], (newest - 1 if g < len(groups) - 1 else Quarter(year, 4).index)
                        name = "data.parquet" if not unchanged and g == 0 else \
                            f"data-from-{Quarter.from_index(first)}.parquet"
                        piece = f"{PARTITION_COLUMN}={year}/{name}"
                        staged = staging / f"{table}-{year}-{name}"
                        con.execute(f"COPY (SELECT * FROM {source} WHERE {INDEX_COLUMN} BETWEEN {first} AND {last}) "
                                    f"TO '{_sql_path(staged)}' (FORMAT parquet, COMPRESSION zstd)")
                        (folder / piece).parent.mkdir(parents=True, exist_ok=True)
                        os.replace(staged, folder / piece)
                        pieces[piece] = {str(i): states[str(i)] for i in group}
                        written += 1
                manifest[table] = pieces
                # after the new files are in place: a reader listing a year meanwhile may see a
                # replaced file's quarters twice, never miss one (docs/bi.md)
                for stale in sorted(folder.glob(f"{PARTITION_COLUMN}=*/*.parquet")):
                    if stale.relative_to(folder).as_posix() not in pieces:
                        stale.unlink()
                for year_dir in folder.glob(f"{PARTITION_COLUMN}=*"):
                    if year_dir.is_dir() and not any(year_dir.iterdir()):
                        year_dir.rmdir()
                (out_dir / f"{table}.parquet").unlink(missing_ok=True)  # the layout before partitions
        _write_atomic(manifest_path, json.dumps({**manifest, WHOLE: whole, COLUMNS: columns}, indent=1,
                                                sort_keys=True))
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
    log.info("exported %d marts to %s (%d rows; %d files written, %d unchanged files kept)",
             len(rows), out_dir, sum(rows.values()), written, kept)
    return rows


def _columns(con: "duckdb.DuckDBPyConnection", table: str) -> str:
    """A digest of the mart's column names and types, in order."""
    names = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                        "ORDER BY column_index", [MART_SCHEMA, table]).fetchall()
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()[:16]


def _by_year(quarters: QuarterStates) -> dict[int, QuarterStates]:
    """The quarters' states grouped by calendar year (period_index // 4), years in order."""
    years: dict[int, QuarterStates] = {}
    for index in sorted(quarters, key=int):
        years.setdefault(int(index) // 4, {})[index] = quarters[index]
    return years


def _unchanged_pieces(previous: object, year: int, states: QuarterStates, folder: Path) -> Pieces:
    """The files of `year` the last export wrote (its manifest's entry for the table, `previous`)
    whose every quarter still has the same row count and state, and which are still there."""
    if not isinstance(previous, dict):
        return {}  # no manifest, or one from before the files held quarters: write the year
    prefix = f"{PARTITION_COLUMN}={year}/"
    return {piece: held for piece, held in previous.items()
            if piece.startswith(prefix) and isinstance(held, dict) and held
            and all(states.get(i) == state for i, state in held.items()) and (folder / piece).is_file()}


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
