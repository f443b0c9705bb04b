"""One pipeline run at a time per planwatch home: a second writer is refused, never interleaved.

Two guards, both checked before a stage starts (`planwatch.pipeline.run_stage`, `run_all`):

1. **Process lock.** `warehouse/.lock` is held with an exclusive `fcntl.flock` while a stage runs,
   and for the whole run under `run_all`. The kernel drops it when the holder exits, even by
   SIGKILL, so a crash never leaves it behind. The file names its holder (run id, stage, pid,
   host, since) so that the refusal can say who it is.
2. **Run claim.** The DAG runs each stage in its own process, so between two tasks nobody holds
   the lock. Under the lock a stage therefore also looks in `audit.run_log` for another run still
   `running`: running a stage for a second run then would mix the two (one run's files loaded
   under the other's checks, two publishes racing). A `running` row that started more than
   `STALE_AFTER` ago belongs to a run that died without finishing (SIGKILL, lost machine): it is
   closed as `failed` with that reason and the new run goes ahead.

Both refusals raise `RunLocked`, a `TransientError`: Airflow retries the task later (queued, in
effect), the CLI exits with code 3. Airflow itself also keeps `max_active_runs=1`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from planwatch.config import Settings
from planwatch.errors import TransientError
from planwatch.periods import Quarter
from planwatch.types import RunContext

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
STALE_ENV = "PLANWATCH_STALE_RUN_HOURS"
STALE_AFTER = timedelta(hours=6)  # a quarterly run takes minutes; Airflow's retries add at most ~1 h

# Locks this process holds: lock path -> (fd, run id). Lets run_all hold the lock around run_stage.
_held: dict[str, tuple[int, str]] = {}


class RunLocked(TransientError):
    """Another run holds the planwatch home; this one must wait (or be retried later)."""


def lock_path(settings: Settings) -> Path:
    return settings.warehouse_dir / LOCK_NAME


def stale_after() -> timedelta:
    hours = os.environ.get(STALE_ENV)
    return timedelta(hours=float(hours)) if hours else STALE_AFTER


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process (it has not written its name yet)"
    return (f"run {info.get('run_id')!r} (stage {info.get('stage')}, pid {info.get('pid')} on {info.get('host')}, "
            f"since {info.get('since')})")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextlib.contextmanager
def run_lock(settings: Settings, run: RunContext, stage: str) -> Iterator[None]:
    """Hold the home for `run` while the body runs; raise RunLocked if another run has it."""
    path = lock_path(settings)
    key = str(path)
    held = _held.get(key)
    if held is not None:
        if held[1] != run.run_id:
            raise RunLocked(f"`run_id={run.run_id}`: this process already runs {held[1]!r} on {settings.home}; "
                            "one run at a time")
        yield  # run_all holds it around its stages
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(
                f"`run_id={run.run_id}` stage {stage}: {settings.home} is in use by {_holder_text(path)}. "
                f"Only one pipeline run may write at a time (lock `file={path}`); this one will run when "
                "retried after the other finishes."
            ) from None
        info = {"run_id": run.run_id, "quarter": str(run.quarter), "stage": stage, "pid": os.getpid(),
                "host": socket.gethostname(), "since": _utcnow().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _held[key] = (fd, run.run_id)
        try:
            refuse_if_other_run_active(settings, run, stage)
            yield
        finally:
            del _held[key]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def active_runs(settings: Settings, except_run_id: str) -> list[dict[str, Any]]:
    """Other runs whose row in audit.run_log still says `running`, oldest first."""
    from planwatch.runlog import read_runs

    return read_runs(settings, status="running", except_run_id=except_run_id, newest_first=False)


def refuse_if_other_run_active(settings: Settings, run: RunContext, stage: str) -> None:
    """Raise RunLocked when another run is still in progress; close runs abandoned long ago."""
    from planwatch import runlog

    limit = stale_after()
    now = _utcnow()
    for other in active_runs(settings, run.run_id):
        started = other["started_at"]
        stages = ", ".join(other["metrics"].keys()) or "none"
        if started is not None and now - started > limit:
            reason = (f"abandoned: still `running` {now - started} after it started (stages done: {stages}); "
                      f"the process died without finishing. Closed when run {run.run_id!r} started.")
            log.warning("run %s: %s", other["run_id"], reason)
            runlog.finish_run(settings, RunContext(other["run_id"], Quarter.parse(other["quarter"])),
                              "failed", False, reason)
            continue
        raise RunLocked(
            f"`run_id={run.run_id}` stage {stage}: run {other['run_id']!r} for {other['quarter']} is still in "
            f"progress (started {started:%Y-%m-%d %H:%M:%S} UTC, stages done: {stages}); a second run would "
            "interleave with it. Wait for it to finish. If it died, rerun it with the same run id (Airflow: "
            f"clear its failed task; CLI: --run-id {other['run_id']}); after {limit} it counts as abandoned."
        )
