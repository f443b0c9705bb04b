"""Stage `dbt_build`: snapshot the ingest store into a candidate file and build the dbt project in it.

The candidate (`warehouse/candidates/<run_id>.duckdb`) gets a copy of the raw tables, with statistics only
for periods ending at or before the run's quarter (a year counts as ending in its Q4), and the audit
tables' shape (publish copies their rows in, once, after the checks); then `dbt build` adds the `staging`, `intermediate` and `marts` schemas and runs every data and
unit test. A failed test of severity error fails the stage: dbt's tests are part of the audit.

Incremental builds: when the published build was for the same or an earlier quarter and its fingerprint
(reference and plan tables, dbt code, vars other than the quarter) equals this build's, the candidate
starts as a copy of the published file, and dbt's incremental models (the statistics chain and the
facts) rebuild only the series that new files touch. Otherwise the candidate starts empty and dbt
builds everything (`--full-refresh`). Both paths give the same rows (tests/planwatch/test_transform.py);
dbt/README.md states the rule.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwatch.core.config import Settings
from planwatch.core.db import (STORAGE_VERSION, STORAGE_VERSION_NUMBER, connect, ensure_audit_schema,
                               storage_version_number)
from planwatch.core.errors import ConfigError, TerminalError, WarehouseLocked
from planwatch.demo.faults import crash_point
from planwatch.core.periods import Quarter
from planwatch.serve.serve import create_bi_views
from planwatch.core.types import Metrics, RunContext

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

REFERENCE_TABLES = ("regions", "indicators", "indicator_aliases", "units", "plan_periods")
PLAN_TABLES = ("plan_indicators", "plan_completion", "plan_prose_targets")
STAT_TABLES = ("file_ledger", "stat_observations", "stat_quarantine")
RAW_TABLES = REFERENCE_TABLES + PLAN_TABLES + STAT_TABLES
# Inputs whose change invalidates every computed fact row (the statistics are handled per row).
FINGERPRINT_TABLES = REFERENCE_TABLES + PLAN_TABLES
INCREMENTAL_FACT = "fct_indicator_progress"
STATE_TABLE = "audit.transform_state"

# The period filter reads the index the loader wrote on every observation (planwatch.core.periods.period_index).
_PERIOD_INDEX_SQL = "period_index"


@dataclass
class DbtOutcome:
    """What one `dbt build` did, counted by resource type and status."""

    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def build_candidate(settings: Settings, run: RunContext) -> Metrics:
    """Stage: a candidate warehouse for `run` (new, or a copy of the published one), built and tested by dbt."""
    settings.candidates_dir.mkdir(parents=True, exist_ok=True)
    candidate = settings.candidate_db(run.run_id)
    previous = settings.published_db if settings.published_db.exists() else None
    return build_from_ingest(
        settings.ingest_db, candidate, run.quarter, settings.dbt_dir,
        work_dir=candidate.with_suffix(".dbt"), previous_db=previous, run_id=run.run_id,
    )


def build_from_ingest(
    ingest_db: Path,
    candidate_db: Path,
    quarter: Quarter,
    dbt_dir: Path,
    *,
    work_dir: Path | None = None,
    previous_db: Path | None = None,
    full_refresh: bool = False,
    run_id: str = "manual",
    extra_vars: dict[str, Any] | None = None,
) -> Metrics:
    """Snapshot `ingest_db` into a new `candidate_db` for `quarter` and run `dbt build` there.

    `previous_db` is a published warehouse whose facts may be reused (see the module docstring);
    `full_refresh=True` ignores it. `extra_vars` override dbt vars (thresholds) for this build.
    """
    started = time.monotonic()
    if not ingest_db.exists():
        raise ConfigError(
            f"`file={ingest_db}` does not exist: there is no ingest store to build from. "
            "Run the load stages first (`python -m planwatch load_plans`, `load_statistics`)."
        )
    candidate_db.parent.mkdir(parents=True, exist_ok=True)
    work = work_dir or candidate_db.with_suffix(".dbt")
    _remove_db(candidate_db)
    shutil.rmtree(work, ignore_errors=True)

    dbt_vars: dict[str, Any] = dict(extra_vars or {})
    dbt_vars["as_of_quarter"] = str(quarter)
    fingerprint = _ingest_fingerprint(ingest_db, dbt_dir, dbt_vars)
    mode = "full_refresh"
    extends: Quarter | None = None
    if previous_db is not None and not full_refresh:
        extends = _extendable_quarter(previous_db, quarter, fingerprint)
    if extends is not None:
        # The candidate starts as a copy of the published file, so that dbt's incremental models
        # find their previous rows in place ({{ this }}) and rebuild only what new files touch.
        shutil.copyfile(previous_db, candidate_db)
        mode = "incremental"
        log.info("dbt_build: extending a copy of %s (built for %s, fingerprint unchanged)", previous_db, extends)
    with connect(candidate_db) as con:
        copied = _snapshot(con, ingest_db, quarter, extends)
        _write_state(con, run_id, quarter, fingerprint, mode)

    crash_point("dbt_build.before_dbt")  # candidate snapshot written, dbt not started
    outcome = run_dbt(dbt_dir, candidate_db, work, dbt_vars, full_refresh=(mode == "full_refresh"))
    crash_point("dbt_build.after_dbt")  # candidate built, stage not yet recorded
    if outcome.errors or outcome.failed or not outcome.success:
        problems = outcome.errors + outcome.failed
        shown = "; ".join(problems[:10]) + (" …" if len(problems) > 10 else "")
        raise TerminalError(
            f"`run_id={run_id}` `quarter={quarter}`: dbt build failed: {len(problems)} node(s): {shown}. "
            f"Nothing was published. The full log is {work / 'logs' / 'dbt.log'}; rerun one test with "
            f"`PLANWATCH_BUILD_DB={candidate_db} dbt build --project-dir {dbt_dir} --profiles-dir {dbt_dir} "
            f"--select <name>`."
        )
    for name in outcome.warned:
        log.warning("dbt_build: warning test %s", name)

    # The dashboard views belong to the warehouse a run builds, so they are checked with it and
    # published with it; the data-quality views bind to audit.dq_results when queried.
    with connect(candidate_db) as con:
        bi_views = create_bi_views(con)
        row = con.execute(f"select count(*) from marts.{INCREMENTAL_FACT}").fetchone()
        con.execute("checkpoint")
    fact_rows = int(row[0]) if row else 0
    shutil.rmtree(work / "target", ignore_errors=True)
    metrics: Metrics = {
        "build_mode": mode,
        "raw_rows_copied": copied,
        "models_built": outcome.counts.get("model:success", 0),
        "tests_passed": outcome.counts.get("test:pass", 0),
        "tests_warned": outcome.counts.get("test:warn", 0),
        "tests_failed": outcome.counts.get("test:fail", 0) + outcome.counts.get("test:error", 0),
        "unit_tests_passed": outcome.counts.get("unit_test:pass", 0),
        "fct_indicator_progress_rows": fact_rows,
        "bi_views": len(bi_views),
        "seconds": round(time.monotonic() - started, 1),
        "candidate": str(candidate_db),
    }
    log.info("dbt_build: %s", " ".join(f"{k}={v}" for k, v in metrics.items()))
    return metrics


def _remove_db(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def _snapshot(con: "duckdb.DuckDBPyConnection", ingest_db: Path, quarter: Quarter,
              extends: Quarter | None = None) -> int:
    """Copy the raw tables of the ingest store into the candidate; returns rows in them.

    The audit tables are created empty where missing, for the views that bind to them: their rows
    reach the candidate once, at publish (planwatch.serve.publish), after this run's checks.

    `extends` is the quarter of the published warehouse the candidate is a copy of: its statistics
    are then brought up to date instead of copied again (see _extend_observations).
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
            if table == "stat_observations" and extended:
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


