"""planwatch.run.summary: what `python -m planwatch summary` and `status` print, from the run log,
the ingest ledger and the simulator's fault manifest (no published warehouse needed)."""

from __future__ import annotations

import json

import pytest

from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext
from planwatch.demo.simulate import FAULTS_FILENAME
from planwatch.run import runlog
from planwatch.run.summary import print_status, print_summary


@pytest.fixture
def settings(ingest_settings: Settings) -> Settings:
    return ingest_settings


def test_without_runs_the_summary_says_what_to_do(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert print_summary(settings) == 1
    assert "no run recorded yet: run `make run`" in capsys.readouterr().out
    assert print_status(settings) == 0
    assert capsys.readouterr().out == "no run recorded yet\n"


def test_a_run_that_did_not_publish_is_summarised_with_its_numbers_and_reason(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    run = RunContext("run-2024Q2", Quarter.parse("2024Q2"))
    runlog.start_run(settings, run)
    runlog.record_task(settings, run, "register_files", {"files_new": 3})
    runlog.record_task(settings, run, "load_statistics", {"rows_read": 120, "rows_loaded": 117, "rows_quarantined": 3})
    runlog.record_task(settings, run, "validate_raw", {"passed": 13, "failed_warn": 1, "failed_error": 0})
    runlog.record_task(settings, run, "validate_marts", {"passed": 20, "failed_warn": 0, "failed_error": 2})
    runlog.finish_run(settings, run, "not_published", False, "publish: 2 blocking check(s) failed")
    manifest = settings.statistics_dir / "simulated" / FAULTS_FILENAME
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"faults": [{"fault": "xlsx"}, {"fault": "outlier"}, {"fault": "outlier"}]}),
                        encoding="utf-8")

    assert print_summary(settings) == 1  # not published
    out = capsys.readouterr().out
    assert "run            run-2024Q2  quarter 2024Q2  status not_published" in out
    assert "statistics     this run: 120 rows read, 117 loaded, 3 quarantined (3 new files)" in out
    assert "checks         33 passed, 1 warnings, 2 blocking failures" in out
    assert "published      NO  reason: publish: 2 blocking check(s) failed" in out
    assert f"simulated      3 faults injected on purpose ({manifest}): outlier 2, xlsx 1" in out
    assert "warehouse" not in out  # nothing published, nothing counted

    assert print_status(settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:4] == ["run-2024Q2", "2024Q2", "not_published", "no"]
    assert lines[1].endswith("publish: 2 blocking check(s) failed")
