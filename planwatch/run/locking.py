"""One pipeline run at a time per planwatch home: a second writer waits or is refused, never interleaved.

Two guards, both checked before a stage starts (`planwatch.run.pipeline.run_stage`, `run_all`):

1. **Process lock.** `warehouse/.lock` is held with an exclusive `fcntl.flock` while a stage runs,
   and for the whole run under `run_all`. The kernel drops it when the holder exits, even by
   SIGKILL, so a crash never leaves it behind. The file names its holder (run id, stage, pid,
   host, since) so that the refusal can say who it is; a holder that finishes empties it.
2. **Run claim.** The DAG runs each stage in its own process, so between two tasks nobody holds
   the lock. Under the lock a stage therefore also looks in `audit.run_log` for another run still
   `running`: running a stage for a second run then would mix the two (one run's files loaded
   under the other's checks, two publishes racing).

A `running` run is **abandoned**, closed as `failed` with the reason, and the new run goes ahead, when
* its process died in a stage: the lock was free but the lock file still names it (only a holder
  that exits without releasing leaves its name there), or
* it has shown no sign of life (`audit.run_log.last_seen_at`: its start, the end of each stage) for
  `PLANWATCH_STALE_RUN_HOURS` (default 1 h, longer than any retry delay of the DAG): its runner
  stopped between two stages (scheduler gone, run marked failed).
A live run is never closed: a long stage holds the lock, and between stages it was seen moments ago.

A refusal raises `RunLocked`, a `TransientError`. With `wait` (the DAG's tasks: `DAG_WAIT`) the
stage waits for its turn instead, polling every few seconds; the CLI does not wait (exit code 3).
Airflow itself also serialises runs: `max_active_runs=1`, and `--max-active-runs 1` on backfills.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from planwatch.core.config import Settings
from planwatch.core.errors import TerminalError, TransientError
from planwatch.core.periods import Quarter
from planwatch.core.types import CHECKS_AFTER_BUILD, CONCURRENT_STAGES, RunContext, side_by_side

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
STALE_ENV = "PLANWATCH_STALE_RUN_HOURS"
STALE_AFTER = timedelta(hours=1)  # without a sign of life; the DAG's longest retry delay is 30 min
DAG_WAIT = timedelta(hours=12)  # how long a DAG task waits for another run before it gives up
POLL_SECONDS = 5.0

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
def run_lock(settings: Settings, run: RunContext, stage: str, wait: timedelta | None = None) -> Iterator[None]:
    """Hold the home for `run` while the body runs. If another run has it, wait up to `wait` for
    it to finish; then (or at once, without `wait`) raise RunLocked."""
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
    deadline = time.monotonic() + (wait.total_seconds() if wait else 0.0)
    said = -60.0
    while True:
        try:
            fd = _acquire(settings, run, stage, path)
            break
        except RunLocked as refused:
            now = time.monotonic()
            if now >= deadline:
                if wait:
                    raise RunLocked(f"{refused} Waited {wait} for it.") from None
                raise
            if now - said >= 60:  # one line a minute in the task log, not one per poll
                log.info("waiting for the planwatch home: %s", refused)
                said = now
            time.sleep(min(POLL_SECONDS, deadline - now))
    if fd is None:  # beside its sibling stage, under the sibling's lock (_beside_sibling)
        yield
        return
    _held[key] = (fd, run.run_id)
    try:
        yield
    finally:
        del _held[key]
        os.ftruncate(fd, 0)  # an empty lock file says: released normally
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(settings: Settings, run: RunContext, stage: str, path: Path) -> int | None:
    """Take the process lock and check the run claim; the locked fd, None when the stage runs beside its
    sibling under the sibling's lock (_beside_sibling), or RunLocked (nothing held)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_named(fd)
            if _beside_sibling(run, stage, holder):
                log.info("`run_id=%s` stage %s runs beside %s, under its lock", run.run_id, stage, holder.get("stage"))
                os.close(fd)
                return None
            raise RunLocked(
                f"`run_id={run.run_id}` stage {stage}: {settings.home} is in use by {_holder_text(path)}. "
                f"Only one pipeline run may write at a time (lock `file={path}`); this one runs after "
                "the other finishes."
            ) from None
        died = _read_holder(fd)  # left by a holder that exited without releasing: its process is gone
        info = {"run_id": run.run_id, "quarter": str(run.quarter), "stage": stage, "pid": os.getpid(),
                "host": socket.gethostname(), "since": _utcnow().isoformat(timespec="seconds")}
        try:
            refuse_if_other_run_active(settings, run, stage, died)
        except BaseException:
            if died:  # keep the evidence for the next try
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(died).encode(), 0)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        return fd
    except BaseException:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise


