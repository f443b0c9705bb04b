"""The small planwatch home the statistics tests (loader, simulator) share: the fixture catalog and
plans of tests/fixtures/statistics, and an empty raw/statistics."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "statistics"
RUN = RunContext("test", Quarter(2025, 4))
TODAY = date(2026, 1, 15)


def make_statistics_home(tmp_path: Path) -> Settings:
    s = Settings(home=tmp_path / "home")
    shutil.copytree(FIXTURES / "reference", s.reference_dir)
    shutil.copytree(FIXTURES / "plan_indicators", s.plan_indicators_dir)
    s.statistics_dir.mkdir(parents=True)
    return s