def _extend_observations(con: "duckdb.DuckDBPyConnection", quarter: Quarter, extends: Quarter) -> bool:
    """Bring the copied raw.stat_observations from the snapshot for `extends` to the one for `quarter`.

    Rows of a file change in the ingest store only when the file is loaded (again), and every load
    stamps the file's ledger row; so the rows to replace are those of files whose ledger row differs
    from the copy's (or exists on one side only), and the rows to add are, besides, the periods in
    (`extends`, `quarter`] that the earlier snapshot left out. Same rows as a full copy
    (tests/planwatch/test_transform.py), without copying 5 M rows again (4.4 s at 2,850 regions).
    Returns False, changing nothing, when the copy's columns are not the ingest store's.
    """
    columns = [
        [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_catalog = ? and table_schema = 'raw' "
            "and table_name = 'stat_observations' order by ordinal_position", [catalog]).fetchall()]
        for catalog in ("ingest", con.execute("select current_database()").fetchone()[0])  # type: ignore[index]
    ]
    if columns[0] != columns[1] or not columns[0]:
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


def _ingest_fingerprint(ingest_db: Path, dbt_dir: Path, dbt_vars: dict[str, Any]) -> str:
    """Hash of everything a fact row depends on except the statistics: catalog, plans, code, vars.

    Read from the ingest store, whose reference and plan tables the snapshot copies unchanged.
    """
    import duckdb

    digest = hashlib.sha256()
    with connect(Path(":memory:")) as con:
        con.execute("ATTACH ? AS ingest (READ_ONLY)", [str(ingest_db)])
        try:
            for table in FINGERPRINT_TABLES:
                # Hashed inside DuckDB and order-independent (a sum of row hashes, with the count):
                # fetching the 270k plan rows of 2,850 counties into Python took 3 s, sorting them as
                # text 1.4 s (bench/README.md). DuckDB's hash may change between DuckDB versions:
                # that costs one full refresh, never a wrong reuse. Names come from code.
                try:
                    row = con.execute(
                        f'select count(*) || \':\' || coalesce(sum(hash(t)::hugeint), 0) from ingest.raw."{table}" as t'
                    ).fetchone()
                except duckdb.CatalogException:
                    row = None  # the snapshot names the missing table
                digest.update(table.encode())
                digest.update(str(row[0] if row else "<missing>").encode())
        finally:
            con.execute("DETACH ingest")
    for path in sorted(dbt_dir.rglob("*")):
        rel = path.relative_to(dbt_dir)
        if path.is_file() and rel.parts[0] not in ("target", "logs", "dbt_packages") and path.suffix in (".sql", ".yml"):
            digest.update(str(rel).encode())
            digest.update(path.read_bytes())
    stable_vars = {k: v for k, v in dbt_vars.items() if k != "as_of_quarter"}
    digest.update(json.dumps(stable_vars, sort_keys=True).encode())
    return digest.hexdigest()


