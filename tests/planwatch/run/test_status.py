"""`planwatch status`: the last runs, what each published, and the open findings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from planwatch.run import runlog
from planwatch.run.cli import main
from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "warehouse"))
from bi_fixture import build_fixture_warehouse  # noqa: E402



def _run(settings: Settings, run_id: str, quarter: str, status: str, metrics: dict[str, dict]) -> None:
    run = RunContext(run_id, Quarter.parse(quarter))
    runlog.start_run(settings, run)
    for task, m in metrics.items():
        runlog.record_task(settings, run, task, m)
    if status != "running":
        reason = {"not_published": "blocking checks failed: fct_indicator_progress.status_in_closed_set",
                  "failed": "dbt_build: dbt exited with 1"}.get(status)
        runlog.finish_run(settings, run, status, status == "published", reason)  # type: ignore[arg-type]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PLANWATCH_HOME", str(tmp_path))
    settings = Settings.from_env()
    settings.ensure_dirs()
    _run(settings, "scheduled__2025-04-15T02:00:00+08:00", "2025Q1", "published",
         {"publish": {"version": "20250415T020300Z__scheduled__2025-04-15", "published": True},
          "report": {"series": 44, "report_path": str(settings.reports_dir / "progress_2025Q1.html")}})
    _run(settings, "manual__2025Q2__20250710", "2025Q2", "not_published", {})
    _run(settings, "manual__2025Q2__20250711", "2025Q2", "failed", {})
    _run(settings, "scheduled__2025-07-15T02:00:00+08:00", "2025Q2", "published",
         {"publish": {"version": "20250715T020300Z__scheduled__2025-07-15", "published": True},
          "report": {"series": 45, "report_path": str(settings.reports_dir / "progress_2025Q2.html")}})
    build_fixture_warehouse(settings.published_db, as_of="2025Q2", n_regions=5)
    return settings


def test_status_lists_runs_what_they_published_and_open_findings(home: Settings,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    runs = lines[1:4]
    assert [line.split()[0] for line in runs] == [
        "scheduled__2025-07-15T02:00:00+08:00", "manual__2025Q2__20250711", "manual__2025Q2__20250710"]
    assert runs[0].split()[2:4] == ["published", "yes"]
    assert "20250715T020300Z__scheduled__2025-07-15, 45 series, progress_2025Q2.html" in runs[0]
    assert runs[1].split()[2:4] == ["failed", "no"] and "dbt_build: dbt exited with 1" in runs[1]
    assert runs[2].split()[2:4] == ["not_published", "no"] and "status_in_closed_set" in runs[2]
    # the findings of the run that built the published file, not those of the run before it
    first = lines.index("") + 1
    second = lines.index("", first)
    assert lines[first:second] == [
        "open data-quality findings in the published warehouse (run scheduled__2025-07-15T02:00:00+08:00): 2",
        "  [warn] fct_indicator_progress.quarter_not_reported: 5 unexpected",
        "  [warn] raw_stat_observations.values_within_catalog_bounds: 3 unexpected",
    ]
    # who has not sent what: the fixture's five regions lack SOC_ORG_PER_10K for 2025Q2 (8 figures with
    # a target each; the orphan allowance has none), overdue since 2025-07-15
    submissions = lines[second + 1:]
    assert submissions[0] == "submissions for 2025Q2 (due 2025-07-15): 5 of 5 regions overdue"
    assert len(submissions) == 2 + 5
    assert all(row.split()[-4:] == ["8", "7", "1", "SOC_ORG_PER_10K"] for row in submissions[2:]), submissions
    assert {row.split()[0] for row in submissions[2:]} == {"320583", "321200", "520300", "350582", "330700"}


def test_status_before_any_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PLANWATCH_HOME", str(tmp_path))
    assert main(["status"]) == 0
    assert capsys.readouterr().out.strip() == "no run recorded yet"
