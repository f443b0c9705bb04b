"""Write-audit-publish: the gate between a checked candidate and `warehouse/planwatch.duckdb`.

`publish` looks at this run's rows in `audit.dq_results` (ingest store). If any `error`-severity
check failed, nothing is published: the candidate stays in `warehouse/candidates/` for
inspection, and `ChecksFailed` is raised (the pipeline marks the run `not_published` with it). Otherwise the audit tables are copied into the candidate, the candidate is checkpointed,
closed and fsynced, and `os.replace`d over the published file. The rename is atomic: a BI
connection opened before it keeps reading the old file (its inode lives on), a connection opened
after it reads the new one. The published file itself is never opened for writing.

The published warehouse never moves backwards. A run for a quarter older than the published one
(a backfill, a manual rebuild) builds as of the published quarter instead: all files loaded so far,
the older quarter's revisions included, and the statistics of every quarter up to the published one
(`as_of_run`). So the row-count gate compares two builds of the same quarter or a newer one, and
the gate here refuses a candidate built for an older quarter than the published one.

Published files are made readable by their group (the BI service's) whatever the umask.

Every published file is also hard-linked into `warehouse/versions/` as
`<published at, UTC>__<run id>.duckdb`; the newest `KEEP_VERSIONS` are kept, and `rollback`
puts one of them back the same atomic way.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from planwatch.core.config import Settings
from planwatch.core.db import connect, storage_version_number, table_exists, wal_of
from planwatch.core.errors import ChecksFailed, ConfigError, TerminalError
from planwatch.core.faults import crash_point
from planwatch.core.periods import Quarter
from planwatch.serve.parquet_export import MANIFEST, export_parquet, parquet_files, partitioned_tables
from planwatch.serve.partition_state import record_partition_states
from planwatch.core.types import Metrics, RunContext

log = logging.getLogger(__name__)

KEEP_VERSIONS = 5
RAW_SUITES = ("raw_statistics", "plan_consistency")
VERSION_SEP = "__"


@dataclass(frozen=True)
class Version:
    path: Path
    name: str  # the file stem: `<stamp>__<run id>`
    stamp: str
    run_id: str


def list_versions(settings: Settings) -> list[Version]:
    """Kept versions, oldest first."""
    if not settings.versions_dir.exists():
        return []
    out = []
    for path in sorted(settings.versions_dir.glob("*.duckdb")):
        stamp, _, run_id = path.stem.partition(VERSION_SEP)
        out.append(Version(path, path.stem, stamp, run_id))
    return out


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened on some platforms; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        # No hard links on this filesystem: a copy costs disk space but keeps the same guarantees.
        shutil.copy2(src, dst)


def built_quarter(db_path: Path) -> Quarter | None:
    """The quarter a warehouse file was built for (audit.transform_state), None if not known."""
    import duckdb

    if not db_path.exists():
        return None
    with connect(db_path, read_only=True) as con:
        try:  # a probe of the catalog first cost as much CPU as the query (run_stage asks before every stage)
            row = con.execute("select quarter from audit.transform_state order by built_at desc limit 1").fetchone()
        except duckdb.CatalogException:  # not built by planwatch, or before transform_state
            return None
    return Quarter.parse(row[0]) if row and row[0] else None


# published_quarter's answer for the published file as it was when read: run_stage asks before every
# stage, and opening the file took 15-45 ms each time (0.27-0.29 s of an incremental refresh in one
# process, bench/README.md, sixteenth pass). The published file is never written in place, only replaced
# (publish, rollback: a new inode), so a process that runs every stage (run_all, the benchmark) reads it
# once per published version. A file written in place all the same (a copy over it, a test) is told
# apart by its size, times and DuckDB's headers, whose iteration count every checkpoint increments.
_published: dict[Path, tuple[tuple[object, ...], Quarter | None]] = {}
_HEADERS = 3 * 4096  # DuckDB's main header and its two database headers


def _identity(path: Path) -> tuple[object, ...] | None:
    """What changes when a file is replaced or written; None while it has a WAL (its last writes may be
    there only) or does not exist."""
    try:
        if wal_of(path).exists():
            return None
        with path.open("rb") as fh:
            st = os.fstat(fh.fileno())
            headers = fh.read(_HEADERS)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, headers)


def published_quarter(settings: Settings) -> Quarter | None:
    """built_quarter of the published warehouse, read again only when the file was replaced."""
    path = settings.published_db
    identity = _identity(path)
    known = _published.get(path)
    if identity is not None and known is not None and known[0] == identity:
        return known[1]
    quarter = built_quarter(path)
    if identity is not None and identity == _identity(path):  # the same file before and after the read
        _published[path] = (identity, quarter)
    return quarter


def as_of_run(settings: Settings, run: RunContext) -> RunContext:
    """The run as it builds: for its quarter, or for the published quarter when that is newer."""
    published = published_quarter(settings)
    if published is None or published <= run.quarter:
        return run
    log.info("run %s asked for %s; the published warehouse is built for %s, so this run builds %s with "
             "every file loaded so far (it never publishes an older state)", run.run_id, run.quarter,
             published, published)
    return RunContext(run.run_id, published, extra={**run.extra, "requested_quarter": str(run.quarter)})


def share_with_group(path: Path) -> None:
    """Let the file's group read it (and enter a directory), whatever the umask it was made under."""
    mode = stat.S_IMODE(path.stat().st_mode)
    wanted = mode | stat.S_IRGRP | (stat.S_IXGRP if path.is_dir() else 0)
    if wanted != mode:
        os.chmod(path, wanted)


