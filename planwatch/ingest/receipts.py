"""A receipt for every submitted file, in Chinese with English, for the data engineer to forward.

Written after each file's load to `reports/receipts/<file>_<id>.{html,xlsx}`: rows read, loaded and
quarantined (each quarantined row with its line, the reason in plain words and what to change),
what the loader read differently from the plain format (`mapped`), figures that moved more than the
raw suite's `jump_factor` since the previous quarter, and revisions of figures sent earlier.
Everything comes from the ingest store, so the receipt lists exactly what the tables hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from planwatch.core.config import Settings
from planwatch.core.db import table_exists
from planwatch.core.normalize import format_number

if TYPE_CHECKING:
    import duckdb

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "receipt.html.j2"

# reason_code -> (plain words in Chinese, what to change in Chinese, what to change in English)
ADVICE: dict[str, tuple[str, str, str]] = {
    "malformed_row": ("这一行的单元格比表头多", "数值中不要用逗号分隔千位,或给该单元格加引号",
                      "remove the thousands comma or quote the cell"),
    "unknown_region": ("地区代码不在目录中", "填写6位行政区划代码", "write the 6-digit region code"),
    "bad_period": ("报告期无法识别", "写成 2024Q2(季度)、2024(年度)或季末日期 2024-06-30",
                   "write 2024Q2, 2024, or the quarter's last day 2024-06-30"),
    "future_period": ("报告期尚未结束", "检查年份是否写错", "check the year"),
    "unknown_indicator": ("指标无法识别", "使用填报表中的指标代码或规划中的指标名称",
                          "use the form's indicator code or the name printed in the plan"),
    "bad_breakdown": ("分组无法识别", "分组写 合计、城镇 或 农村", "write 合计 (total), 城镇 (urban) or 农村 (rural)"),
    "not_a_number": ("数值不是数字", "只填写数字,没有数据时填 --", "write digits only, or -- for no figure"),
    "unit_not_convertible": ("单位无法换算", "使用填报表下拉列表中的单位", "use a unit from the form's list"),
    "unit_conflict": ("数值中的单位与单位列不一致", "单位只写在单位列", "write the unit in the unit column only"),
    "bad_date": ("填报日期不是日期", "写成 2024-07-20", "write the date as 2024-07-20"),
    "duplicate_in_file": ("同一指标填了两次", "每个指标只保留一行", "keep one row per indicator"),
    "outside_bounds": ("数值超出合理范围", "核对数值和单位后重新报送", "check the figure and its unit, then resend"),
}


@dataclass
class Receipt:
    path: str
    file_id: str
    status: str
    error: str | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    loaded_at: datetime | None
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    mapped: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    jump_factor: float = 0.0


def _records(con: "duckdb.DuckDBPyConnection", sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def build_receipt(con: "duckdb.DuckDBPyConnection", file_id: str, jump: "JumpRule") -> Receipt:
    """What the ingest store holds for `file_id`; `jump` is the raw suite's stock rule (jump_rule)."""
    ((path, status, error, read, loaded, quarantined, loaded_at, file_seq),) = con.execute(
        "select path, status, error, coalesce(rows_read, 0), coalesce(rows_loaded, 0), "
        "coalesce(rows_quarantined, 0), loaded_at, file_seq from raw.file_ledger where file_id = ?",
        [file_id]).fetchall()
    receipt = Receipt(path, file_id, status, error, read, loaded, quarantined, loaded_at, jump_factor=jump.factor)
    receipt.quarantined = _records(con, "select line_no, raw_text, reason_code, reason from raw.stat_quarantine "
                                        "where file_id = ? order by line_no", [file_id])
    for row in receipt.quarantined:
        zh, fix_zh, fix_en = ADVICE.get(row["reason_code"], ("", "", ""))
        row.update(reason_zh=zh, fix_zh=fix_zh, fix_en=fix_en)
    receipt.mapped = _records(con, "select line_no, indicator_code, period, mapped from raw.stat_observations "
                                   "where file_id = ? and mapped is not null order by line_no", [file_id])
    # Earlier figures: the latest version of each key from files loaded before this one.
    receipt.revisions = _records(con, """
        select n.line_no, n.region_code, n.period, n.indicator_code, n.breakdown, o.value as old_value,
               n.value as new_value, n.unit, l.path as old_path
        from raw.stat_observations n
        join (select region_code, period, indicator_code, breakdown, arg_max(value, file_seq) as value,
                     arg_max(file_id, file_seq) as file_id
              from raw.stat_observations
              where file_seq < ? and region_code in (select region_code from raw.stat_observations where file_id = ?)
              group by all) o
          using (region_code, period, indicator_code, breakdown)
        join raw.file_ledger l on l.file_id = o.file_id
        where n.file_id = ? and n.value is distinct from o.value
        order by n.line_no""", [file_seq, file_id, file_id])
    # The raw suite's stock_quarter_jump rule, applied to this file's rows against the previous quarter.
    if not table_exists(con, "raw", "indicators"):  # the catalog tables come with load_plans
        return receipt
    receipt.moved = _records(con, f"""
        with prev as (
            select region_code, period, period_index, indicator_code, breakdown, arg_max(value, file_seq) as value
            from raw.stat_observations
            where file_seq <= ? and period_type = 'quarter'
              and region_code in (select region_code from raw.stat_observations where file_id = ?)
            group by all)
        select n.line_no, n.region_code, n.period, n.indicator_code, n.breakdown, p.period as previous_period,
               p.value as previous_value, n.value, n.unit
        from raw.stat_observations n
        join raw.indicators i on i.indicator_code = n.indicator_code and i.measure = 'stock'
        join prev p on p.region_code = n.region_code and p.indicator_code = n.indicator_code
                   and p.breakdown = n.breakdown
                   and p.period_index = n.period_index - 1
        where n.file_id = ? and n.period_type = 'quarter' and {jump.predicate('p.value', 'n.value')}
        order by n.line_no""", [file_seq, file_id, file_id])
    return receipt


