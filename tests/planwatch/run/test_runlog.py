"""audit.run_log: one row per run, metrics keyed by task, a final status with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from planwatch.run import runlog
from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext

RUN = RunContext("scheduled__2025-01-15", Quarter.parse("2024Q4"))


def test_a_run_from_start_to_finish(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert runlog.read_run(settings, RUN.run_id) is None
    runlog.start_run(settings, RUN)
    row = runlog.read_run(settings, RUN.run_id)
    assert row is not None and (row["status"], row["published"], row["quarter"]) == ("running", False, "2024Q4")
    assert row["ended_at"] is None and row["metrics"] == {}

    runlog.record_task(settings, RUN, "validate_raw", {"expectations": 14, "failed_error": 0})
    runlog.record_task(settings, RUN, "validate_marts", {"expectations": 8, "failed_error": 1})
    runlog.record_task(settings, RUN, "validate_raw", {"expectations": 14, "failed_error": 2})  # a retry
    runlog.finish_run(settings, RUN, "not_published", False, "blocking checks failed: a.b")

    row = runlog.read_run(settings, RUN.run_id)
    assert row is not None
    assert row["metrics"] == {"validate_raw": {"expectations": 14, "failed_error": 2},
                              "validate_marts": {"expectations": 8, "failed_error": 1}}
    assert (row["status"], row["published"], row["reason"]) == ("not_published", False,
                                                                "blocking checks failed: a.b")
    assert row["ended_at"] >= row["started_at"]


def test_restarting_a_run_resets_its_row(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    runlog.start_run(settings, RUN)
    runlog.finish_run(settings, RUN, "failed", False, "dbt build failed")
    runlog.start_run(settings, RUN)
    row = runlog.read_run(settings, RUN.run_id)
    assert row is not None and row["status"] == "running" and row["reason"] is None


def test_tasks_and_finish_without_start_still_leave_a_row(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    runlog.record_task(settings, RUN, "publish", {"published": True})
    runlog.finish_run(settings, RUN, "published", True, None)
    row = runlog.read_run(settings, RUN.run_id)
    assert row is not None and row["status"] == "published" and row["metrics"]["publish"] == {"published": True}
    other = RunContext("manual__x", Quarter.parse("2024Q3"))
    runlog.finish_run(settings, other, "failed", False, "stopped")
    assert runlog.read_run(settings, "manual__x")["quarter"] == "2024Q3"  # type: ignore[index]


def test_unknown_status_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="status=done"):
        runlog.finish_run(Settings(home=tmp_path), RUN, "done", True, None)  # type: ignore[arg-type]
