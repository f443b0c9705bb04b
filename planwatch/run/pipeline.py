"""Run one stage, or all of them, for one quarter: the code every DAG task and the CLI share.

A stage is `function(settings, run) -> Metrics`. This module adds what every stage needs around
it: the run log, timing, and one log line of numbers per stage.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from planwatch.build import prepared_copy
from planwatch.build.candidate import build_candidate
from planwatch.build.dbt_runner import DBT_MODULE
from planwatch.core.background_import import import_in_background
from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.core.errors import TerminalError, TransientError
from planwatch.core.types import CHECKS_AFTER_BUILD, CONCURRENT_STAGES, STAGES, Metrics, RunContext, TStage, side_by_side
from planwatch.ingest.load_plans import load_plans
from planwatch.ingest.load_statistics import load_statistics
from planwatch.ingest.register import register_files
from planwatch.quality.validate import import_gx_in_background, validate_marts, validate_raw
from planwatch.run.locking import run_lock
from planwatch.serve.publish import as_of_run, publish
from planwatch.serve.publish import rollback as publish_rollback
from planwatch.serve.report import warm_up_charts, write_report

log = logging.getLogger(__name__)

# The stages in the order of types.STAGES, imported directly (the stage modules import their heavy
# dependencies inside functions; the DAG imports this module inside its tasks, not at parse time).
STAGE_FUNCTIONS: dict[TStage, Callable[[Settings, RunContext], Metrics]] = {
    "register_files": register_files,
    "load_plans": load_plans,
    "load_statistics": load_statistics,
    "validate_raw": validate_raw,
    "dbt_build": build_candidate,
    "validate_marts": validate_marts,
    "publish": publish,
    "report": write_report,
}


def run_stage(stage: TStage, quarter: str, run_id: str, settings: Settings | None = None,
              wait: timedelta | None = None) -> Metrics:
    """Run one stage and record it in the run log. Errors propagate after being recorded.

    While another run holds this home it waits up to `wait` for it, then refuses
    (planwatch.run.locking.RunLocked). The stage builds `quarter`, or the published warehouse's quarter
    when that is newer: the published warehouse never moves backwards (planwatch.serve.publish.as_of_run)."""
    settings = settings or Settings.from_env()
    settings.ensure_dirs()
    requested = RunContext(run_id=run_id, quarter=Quarter.parse(quarter))
    with run_lock(settings, requested, stage, wait):  # a second run waits or is refused, never interleaved
        return _run_stage_locked(stage, settings, as_of_run(settings, requested))


def _run_stage_locked(stage: TStage, settings: Settings, run: RunContext) -> Metrics:
    from planwatch.run import runlog

    if stage == STAGES[0]:
        runlog.start_run(settings, run)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    try:
        metrics = STAGE_FUNCTIONS[stage](settings, run)
    except Exception as exc:
        runlog.record_task(settings, run, stage, {"error": f"{type(exc).__name__}: {exc}"[:2000]})
        after_publish = STAGES.index(stage) > STAGES.index("publish")
        runlog.finish_run(
            settings, run,
            status="published" if after_publish else ("not_published" if stage == "publish" else "failed"),
            published=after_publish, reason=f"{stage}: {exc}"[:4000],
        )
        raise
    metrics = dict(metrics)
    if run.extra.get("requested_quarter"):
        metrics["requested_quarter"] = run.extra["requested_quarter"]
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    metrics["cpu_s"] = round(cpu_seconds() - cpu_started, 2)
    runlog.record_task(settings, run, stage, metrics)
    log.info("%s %s: %s", run.quarter, stage, " ".join(f"{k}={v}" for k, v in metrics.items()))
    if stage == "publish":
        runlog.finish_run(settings, run, status="published", published=True, reason=None)
    return metrics


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU of this process (DuckDB's threads included) and, with `children`, of its
    waited-for children: a stage's CPU over its seconds says how much of the cores it kept busy (the
    run log's `cpu_s`; the benchmark's stage figures)."""
    t = os.times()
    return t.user + t.system + ((t.children_user + t.children_system) if children else 0.0)


