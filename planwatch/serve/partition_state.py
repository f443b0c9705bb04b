"""What each quarter of the partitioned facts holds, kept inside the warehouse file, for the export.

The Parquet export (serve/parquet_export.py) rewrites a file only when the rows of one of its
quarters changed, which it decides by a state per quarter (row count and a token) in its manifest.
Quarters, not years: a new quarter then rewrites its own rows, not its year's (bench/README.md,
eighth pass). Hashing every quarter of the facts at every publish to get that state read all
history (1.5-2.4 s of CPU nationally, seventh pass), and a hash that filters by period reads every
row group all the same (a period's rows lie in all of them). So publish records the quarters'
states in the candidate (`audit.parquet_partitions`), and an incremental candidate, a copy of
the published file, starts with the published build's record: the quarters its build cannot have
changed keep their state; the others get their row count and a new token (a fresh UUID, so the
export writes them again). A full build (no record) has every quarter hashed, so that a rebuild
with equal rows keeps its files.

Which quarters an incremental build can have changed (dbt/macros/incremental.sql):
* `fct_indicator_progress` rebuilds, per series, the rows from its earliest new or revised period
  on, and nothing before the earliest period of a statistics row newer than its built rows
  (build/candidate.py, earliest_new_period: the same bound the tests keyed by period use);
* `fct_indicator_status_history` rebuilds the same way from the facts, and also writes again the
  kept row just before a changed series' first rebuilt one (its `anchor`, now no longer the
  latest), which may lie in any earlier quarter: the first rebuilt row names it as its
  `previous_period`, so the rows from the earliest rebuilt period on tell the earliest anchor.
The record holds, per table, the bounds of the rows it describes (newest file_seq and
period_index), so these rules find what changed since, and the export uses a record only when its
bounds are the table's. Nothing but dbt builds writes the facts, and the published file is never
opened for writing (serve/publish.py).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from planwatch.build.candidate import earliest_new_period
from planwatch.core.db import column_exists, table_exists, transaction
from planwatch.core.periods import Quarter, period_index_sql

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

STATE_SCHEMA, STATE_NAME = "audit", "parquet_partitions"
STATE_TABLE = f"{STATE_SCHEMA}.{STATE_NAME}"
MART_SCHEMA = "marts"
INDEX_COLUMN = "period_index"
FACT = "fct_indicator_progress"
STATUS_HISTORY = "fct_indicator_status_history"

# period_index (as text, a JSON key) -> [rows, hash or token]: what the Parquet manifest holds per file
QuarterStates = dict[str, list[int | str]]


def quarter_states(con: "duckdb.DuckDBPyConnection", table: str) -> QuarterStates:
    """Each period_index's row count and an order-independent hash of its rows (hash of the row,
    summed). A year's row (period_type 'year') has its Q4's index, so it counts with Q4."""
    return {str(int(index)): [int(n), str(digest)] for index, n, digest in con.execute(
        f"SELECT {INDEX_COLUMN} AS i, count(*), sum(hash(t)::hugeint) "
        f"FROM {MART_SCHEMA}.{table} AS t GROUP BY i ORDER BY i").fetchall() if index is not None}


def _has_record(con: "duckdb.DuckDBPyConnection") -> bool:
    """Whether the file has a record by quarter (a file published before the eighth pass has one by
    year, `period_year`: not used, every quarter is hashed once)."""
    return (table_exists(con, STATE_SCHEMA, STATE_NAME)
            and column_exists(con, STATE_SCHEMA, STATE_NAME, INDEX_COLUMN))


def _recorded(con: "duckdb.DuckDBPyConnection", table: str) -> tuple[QuarterStates, tuple[int, int]] | None:
    """The record of `table` in this file and the bounds of the rows it was computed from."""
    if not _has_record(con):
        return None
    rows = con.execute(f"SELECT {INDEX_COLUMN}, row_count, row_hash, built_file_seq, built_period_index "
                       f"FROM {STATE_TABLE} WHERE table_name = ? ORDER BY {INDEX_COLUMN}", [table]).fetchall()
    if not rows:
        return None
    return {str(y): [int(n), str(h)] for y, n, h, _, _ in rows}, (int(rows[0][3]), int(rows[0][4]))


def recorded_states(con: "duckdb.DuckDBPyConnection", table: str) -> QuarterStates | None:
    """The record of `table`, when it describes the table's rows as they are: None when the file has
    none, or when its rows have moved on since (a candidate built from a copy of the published file
    carries the published record until its own publish records it): then hash the table whole."""
    found = _recorded(con, table)
    return found[0] if found is not None and found[1] == _bounds(con, table) else None


def _bounds(con: "duckdb.DuckDBPyConnection", table: str) -> tuple[int, int]:
    """The newest file_seq and period_index of the table's rows: what a build since has added."""
    row = con.execute(f"SELECT coalesce(max(source_file_seq), -1), coalesce(max({INDEX_COLUMN}), -1) "
                      f"FROM {MART_SCHEMA}.{table}").fetchone()
    return (int(row[0]), int(row[1])) if row else (-1, -1)