def _blocking_failures(settings: Settings, run: RunContext) -> tuple[list[str], set[str]]:
    """(failed error-severity checks as `suite.expectation`, suites that reported) for the run."""
    if not settings.ingest_db.exists():
        return [], set()
    with connect(settings.ingest_db, read_only=True) as con:
        if not table_exists(con, "audit", "dq_results"):
            return [], set()
        failed = con.execute(
            "select distinct suite || '.' || expectation from audit.dq_results "
            "where run_id = ? and severity = 'error' and not success order by 1",
            [run.run_id],
        ).fetchall()
        suites = con.execute(
            "select distinct suite from audit.dq_results where run_id = ?", [run.run_id]
        ).fetchall()
    return [r[0] for r in failed], {r[0] for r in suites}


def _copy_audit_into(candidate: Path, settings: Settings, run: RunContext) -> None:
    """Copy every `audit.*` table of the ingest store into the candidate (the only copy: the build
    stage leaves them empty); mark this run as published there; record what each year of the
    partitioned facts holds (audit.parquet_partitions, not in the ingest store)."""
    with connect(candidate) as con:
        con.execute("attach ? as ingest (read_only)", [str(settings.ingest_db)])
        try:
            con.execute("create schema if not exists audit")
            tables = [r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'ingest' "
                "and table_schema = 'audit' order by 1").fetchall()]
            for table in tables:  # names from DuckDB's catalog, quoted
                quoted = '"' + table.replace('"', '""') + '"'
                con.execute(f"create or replace table audit.{quoted} as select * from ingest.audit.{quoted}")
        finally:
            con.execute("detach ingest")
        # The copy is taken before the rename; inside the published file this run *is* published.
        con.execute(
            "update audit.run_log set status = 'published', published = true, "
            "ended_at = coalesce(ended_at, now()::timestamp) where run_id = ?",
            [run.run_id],
        )
        # what each year of the facts holds, for the export: only the years this build can have
        # changed are hashed again (serve/partition_state.py)
        record_partition_states(con, partitioned_tables(con),
                                export_exists=(settings.parquet_dir / MANIFEST).is_file())
        con.execute("checkpoint")
    wal = wal_of(candidate)
    if wal.exists():
        raise TerminalError(
            f"`file={wal}` still exists after CHECKPOINT and close; refusing to publish a file whose "
            "last writes are not in it. Check that no other process has the candidate open."
        )


def _parquet_paths(settings: Settings) -> list[Path]:
    """The exported files and the folders of the partitioned marts (the group must be able to list them)."""
    files = parquet_files(settings.parquet_dir)
    folders = {p.parent for p in files if p.parent != settings.parquet_dir}
    return sorted(folders | {f.parent for f in folders if f.parent != settings.parquet_dir}) + files


def _prune_versions(settings: Settings) -> list[str]:
    versions = list_versions(settings)
    removed = []
    published = settings.published_db
    for v in versions[:-KEEP_VERSIONS] if len(versions) > KEEP_VERSIONS else []:
        if published.exists() and os.path.samefile(v.path, published):
            continue  # never drop the file BI tools are reading
        v.path.unlink()
        removed.append(v.name)
    return removed