def rollback(settings: Settings, to: str | None = None) -> Metrics:
    """Put back a kept version of the published warehouse (planwatch.serve.publish.rollback) and log it."""
    from planwatch.run import runlog

    result = publish_rollback(settings, to)
    runlog.record_rollback(settings, str(result["reason"]))
    return result


def before_stage(stage: TStage, settings: Settings | None = None, run_id: str | None = None) -> None:
    """For a process that runs every stage in turn (`run_all`, the benchmark): the next heavy import
    starts in the background with the statistics load, whose DuckDB queries release the GIL
    (planwatch.core.background_import). Not earlier: the stages before it are mostly Python, which an
    import would only slow (register_files 6.1 s against 1.6 s under load, bench/README.md).
    Side by side (the default) both checks stages run in the checks' own process (run_concurrent_stages)
    and this one never imports GX: dbt's import (about 1 s), for the build that follows the load.
    One after the other (PLANWATCH_SIDE_BY_SIDE=0) GX's (3-4 s), for the checks that follow the load.
    Side by side, too, the report's chart (altair, which GX imported before) beside publish's export.
    GX's import here beside the checks' own cost the side-by-side run 0.7-1.5 s (bench/README.md,
    thirteenth pass). With `settings` and `run_id`, the copy of the published file that an incremental
    build starts from is made beside the statistics load too (build/prepared_copy.py)."""
    if stage == "load_statistics":
        if settings is not None and run_id is not None:
            prepared_copy.prepare_in_background(settings.published_db, settings.candidate_db(run_id))
        if side_by_side():
            import_in_background(DBT_MODULE)
        else:
            import_gx_in_background()
    elif stage == "publish" and side_by_side():
        warm_up_charts()  # for the report; GX, which imports altair, is not in this process


def run_all(quarter: str, run_id: str, settings: Settings | None = None) -> dict[str, Metrics]:
    """Every stage in order, without Airflow: for the CLI, the benchmark and quick local checks.
    CONCURRENT_STAGES run side by side, as the DAG's tasks do (run_concurrent_stages)."""
    settings = settings or Settings.from_env()
    settings.ensure_dirs()
    results: dict[str, Metrics] = {}
    with run_lock(settings, RunContext(run_id=run_id, quarter=Quarter.parse(quarter)), "run_all"):
        for step in run_steps():
            before_stage(step[0], settings, run_id)
            if len(step) > 1:
                results.update(run_concurrent_stages(quarter, run_id, settings))
            else:
                results[step[0]] = run_stage(step[0], quarter, run_id, settings)
    return results


def run_steps() -> list[tuple[TStage, ...]]:
    """The stages in run order, one step each; but when CONCURRENT_STAGES run side by side
    (planwatch.core.types.side_by_side), one step of the pair and CHECKS_AFTER_BUILD, which the checks'
    process runs after the build (run_concurrent_stages): for run_all and the benchmark."""
    if not side_by_side():
        return [(stage,) for stage in STAGES]
    together = (*CONCURRENT_STAGES, CHECKS_AFTER_BUILD)
    steps: list[tuple[TStage, ...]] = []
    for stage in STAGES:
        if stage not in together:
            steps.append((stage,))
        elif stage == together[0]:
            steps.append(together)
    return steps


# run_concurrent_stages names itself to the checks' process, which asks to die with it (die_with_parent)
PARENT_ENV = "PLANWATCH_DIE_WITH_PARENT"


def die_with_parent() -> None:
    """In the checks' process of run_concurrent_stages: the kernel sends it SIGKILL when the process
    that started it dies (Linux only), and it dies at once if that has already happened.

    Asked here, in the child, not between fork and exec: a `preexec_fn` makes Python fork the whole
    parent instead of vfork, and after the statistics load the parent holds about 1 GB nationally
    (pyarrow's and DuckDB's buffers), whose pages the child then counts as its own until it execs
    (at 4351b26 the checks process read 961-966 MiB in its first samples, bench/README.md, fifteenth pass)."""
    parent = os.environ.pop(PARENT_ENV, None)
    if parent is None or not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != int(parent):  # the parent died before the request: this process goes too
        os.kill(os.getpid(), signal.SIGKILL)


