"""DuckDB connections and the ingest store's schema.

The ingest store (`warehouse/ingest.duckdb`) has one writer: the DAG, which runs one quarter at a
time. Every function here opens, uses and closes its own connection so that no task keeps the
file locked longer than it needs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from planwatch.core.errors import ConfigError, WarehouseLocked

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

log = logging.getLogger(__name__)

# Files this process creates are written in DuckDB 1.4's storage format (LTS), so that BI tools
# bundling DuckDB 1.4 or 1.5 can open the published warehouse: DuckDB 2.0's own format (what it
# writes by default) is refused by them. Nothing the warehouse uses needs the newer format
# (docs/bi.md: same rows, same types, size measured). A file keeps the format it was created in.
STORAGE_VERSION = "v1.4.0"
# The version number in the header of files in that format (byte 8 "DUCK", then a little-endian u64).
STORAGE_VERSION_NUMBER = 67

RAW_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.file_ledger (
    file_id VARCHAR NOT NULL,          -- sha256 of the file's bytes
    file_seq BIGINT NOT NULL,          -- load order: a higher number is a later submission
    path VARCHAR NOT NULL,             -- relative to raw/
    kind VARCHAR NOT NULL,             -- statistics | plan_document
    size_bytes BIGINT,
    registered_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,           -- registered | loaded | refused
    error VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    loaded_at TIMESTAMP,
    PRIMARY KEY (file_id)
);

-- register_files' record of the bytes it hashed: a path whose size, times and inode are those recorded
-- has the recorded file_id, without reading the file again (sha256 of 440 MB nationally, every run)
CREATE TABLE IF NOT EXISTS raw.file_hashes (
    path VARCHAR NOT NULL,             -- relative to raw/
    size_bytes BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    ctime_ns BIGINT NOT NULL,          -- changes with any write or rename, and cannot be set back
    inode BIGINT NOT NULL,
    file_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.stat_observations (
    file_id VARCHAR NOT NULL,
    file_seq BIGINT NOT NULL,
    line_no BIGINT NOT NULL,
    region_code VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    period_type VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    breakdown VARCHAR NOT NULL,
    value DOUBLE,
    unit VARCHAR,
    raw_value VARCHAR,
    raw_unit VARCHAR,
    numerator DOUBLE,
    denominator DOUBLE,
    reported_on DATE,
    source VARCHAR,
    is_simulated BOOLEAN NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    mapped VARCHAR,                    -- what the loader read differently from the long CSV (lineage), or null
    period_index INTEGER NOT NULL      -- Quarter.index of the quarter the period ends in (periods.period_index)
);
-- ingest stores written before `mapped` existed
ALTER TABLE raw.stat_observations ADD COLUMN IF NOT EXISTS mapped VARCHAR;

CREATE TABLE IF NOT EXISTS raw.stat_quarantine (
    file_id VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    line_no BIGINT,
    raw_text VARCHAR,
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
"""

# The audit tables: written in the ingest store, copied whole into the candidate at publish.
AUDIT_DDL = """
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE IF NOT EXISTS audit.run_log (
    run_id VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    status VARCHAR NOT NULL,
    published BOOLEAN NOT NULL DEFAULT FALSE,
    reason VARCHAR,
    metrics JSON,
    last_seen_at TIMESTAMP             -- the run's last sign of life: start, or end of a stage
);
ALTER TABLE audit.run_log ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMP;

CREATE TABLE IF NOT EXISTS audit.load_state (
    stage VARCHAR NOT NULL,            -- load_plans
    input_digest VARCHAR NOT NULL,     -- sha256 of the files (and loader code) the tables came from
    metrics JSON,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (stage)
);

CREATE TABLE IF NOT EXISTS audit.dq_results (
    run_id VARCHAR NOT NULL,
    suite VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    success BOOLEAN NOT NULL,
    unexpected_count BIGINT,
    sample JSON,
    checked_at TIMESTAMP NOT NULL
);
"""
INGEST_DDL = RAW_DDL + AUDIT_DDL


def wal_of(path: Path) -> Path:
    """The write-ahead log DuckDB keeps beside `path` until a checkpoint moves its writes into the file."""
    return path.with_name(path.name + ".wal")


