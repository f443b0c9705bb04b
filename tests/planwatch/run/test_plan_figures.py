"""Every figure of the reviewed plan files against the published demo warehouse, and every status
rule against its own chart (issue 14): one real pipeline run over the repository's raw/ files and
the simulated demo statistics."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.run.pipeline import run_all
from planwatch.serve.report import chart_spec
from planwatch.demo.simulate import ensure_demo_statistics

REPO = Path(__file__).resolve().parents[3]
QUARTER = "2025Q4"
# column -> figure name in marts.fct_plan_figures, per reviewed folder
FIGURE_COLUMNS = {
    "plan_indicators": {c: c for c in ("baseline_value", "target_value", "target_2021", "target_2022",
                                       "target_2023", "target_2024", "target_2025")},
    "plan_completion": {c: c for c in ("baseline_value", "target_value", "actual_value")},
    "plan_prose_targets": {"target_value": "prose_target_value"},
}
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("figures") / "home"
    for sub in ("reference", *FIGURE_COLUMNS):
        shutil.copytree(REPO / "raw" / sub, home / "raw" / sub)
    (home / "raw" / "statistics").mkdir(parents=True)
    settings = Settings(home=home)
    assert ensure_demo_statistics(settings)
    results = run_all(QUARTER, "test_plan_figures", settings)
    assert results["publish"].get("published", True), results["publish"]
    return {"settings": settings, "results": results}


def _query(settings: Settings, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with duckdb.connect(str(settings.published_db), read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _printed_figures() -> list[dict[str, Any]]:
    out = []
    for folder, columns in FIGURE_COLUMNS.items():
        for path in sorted((REPO / "raw" / folder).glob("*.csv")):
            with path.open(encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    for column, figure in columns.items():
                        text = (row.get(column) or "").strip()
                        if NUMBER.match(text):
                            out.append({"source_file": f"{folder}/{path.name}", "source_line": row["source_line"],
                                        "indicator_name": row["indicator_name"], "breakdown": (row.get("breakdown") or "").lower(), "figure": figure,
                                        "year": column[-4:] if column.startswith("target_2") else None,
                                        "printed": float(text), "region_code": row["region_code"]})
    return out


def test_every_printed_figure_reaches_the_marts_or_the_exclusion_view(demo: dict[str, Any]) -> None:
    settings = demo["settings"]
    # a prose line may state several targets: the printed name tells them apart
    ledger = {(r["source_file"], r["source_line"], r["indicator_name"], r["breakdown"], r["figure"],
               r["printed_value"]): r for r in _query(settings, "select * from marts.fct_plan_figures")}
    excluded = {(r["source_file"], r["source_line"], r["indicator_name"], r["breakdown"], r["figure"]):
                r["exclusion_reason"] for r in _query(settings, "select * from bi.plan_figures_excluded")}
    progress = _query(settings, "select region_code, indicator_code, breakdown, plan, period, baseline_value, "
                                "target_value, expected_value from marts.fct_indicator_progress")
    completion = {r["completion_id"]: r for r in _query(settings, "select * from marts.fct_plan_completion")}
    printed = _printed_figures()
    assert len(printed) == len(ledger) == 347
    reached: dict[str, int] = {}
    for figure in printed:
        key = (figure["source_file"], figure["source_line"], figure["indicator_name"], figure["breakdown"],
               figure["figure"])
        row = ledger.get((*key, figure["printed"]))
        assert row is not None, f"{key} = {figure['printed']} is not in marts.fct_plan_figures"
        if not row["is_used"]:
            assert excluded.get(key), f"{key} is neither used nor in bi.plan_figures_excluded with a reason"
            continue
        value = row["value_in_catalog_unit"]
        if figure["source_file"].startswith("plan_completion"):
            facts = completion[f"{row['region_code']}|{row['plan']}|{row['indicator_code']}|{row['breakdown']}"]
            assert facts[figure["figure"]] == pytest.approx(value), key
        else:
            series = [p for p in progress if (p["region_code"], p["indicator_code"], p["breakdown"], p["plan"])
                      == (row["region_code"], row["indicator_code"], row["breakdown"], row["plan"])]
            column = {"baseline_value": "baseline_value"}.get(figure["figure"], "target_value")
            if figure["year"]:  # an annual target is the expected value of its year's last quarter
                series, column = [p for p in series if p["period"] == f"{figure['year']}Q4"], "expected_value"
            assert any(p[column] == pytest.approx(value) for p in series), f"{key}: {value} not in the facts"
        reached[figure["region_code"]] = reached.get(figure["region_code"], 0) + 1
    # Per region, the printed figures the facts carry (the closing note).
    assert reached == {"320583": 63, "321200": 90, "330100": 1, "350582": 146, "520300": 45}
    assert sorted(excluded.values()) == [
        "a second row of the same indicator in this plan; the first printed row is used",
        "the plan's table gives this indicator another figure; the table row is used"]


def test_the_five_figures_lost_to_units_are_read_as_the_reviewer_reads_them(demo: dict[str, Any]) -> None:
    rows = _query(demo["settings"], "select region_code, plan, indicator_code, figure, printed_value, printed_unit, "
                                    "unit_as_read, unit, value_in_catalog_unit, reaches_facts "
                                    "from marts.fct_plan_figures where is_unit_as_read and figure <> 'baseline_value' "
                                    "and plan_table <> 'plan_prose_targets' order by all")
    assert sorted((r["region_code"], r["indicator_code"], r["figure"], r["printed_value"], r["printed_unit"],
                   r["unit_as_read"], r["reaches_facts"]) for r in rows) == [
        ("321200", "ELD_BEDS_PER_1000_ELDERLY", "actual_value", 42.3, "张", "张/千名老人", True),
        ("321200", "ELD_BEDS_PER_1000_ELDERLY", "target_value", 40.0, "张", "张/千名老人", True),
        ("321200", "ORG_CERTIFIED_SOCIAL_WORKERS_PER_10K", "actual_value", 8.0, "人", "人/万人", True),
        ("321200", "ORG_CERTIFIED_SOCIAL_WORKERS_PER_10K", "target_value", 7.0, "人", "人/万人", True),
        ("321200", "ORG_CERTIFIED_SOCIAL_WORKERS_PER_10K", "target_value", 10.0, "万人", "人/万人", True),
        ("321200", "ORG_PER_10K", "actual_value", 15.15, "个", "个/万人", True),
        ("321200", "ORG_PER_10K", "target_value", 15.0, "个", "个/万人", True),
        ("520300", "ELD_BEDS_PER_1000_ELDERLY", "target_value", 35.0, "张", "张/千名老人", True),
    ]
    completion = _query(demo["settings"], "select indicator_code, completion_status, unit_as_read "
                                          "from marts.fct_plan_completion where region_code = '321200' "
                                          "and unit_as_read is not null order by 1")
    assert [(r["indicator_code"], r["completion_status"]) for r in completion] == [
        ("ELD_BEDS_PER_1000_ELDERLY", "met"), ("ORG_CERTIFIED_SOCIAL_WORKERS_PER_10K", "met"),
        ("ORG_PER_10K", "met")]


def test_report_and_summary_count_the_same_series(demo: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from planwatch.run.summary import print_summary

    settings = demo["settings"]
    facts = _query(settings, "select count(distinct series_id) as n from marts.fct_indicator_progress")[0]["n"]
    latest = _query(settings, "select count(*) as n from bi.latest_status")[0]["n"]
    assert demo["results"]["report"]["series"] == facts == latest
    print_summary(settings)
    out = capsys.readouterr().out
    assert f"{facts} indicator series" in out
    statuses = re.search(r"latest status per series \(as the report\): (.*)", out)
    assert statuses and sum(int(n) for n in re.findall(r" (\d+)", " " + statuses.group(1))) == facts
    assert "345 used" in out and "2 not used (bi.plan_figures_excluded says why)" in out
    assert re.search(r"simulated +15 faults injected on purpose", out)


def _chart_points(settings: Settings, row: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The chart the report draws for `row`'s series: layer -> period -> value."""
    points = _query(settings, "select period, strftime(period_end, '%Y-%m-%d') as period_end, "
                              "coalesce(cumulative_value, actual_value) as actual_value, expected_value "
                              "from marts.fct_indicator_progress where series_id = ? order by period_end",
                    [row["series_id"]])
    spec = chart_spec(row, points, [])
    out: dict[str, dict[str, float]] = {}
    for point in spec["datasets"]["pw_series"]:
        out.setdefault(point["layer"], {})[point["period"]] = point["value"]
    return out