def _die_with_child(child: subprocess.Popen) -> None:
    """When the child was killed by a signal, this process dies by the same signal at once."""
    code = child.wait()
    if code < 0:
        log.error("stage %s was killed (signal %d): the run dies with it", CONCURRENT_STAGES[0], -code)
        os.kill(os.getpid(), -code)


def run_concurrent_stages(quarter: str, run_id: str, settings: Settings) -> dict[str, Metrics]:
    """CONCURRENT_STAGES side by side, then CHECKS_AFTER_BUILD: the checks in a process of their own
    (`python -m planwatch stage validate_raw --then validate_marts`, as an Airflow task runs a stage), the
    build in this one, which holds the run's lock (run_all) or takes it; the child runs beside it
    (planwatch.run.locking). Once the build has passed, the child, which has GX imported, runs the mart
    checks too (told on its stdin; on a failed build its stdin closes and it ends). Each stage records
    itself in the run log as when run alone. A failure of either process is raised once both have
    ended. A kill of either is a kill of the run, as when one process ran both: the child dies with
    this process (Linux), and this one with the child (the crash points of
    tests/reliability/test_crash.py kill the stage's own process)."""
    first, second = CONCURRENT_STAGES
    command = [sys.executable, "-m", "planwatch", *(["-v"] if log.isEnabledFor(logging.INFO) else []),
               "stage", first, "--quarter", quarter, "--run-id", run_id, "--then", CHECKS_AFTER_BUILD]
    # stdout carries the stage's metrics line, which the run log has too; its messages go to stderr
    env = {**os.environ, "PLANWATCH_HOME": str(settings.home), PARENT_ENV: str(os.getpid())}
    child = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    threading.Thread(target=_die_with_child, args=(child,), name=f"watch-{first}", daemon=True).start()
    built = False
    try:
        results = {second: run_stage(second, quarter, run_id, settings)}
        built = True
    finally:
        _tell_checks(child, go=built)
        code = child.wait()
    from planwatch.run.runlog import read_run

    metrics = (read_run(settings, run_id) or {}).get("metrics", {})
    if code != 0:
        # the raw checks' error first: a mart checks' error in the log may be an earlier attempt's
        # (a rerun of the same run id), and a process whose raw checks failed never ran the mart checks
        raw_error, marts_error = ("error" in (metrics.get(stage) or {}) for stage in (first, CHECKS_AFTER_BUILD))
        failed = CHECKS_AFTER_BUILD if marts_error and not raw_error else first
        error = TransientError if code == TransientError.exit_code else TerminalError
        raise error(f"`run_id={run_id}` `quarter={quarter}`: stage {failed} failed (exit code {code}); its message "
                    "is above and in the run log (`python -m planwatch status`). Rerun the quarter when mended.")
    return {first: dict(metrics.get(first) or {}), **results,
            CHECKS_AFTER_BUILD: dict(metrics.get(CHECKS_AFTER_BUILD) or {})}


def _tell_checks(child: subprocess.Popen, go: bool) -> None:
    """Tell the checks' process to run CHECKS_AFTER_BUILD (go) or to end; it may have ended already
    (its own stage failed), so a closed pipe is not an error."""
    try:
        if go:
            child.stdin.write(b"go\n")
        child.stdin.close()
    except (BrokenPipeError, OSError):
        pass


def run_stage_then(stage: TStage, then: TStage, quarter: str, run_id: str, settings: Settings) -> list[Metrics]:
    """The checks' process of run_concurrent_stages: `stage`, then `then` once this process's stdin says
    `go` (the build beside it has passed); on end of input (a failed build) only `stage`."""
    die_with_parent()
    results = [run_stage(stage, quarter, run_id, settings)]
    if sys.stdin.readline().strip() == "go":
        results.append(run_stage(then, quarter, run_id, settings))
    return results

