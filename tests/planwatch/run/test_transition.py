"""A region crossing from its 14th to its 15th plan, in one published warehouse.

The tiny fixture home (tests/reliability/fixture_home.py) plus tests/fixtures/transition/: a 15th
plan for 330100 (one row without a baseline, one with a printed baseline that disagrees with the
2025 actual, one renamed indicator with annual targets 2026-2030 in another unit; one 14th-plan
indicator dropped) and statistics for 2025Q4-2026Q2. 990100 has no 15th plan.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from planwatch.core.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
TRANSITION = REPO_ROOT / "tests" / "fixtures" / "transition"
sys.path.insert(0, str(REPO_ROOT / "tests" / "reliability"))


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from fixture_home import make_home

    from planwatch.run.pipeline import run_all

    home = make_home(tmp_path_factory.mktemp("transition") / "home")
    shutil.copy(TRANSITION / "330100_15th.csv", home / "raw" / "plan_indicators" / "330100_15th.csv")
    shutil.copy(TRANSITION / "statistics_2025_2026.csv", home / "raw" / "statistics" / "submission_2026.csv")
    settings = Settings(home=home)
    settings.ensure_dirs()
    results = run_all("2026Q2", "transition_test", settings)
    assert results["publish"].get("published", True)
    return settings


def _rows(settings: Settings, sql: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def test_facts_before_2026_are_under_the_14th_plan_and_2026_under_the_15th(published: Settings) -> None:
    rows = _rows(published, """
        select period, plan, count(*) as n from marts.fct_indicator_progress
        where region_code = '330100' and indicator_code in ('ELD_NURSING_BED_SHARE', 'AST_APPROVAL_DAYS', 'CHA_DONATIONS')
        group by all order by all""")
    by_period = {(r["period"], r["plan"]): r["n"] for r in rows}
    assert all(plan == "14th" for period, plan in by_period if period[:4] <= "2025")
    assert all(plan == "15th" for period, plan in by_period if period[:4] == "2026")
    assert by_period[("2026Q1", "15th")] == by_period[("2026Q2", "15th")] == 3
    assert by_period[("2025Q4", "14th")] == 2 and by_period[("2025", "14th")] == 1


def test_a_15th_plan_without_baseline_starts_from_the_2025_actual(published: Settings) -> None:
    rows = _rows(published, """
        select period, plan, base_value, base_source, target_value, target_year, expected_value, status
        from marts.fct_indicator_progress
        where region_code = '330100' and indicator_code = 'ELD_NURSING_BED_SHARE' and period like '2026%'
        order by period""")
    assert [r["base_value"] for r in rows] == [58.0, 58.0]  # the 2025Q4 actual
    assert {r["base_source"] for r in rows} == {"previous_plan_actual"}
    assert {(r["target_value"], r["target_year"]) for r in rows} == {(70.0, 2030)}
    # the straight path from (2025, 58) to (2030, 70); 2026Q2 is t = 2025.5 (docs/methodology.md),
    # half a year in: 58 + 12 × 0.5 / 5 = 59.2
    assert abs(rows[1]["expected_value"] - 59.2) < 1e-9


def test_a_printed_baseline_is_kept_and_checked_against_the_2025_actual(published: Settings) -> None:
    rows = _rows(published, """
        select distinct base_value, base_source from marts.fct_indicator_progress
        where region_code = '330100' and indicator_code = 'AST_APPROVAL_DAYS' and plan = '15th'""")
    assert rows == [{"base_value": 13.0, "base_source": "plan_baseline"}]
    finding = _rows(published, """
        select success, unexpected_count, cast(sample as varchar) as sample from audit.dq_results
        where suite = 'plan_bases' and expectation = 'printed_baseline_matches_previous_plan_actual'
          and run_id = 'transition_test'""")
    assert len(finding) == 1 and finding[0]["success"] is False and finding[0]["unexpected_count"] == 1
    sample = json.loads(finding[0]["sample"])
    assert sample[0]["indicator_code"] == "AST_APPROVAL_DAYS" and sample[0]["previous_plan_actual"] == 12.0


def test_annual_targets_of_the_15th_plan_are_read_from_its_own_columns(published: Settings) -> None:
    rows = _rows(published, """
        select a.target_year, a.annual_target_value from intermediate.int_plan_annual_targets_unpivoted a
        join intermediate.int_plan_targets_converted p using (plan_target_id)
        where p.region_code = '330100' and p.plan = '15th' order by 1""")
    # printed in 亿元, the catalog keeps 万元
    assert [(r["target_year"], round(r["annual_target_value"], 6)) for r in rows] == [
        (2026, 1800.0), (2027, 2000.0), (2028, 2200.0), (2029, 2400.0), (2030, 2500.0)]


def test_dropped_and_renamed_indicators_are_visible(published: Settings) -> None:
    rows = _rows(published, """
        select indicator_code, transition, previous_indicator_name, next_indicator_name
        from marts.fct_plan_indicator_transitions where region_code = '330100' order by indicator_code""")
    got = {r["indicator_code"]: r["transition"] for r in rows}
    assert got["CHA_DONATIONS"] == "renamed"
    assert got["COM_SERVICE_COVERAGE"] == "dropped"
    assert got["ELD_NURSING_BED_SHARE"] == "kept"  # 护理型床位占比 in both
    assert got["AST_APPROVAL_DAYS"] == "kept"


def test_regions_without_a_15th_plan_are_listed_and_their_statistics_queryable(published: Settings) -> None:
    missing = _rows(published, "select * from bi.regions_without_current_plan")
    assert [(r["region_code"], r["current_plan"], r["latest_plan"], r["observations_without_plan"])
            for r in missing] == [("990100", "15th", "14th", 1)]
    unplanned = _rows(published, "select region_code, indicator_code, period, actual_value "
                                 "from bi.observations_without_plan where period like '2026%' order by all")
    assert ("990100", "ELD_NURSING_BED_SHARE", "2026Q2", 36.0) in [tuple(r.values()) for r in unplanned]
    # the indicator the 15th plan dropped still loads for 330100, without a target
    assert ("330100", "COM_SERVICE_COVERAGE", "2026Q1", 100.0) in [tuple(r.values()) for r in unplanned]


def test_summary_status_and_report_say_which_regions_lack_a_plan(published: Settings,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from planwatch.run.summary import print_status, print_summary

    print_summary(published)
    print_status(published)
    out = capsys.readouterr().out
    assert out.count("1 region(s) have no 15th plan (十五五) loaded for 2026: 990100") == 2
    assert "raw/plans/" in out and "docs/extractor.md" in out
    html = (published.reports_dir / "progress_2026Q2.html").read_text(encoding="utf-8")
    assert 'id="missing-plans"' in html and "990100" in html[html.index('id="missing-plans"'):]
