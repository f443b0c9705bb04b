"""`python -m planwatch evaluation`: a plan's mid-term or final evaluation table, ready to hand over.

Written from marts.fct_plan_evaluation of the published warehouse, in the layout the plans print
for their previous plan's results (指标名称, 单位, 目标值, 完成值, 属性, 完成情况), bilingual
headers, as `.xlsx` (sheet 1: the table; sheet 2: where each figure comes from and whether it is
simulated) and as CSV (the table). Values are in the catalog unit, as in the mart.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planwatch.core.config import Settings
from planwatch.core.db import connect, table_exists
from planwatch.core.errors import ConfigError

KINDS = {"final": ("总结评估", "final evaluation"), "mid_term": ("中期评估", "mid-term evaluation")}

ROWS_SQL = """
select * from marts.fct_plan_evaluation
where region_code = ? and plan = ? and evaluation_kind = ?
order by seq nulls last, indicator_code, breakdown
"""
BREAKDOWN_ZH = {"urban": "城市", "rural": "农村"}


@dataclass
class EvaluationTable:
    title: str
    header: list[str]
    rows: list[list[Any]]
    source_header: list[str]
    source_rows: list[list[Any]]


def _headers(kind: str, year: int) -> list[str]:
    value_header = (f"完成值({year}年) Actual {year}" if kind == "final"
                    else f"实际值({year}年) Actual {year}")
    expected = [] if kind == "final" else [f"预期值({year}年) Expected {year}"]
    return ["序号 No.", "指标名称 Indicator", "单位 Unit", "目标值 Target", *expected, value_header,
            "属性 Attribute", "完成情况 Result"]


def build_table(rows: list[dict[str, Any]], kind: str) -> EvaluationTable:
    first = rows[0]
    year = int(first["evaluation_year"])
    kind_zh, kind_en = KINDS[kind]
    title = (f"{first['region_name'] or first['region_code']}“{first['plan_name_zh']}”规划主要指标{kind_zh} "
             f"{first['plan']} plan {kind_en} ({year})")
    table, sources = [], []
    for n, row in enumerate(rows, start=1):
        name = row["indicator_name"] + (f"({BREAKDOWN_ZH.get(row['breakdown'], row['breakdown'])})"
                                        if row["breakdown"] else "")
        expected = [] if kind == "final" else [row["expected_value"]]
        table.append([n, name, row["unit"], row["target_value"], *expected, row["actual_value"],
                      row["attribute_zh"] or "", row["verdict_zh"]])
        sources.append([n, name, row["indicator_code"], row["target_value"], row["target_source_doc"],
                        row["target_source_file"], row["target_source_line"], row["actual_value"],
                        row["actual_period"], row["actual_source_file"], row["actual_source_line"],
                        "是 yes" if row["is_simulated"] else "否 no"])
    source_header = ["序号 No.", "指标名称 Indicator", "指标代码 Code", "目标值 Target", "规划文件 Plan document",
                     "目标来源 Target file", "行 Line", "完成值 Actual", "统计期 Period",
                     "完成值来源 Actual file", "行 Line", "模拟数据 Simulated"]
    return EvaluationTable(title, _headers(kind, year), table, source_header, sources)


def read_rows(settings: Settings, region: str, plan: str, kind: str) -> list[dict[str, Any]]:
    if kind not in KINDS:
        raise ConfigError(f"--kind {kind}: expected one of {', '.join(KINDS)}")
    if not settings.published_db.exists():
        raise ConfigError(f"`file={settings.published_db}` does not exist: nothing has been published yet. "
                          "Run `python -m planwatch run` first.")
    with connect(settings.published_db, read_only=True) as con:
        if not table_exists(con, "marts", "fct_plan_evaluation"):
            raise ConfigError(f"`file={settings.published_db}` has no marts.fct_plan_evaluation: it was published "
                              "by an older planwatch; run `python -m planwatch run` again.")
        cur = con.execute(ROWS_SQL, [region, plan.lower(), kind])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
        if not rows:
            plans = con.execute("select distinct region_code || ' ' || plan from marts.fct_plan_evaluation "
                                "order by 1").fetchall()
            raise ConfigError(
                f"no {plan} plan of region {region} in the published warehouse (it has: "
                f"{', '.join(p[0] for p in plans) or 'none'}). To add a plan, put its document in raw/plans/, "
                "draft and review it as docs/extractor.md says, and rerun.")
    return rows


def write_evaluation(settings: Settings, region: str, plan: str, kind: str,
                     out_dir: Path | None = None) -> tuple[Path, Path]:
    """Write the evaluation workbook and CSV; returns (xlsx path, csv path)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    table = build_table(read_rows(settings, region, plan, kind), kind)
    out_dir = out_dir or settings.reports_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"evaluation_{region}_{plan.lower()}_{kind}"
    xlsx, csv_path = out_dir / f"{stem}.xlsx", out_dir / f"{stem}.csv"
    book = Workbook()
    sheet = book.active
    sheet.title = "完成情况 Results"
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(table.header)
    for row in table.rows:
        sheet.append(row)
    for column, width in zip("ABCDEFGH", (8, 44, 14, 14, 16, 16, 14, 16)):
        sheet.column_dimensions[column].width = width
    sources = book.create_sheet("来源 Sources")
    sources.append(table.source_header)
    for row in table.source_rows:
        sources.append(row)
    book.save(xlsx)
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(table.header)
        writer.writerows(table.rows)
    return xlsx, csv_path
