"""Concurrency: one writer per home (a second run is refused, never interleaved), and BI readers
that hold the published warehouse open read-only through ten publishes neither block them nor see
a mixture of two versions. A fresh open at the instant of a publish's rename can fail in DuckDB
itself (planwatch/core/db.py, `_file_id`); planwatch's own readers open again, docs/bi.md says
what a BI tool sees."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from conftest import QUARTER, REPO_ROOT, RUN_ID, child_env, copy_home, run_child, run_stages, run_status
from planwatch.core.config import Settings
from planwatch.core.db import connect
from planwatch.core.errors import TerminalError
from planwatch.run.locking import RunLocked, lock_path
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext

HOLDER = textwrap.dedent("""
    import sys, time
    from planwatch.core.config import Settings
    from planwatch.run.locking import run_lock
    from planwatch.core.periods import Quarter
    from planwatch.core.types import RunContext
    with run_lock(Settings.from_env(), RunContext({run_id!r}, Quarter.parse({quarter!r})), {stage!r}):
        print("held", flush=True)
        sys.stdin.read()  # hold until the test closes our stdin
""")


def _hold_lock(home: Path, run_id: str, stage: str = "dbt_build") -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.format(run_id=run_id, quarter=QUARTER, stage=stage)],
                              cwd=REPO_ROOT,
                              env=child_env(home), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_is_refused_while_a_stage_runs(checked_home: Path, tmp_path: Path) -> None:
    settings = copy_home(checked_home, tmp_path / "home")
    holder = _hold_lock(settings.home, RUN_ID)
    try:
        started = time.monotonic()
        with pytest.raises(RunLocked) as refused:
            run_stages(settings, QUARTER, "intruder", ("register_files",))
        assert time.monotonic() - started < 5, "the refusal must be immediate, not a wait"
        message = str(refused.value)
        assert "'q4'" in message and "dbt_build" in message and f"pid {holder.pid}" in message
        # the same through the CLI: exit code 3 (transient: Airflow retries it later)
        done = run_child(settings.home, ["stage", "register_files", "--quarter", QUARTER, "--run-id", "intruder"])
        assert done.returncode == 3 and "'q4'" in done.stderr, done.stderr[-2000:]
        # even the same run cannot run a second stage at the same time
        with pytest.raises(RunLocked):
            run_stages(settings, QUARTER, RUN_ID, ("validate_marts",))
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=30)
    assert run_status(settings, "intruder") is None, "a refused run must leave no trace in the run log"


def test_the_raw_checks_run_beside_their_own_runs_build_only(checked_home: Path, tmp_path: Path) -> None:
    """validate_raw and dbt_build of one run run side by side (CONCURRENT_STAGES: the DAG's parallel tasks,
    run_all's two processes): the checks run under the build's lock, which stays the build's; another
    run's checks are refused as before."""
    settings = copy_home(checked_home, tmp_path / "home")
    holder = _hold_lock(settings.home, RUN_ID)  # dbt_build of RUN_ID
    try:
        with pytest.raises(RunLocked):
            run_stages(settings, QUARTER, "intruder", ("validate_raw",))
        with connect(settings.ingest_db, read_only=True) as con:
            before = con.execute("select count(*), max(checked_at) from audit.dq_results where run_id = ? "
                                 "and suite = 'raw_statistics'", [RUN_ID]).fetchone()
        started = time.monotonic()
        run_stages(settings, QUARTER, RUN_ID, ("validate_raw",))
        assert time.monotonic() - started < 120, "the checks ran, they did not wait for the build"
        holder_text = lock_path(settings).read_text()
        assert f'"pid": {holder.pid}' in holder_text and '"dbt_build"' in holder_text, holder_text
        # not any stage of the same run: the mart checks read what the build writes
        with pytest.raises(RunLocked):
            run_stages(settings, QUARTER, RUN_ID, ("validate_marts",))
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=30)
    with connect(settings.ingest_db, read_only=True) as con:
        after = con.execute("select count(*), max(checked_at) from audit.dq_results where run_id = ? "
                            "and suite = 'raw_statistics'", [RUN_ID]).fetchone()
        metrics = con.execute("select metrics from audit.run_log where run_id = ?", [RUN_ID]).fetchone()[0]
    assert before[0] > 0 and after[0] == before[0] and after[1] > before[1], "the checks ran again, replacing their findings"
    assert "validate_raw" in metrics
    assert run_status(settings, "intruder") is None


