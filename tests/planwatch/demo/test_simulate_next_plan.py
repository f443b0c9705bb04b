"""The demo keeps going: synthetic counties continue under a simulated 15th plan; the real cities get
no 15th-plan target and show the 14th plan's final evaluation and the 'no 15th plan loaded' state."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.core.periods import Quarter

REAL_CITIES = {"320583", "321200", "330100", "350582", "520300"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    import shutil

    from planwatch.run.pipeline import run_all
    from planwatch.demo.simulate import simulate

    repo = Path(__file__).resolve().parents[3]
    home = tmp_path_factory.mktemp("next_plan") / "home"
    for sub in ("reference", "plan_indicators", "plan_completion", "plan_prose_targets"):
        shutil.copytree(repo / "raw" / sub, home / "raw" / sub)
    settings = Settings(home=home)
    settings.ensure_dirs()
    simulate(settings, settings.statistics_dir / "simulated", n_regions=2, through=Quarter(2026, 2))
    run_all("2026Q2", "next_plan_test", settings)
    return settings


def _rows(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_only_synthetic_counties_get_a_15th_plan(demo: Settings) -> None:
    plan = demo.statistics_dir / "simulated" / "_reference" / "plan_indicators" / "simulated_counties_15th.csv"
    with plan.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 94 and {r["plan"] for r in rows} == {"15th"}
    assert not {r["region_code"] for r in rows} & REAL_CITIES
    assert {(r["baseline_year"], r["target_year"]) for r in rows} == {("2025", "2030")}
    assert sum(1 for r in rows if not r["baseline_value"]) == len(rows) // 3  # every third: base chained
    assert not [p for p in (demo.statistics_dir / "simulated").rglob("*2026Q*") if "counties" not in p.parts]


def test_counties_have_2026_facts_under_the_15th_plan_and_real_cities_none(demo: Settings) -> None:
    plans = dict(_rows(demo, """
        select f.plan, count(*) from marts.fct_indicator_progress f
        join marts.dim_region r using (region_code)
        where f.period like '2026%' and r.is_simulated group by 1"""))
    assert plans == {"15th": 2 * 94 * 2}
    assert _rows(demo, "select count(*) from marts.fct_indicator_progress where period like '2026%' "
                       "and region_code in ('320583', '321200', '330100', '350582', '520300')") == [(0,)]
    assert _rows(demo, "select count(*) from intermediate.int_plan_targets_converted where plan = '15th' "
                       "and region_code in ('320583', '321200', '330100', '350582', '520300')") == [(0,)]
    bases = dict(_rows(demo, """select base_source, count(distinct indicator_code || region_code)
                               from marts.fct_indicator_progress where plan = '15th' group by 1"""))
    assert bases.get("previous_plan_actual", 0) >= 2 * 94 // 3 - 2 and bases.get("plan_baseline", 0) > 0
    assert _rows(demo, "select bool_and(is_simulated) from marts.fct_indicator_progress where plan = '15th'") == [(True,)]


def test_real_cities_show_their_final_evaluation_and_the_missing_15th_plan(demo: Settings) -> None:
    missing = {r[0] for r in _rows(demo, "select region_code from bi.regions_without_current_plan")}
    assert missing == REAL_CITIES  # 330100's 14th plan is a prose target, listed too
    finals = _rows(demo, "select count(distinct region_code) from marts.fct_plan_evaluation "
                         "where plan = '14th' and evaluation_kind = 'final' and is_due")
    assert finals[0][0] >= 4
