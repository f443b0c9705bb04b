"""The run log: one row per pipeline run in `audit.run_log` of the ingest store.

A run is `running` from `start_run` until `finish_run` sets `published`, `not_published` (a
blocking check failed; the candidate is kept) or `failed` (an error stopped it). Each task adds
its metrics under its own key of the `metrics` JSON, so a re-run task replaces only its entry.
Every call opens the ingest store read-write for a moment and closes it again. Only
planwatch.run.pipeline writes through it (and locking, under the pipeline's lock, closes abandoned
runs): the stages return their metrics and raise their errors, the pipeline records both.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Literal

from planwatch.core.config import Settings
from planwatch.core.db import connect, ensure_ingest_schema
from planwatch.core.types import Metrics, RunContext

log = logging.getLogger(__name__)

TRunStatus = Literal["running", "published", "not_published", "failed"]
RUN_STATUSES: tuple[TRunStatus, ...] = ("running", "published", "not_published", "failed")


def _now() -> datetime:
    # DuckDB TIMESTAMP has no zone: store UTC, naive.
    return datetime.now(timezone.utc).replace(tzinfo=None)


def start_run(settings: Settings, run: RunContext) -> None:
    """Open the run's row (status `running`). Starting a run id again resets its row."""
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        con.execute("delete from audit.run_log where run_id = ?", [run.run_id])
        con.execute(
            "insert into audit.run_log (run_id, quarter, started_at, status, published, metrics, last_seen_at) "
            "values (?, ?, ?, 'running', false, '{}', ?)",
            [run.run_id, str(run.quarter), _now(), _now()],
        )
    log.info("run %s started for quarter %s", run.run_id, run.quarter)


def record_task(settings: Settings, run: RunContext, task: str, metrics: Metrics) -> None:
    """Store `metrics` under `task` in the run's metrics JSON (creating the row if need be)."""
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        row = con.execute("select metrics from audit.run_log where run_id = ?", [run.run_id]).fetchone()
        if row is None:
            con.execute(
                "insert into audit.run_log (run_id, quarter, started_at, status, published, metrics) "
                "values (?, ?, ?, 'running', false, '{}')",
                [run.run_id, str(run.quarter), _now()],
            )
            current: dict[str, Any] = {}
        else:
            current = json.loads(row[0]) if row[0] else {}
        current[task] = dict(metrics)
        con.execute(
            "update audit.run_log set metrics = ?, last_seen_at = ? where run_id = ?",
            [json.dumps(current, ensure_ascii=False, sort_keys=True, default=str), _now(), run.run_id],
        )


def finish_run(settings: Settings, run: RunContext, status: TRunStatus, published: bool,
               reason: str | None) -> None:
    """Close the run's row with its final status and, when it did not publish, why."""
    if status not in RUN_STATUSES:
        raise ValueError(f"`status={status}` is not one of {', '.join(RUN_STATUSES)}")
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        exists = con.execute("select count(*) from audit.run_log where run_id = ?", [run.run_id]).fetchone()
        if not exists or not exists[0]:
            con.execute(
                "insert into audit.run_log (run_id, quarter, started_at, status, published, metrics) "
                "values (?, ?, ?, 'running', false, '{}')",
                [run.run_id, str(run.quarter), _now()],
            )
        con.execute(
            "update audit.run_log set ended_at = ?, status = ?, published = ?, reason = ?, last_seen_at = ? "
            "where run_id = ?",
            [_now(), status, published, reason, _now(), run.run_id],
        )
    log.info("run %s finished: %s%s", run.run_id, status, f" ({reason})" if reason else "")


def record_rollback(settings: Settings, reason: str) -> str:
    """A closed row for a rollback of the published warehouse (run id `rollback-<UTC stamp>`)."""
    run_id = f"rollback-{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}"
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        con.execute(
            "insert into audit.run_log (run_id, quarter, started_at, ended_at, status, published, reason, "
            "metrics) values (?, '', now()::timestamp, now()::timestamp, 'published', true, ?, '{}')",
            [run_id, reason],
        )
    return run_id


_SELECT_RUNS = ("select run_id, quarter, started_at, ended_at, status, published, reason, metrics, last_seen_at "
                "from audit.run_log where ((?::varchar is null or run_id = ?) "
                "and (?::varchar is null or status = ?) and (?::varchar is null or run_id <> ?)) or run_id = ? ")
# A store from before last_seen_at (added by ensure_ingest_schema at its next write) reads it as NULL.
_SELECT_RUNS_BEFORE_LAST_SEEN = (
    "select run_id, quarter, started_at, ended_at, status, published, reason, metrics, "
    "null::timestamp as last_seen_at from audit.run_log where ((?::varchar is null or run_id = ?) "
    "and (?::varchar is null or status = ?) and (?::varchar is null or run_id <> ?)) or run_id = ? ")
_NEWEST_FIRST = _SELECT_RUNS + "order by started_at desc limit ?"
_OLDEST_FIRST = _SELECT_RUNS + "order by started_at limit ?"
_NEWEST_FIRST_BEFORE_LAST_SEEN = _SELECT_RUNS_BEFORE_LAST_SEEN + "order by started_at desc limit ?"
_OLDEST_FIRST_BEFORE_LAST_SEEN = _SELECT_RUNS_BEFORE_LAST_SEEN + "order by started_at limit ?"


def read_runs(settings: Settings, *, run_id: str | None = None, status: str | None = None,
              except_run_id: str | None = None, limit: int = 1000,
              newest_first: bool = True, also_run_id: str | None = None) -> list[dict[str, Any]]:
    """Rows of audit.run_log as dicts (metrics parsed), filtered, and the row of `also_run_id` whatever the
    filters; [] before the first run.

    One read-only connection and one query: the run lock reads through here before every stage, and each
    catalog probe (is the table there, has it last_seen_at) cost as much CPU as the query itself on a fresh
    connection (bench/README.md, ninth pass), so a missing table or column is told by DuckDB's error instead."""
    import duckdb

    if not settings.ingest_db.exists():
        return []
    params = [run_id, run_id, status, status, except_run_id, except_run_id, also_run_id, limit]
    with connect(settings.ingest_db, read_only=True) as con:
        try:
            cur = con.execute(_NEWEST_FIRST if newest_first else _OLDEST_FIRST, params)
        except duckdb.CatalogException:  # no audit.run_log yet
            return []
        except duckdb.BinderException:  # a run log from before last_seen_at
            cur = con.execute(_NEWEST_FIRST_BEFORE_LAST_SEEN if newest_first else _OLDEST_FIRST_BEFORE_LAST_SEEN,
                              params)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
    for row in rows:
        m = row.get("metrics")
        row["metrics"] = json.loads(m) if isinstance(m, str) and m else (m or {})
    return rows


def read_run(settings: Settings, run_id: str) -> dict[str, Any] | None:
    """The run's row as a dict (metrics parsed), or None when the run is unknown."""
    rows = read_runs(settings, run_id=run_id, limit=1)
    return rows[0] if rows else None