def test_the_mart_checks_beside_run_all_only_from_its_own_checks_process(checked_home: Path, tmp_path: Path) -> None:
    """run_all's checks process runs validate_marts under run_all's lock once told the build passed
    (planwatch.run.pipeline.run_concurrent_stages); any other process of the same run is refused, as the
    mart checks read what the build writes."""
    settings = copy_home(checked_home, tmp_path / "home")
    holder = _hold_lock(settings.home, RUN_ID, stage="run_all")
    try:
        with pytest.raises(RunLocked, match="run_all"):
            run_stages(settings, QUARTER, RUN_ID, ("validate_marts",))
        # the raw checks, run_all's other stage beside the build, are admitted from any process
        run_stages(settings, QUARTER, RUN_ID, ("validate_raw",))
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=30)


def test_a_failure_of_the_raw_checks_is_named_even_after_an_earlier_attempts_mart_checks_failed(
        built_home: Path, tmp_path: Path) -> None:
    """run_all's checks process fails in validate_raw on a rerun of a run id whose earlier attempt failed
    in validate_marts: the message names the stage that failed now, not the run log's older error."""
    from planwatch.run.pipeline import run_concurrent_stages
    from planwatch.run.runlog import read_run, record_task

    settings = copy_home(built_home, tmp_path / "home")
    record_task(settings, RunContext(RUN_ID, Quarter.parse(QUARTER)), "validate_marts",
                {"error": "TerminalError: an earlier attempt's mart checks"})
    gx = settings.warehouse_dir / "gx"
    shutil.rmtree(gx, ignore_errors=True)
    gx.write_text("a file where the checks keep their results: validate_raw cannot write them")
    with pytest.raises(TerminalError, match="stage validate_raw failed") as failed:
        run_concurrent_stages(QUARTER, RUN_ID, settings)
    assert "validate_marts" not in str(failed.value)
    metrics = (read_run(settings, RUN_ID) or {})["metrics"]
    assert "error" in metrics["validate_raw"] and "dbt_build" in metrics and "error" not in metrics["dbt_build"]


def test_side_by_side_off_makes_the_checks_wait_for_the_build(checked_home: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """PLANWATCH_SIDE_BY_SIDE=0 (memory first): the checks are refused beside the build, as any stage."""
    from planwatch.core.types import SIDE_BY_SIDE_ENV

    settings = copy_home(checked_home, tmp_path / "home")
    monkeypatch.setenv(SIDE_BY_SIDE_ENV, "0")
    holder = _hold_lock(settings.home, RUN_ID)  # dbt_build of RUN_ID
    try:
        with pytest.raises(RunLocked, match="dbt_build"):
            run_stages(settings, QUARTER, RUN_ID, ("validate_raw",))
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=30)


def test_the_kernel_drops_the_lock_of_a_killed_holder(checked_home: Path, tmp_path: Path) -> None:
    settings = copy_home(checked_home, tmp_path / "home")
    holder = _hold_lock(settings.home, RUN_ID)
    holder.kill()
    holder.wait(timeout=30)
    assert json.loads(lock_path(settings).read_text() or "{}").get("run_id") == RUN_ID  # stale text, no lock
    run_stages(settings, QUARTER, RUN_ID, ("publish",))  # the same run continues at once
    assert run_status(settings, RUN_ID) == ("published", True)


