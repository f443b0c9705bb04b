"""Plan evaluations: marts.fct_plan_evaluation on the real cities' 14th plans (demo statistics),
the workbook `python -m planwatch evaluation` writes, read back with openpyxl, and the report section."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_CITIES = ("320583", "321200", "350582", "520300")  # the four with a 14th-plan indicator table


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The repository's plans and the demo statistics, run for 2025Q4 (the 14th plan's last quarter)."""
    from planwatch.run.pipeline import run_all
    from planwatch.demo.simulate import ensure_demo_statistics

    home = tmp_path_factory.mktemp("evaluation") / "home"
    for sub in ("reference", "plan_indicators", "plan_completion", "plan_prose_targets"):
        shutil.copytree(REPO_ROOT / "raw" / sub, home / "raw" / sub)
    settings = Settings(home=home)
    settings.ensure_dirs()
    assert ensure_demo_statistics(settings)
    run_all("2025Q4", "evaluation_test", settings)
    assert settings.published_db.exists()
    return settings


def _mart(settings: Settings, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def test_every_plan_series_has_a_mid_term_and_a_final_evaluation(published: Settings) -> None:
    counts = _mart(published, """
        select (select count(*) from intermediate.int_plan_targets_converted) as targets,
               count(*) filter (where evaluation_kind = 'final') as finals,
               count(*) filter (where evaluation_kind = 'mid_term') as mid_terms,
               count(*) filter (where evaluation_kind = 'final' and evaluation_year <= 2025 and is_due) as finals_due
        from marts.fct_plan_evaluation where plan = '14th'""")[0]
    assert counts["finals"] == counts["mid_terms"] == counts["targets"] > 0
    assert counts["finals_due"] == counts["finals"]
    mid = _mart(published, "select distinct evaluation_year from marts.fct_plan_evaluation "
                           "where plan = '14th' and evaluation_kind = 'mid_term'")
    assert [r["evaluation_year"] for r in mid] == [2023]  # mid_term_year of raw/reference/plan_periods.csv


def test_final_verdicts_follow_the_target_and_the_year_figure(published: Settings) -> None:
    rows = _mart(published, "select * from marts.fct_plan_evaluation where plan = '14th' and evaluation_kind = 'final'")
    seen = set()
    for r in rows:
        if r["actual_value"] is None or r["target_value"] is None:
            assert r["verdict_zh"] == "无数据", r
            continue
        met = {"at_least": r["actual_value"] >= r["target_value"],
               "at_most": r["actual_value"] <= r["target_value"],
               "equal": abs(r["actual_value"] - r["target_value"]) <= 0.01 * abs(r["target_value"])}[r["target_comparison"]]
        # a non-binding 100 % target is met within 1 point (natural limit, as the status)
        met = met or (r["attribute"] != "binding" and r["target_value"] == 100.0 and r["unit"] == "%"
                      and r["target_comparison"] == "at_least" and r["target_value"] - r["actual_value"] <= 1.0)
        assert r["verdict_zh"] == ("完成" if met else "未完成"), r
        assert r["actual_period"] in (str(r["evaluation_year"]), f"{r['evaluation_year']}Q4")
        assert r["is_simulated"] is True  # the demo statistics
        seen.add(r["verdict_zh"])
    assert seen == {"完成", "未完成"}


def test_final_verdicts_agree_with_the_status_of_the_target_year(published: Settings) -> None:
    rows = _mart(published, """
        select e.verdict, f.status, count(*) as n
        from marts.fct_plan_evaluation e
        join marts.fct_indicator_progress f
          on f.region_code = e.region_code and f.indicator_code = e.indicator_code
         and f.breakdown = e.breakdown and f.period = e.actual_period
        where e.evaluation_kind = 'final' and e.plan = '14th' group by all""")
    pairs = {(r["verdict"], r["status"]): r["n"] for r in rows}
    assert set(pairs) == {("achieved", "target_achieved"), ("not_achieved", "target_not_achieved")}, pairs
    judged = _mart(published, "select count(*) as n from marts.fct_plan_evaluation "
                              "where evaluation_kind = 'final' and plan = '14th' and verdict <> 'no_data'")[0]["n"]
    assert sum(pairs.values()) == judged > 90  # every judged series (99 of the demo)


def test_mid_term_uses_the_printed_annual_target(published: Settings) -> None:
    # Jinjiang prints annual targets 2021-2025: the 2023 one is the mid-term expectation
    rows = _mart(published, """
        select e.expected_value, a.annual_target_value, e.verdict_zh
        from marts.fct_plan_evaluation e
        join intermediate.int_plan_annual_targets_unpivoted a
          on a.plan_target_id = e.plan_target_id and a.target_year = 2023
        where e.region_code = '350582' and e.evaluation_kind = 'mid_term'""")
    assert len(rows) >= 10
    assert all(abs(r["expected_value"] - r["annual_target_value"]) < 1e-9 for r in rows)
    assert {r["verdict_zh"] for r in rows} <= {"提前实现", "快于预期", "基本符合预期", "滞后", "无数据"}


@pytest.mark.parametrize("region", REAL_CITIES)
def test_final_evaluation_workbook_matches_the_mart(published: Settings, region: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from planwatch.run.cli import main

    import os

    os.environ["PLANWATCH_HOME"] = str(published.home)
    try:
        assert main(["evaluation", "--region", region, "--plan", "14th", "--kind", "final", "--out", str(tmp_path)]) == 0
    finally:
        del os.environ["PLANWATCH_HOME"]
    xlsx, csv_path = tmp_path / f"evaluation_{region}_14th_final.xlsx", tmp_path / f"evaluation_{region}_14th_final.csv"
    mart = _mart(published, """select * from marts.fct_plan_evaluation
                               where region_code = ? and plan = '14th' and evaluation_kind = 'final'
                               order by seq nulls last, indicator_code, breakdown""", [region])
    book = load_workbook(xlsx)
    results, sources = book["完成情况 Results"], book["来源 Sources"]
    table = list(results.iter_rows(values_only=True))
    assert "十四五" in table[0][0] and "final evaluation" in table[0][0]
    assert list(table[1]) == ["序号 No.", "指标名称 Indicator", "单位 Unit", "目标值 Target",
                              "完成值(2025年) Actual 2025", "属性 Attribute", "完成情况 Result"]
    body = table[2:]
    assert len(body) == len(mart) > 0
    for got, want in zip(body, mart):
        assert got[1].startswith(want["indicator_name"])
        assert got[2] == want["unit"]
        assert got[3] == want["target_value"] and got[4] == want["actual_value"]
        assert (got[5] or None) == want["attribute_zh"] and got[6] == want["verdict_zh"]
    source_rows = list(sources.iter_rows(values_only=True))[1:]
    for got, want in zip(source_rows, mart):
        assert got[5] == want["target_source_file"] and str(got[6]) == str(want["target_source_line"])
        assert got[9] == want["actual_source_file"] and got[10] == want["actual_source_line"]
        assert got[11] == ("是 yes" if want["is_simulated"] else "否 no")
    assert all(str(r[5]).startswith("plan_") for r in source_rows)  # every target traced to its reviewed file
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == list(table[1]) and len(lines) == len(body) + 1
    assert [row[6] for row in lines[1:]] == [w["verdict_zh"] for w in mart]


def test_an_unknown_plan_says_how_to_add_one(published: Settings) -> None:
    from planwatch.serve.evaluation import write_evaluation

    with pytest.raises(ConfigError, match=r"no 15th plan of region 320583 .*raw/plans/.*docs/extractor.md"):
        write_evaluation(published, "320583", "15th", "final")


def test_the_report_has_a_section_per_evaluation(published: Settings) -> None:
    html = max(published.reports_dir.glob("progress_*.html")).read_text(encoding="utf-8")
    for region in REAL_CITIES:
        assert f'id="evaluation-{region}-14th-final"' in html
        assert f'id="evaluation-{region}-14th-mid_term"' in html
    assert "“十四五”规划总结评估" in html and "完成" in html


def test_annual_targets_reach_the_warehouse_unchanged(published: Settings) -> None:
    """Every printed target_YYYY cell of the reviewed files is one annual-target row (× the unit factor)."""
    cells = 0
    for path in sorted((REPO_ROOT / "raw" / "plan_indicators").glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                for column, value in row.items():
                    if column.startswith("target_") and column[7:].isdigit() and value.strip() not in ("", "--"):
                        cells += 1
    got = _mart(published, """
        select count(*) as n from intermediate.int_plan_annual_targets_unpivoted a
        join intermediate.int_plan_targets_converted p using (plan_target_id) where p.plan = '14th'""")[0]["n"]
    assert cells == got == 85