def _extendable_quarter(previous_db: Path, quarter: Quarter, fingerprint: str) -> Quarter | None:
    """The quarter of the published warehouse when it may be extended (built by the same code from the
    same catalog and plans, for this quarter or an earlier one); None when it may not."""
    with connect(Path(":memory:")) as con:
        con.execute("ATTACH ? AS previous (READ_ONLY)", [str(previous_db)])
        try:
            tables = {
                (r[0], r[1]) for r in con.execute(
                    "select table_schema, table_name from information_schema.tables where table_catalog = 'previous'"
                ).fetchall()
            }
            if ("audit", "transform_state") not in tables or ("marts", INCREMENTAL_FACT) not in tables:
                log.info("dbt_build: %s has no reusable facts; full refresh", previous_db)
                return None
            state = con.execute(
                "select quarter, fingerprint from previous.audit.transform_state order by built_at desc limit 1"
            ).fetchone()
        finally:
            con.execute("DETACH previous")
    if state is None:
        return None
    if storage_version_number(previous_db) != STORAGE_VERSION_NUMBER:
        # A warehouse written in DuckDB 2.0's format before planwatch wrote 1.4's: rebuilt once in it.
        log.info("dbt_build: %s is not in DuckDB %s's storage format; full refresh", previous_db, STORAGE_VERSION)
        return None
    previous_quarter = Quarter.parse(state[0])
    if previous_quarter > quarter:
        log.info("dbt_build: published build is for %s, after %s; full refresh", previous_quarter, quarter)
        return None
    if state[1] != fingerprint:
        log.info("dbt_build: catalog, plans, dbt code or vars changed since the published build; full refresh")
        return None
    return previous_quarter


def _write_state(
    con: "duckdb.DuckDBPyConnection", run_id: str, quarter: Quarter, fingerprint: str, mode: str
) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (run_id VARCHAR, quarter VARCHAR, fingerprint VARCHAR, "
        "build_mode VARCHAR, built_at TIMESTAMP)"
    )
    con.execute(f"DELETE FROM {STATE_TABLE}")
    con.execute(
        f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, current_timestamp)",
        [run_id, str(quarter), fingerprint, mode],
    )


@contextmanager
def _build_db_env(candidate_db: Path) -> Iterator[None]:
    """dbt's profile reads PLANWATCH_BUILD_DB; set it for this invocation only."""
    old = os.environ.get("PLANWATCH_BUILD_DB")
    os.environ["PLANWATCH_BUILD_DB"] = str(candidate_db)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PLANWATCH_BUILD_DB", None)
        else:
            os.environ["PLANWATCH_BUILD_DB"] = old


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the process after `invoke` returns.

    Otherwise the candidate stays open in this process with dbt's configuration, and the next
    read-only open (checks, tests) or another process's open fails.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held
        return
    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        try:
            env.close()
        finally:
            DuckDBConnectionManager.close_all_connections()


def run_dbt(
    dbt_dir: Path,
    candidate_db: Path,
    work_dir: Path,
    dbt_vars: dict[str, Any],
    *,
    full_refresh: bool = False,
    command: str = "build",
    select: list[str] | None = None,
) -> DbtOutcome:
    """Run one dbt command against `candidate_db`, console quiet (warnings only), full log in `work_dir`."""
    from dbt.cli.main import dbtRunner

    args = [
        command,
        "--project-dir", str(dbt_dir),
        "--profiles-dir", str(dbt_dir),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps(dbt_vars),
        "--log-level", "warn",
        "--log-level-file", "info",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    if full_refresh and command in ("build", "run"):
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
    with _build_db_env(candidate_db):
        try:
            result = dbtRunner().invoke(args)
        finally:
            _release_duckdb()
    outcome = DbtOutcome(success=bool(result.success))
    if result.exception is not None:
        text = str(result.exception)
        if "lock" in text.lower():
            raise WarehouseLocked(f"`file={candidate_db}` is locked: {text}")
        outcome.errors.append(f"dbt {command}: {text}")
        return outcome
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        status = str(getattr(node_result.status, "value", node_result.status))
        key = f"{node.resource_type}:{status}"
        outcome.counts[key] = outcome.counts.get(key, 0) + 1
        label = f"{node.name} ({node_result.message or status})"
        if status == "fail":
            outcome.failed.append(label)
        elif status == "error":
            outcome.errors.append(label)
        elif status == "warn":
            outcome.warned.append(label)
    return outcome
