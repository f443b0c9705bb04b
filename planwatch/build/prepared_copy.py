"""An incremental candidate's copy of the published warehouse, made ahead beside the statistics load.

An incremental build starts from a byte copy of the published file (build/candidate.py), so that dbt's
incremental models find their previous rows in place. Nationally that is a 1 GB copy on the build's
critical path: 0.4-1.5 s from the page cache, seconds when the file was last read a quarter ago
(bench/README.md, fourteenth pass). `run_all` and the bench start it in a thread beside the statistics
load (planwatch.run.pipeline.before_stage): the published file changes only at publish, after the build
of the same run, and one run at a time holds the warehouse (planwatch.run.locking).

The build takes the copy only if it was made from the file that is still the published one: same
inode, size and modification time before and after the copy and when it is taken (publish and
rollback put a new file in place with `os.replace`, so a new inode). Otherwise, and when the build turns
out to be a full refresh, the copy is removed and the build copies as before. Airflow runs each stage
in a process of its own, where no copy was prepared: its build copies itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".prepared"  # beside the candidate: `<run id>.duckdb.prepared`

_jobs: dict[Path, tuple[threading.Thread, dict[str, tuple[int, int, int] | None]]] = {}


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def prepared_path(candidate: Path) -> Path:
    return candidate.with_name(candidate.name + SUFFIX)


def prepare_in_background(published: Path, candidate: Path) -> None:
    """Start copying `published` to the prepared path of `candidate` in a daemon thread (once per
    candidate and process). Copies left by a killed run (another candidate's) are removed first."""
    if candidate in _jobs or not published.exists():
        return
    candidate.parent.mkdir(parents=True, exist_ok=True)
    for stale in candidate.parent.glob(f"*{SUFFIX}*"):
        stale.unlink(missing_ok=True)
    target = prepared_path(candidate)
    made: dict[str, tuple[int, int, int] | None] = {"from": None}

    def copy() -> None:
        before = _identity(published)
        partial = target.with_name(target.name + ".part")
        try:
            shutil.copyfile(published, partial)
            os.replace(partial, target)
        except OSError:  # the disk is full, the file went away: the build copies itself, and says why
            log.debug("preparing a copy of %s failed", published, exc_info=True)
            partial.unlink(missing_ok=True)
            return
        if before is not None and _identity(published) == before:
            made["from"] = before

    thread = threading.Thread(target=copy, name="prepare-candidate-copy", daemon=True)
    _jobs[candidate] = (thread, made)
    thread.start()


def take(published: Path, candidate: Path) -> bool:
    """Put the prepared copy of `published` in place as `candidate` if there is one made from the file
    still published (waiting for the copy to end); else remove it and return False."""
    job = _jobs.pop(candidate, None)
    if job is None:
        return False
    thread, made = job
    thread.join()
    target = prepared_path(candidate)
    if made["from"] is not None and made["from"] == _identity(published) and target.exists():
        os.replace(target, candidate)
        log.info("dbt_build: took the copy of %s made beside the statistics load", published)
        return True
    target.unlink(missing_ok=True)
    return False


def discard(candidate: Path) -> None:
    """The build did not need the copy (a full refresh): wait for it and remove it."""
    job = _jobs.pop(candidate, None)
    if job is not None:
        job[0].join()
    prepared_path(candidate).unlink(missing_ok=True)