def _earliest_changed_index(con: "duckdb.DuckDBPyConnection", table: str, bounds: tuple[int, int]) -> int | None:
    """The earliest period_index a build since `bounds` (the table's newest file_seq and period then)
    can have written in `table`; None when it can have written nothing."""
    if table == FACT:
        if not table_exists(con, "raw", "stat_observations"):
            return -1  # no statistics to tell what is new: every quarter
        newest = earliest_new_period(con, *bounds)
        return newest if newest <= max(bounds[1], _bounds(con, table)[1]) else None
    if table == STATUS_HISTORY:
        # The model rebuilds each changed series (facts newer than its built rows) from its first
        # newer period, and writes its anchor again: the kept row before that one, which the first
        # rebuilt row names as its previous_period. So the earliest previous_period of the rows from
        # the earliest rebuilt period on is the earliest anchor or before it (a kept row there may name
        # an earlier one: its quarter is then written again too, never missed). It reads the rows from
        # that period on, not every kept row joined to the changed series as the model does (0.32-0.41
        # -> 0.01 s of CPU nationally at a new quarter, bench/README.md, eleventh pass).
        if not column_exists(con, MART_SCHEMA, table, "previous_period"):
            return -1  # a status history without it: every quarter
        row = con.execute(f"SELECT min({INDEX_COLUMN}) FROM {MART_SCHEMA}.{FACT} "
                          f"WHERE source_file_seq > ? OR {INDEX_COLUMN} > ?", list(bounds)).fetchone()
        if not row or row[0] is None:
            return None
        anchor = con.execute(f"SELECT min({period_index_sql('previous_period')}) FROM {MART_SCHEMA}.{table} "
                             f"WHERE {INDEX_COLUMN} >= ?", [int(row[0])]).fetchone()
        return min(int(row[0]), int(anchor[0])) if anchor and anchor[0] is not None else int(row[0])
    return -1  # a table without a rule: every quarter


def _changed_quarters(con: "duckdb.DuckDBPyConnection", table: str, from_index: int) -> QuarterStates:
    """The quarters from `from_index` on, as changed: their row count and a token no export has seen."""
    token = f"changed {uuid.uuid4()}"
    return {str(int(index)): [int(n), token] for index, n in con.execute(
        f"SELECT {INDEX_COLUMN} AS i, count(*) FROM {MART_SCHEMA}.{table} "
        f"WHERE {INDEX_COLUMN} >= ? GROUP BY i ORDER BY i", [from_index]).fetchall()
        if index is not None}


def record_partition_states(con: "duckdb.DuckDBPyConnection", tables: list[str],
                            export_exists: bool = True) -> dict[str, str]:
    """Bring the record of `tables` (in `marts`, with a period_index) up to date in a writable
    candidate: keep the quarters its build cannot have changed, mark the others changed (every
    quarter hashed when there is no record). Returns, per table, from which quarter it changed
    (its label, YYYYQn; "all" when hashed whole, "none"), for the log.

    Hashes serve to find equal rows in files an export wrote before; with no export yet
    (`export_exists` false: a first publish), a table without a record has every quarter marked
    changed instead of hashed (1.3-1.4 s of CPU less nationally, bench/README.md, ninth pass), and its
    next incremental builds carry those tokens as they would hashes."""
    # the others: the export hashes them
    tables = [t for t in tables if column_exists(con, MART_SCHEMA, t, "source_file_seq")]
    if not tables:
        return {}
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {STATE_SCHEMA}")
    if not _has_record(con):  # none yet, or the record by year of an older version
        con.execute(f"DROP TABLE IF EXISTS {STATE_TABLE}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (table_name VARCHAR NOT NULL, "
                f"{INDEX_COLUMN} INTEGER NOT NULL, row_count BIGINT NOT NULL, row_hash VARCHAR NOT NULL, "
                "built_file_seq BIGINT NOT NULL, built_period_index BIGINT NOT NULL)")
    done: dict[str, str] = {}
    with transaction(con):  # the record is replaced whole or not at all
        for table in tables:
            found = _recorded(con, table)
            if found is None:
                states = quarter_states(con, table) if export_exists else _changed_quarters(con, table, -1)
                done[table] = "all"
            else:
                recorded, bounds = found
                changed = _earliest_changed_index(con, table, bounds)
                if changed is None:
                    states, done[table] = recorded, "none"
                elif changed < 0:
                    states, done[table] = quarter_states(con, table), "all"
                else:
                    states = {i: s for i, s in recorded.items() if int(i) < changed}
                    states.update(_changed_quarters(con, table, changed))
                    done[table] = str(Quarter.from_index(changed))
            seq, index = _bounds(con, table)
            con.execute(f"DELETE FROM {STATE_TABLE} WHERE table_name = ?", [table])
            if states:
                con.executemany(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
                                [[table, int(i), n, h, seq, index] for i, (n, h) in states.items()])
        con.execute(f"DELETE FROM {STATE_TABLE} WHERE table_name NOT IN (SELECT unnest(?::VARCHAR[]))", [tables])
    log.info("parquet partitions recorded (changed from): %s", done)
    return done
