"""Crash safety: SIGKILL the pipeline while it loads, builds, checks and publishes.

After each kill the published warehouse must be the one before the run (same bytes, same file),
open and pass its own checks; the ledger must say which files are in; rerunning the same quarter
must complete and give what an uninterrupted run gives (`reference`). A kill is a named crash
point (planwatch.core.faults, `PLANWATCH_CRASH_AT`) in a child process, or a SIGKILL sent from here.
The kills that need a whole rerun of dbt are marked slow (`make test-all`).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (
    QUARTER,
    REPO_ROOT,
    RUN_ID,
    child_env,
    copy_home,
    ingest_snapshot,
    ledger,
    passes_own_checks,
    planwatch_cmd,
    published_state,
    run_child,
    run_stages,
    run_status,
    snapshot,
)
from planwatch.core.config import Settings
from planwatch.core.errors import ChecksFailed, ConfigError
from planwatch.serve.publish import list_versions
from planwatch.core.types import STAGES

KILLED = -signal.SIGKILL


def _assert_killed(done: subprocess.CompletedProcess, point: str) -> None:
    assert done.returncode == KILLED, f"expected a SIGKILL at {point}, got {done.returncode}:\n{done.stderr[-3000:]}"


def _assert_ledger_accounts_for_every_row(settings: Settings) -> list[tuple]:
    rows = ledger(settings)
    for path, status, read, loaded, quarantined, n_obs, n_quarantine in rows:
        if status == "loaded":
            assert (loaded, quarantined) == (n_obs, n_quarantine) and read == loaded + quarantined, path
        else:  # not loaded (yet): nothing of it may be in the tables
            assert (n_obs, n_quarantine) == (0, 0), f"{path} is {status} but has rows in the tables"
    return rows


@pytest.mark.parametrize("point, loaded_before_kill", [
    ("load_statistics.file_loaded@1", ["submission_03.csv"]),  # killed between two files
    ("load_statistics.before_commit@2", ["submission_03.csv"]),  # killed inside the second file's transaction
])
def test_kill_while_loading_keeps_whole_files_and_a_true_ledger(
        template_home: Path, built_home: Path, tmp_path: Path, point: str, loaded_before_kill: list[str]) -> None:
    settings = copy_home(template_home, tmp_path / "home")
    before = published_state(settings)
    run_stages(settings, QUARTER, RUN_ID, ("register_files", "load_plans"))

    _assert_killed(run_child(settings.home, ["stage", "load_statistics", "--quarter", QUARTER, "--run-id", RUN_ID],
                             crash_at=point), point)

    rows = _assert_ledger_accounts_for_every_row(settings)
    status = {Path(r[0]).name: r[1] for r in rows}
    assert status == {"submission_01.csv": "loaded", "submission_02.csv": "loaded",
                      **{name: "loaded" for name in loaded_before_kill}, "submission_04.csv": "registered"}
    assert published_state(settings) == before
    assert run_status(settings, RUN_ID) == ("running", False)  # the run log shows a run that did not finish

    run_stages(settings, QUARTER, RUN_ID, ("load_statistics",))  # the rerun loads what is left, once
    assert ingest_snapshot(settings) == ingest_snapshot(Settings(home=built_home))


def test_kill_during_the_checks_publishes_nothing_until_they_ran(
        built_home: Path, reference: dict, tmp_path: Path) -> None:
    settings = copy_home(built_home, tmp_path / "home")
    before = published_state(settings)
    point = "validate_marts.before_findings"
    _assert_killed(run_child(settings.home, ["stage", "validate_marts", "--quarter", QUARTER, "--run-id", RUN_ID],
                             crash_at=point), point)
    assert published_state(settings) == before
    # Clearing only the publish task after the kill must not publish unchecked marts.
    with pytest.raises(ChecksFailed, match="marts suites did not run"):
        run_stages(settings, QUARTER, RUN_ID, ("publish",))
    assert published_state(settings) == before
    run_stages(settings, QUARTER, RUN_ID, ("validate_marts", "publish"))
    assert snapshot(settings.published_db) == reference
    assert run_status(settings, RUN_ID) == ("published", True)


@pytest.mark.parametrize("point", ["publish.after_audit_copy", "publish.before_rename"])
def test_kill_during_publish_before_the_rename_keeps_the_old_warehouse(
        checked_home: Path, reference: dict, tmp_path: Path, point: str) -> None:
    settings = copy_home(checked_home, tmp_path / "home")
    before = published_state(settings)
    versions_before = [v.name for v in list_versions(settings)]
    _assert_killed(run_child(settings.home, ["stage", "publish", "--quarter", QUARTER, "--run-id", RUN_ID],
                             crash_at=point), point)

    assert published_state(settings) == before
    assert passes_own_checks(settings) == []
    assert settings.candidate_db(RUN_ID).exists(), "the checked candidate must survive the kill"
    assert run_status(settings, RUN_ID) == ("running", False)

    run_stages(settings, QUARTER, RUN_ID, ("publish",))
    assert snapshot(settings.published_db) == reference
    assert run_status(settings, RUN_ID) == ("published", True)
    # The versions list gains exactly the version now published (a link made before the kill is reused
    # or replaced, never left as a second "q4" that was not published).
    added = [v.name for v in list_versions(settings) if v.name not in versions_before]
    assert len(added) == 1 and added[0].endswith(f"__{RUN_ID}"), added


def test_kill_right_after_the_rename_leaves_the_new_warehouse_whole(
        checked_home: Path, reference: dict, tmp_path: Path) -> None:
    settings = copy_home(checked_home, tmp_path / "home")
    point = "publish.after_rename"
    _assert_killed(run_child(settings.home, ["stage", "publish", "--quarter", QUARTER, "--run-id", RUN_ID],
                             crash_at=point), point)
    assert snapshot(settings.published_db) == reference  # all of the new version, not part of it
    assert passes_own_checks(settings) == []
    # The ingest run log still says running: the next stage or run names it, nothing pretends it ended.
    assert run_status(settings, RUN_ID) == ("running", False)
    # Clearing only the publish task cannot publish again (the candidate became the warehouse):
    with pytest.raises(ConfigError, match="no candidate"):
        run_stages(settings, QUARTER, RUN_ID, ("publish",))
    assert snapshot(settings.published_db) == reference


# --- slow: every kill followed by a whole rerun of the quarter -------------------------------------

FULL_RUN_POINTS = [
    "register_files.before_commit",
    "load_statistics.file_loaded@1",
    "validate_raw.before_findings",
    "dbt_build.before_dbt",
    "dbt_build.after_dbt",
    "validate_marts.before_findings",
    "publish.after_audit_copy",
    "publish.before_rename",
    "publish.after_rename",
]


@pytest.mark.slow
@pytest.mark.parametrize("point", FULL_RUN_POINTS)
def test_killed_run_reruns_to_the_uninterrupted_result(
        template_home: Path, reference: dict, tmp_path: Path, point: str) -> None:
    settings = copy_home(template_home, tmp_path / "home")
    before = published_state(settings)
    _assert_killed(run_child(settings.home, ["run", "--quarter", QUARTER, "--run-id", RUN_ID], crash_at=point), point)
    _assert_ledger_accounts_for_every_row(settings)
    if point != "publish.after_rename":
        assert published_state(settings) == before
    assert passes_own_checks(settings) == []

    done = run_child(settings.home, ["run", "--quarter", QUARTER, "--run-id", RUN_ID])
    assert done.returncode == 0, done.stderr[-3000:]
    assert snapshot(settings.published_db) == reference
    assert run_status(settings, RUN_ID) == ("published", True)


@pytest.mark.slow
def test_sigkill_from_outside_while_dbt_runs(template_home: Path, reference: dict, tmp_path: Path) -> None:
    """No crash point: this process kills the run when dbt has started writing the candidate."""
    settings = copy_home(template_home, tmp_path / "home")
    before = published_state(settings)
    run_stages(settings, QUARTER, RUN_ID, STAGES[:STAGES.index("dbt_build")])
    child = subprocess.Popen(planwatch_cmd("stage", "dbt_build", "--quarter", QUARTER, "--run-id", RUN_ID),
                             cwd=REPO_ROOT, env=child_env(settings.home), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    dbt_log = settings.candidate_db(RUN_ID).with_suffix(".dbt") / "logs" / "dbt.log"
    deadline = time.monotonic() + 300
    while child.poll() is None and time.monotonic() < deadline:
        if dbt_log.exists() and "START" in dbt_log.read_text(encoding="utf-8", errors="replace"):
            break  # dbt is building models into the candidate
        time.sleep(0.2)
    assert child.poll() is None, "dbt finished before it could be killed"
    time.sleep(1.0)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=60) == KILLED

    assert published_state(settings) == before
    assert passes_own_checks(settings) == []
    # The killed stage left its name in the lock file, so the next run closes it at once as abandoned
    # (docs/reliability.md, "The unfinished run is dead") and publishes the uninterrupted result; the
    # killed run cannot then carry on beside it.
    done = run_child(settings.home, ["run", "--quarter", QUARTER, "--run-id", "another"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert snapshot(settings.published_db) == reference
    assert run_status(settings, RUN_ID) == ("failed", False)
    resumed = run_child(settings.home, ["stage", "validate_marts", "--quarter", QUARTER, "--run-id", RUN_ID])
    assert resumed.returncode != 0 and "abandoned" in resumed.stderr, resumed.stderr[-2000:]