def _beside_sibling(run: RunContext, stage: str, holder: dict[str, Any]) -> bool:
    """Whether `stage` may run while `holder` holds the lock: the holder is the same run in its sibling
    stage (CONCURRENT_STAGES: the DAG's parallel tasks), or run_all of the same run, which starts the
    pair itself (and whose checks process runs CHECKS_AFTER_BUILD once the build has passed). Such a
    stage takes no lock of its own. Another run stays out all the same: while the
    holder has the lock the flock stops it, and after the holder let go its run claim (this run,
    `running` and seen moments ago) refuses it. With PLANWATCH_SIDE_BY_SIDE=0 the second waits for the
    first, as any stage does (the DAG's tasks: DAG_WAIT). What is lost: a stage killed while running beside its
    sibling leaves no name in the lock file, so its run counts as abandoned only after
    PLANWATCH_STALE_RUN_HOURS without a sign of life, as when a runner stops between stages."""
    if not side_by_side() or holder.get("run_id") != run.run_id:
        return False
    if stage == CHECKS_AFTER_BUILD:  # run_all's own checks process, which it tells to go once the build passed
        return holder.get("stage") == "run_all" and holder.get("pid") == os.getppid()
    return (stage in CONCURRENT_STAGES and holder.get("stage") in (*CONCURRENT_STAGES, "run_all")
            and holder.get("stage") != stage)


def _holder_named(fd: int, within: float = 2.0) -> dict[str, Any]:
    """The lock file's holder, waiting up to `within` seconds for one that has just taken the lock to write
    its name: two runs started together otherwise meet an empty file, and the refusal could not say who
    holds the home (nor a sibling stage tell its own run: _beside_sibling)."""
    deadline = time.monotonic() + within
    while True:
        info = _read_holder(fd)
        if info or time.monotonic() >= deadline:
            return info
        time.sleep(0.05)


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 65536, 0)
        info = json.loads(data.decode("utf-8")) if data.strip() else {}
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def active_runs(settings: Settings, except_run_id: str) -> list[dict[str, Any]]:
    """Other runs whose row in audit.run_log still says `running`, oldest first."""
    return _own_and_active_runs(settings, except_run_id)[1]


def _own_and_active_runs(settings: Settings, run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The run's own row (None when unknown) and the other runs still `running`, oldest first: one read of
    the run log (each connection to the ingest store costs about 20 ms of CPU, paid before every stage)."""
    from planwatch.run.runlog import read_runs

    rows = read_runs(settings, status="running", except_run_id=run_id, newest_first=False, also_run_id=run_id)
    own = next((r for r in rows if r["run_id"] == run_id), None)
    return own, [r for r in rows if r["run_id"] != run_id]


def refuse_if_other_run_active(settings: Settings, run: RunContext, stage: str,
                               died: dict[str, Any] | None = None) -> None:
    """Raise RunLocked when another run is still in progress; close abandoned ones.

    `died` is what the lock file said when the lock was taken: a holder that exited without
    releasing it, i.e. a run whose process died in a stage."""
    from planwatch.run import runlog

    limit = stale_after()
    now = _utcnow()
    own, others = _own_and_active_runs(settings, run.run_id)
    if stage != "register_files":
        if own is not None and own["status"] == "failed" and str(own["reason"] or "").startswith("abandoned"):
            raise TerminalError(
                f"`run_id={run.run_id}` stage {stage}: this run was closed as abandoned ({own['reason']}). "
                "Another run may have published since; trigger a new run instead of resuming this one."
            )
    for other in others:
        seen = other.get("last_seen_at") or other["started_at"]
        stages = ", ".join(other["metrics"].keys()) or "none"
        if died and died.get("run_id") == other["run_id"]:
            reason = (f"abandoned: its process (pid {died.get('pid')} on {died.get('host')}) died in stage "
                      f"{died.get('stage')} started {died.get('since')} UTC (stages done: {stages}). "
                      f"Closed when run {run.run_id!r} started.")
        elif seen is not None and now - seen > limit:
            reason = (f"abandoned: no sign of life for {now - seen} (stages done: {stages}); its runner stopped "
                      f"without finishing it. Closed when run {run.run_id!r} started.")
        else:
            raise RunLocked(
                f"`run_id={run.run_id}` stage {stage}: run {other['run_id']!r} for {other['quarter']} is still in "
                f"progress (started {other['started_at']:%Y-%m-%d %H:%M:%S} UTC, stages done: {stages}); a second "
                "run would interleave with it. Wait for it to finish. If it died, rerun it with the same run id "
                f"(Airflow: clear its failed task; CLI: --run-id {other['run_id']}); after {limit} without a sign "
                "of life it counts as abandoned."
            )
        log.warning("run %s: %s", other["run_id"], reason)
        runlog.finish_run(settings, RunContext(other["run_id"], Quarter.parse(other["quarter"])),
                          "failed", False, reason)