def receipt_stem(path: str, file_id: str) -> str:
    name = Path(path).stem
    return re.sub(r"[^\w.-]+", "_", name)[:80] + f"_{file_id[:8]}"


def write_receipt(receipt: Receipt, out_dir: Path) -> tuple[Path, Path]:
    """Write the receipt as .html and .xlsx; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = receipt_stem(receipt.path, receipt.file_id)
    html_path, xlsx_path = out_dir / f"{stem}.html", out_dir / f"{stem}.xlsx"
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text(render(receipt), encoding="utf-8")
    tmp.replace(html_path)
    _write_xlsx(receipt, xlsx_path)
    return html_path, xlsx_path


def render(receipt: Receipt) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = lambda v: "" if v is None else format_number(float(v), 4)
    return env.get_template(TEMPLATE).render(r=receipt)


def _write_xlsx(receipt: Receipt, path: Path) -> None:
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "回执 receipt"
    ws.append(["数据回执 Submission receipt"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["文件 file", receipt.path])
    ws.append(["入库时间 loaded at", receipt.loaded_at.isoformat(sep=" ", timespec="seconds") if receipt.loaded_at else ""])
    if receipt.status == "refused":
        ws.append(["整个文件未能读取 file refused", receipt.error or ""])
    ws.append(["读取行数 rows read", receipt.rows_read])
    ws.append(["已入库 rows loaded", receipt.rows_loaded])
    ws.append(["待更正 rows quarantined", receipt.rows_quarantined])
    sections = (
        ("待更正 quarantined", ["行 line", "原文 row as written", "原因 reason", "如何更正 what to change", "details"],
         [[q["line_no"], q["raw_text"], f"{q['reason_zh']} ({q['reason_code']})", f"{q['fix_zh']}; {q['fix_en']}",
           q["reason"]] for q in receipt.quarantined]),
        ("变动较大 moved", ["行 line", "指标 indicator", "上期 previous", "本期 value", "单位 unit"],
         [[m["line_no"], m["indicator_code"], m["previous_value"], m["value"], m["unit"]] for m in receipt.moved]),
        ("修订 revisions", ["行 line", "期 period", "指标 indicator", "原值 old", "新值 new", "原文件 earlier file"],
         [[v["line_no"], v["period"], v["indicator_code"], v["old_value"], v["new_value"], v["old_path"]]
          for v in receipt.revisions]),
        ("换算记录 mapped", ["行 line", "指标 indicator", "期 period", "读法 read as"],
         [[m["line_no"], m["indicator_code"], m["period"], m["mapped"]] for m in receipt.mapped]),
    )
    for title, header, rows in sections:
        sheet = wb.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)


@dataclass(frozen=True)
class JumpRule:
    """The raw suite's rule `stock_quarter_jump`: its threshold and its SQL predicate, both from their
    one home (expectations/thresholds.yml and expectations/suites/_common.py `stock_jumped`)."""

    factor: float
    stock_jumped: Callable[[str, str, float], str]

    def predicate(self, previous: str, value: str) -> str:
        return self.stock_jumped(previous, value, self.factor)


def jump_rule(settings: Settings) -> JumpRule:
    """The stock rule as the raw suite applies it."""
    from planwatch.core.suites import load_suites

    suites = load_suites(settings)
    factor = float(suites.Thresholds.load(settings.expectations_dir / "thresholds.yml").jump_factor)
    return JumpRule(factor, suites.stock_jumped)


def write_receipts(con: "duckdb.DuckDBPyConnection", settings: Settings, file_ids: list[str]) -> list[Path]:
    """One receipt per file in `file_ids` (loaded or refused) under reports/receipts/; none for the
    simulator's files (every row `is_simulated`): nobody sent them."""
    simulated = {r[0] for r in con.execute(
        "select file_id from raw.stat_observations where list_contains(?, file_id) group by file_id "
        "having bool_and(is_simulated)", [file_ids]).fetchall()}
    file_ids = [f for f in file_ids if f not in simulated]
    if not file_ids:
        return []
    jump = jump_rule(settings)
    out = settings.reports_dir / "receipts"
    written: list[Path] = []
    for file_id in file_ids:
        written.extend(write_receipt(build_receipt(con, file_id, jump), out))
    return written