def test_a_run_left_unfinished_blocks_another_run_until_it_is_stale(
        checked_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = copy_home(checked_home, tmp_path / "home")  # run q4 stopped before publish: still `running`
    with pytest.raises(RunLocked, match=r"run 'q4' for 2023Q4 is still in progress.*--run-id q4"):
        run_stages(settings, QUARTER, "next", ("register_files",))
    assert run_status(settings, "next") is None

    monkeypatch.setenv("PLANWATCH_STALE_RUN_HOURS", "0")  # as if q4 had died hours ago
    run_stages(settings, QUARTER, "next", ("register_files",))
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        status, reason = con.execute("select status, reason from audit.run_log where run_id = 'q4'").fetchone()
    finally:
        con.close()
    assert status == "failed" and reason.startswith("abandoned") and "'next'" in reason


def _reason(settings: Settings, run_id: str) -> tuple[str, str]:
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        return con.execute("select status, reason from audit.run_log where run_id = ?", [run_id]).fetchone()
    finally:
        con.close()


def test_a_run_whose_process_died_in_a_stage_is_closed_at_once(checked_home: Path, tmp_path: Path) -> None:
    settings = copy_home(checked_home, tmp_path / "home")  # q4 is `running`, seen moments ago
    holder = _hold_lock(settings.home, RUN_ID)  # q4's dbt_build ...
    holder.kill()  # ... is killed: the kernel frees the lock, the lock file still names q4
    holder.wait(timeout=30)
    run_stages(settings, QUARTER, "next", ("register_files",))  # no wait for the idle limit
    status, reason = _reason(settings, RUN_ID)
    assert status == "failed" and f"pid {holder.pid}" in reason and "died in stage dbt_build" in reason, reason
    assert run_status(settings, "next") == ("running", False)
    # q4's retry must not carry on under next's feet
    with pytest.raises(TerminalError, match="closed as abandoned"):
        run_stages(settings, QUARTER, RUN_ID, ("validate_marts",))


WAITER = textwrap.dedent("""
    import time
    from datetime import timedelta
    from planwatch.run.pipeline import run_stage
    started = time.monotonic()
    run_stage("register_files", {quarter!r}, "next", wait=timedelta(seconds=120))
    print(round(time.monotonic() - started, 1), flush=True)
""")


def test_a_run_that_meets_another_waits_for_its_turn(checked_home: Path, tmp_path: Path) -> None:
    settings = copy_home(checked_home, tmp_path / "home")
    holder = _hold_lock(settings.home, RUN_ID)  # q4 in a stage, and `running` in the run log
    waiter = subprocess.Popen([sys.executable, "-c", WAITER.format(quarter=QUARTER)], cwd=REPO_ROOT,
                              env=child_env(settings.home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        assert waiter.poll() is None, waiter.communicate()[1][-2000:]  # waits on the lock
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=30)
        time.sleep(7)
        assert waiter.poll() is None, waiter.communicate()[1][-2000:]  # q4 is still running: waits on it
        from planwatch.run import runlog
        runlog.finish_run(settings, RunContext(RUN_ID, Quarter.parse(QUARTER)), "published", True, None)
        out, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0, err[-3000:]
    assert float(out.strip().splitlines()[-1]) >= 11
    assert run_status(settings, "next") == ("running", False) and run_status(settings, RUN_ID) == ("published", True)


PUBLISHER = textwrap.dedent("""
    import json, shutil, sys, time
    from pathlib import Path
    from planwatch.core.config import Settings
    from planwatch.core.db import connect
    from planwatch.core.periods import Quarter
    from planwatch.serve.publish import publish
    from planwatch.core.types import RunContext

    settings = Settings.from_env()
    sources = [Path(p) for p in {sources!r}]
    durations = []
    for i in range({n}):
        run = RunContext(f"pub{{i}}", Quarter.parse({quarter!r}))
        shutil.copy(sources[i % 2], settings.candidate_db(run.run_id))
        with connect(settings.ingest_db) as con:  # this run's checks: those of the checked run, all passed
            con.execute("insert into audit.dq_results select ? as run_id, * exclude (run_id) "
                        "from audit.dq_results where run_id = ?", [run.run_id, {run_id!r}])
        started = time.monotonic()
        publish(settings, run)
        durations.append(time.monotonic() - started)
        time.sleep(0.3)
    print(json.dumps(durations))
""")

HELD_READER = textwrap.dedent("""
    import json, sys, threading, duckdb
    ANSWER = {answer!r}
    con = duckdb.connect({path!r}, read_only=True)
    answers, done = [], threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print("open", flush=True)
    while not done.wait(0.05):
        answers.append(list(con.execute(ANSWER).fetchone()))
    con.close()
    print(json.dumps(answers))
""")

ANSWER = ("select (select max(period) from marts.fct_indicator_progress), "
          "(select count(*) from marts.fct_indicator_progress), "
          "(select count(*) from marts.fct_indicator_progress where period <= '2023Q2')")


def _answer(path: Path) -> tuple:
    """As a BI tool asks: its own DuckDB connection, opened by path and closed."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(ANSWER).fetchone()
    finally:
        con.close()


def _planwatch_answer(path: Path) -> tuple:
    """As planwatch's own readers ask (the report, the submission form): core.db.connect."""
    with connect(path, read_only=True) as con:
        return con.execute(ANSWER).fetchone()


def _inode(path: Path) -> int:
    return path.stat().st_ino


def test_a_bi_reader_holding_the_warehouse_open_through_ten_publishes(
        checked_home: Path, template_home: Path, tmp_path: Path) -> None:
    settings = copy_home(checked_home, tmp_path / "home")
    new_version = tmp_path / "new.duckdb"
    old_version = tmp_path / "old.duckdb"
    shutil.copy(settings.candidate_db(RUN_ID), new_version)
    shutil.copy(Settings(home=template_home).published_db, old_version)
    # Publish never puts back a build for an older quarter (planwatch/serve/publish.py); the two files
    # stand here for two builds of one quarter with different contents, as after a revision.
    con = duckdb.connect(str(old_version))
    try:
        con.execute("update audit.transform_state set quarter = ?", [QUARTER])
    finally:
        con.close()
    old_answer, new_answer = _answer(old_version), _answer(new_version)
    assert old_answer != new_answer and old_answer[0] == "2023Q2" and new_answer[0] == "2023Q4"
    assert _answer(settings.published_db) == old_answer

    # The BI tool, in its own process: one read-only connection held open the whole time. (Within one
    # process DuckDB shares one database instance per path, so a second connection opened there while
    # the first is open sees the first one's version: a tool must close its pool to see a new publish.)
    bi_tool = subprocess.Popen([sys.executable, "-c", HELD_READER.format(path=str(settings.published_db), answer=ANSWER)],
                               cwd=REPO_ROOT, env=child_env(settings.home), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert bi_tool.stdout is not None and bi_tool.stdout.readline().strip() == "open"
    publishes = 10
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER.format(sources=[str(new_version), str(old_version)], n=publishes,
                                                quarter=QUARTER, run_id=RUN_ID)],
        cwd=REPO_ROOT, env=child_env(settings.home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    fresh: list[tuple] = []
    errors: list[str] = []
    opened_mid_rename = 0
    deadline = time.monotonic() + 300
    try:
        while publisher.poll() is None and time.monotonic() < deadline:
            # A new read-only connection each time, in turn planwatch's and a plain DuckDB one.
            plain = len(fresh) % 2 == 1
            before = _inode(settings.published_db)
            try:
                fresh.append((_answer if plain else _planwatch_answer)(settings.published_db))
            except Exception as exc:  # collected: the assertion shows every kind of failure
                if plain and _inode(settings.published_db) != before:
                    # DuckDB 2.0 opens the file three times by path (core/db.py, _file_id): a plain
                    # open during the rename can fail. It never answers from two versions (below).
                    opened_mid_rename += 1
                else:
                    errors.append(f"{'plain' if plain else 'planwatch'} {type(exc).__name__}: {exc}")
            time.sleep(0.02)
        out, err = publisher.communicate(timeout=120)
    finally:
        held_out, held_err = bi_tool.communicate(input="", timeout=60)
    assert bi_tool.returncode == 0, held_err[-3000:]
    from_held = [tuple(a) for a in json.loads(held_out.strip().splitlines()[-1])]
    assert len(from_held) > publishes
    assert publisher.returncode == 0, err[-3000:]
    durations = json.loads(out.strip().splitlines()[-1])
    assert len(durations) == publishes
    assert max(durations) < 15, f"a publish waited on the reader: {durations}"
    print(f"ten publishes under a held reader: longest {max(durations):.2f} s, {len(fresh)} fresh reads, "
          f"{opened_mid_rename} plain opens failed during a rename")
    assert errors == []
    assert opened_mid_rename <= publishes  # at most the one plain open under way at each rename
    assert set(from_held) == {old_answer}, "the held connection must keep its version, whole"
    assert set(fresh) <= {old_answer, new_answer} and set(fresh) == {old_answer, new_answer}, set(fresh)
    assert len(fresh) >= publishes
    assert _answer(settings.published_db) == old_answer  # publish 10 (i = 9) was the old version again


@pytest.mark.slow
def test_two_concurrent_cli_runs_one_publishes_the_other_is_refused(template_home: Path, tmp_path: Path) -> None:
    settings = copy_home(template_home, tmp_path / "home")
    runs = {run_id: subprocess.Popen(
        [sys.executable, "-m", "planwatch", "run", "--quarter", QUARTER, "--run-id", run_id], cwd=REPO_ROOT,
        env=child_env(settings.home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for run_id in ("first", "second")}
    results = {run_id: (p.wait(timeout=900), p.stderr.read()) for run_id, p in runs.items()}  # type: ignore[union-attr]
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 3], results
    winner = next(r for r, (code, _) in results.items() if code == 0)
    loser = next(r for r in results if r != winner)
    assert f"'{winner}'" in results[loser][1]
    assert run_status(settings, winner) == ("published", True) and run_status(settings, loser) is None