@contextlib.contextmanager
def connect(path: Path, read_only: bool = False, retries: int = 5,
            opener: Callable[..., "duckdb.DuckDBPyConnection"] | None = None) -> Iterator["duckdb.DuckDBPyConnection"]:
    """Open a DuckDB file, retrying briefly while another process holds its write lock, and opening a
    read-only one again when a publish replaced it during the open (_file_id). `opener` is what opens
    the file, `duckdb.connect` unless a test replaces the file from inside it."""
    import duckdb

    opener = opener or duckdb.connect
    path.parent.mkdir(parents=True, exist_ok=True)
    delay = 0.2
    # Only a new file needs the setting (an existing one keeps its format), and DuckDB refuses two
    # connections of one process to one file with different settings.
    config = {} if read_only or path.exists() or str(path) == ":memory:" else {
        "storage_compatibility_version": STORAGE_VERSION}
    for attempt in range(retries + 1):
        before = _file_id(path) if read_only else None
        try:
            con = opener(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            if _replaced_while_opening(path, before, attempt, retries, exc):
                continue
            _wait_or_refuse(path, exc, attempt, retries, delay)
            delay *= 2
            continue
        if _replaced_while_opening(path, before, attempt, retries, None):
            con.close()  # opened, but perhaps from two files (_file_id): the next open sees one whole
            continue
        break
    try:
        con.execute(f"SET memory_limit = '{memory_limit()}'")
        if not read_only:
            without_vacuum(con)  # every writer of a file, or the next one's checkpoint vacuums it
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(con: "duckdb.DuckDBPyConnection") -> Iterator["duckdb.DuckDBPyConnection"]:
    """What runs inside is committed whole or rolled back whole. In autocommit DuckDB commits every
    statement on its own, and every row of an `executemany`: 40 rows of publish's partition record took
    0.17-0.20 s so, 0.02-0.03 s in one transaction (bench/README.md, fifteenth pass)."""
    con.begin()
    try:
        yield con
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _wait_or_refuse(path: Path, exc: Exception, attempt: int, retries: int, delay: float) -> None:
    """After a failed open or attach of `path`: re-raise anything but another process's lock on the file,
    give up with WarehouseLocked after the last try, else sleep `delay` before the next."""
    import duckdb

    if not isinstance(exc, duckdb.IOException) or "lock" not in str(exc).lower():
        raise exc
    if attempt == retries:
        raise WarehouseLocked(
            f"`file={path}` is locked by another process ({exc}). "
            "Wait for the running pipeline to finish, or stop the process that holds it."
        ) from exc
    time.sleep(delay)


def retry_while_locked(path: Path | str, action: Callable[[], T], retries: int = 5) -> T:
    """`action()` (an open or attach of `path`), tried again like `connect` while another process writes the file.

    Two stages of one run read the ingest store side by side (planwatch.core.types.CONCURRENT_STAGES),
    and each writes to it for a moment: validate_raw its findings, every stage its run-log row."""
    import duckdb

    delay = 0.2
    for attempt in range(retries + 1):
        try:
            return action()
        except duckdb.Error as exc:
            _wait_or_refuse(Path(path), exc, attempt, retries, delay)
            delay *= 2
    raise AssertionError("unreachable: the last attempt returns or raises")


def attach_read_only(con: "duckdb.DuckDBPyConnection", path: Path, alias: str) -> None:
    """`ATTACH path AS alias (READ_ONLY)`, retried while another process writes the file (retry_while_locked)."""
    if not alias.isidentifier():  # ATTACH takes no parameter for its alias
        raise ValueError(f"not a plain SQL identifier: {alias!r}")
    retry_while_locked(path, lambda: con.execute(f"ATTACH ? AS {alias} (READ_ONLY)", [str(path)]))


def _file_id(path: Path) -> tuple[int, int] | None:
    """Which file a path names now (device, inode); None if there is none.

    Publish replaces the published warehouse by a rename (planwatch/serve/publish.py). DuckDB 2.0
    opens a database file by its path three times while connecting (the magic bytes, the headers,
    then the blocks), so a rename between two of those opens makes it read the headers of one file
    and the blocks of the other: "Failed to load metadata pointer" or "No more data remaining in
    MetadataReader" (docs/bi.md: 11 of 590 opens under back-to-back renames; it failed a CI run
    of tests/reliability/test_concurrency.py once). A read-only connect compares the file before
    and after, and opens again when the path was replaced in between. Every publish writes a new
    file, so the same inode before and after means one file throughout (only a rollback, run by
    hand, puts an older file back; a publish and a rollback within one open would fool the check).
    Tools outside planwatch open the path themselves: docs/bi.md."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _replaced_while_opening(path: Path, before: tuple[int, int] | None, attempt: int, retries: int,
                            error: Exception | None) -> bool:
    """True when a read-only open must be tried again because the path now names another file."""
    if before is None or _file_id(path) == before:
        return False
    if attempt == retries:
        raise WarehouseLocked(
            f"`file={path}` was replaced {retries + 1} times while it was being opened (a publish or "
            "rollback each time). Open it again once the pipeline's publish stage has finished."
        ) from error
    log.info("%s was replaced while it was being opened (%s); opening it again", path, error or "opened")
    return True


MEMORY_LIMIT_ENV = "PLANWATCH_DUCKDB_MEMORY_LIMIT"
# 1GB keeps a national build (2,850 counties, 5.4 M rows) under 2 GiB of process memory with no
# measurable loss of time (bench/README.md); raise it for much larger sets.
DEFAULT_MEMORY_LIMIT = "1GB"
_MEMORY_LIMIT = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


# Side by side (planwatch.core.types.side_by_side) the raw checks run in a process of their own beside
# dbt's build, both with DuckDB: the build keeps MEMORY_LIMIT_ENV, the raw checks get this one, so that
# the two processes together stay within 2 GiB. Nationally the raw checks' heavy part (0.9 GiB with 1GB)
# falls in dbt's parse; when it met the build's heavy models (dbt's parse moved beside the load, tried
# and dropped, bench/README.md, fifteenth pass), a full refresh peaked at 2,206-2,276 MiB, with this
# share at 512MB 1,847-1,895 MiB, at 384MB 1,776 MiB. The raw checks have slack beside the build (12.6
# s beside 38.6 s nationally, under load), and DuckDB spills beyond its limit.
CHECKS_MEMORY_LIMIT_ENV = "PLANWATCH_CHECKS_DUCKDB_MEMORY_LIMIT"
DEFAULT_CHECKS_MEMORY_LIMIT = "384MB"

_beside_build = False  # set by memory_limit_beside_build() while the raw checks run


def _size(env: str, default: str) -> str:
    value = os.environ.get(env, default).strip()
    if not _MEMORY_LIMIT.match(value):
        raise ConfigError(f"`{env}={value}` is not a size such as 3GB or 1500MB; fix or unset it")
    return value


def memory_limit() -> str:
    """DuckDB's memory_limit for planwatch's connections (dbt's profile reads the same variable).

    DuckDB's default is 80 % of RAM, and a national build used 6 GiB and more; beyond the limit
    DuckDB spills to a `.tmp` directory beside the file instead. Inside memory_limit_beside_build(),
    the raw checks' share of the memory instead.
    """
    if _beside_build:
        return _size(CHECKS_MEMORY_LIMIT_ENV, DEFAULT_CHECKS_MEMORY_LIMIT)
    return _size(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)


@contextlib.contextmanager
def memory_limit_beside_build() -> Iterator[None]:
    """The connections opened meanwhile (planwatch's and GX's) take the raw checks' memory limit:
    for the raw checks when they run beside dbt's build (validate_raw, side by side)."""
    global _beside_build
    before = _beside_build
    _beside_build = True
    try:
        yield
    finally:
        _beside_build = before


def storage_version_number(path: Path) -> int | None:
    """The storage version in a DuckDB file's header (67: DuckDB 1.4 format), None if not a DuckDB file."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[8:12] != b"DUCK":
        return None
    return int.from_bytes(head[12:20], "little")


def without_vacuum(con: "duckdb.DuckDBPyConnection") -> None:
    """No vacuum at this database's checkpoints, for files that grow by appends: the ingest store
    (one load per file) and a candidate (the statistics a build adds, the incremental models' rows).
    `connect` sets it on every writable connection; dbt's own gets it from dbt/profiles.yml.

    DuckDB's vacuum merges the part-filled last row group of each append with its neighbours by
    rewriting them, at the first checkpoint after it, whichever writer makes it and whichever
    tables that checkpoint writes (measured: a checkpoint of one new row in another table merged
    them): 5 s of CPU for a national load; in an incremental build 0.3 s at the snapshot's close and
    1.9-5.7 s at dbt's, which moved to publish's checkpoint of the audit tables while publish's
    connection still vacuumed (bench/README.md, seventh pass). The rows are written twice. Row
    groups a delete empties are still dropped without it. A DuckDB setting of the whole database,
    not of one connection.
    """
    con.execute("SET max_vacuum_tasks = 0")


def ensure_ingest_schema(con: "duckdb.DuckDBPyConnection") -> None:
    """The ingest store's tables (every writer calls this; `connect` sets how they checkpoint)."""
    import duckdb

    from planwatch.core.periods import period_index_sql

    con.execute(INGEST_DDL)
    try:  # not column_exists: information_schema costs 10-30 ms of CPU on a fresh connection, and every
        # writer calls this (the run log after each stage: bench/README.md, ninth pass)
        con.execute("select period_index from raw.stat_observations limit 0")
    except duckdb.BinderException:
        # A store written before observations carried their period index gets it once, here.
        con.execute("ALTER TABLE raw.stat_observations ADD COLUMN period_index INTEGER")
        con.execute(f"UPDATE raw.stat_observations SET period_index = {period_index_sql('period')}")


def quote_identifier(name: str) -> str:
    """A name read from a catalog or a file header as a SQL identifier: in double quotes, each `"` doubled."""
    return '"' + name.replace('"', '""') + '"'


def column_exists(con: "duckdb.DuckDBPyConnection", schema: str, table: str, column: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.columns where table_schema = ? and table_name = ? "
        "and column_name = ?", [schema, table, column],
    ).fetchone()
    return bool(row and row[0])


def ensure_audit_schema(con: "duckdb.DuckDBPyConnection") -> None:
    """The audit tables, empty where missing: a candidate's views bind to them before publish fills them."""
    con.execute(AUDIT_DDL)


def table_exists(con: "duckdb.DuckDBPyConnection", schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])