BEHIND = ("needs_acceleration", "limited_progress", "deterioration")


def _value(r: dict[str, Any]) -> float:
    """What the chart draws: the running total for a cumulative target, else the reported value."""
    return r["cumulative_value"] if r["target_kind"] == "cumulative" else r["actual_value"]


# status_basis -> what the numbers of a row with it must show (direction increase)
RULES = {
    # a flow's quarter is its year-to-date total: it is compared with the year's figure annualised
    "meets_target": lambda r: r["status"] == "target_achieved" and r["comparable_value"] >= r["target_value"],
    "final_at_target_year": lambda r: (r["status"] == "target_not_achieved" and r["period"].endswith("Q4")
                                       and r["period_year"] == r["target_year"]
                                       and r["comparable_value"] < r["target_value"]),
    "after_target_year": lambda r: (r["status"] == "target_year_passed" and r["period_year"] > r["target_year"]
                                    and r["expected_value"] is None),
    "ahead_of_expected": lambda r: r["status"] == "on_track" and _value(r) >= r["expected_value"],
    "ratio": lambda r: r["status"] not in BEHIND or _value(r) < r["expected_value"],
    "binding_ratio": lambda r: r["status"] in BEHIND and _value(r) < r["expected_value"],
    "target_not_ahead_of_base": lambda r: r["status"] == "deterioration" and r["comparable_value"] < r["target_value"],
    "too_few_points": lambda r: r["status"] == "insufficient_data" and r["projected_value"] is None,
}


