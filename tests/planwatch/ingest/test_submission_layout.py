"""How the loader reads submissions as they arrive: column names, titles, periods as dates, the plan's
own unit; and what it still refuses because a guess could change a figure."""

from __future__ import annotations

import pytest

from planwatch.core.catalog import Catalog
from planwatch.ingest.row_rules import judge_rows
from planwatch.ingest.submission_layout import (canonical_column, find_header, identity_from_titles,
                                               period_from_title)
from tests.planwatch.statistics_home import FIXTURES, TODAY

HEADER = ["region_code", "period", "indicator_code", "value", "unit", "reported_on", "source"]


@pytest.mark.parametrize("cell, column", [
    ("计量单位", "unit"), ("本期", "value"), ("指标名称", "indicator_name"), (" Region Code ", "region_code"),
    ("本期\nvalue", "value"), ("上期(参考)\nprevious period", "上期(参考)_previous_period"), ("备注", "备注"),
])
def test_column_names(cell: str, column: str) -> None:
    assert canonical_column(cell) == column


@pytest.mark.parametrize("title, period", [
    ("2024年第一季度民政统计报表(晋江市)", "2024Q1"), ("2024年三季度", "2024Q3"), ("2024年1-6月民政统计", "2024Q2"),
    ("２０２４年１－９月", "2024Q3"), ("2023年度民政统计年报", "2023"), ("2024年1-5月", None), ("民政统计报表", None),
])
def test_period_from_a_title(title: str, period: str | None) -> None:
    assert period_from_title(title) == period


def test_title_rows_end_at_the_first_recognisable_header() -> None:
    rows = [["2024年第一季度民政统计报表(晋江市)"], [], ["填报单位:晋江市民政局", "", "单位:个"],
            ["指标名称", "计量单位", "本期", "备注"], ["养老床位", "张", "1"]]
    assert find_header(rows) == 3
    assert find_header([["a", "b", "c", "d"], ["指标名称", "计量单位", "本期"]]) == 0  # data above: no title
    ident = identity_from_titles(["2024年第一季度民政统计报表(晋江市)"], {"晋江市": "350582", "泉州市": "350500"})
    assert (ident.region_code, ident.period, ident.problems) == ("350582", "2024Q1", [])
    two = identity_from_titles(["2024年第一季度报表(泉州市晋江市)"], {"晋江市": "350582", "泉州市": "350500"})
    assert two.region_code is None and "several regions" in two.problems[0]


def _judge(rows: list[list[str]], plan_units: dict | None = None):  # type: ignore[no-untyped-def]
    catalog = Catalog.load(FIXTURES / "reference")
    cells = [(i + 2, len(r), "", *r) for i, r in enumerate(rows)]
    return judge_rows(cells, HEADER, catalog, TODAY, plan_units)


def test_the_unit_the_plan_prints_is_read_as_the_plan_reviewer_read_it_and_recorded() -> None:
    row = ["320583", "2023Q2", "ELD_BEDS_PER_THOUSAND", "41.5", "张", "", "x"]
    printed = {("320583", "ELD_BEDS_PER_THOUSAND"): {"张": "张/千名老人"},
               ("350582", "ELD_BEDS_PER_THOUSAND"): {"张": "个"}}  # a reading of another dimension
    out = _judge([row, ["320583", "2023Q3", "ELD_BEDS_PER_THOUSAND", "42", "张/千名老人", "", "x"]], printed)
    assert out.columns["value"] == [41.5, 42.0] and out.columns["unit"] == ["张/千名老人"] * 2
    assert out.columns["raw_unit"] == ["张", "张/千名老人"]
    assert out.columns["mapped"] == ["unit 张 as printed in the region's plan, read as 张/千名老人 (the plan's unit_as_read)",
                                     None]
    # a reading that does not convert, a region whose plan does not print the unit, a unit no plan prints:
    # all stay refused
    other = _judge([["350582", *row[1:]], ["520300", *row[1:]], [*row[:4], "床", "", "x"]], printed)
    assert [code for _, code, _ in other.quarantine] == ["unit_not_convertible"] * 3


def test_a_period_end_date_is_its_quarter_and_any_other_date_is_refused() -> None:
    rows = [["320583", d, "ELD_BEDS_PER_THOUSAND", "41", "张/千名老人", "", "x"]
            for d in ("2023-06-30", "2023/9/30", "2023年12月31日", "2023-06-29", "2023-02-28")]
    out = _judge(rows)
    assert out.columns["period"] == ["2023Q2", "2023Q3", "2023Q4"]
    assert out.columns["mapped"] == ["period 2023-06-30 read as 2023Q2", "period 2023/9/30 read as 2023Q3",
                                     "period 2023年12月31日 read as 2023Q4"]
    assert [(line, code) for line, code, _ in out.quarantine] == [(5, "bad_period"), (6, "bad_period")]
    assert "not the last day of a quarter" in out.quarantine[0][2]