def publish(settings: Settings, run: RunContext) -> Metrics:
    """Publish the run's candidate if no blocking check failed; otherwise keep it and raise."""
    candidate = settings.candidate_db(run.run_id)
    if not candidate.exists():
        raise ConfigError(
            f"`run_id={run.run_id}`: no candidate at {candidate}. Run the snapshot and dbt build "
            "stages for this run first."
        )
    failed, suites = _blocking_failures(settings, run)
    missing = [s for s in ("raw", "marts") if not (
        (suites & set(RAW_SUITES)) if s == "raw" else (suites - set(RAW_SUITES))
    )]
    if missing:
        failed = failed + [f"{s} suites did not run" for s in missing]
    candidate_quarter, published = built_quarter(candidate), published_quarter(settings)
    if candidate_quarter and published and candidate_quarter < published:
        failed = failed + [f"candidate built for {candidate_quarter}, older than the published {published}"]
    if failed:
        log.error("run %s not published; candidate kept at %s", run.run_id, candidate)
        raise ChecksFailed(run.run_id, failed, str(candidate))

    _copy_audit_into(candidate, settings, run)
    crash_point("publish.after_audit_copy")
    share_with_group(candidate)
    _fsync_file(candidate)

    settings.versions_dir.mkdir(parents=True, exist_ok=True)
    version = settings.versions_dir / f"{_stamp()}{VERSION_SEP}{candidate.stem}.duckdb"
    size = candidate.stat().st_size
    crash_point("publish.before_rename")  # checked and closed, published file not yet replaced
    os.replace(candidate, settings.published_db)
    _fsync_dir(settings.published_db.parent)
    crash_point("publish.after_rename")  # published, version not linked, run log not yet closed
    # Linked only once published: a run killed before the rename must not leave a version that was
    # never published (rollback would take it for "the one before"). Killed here, the file has no
    # version entry, and rollback still finds the one before it.
    _link_or_copy(settings.published_db, version)
    removed = _prune_versions(settings)
    parquet_rows = export_parquet(settings.published_db, settings.parquet_dir)
    for path in (settings.warehouse_dir, settings.versions_dir, settings.parquet_dir,
                 *_parquet_paths(settings)):
        share_with_group(path)

    metrics: Metrics = {"published": True, "version": version.stem, "size_bytes": size,
                        "versions_kept": len(list_versions(settings)), "versions_pruned": len(removed),
                        "parquet_files": len(parquet_rows), "built_for": str(candidate_quarter or run.quarter),
                        "storage_version": storage_version_number(settings.published_db)}
    log.info("published run %s as %s (%d bytes)", run.run_id, settings.published_db, size)
    return metrics


def rollback(settings: Settings, to: str | None = None) -> Metrics:
    """Put a kept version back in place of the published warehouse, atomically.

    `to` is a version name as listed in `warehouse/versions/` (file stem, `<stamp>__<run id>`)
    or a run id; None means the version published just before the current one. The replaced
    file stays in `versions/`, so a rollback can itself be undone with `--to`.
    """
    versions = list_versions(settings)
    if not versions:
        raise ConfigError(f"no kept versions in {settings.versions_dir}: nothing to roll back to")
    published = settings.published_db
    current = next((v for v in reversed(versions)
                    if published.exists() and os.path.samefile(v.path, published)), None)
    if to is None:
        if current is None:
            target = versions[-1]
        else:
            older = [v for v in versions if v.name < current.name]
            if not older:
                raise ConfigError(
                    f"the published warehouse is the oldest kept version ({current.name}); nothing older "
                    f"to roll back to. Kept: {', '.join(v.name for v in versions)}"
                )
            target = older[-1]
    else:
        matches = [v for v in versions if to in (v.name, v.run_id, v.path.name)]
        if not matches:
            raise ConfigError(
                f"`version={to}` is not kept in {settings.versions_dir}. "
                f"Kept: {', '.join(v.name for v in versions)}"
            )
        target = matches[-1]

    tmp = published.with_name(f".rollback-{_stamp()}.duckdb")
    _link_or_copy(target.path, tmp)
    os.replace(tmp, published)
    _fsync_dir(published.parent)
    export_parquet(published, settings.parquet_dir)  # the Parquet files follow the published file
    for path in _parquet_paths(settings):
        share_with_group(path)
    reason = f"rollback to {target.name}" + (f" from {current.name}" if current else "")
    log.warning("published warehouse rolled back: %s", reason)
    return {"rolled_back_to": target.name, "previous": current.name if current else None, "reason": reason}