@pytest.mark.parametrize("basis", sorted(RULES))
def test_each_status_rule_agrees_with_its_chart(demo: dict[str, Any], basis: str) -> None:
    settings = demo["settings"]
    rows = _query(settings, "select * from marts.fct_indicator_progress where status_basis = ? "
                            "and direction = 'increase' order by progress_id", [basis])
    assert rows, f"the demo warehouse has no row decided by {basis}"
    for row in rows:
        assert RULES[basis](row), f"{row['progress_id']}: {row['status']} by {basis} contradicts its numbers"
        assert row["status_basis_zh"] and row["status_basis_en"]
    # The chart of the first such row draws the very numbers the status was decided on.
    row = rows[0]
    chart = _chart_points(settings, row)
    assert chart["actual"][row["period"]] == _value(row)
    if row["expected_value"] is None:
        assert row["period"] not in chart.get("expected", {})
    else:
        assert chart["expected"][row["period"]] == row["expected_value"]


def test_a_series_after_its_target_year_is_one_series_judged_at_that_year(demo: dict[str, Any]) -> None:
    settings = demo["settings"]
    passed = _query(settings, "select distinct series_id, target_year from marts.fct_indicator_progress "
                              "where status = 'target_year_passed' order by 1")
    assert passed, "the demo plans have targets for 2022 and 2023"
    latest = {r["region_code"] + "|" + r["indicator_code"] + "|" + r["breakdown"] + "|" + r["plan"]: r
              for r in _query(settings, "select * from bi.latest_status")}
    for series in passed:
        verdict = latest[series["series_id"]]
        assert verdict["period"] == f"{series['target_year']}Q4"
        assert verdict["status"] in ("target_achieved", "target_not_achieved")
    no_plan = _query(settings, "select count(*) as n from marts.fct_indicator_progress where plan is null")
    assert no_plan[0]["n"] == 0


def test_cumulative_targets_are_measured_by_the_running_total_since_the_plan_start(demo: dict[str, Any]) -> None:
    rows = _query(demo["settings"], "select region_code, indicator_code, period, period_year, period_quarter, "
                                    "actual_value, cumulative_value, expected_value, target_value, base_value "
                                    "from marts.fct_indicator_progress where target_kind = 'cumulative' "
                                    "order by region_code, indicator_code, period")
    series = {(r["region_code"], r["indicator_code"]) for r in rows}
    assert ("321200", "ELD_HOME_ADAPTATION_HOUSEHOLDS") in series  # 新增居家适老化改造1万户
    assert ("320583", "ELD_HOME_ADAPTATION_HOUSEHOLDS") in series  # 1044 -> 5000, read as the 2021-2025 total
    for key in series:
        mine = [r for r in rows if (r["region_code"], r["indicator_code"]) == key]
        year_totals = {r["period_year"]: r["actual_value"] for r in mine if r["period"].endswith("Q4")}
        for r in mine:
            if r["cumulative_value"] is None:
                continue
            before = sum(year_totals[y] for y in range(2021, r["period_year"]))
            assert r["cumulative_value"] == pytest.approx(before + r["actual_value"]), r
            assert r["base_value"] == 0
            # the expected path runs from 0 at the end of 2020 to the whole target at the end of 2025
            t = r["period_year"] - 1 + r["period_quarter"] / 4 - 2020
            assert r["expected_value"] == pytest.approx(r["target_value"] * t / 5), r


def test_run_all_has_the_mart_checks_from_its_checks_process(demo: dict[str, Any]) -> None:
    """Side by side (the default) run_all's checks process runs validate_marts after the build
    (planwatch.run.pipeline.run_concurrent_stages): its findings and metrics reach the run log and
    run_all's results as when the stage ran in run_all's own process."""
    from planwatch.run.runlog import read_run

    marts = demo["results"]["validate_marts"]
    assert marts["expectations"] > 0 and marts["passed"] == marts["expectations"] - marts["failed_error"] - marts["failed_warn"]
    assert marts["cpu_s"] > 0
    assert read_run(demo["settings"], "test_plan_figures")["metrics"]["validate_marts"] == marts
    raw = demo["results"]["validate_raw"]
    checked = _query(demo["settings"], "select count(*) as n from audit.dq_results where run_id = 'test_plan_figures'")
    assert checked[0]["n"] == raw["expectations"] + marts["expectations"]
