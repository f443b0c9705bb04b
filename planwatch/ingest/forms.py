"""Submission forms: one .xlsx per region and quarter, which the loader reads back as it is.

The form lists the indicators of the region's plan (from the plan rows loaded into the ingest
store, so a newly loaded plan brings its own indicators and years), with the name and unit as the
plan prints them and the previous quarter's figure as a hint. Its first sheet is the wide layout
the loader understands (指标代码 / 指标名称 / 分组 / 计量单位 / 本期); a hidden sheet names region,
period and form version, so a filled form loads with no step by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from planwatch.core.catalog import Catalog
from planwatch.core.config import Settings
from planwatch.core.db import connect, table_exists
from planwatch.core.errors import ConfigError
from planwatch.core.normalize import format_number
from planwatch.core.periods import Quarter
from planwatch.core.scheduling import submission_deadline
from planwatch.core.catalog_loader import load_catalog
from planwatch.ingest.submission_layout import FORM_SHEET

FORM_ID = "planwatch-statistics-form"
FORM_VERSION = "1"
HEADER_ROW = 3  # rows 1-2: title and instructions
COLUMNS = ("指标代码\nindicator_code", "指标名称\nindicator_name", "分组\nbreakdown", "计量单位\nunit",
           "本期\nvalue", "上期(参考)\nprevious period", "备注\nremarks")
VALUE_COLUMN, UNIT_COLUMN, REMARKS_COLUMN = "E", "D", "G"
BREAKDOWN_LABELS = {"": "合计", "urban": "城镇", "rural": "农村"}


@dataclass(frozen=True)
class FormRow:
    indicator_code: str
    printed_name: str
    breakdown: str
    printed_unit: str
    previous: float | None


@dataclass(frozen=True)
class FormSpec:
    region_code: str
    region_name: str
    quarter: Quarter
    plan: str
    plan_note: str  # empty, or why the indicators come from a plan that does not cover the quarter
    rows: tuple[FormRow, ...]

    @property
    def deadline(self) -> date:
        return submission_deadline(self.quarter)


def _plan_for(plans: dict[str, tuple[int, int]], year: int) -> tuple[str, str]:
    """The plan whose years hold `year`; otherwise the latest one, with a note saying so."""
    covering = [p for p, (start, end) in plans.items() if start <= year <= end]
    if covering:
        return max(covering, key=lambda p: plans[p][1]), ""
    latest = max(plans, key=lambda p: plans[p][1])
    return latest, (f"no loaded plan covers {year}; the indicators are those of the {latest} plan "
                    f"({plans[latest][0]}–{plans[latest][1]})")


def form_spec(settings: Settings, region_code: str, quarter: Quarter, catalog: Catalog | None = None) -> FormSpec:
    """What the form of `region_code` for `quarter` holds, from the loaded plan rows."""
    catalog = catalog or load_catalog(settings)
    region = catalog.regions.get(region_code)
    if region is None:
        raise ConfigError(f"`region={region_code}` is not in raw/reference/regions.csv")
    if not settings.ingest_db.exists():
        raise ConfigError(f"`file={settings.ingest_db}` does not exist: load the plans first "
                          "(`python -m planwatch stage load_plans --quarter … --run-id …` or `make run`)")
    with connect(settings.ingest_db, read_only=True) as con:
        if not table_exists(con, "raw", "plan_indicators"):
            raise ConfigError(f"`file={settings.ingest_db}` holds no plan rows: run the load_plans stage first")
        rows = con.execute(
            "select plan, indicator_code, indicator_name, coalesce(breakdown, ''), coalesce(unit, ''), "
            "try_cast(baseline_year as integer), try_cast(target_year as integer) from raw.plan_indicators "
            "where region_code = ? and coalesce(indicator_code, '') <> '' "
            "and coalesce(review_status, 'reviewed') in ('reviewed', 'simulated') order by plan, try_cast(seq as integer), "
            "indicator_code", [region_code]).fetchall()
        if not rows:
            raise ConfigError(f"`region={region_code}` has no plan indicators loaded; a form needs its plan")
        plans: dict[str, tuple[int, int]] = {}
        for plan, _, _, _, _, baseline_year, target_year in rows:
            end = target_year or 0
            start = (baseline_year + 1) if baseline_year else end
            old = plans.get(plan, (start, end))
            plans[plan] = (min(old[0], start), max(old[1], end))
        plan, note = _plan_for(plans, quarter.year)
        previous = _previous_figures(con, region_code, quarter.previous())
        from planwatch.ingest.row_rules import printed_units

        read_as = printed_units(con)
    form_rows: list[FormRow] = []
    seen: set[tuple[str, str]] = set()
    for row_plan, code, name, breakdown, unit, _, _ in rows:
        if row_plan != plan or (code, breakdown) in seen or code not in catalog.indicators:
            continue
        seen.add((code, breakdown))
        catalog_unit = catalog.indicators[code].unit
        # the plan's own unit where the loader reads it back (convertible, or read by the plan's
        # reviewer as unit_as_read); otherwise the catalog's, so that the form never invites a refusal
        readable = unit and (catalog.convert(1.0, unit, catalog_unit) is not None
                             or unit in read_as.get((region_code, code), {}))
        form_rows.append(FormRow(code, name or catalog.indicators[code].name_zh, breakdown,
                                 unit if readable else catalog_unit, previous.get((code, breakdown))))
    return FormSpec(region_code, region.name_zh, quarter, plan, note, tuple(form_rows))


def _previous_figures(con: "object", region_code: str, quarter: Quarter) -> dict[tuple[str, str], float | None]:
    """The latest loaded figure of each indicator for `quarter` (a hint for the person filling in)."""
    if not table_exists(con, "raw", "stat_observations"):  # type: ignore[arg-type]
        return {}
    return {(code, breakdown): value for code, breakdown, value in con.execute(  # type: ignore[attr-defined]
        "select indicator_code, breakdown, arg_max(value, file_seq) from raw.stat_observations "
        "where region_code = ? and period = ? group by all", [region_code, str(quarter)]).fetchall()}


def _allowed_units(catalog: Catalog, code: str, printed: str) -> list[str]:
    """The catalog unit, the plan's printed unit and the units convertible to the catalog's."""
    unit = catalog.indicators[code].unit
    dimension = catalog.units[unit].dimension if unit in catalog.units else None
    same = [u for u, spec in catalog.units.items() if dimension and spec.dimension == dimension]
    out: list[str] = []
    for u in [unit, printed, *same]:
        if u and u not in out and "," not in u and '"' not in u:
            out.append(u)
    # A list validation holds at most 255 characters.
    while len(",".join(out)) > 250:
        out.pop()
    return out


def write_form(spec: FormSpec, path: Path, catalog: Catalog) -> Path:
    """Write the form workbook of `spec` to `path`."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "填报表"
    q = spec.quarter
    ws["A1"] = f"{q.year}年第{'一二三四'[q.q - 1]}季度民政规划指标统计填报表({spec.region_name})"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    ws["A2"] = (f"请在“本期”列填写{q}的数值,截止日期 {spec.deadline.isoformat()}。"
                f"Fill in the 本期 (value) column for {q} by {spec.deadline.isoformat()}."
                + (f" 注 Note: {spec.plan_note}" if spec.plan_note else ""))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(COLUMNS))
    ws["A2"].alignment = Alignment(wrap_text=True)
    ws.row_dimensions[2].height = 32
    for i, title in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=HEADER_ROW, column=i, value=title)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for col, width in zip("ABCDEFG", (30, 34, 8, 14, 14, 14, 24)):
        ws.column_dimensions[col].width = width
    ws.row_dimensions[HEADER_ROW].height = 32
    entry_fill = PatternFill("solid", fgColor="FFF2CC")
    for r, row in enumerate(spec.rows, start=HEADER_ROW + 1):
        ind = catalog.indicators[row.indicator_code]
        ws.cell(row=r, column=1, value=row.indicator_code)
        ws.cell(row=r, column=2, value=row.printed_name)
        ws.cell(row=r, column=3, value=BREAKDOWN_LABELS.get(row.breakdown, row.breakdown))
        ws.cell(row=r, column=4, value=row.printed_unit)
        ws.cell(row=r, column=6, value=row.previous)
        lo, hi = (format_number(b, 10) if b is not None else None for b in catalog.effective_bounds(row.indicator_code))
        number = DataValidation(
            type="whole" if ind.is_integral else "decimal", operator="between",
            formula1=lo or "-1000000000000000", formula2=hi or "1000000000000000",
            allow_blank=True, showErrorMessage=True, errorTitle="数值 number",
            error=(f"请填写{'不小于 ' + lo if lo else ''}{',' if lo and hi else ''}{'不大于 ' + hi if hi else ''}的数字"
                   f"{'(整数)' if ind.is_integral else ''}; a number within the catalog bounds"))
        ws.add_data_validation(number)
        number.add(f"{VALUE_COLUMN}{r}")
        units = DataValidation(type="list", formula1='"' + ",".join(_allowed_units(catalog, row.indicator_code,
                                                                                      row.printed_unit)) + '"',
                               allow_blank=False, showErrorMessage=True, errorTitle="单位 unit",
                               error="请从列表中选择单位; choose a unit from the list")
        ws.add_data_validation(units)
        units.add(f"{UNIT_COLUMN}{r}")
        for col in (VALUE_COLUMN, UNIT_COLUMN, REMARKS_COLUMN):
            ws[f"{col}{r}"].protection = Protection(locked=False)
            ws[f"{col}{r}"].fill = entry_fill
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.protection.sheet = True  # titles, header, codes and names locked; value, unit, remarks open
    ws.protection.formatColumns = False

    ident = wb.create_sheet(FORM_SHEET)
    for key, value in (("form_id", FORM_ID), ("form_version", FORM_VERSION), ("region_code", spec.region_code),
                       ("period", str(spec.quarter)), ("plan", spec.plan),
                       ("deadline", spec.deadline.isoformat()), ("rows", len(spec.rows))):
        ident.append([key, value])
    ident.sheet_state = "hidden"
    ident.protection.sheet = True
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def form_path(out_dir: Path, region_code: str, quarter: Quarter) -> Path:
    return out_dir / f"{region_code}_{quarter}_填报表.xlsx"


def cover_text(spec: FormSpec) -> str:
    """The short letter that goes out with a form."""
    q = spec.quarter
    return (
        f"{spec.region_name}民政局:\n\n"
        f"请于 {spec.deadline.isoformat()} 前填写并报送附件《{q.year}年第{'一二三四'[q.q - 1]}季度民政规划指标统计填报表》"
        f"(共 {len(spec.rows)} 项指标)。只需在“本期”列填写数值;单位可按规划文本填写。"
        "收到后我们会回复一份回执,列明已入库和需要更正的数据。\n\n"
        f"Please fill in and return the attached form for {q} ({len(spec.rows)} indicators) by "
        f"{spec.deadline.isoformat()}. Only the 本期 (value) column needs filling in. A receipt listing the "
        "figures loaded and any that need correcting will follow.\n"
    )


def write_forms(settings: Settings, quarter: Quarter, out_dir: Path,
                regions: list[str] | None = None) -> list[Path]:
    """A form and its cover text for every region with loaded plan rows (or those in `regions`)."""
    catalog = load_catalog(settings)
    named = regions is not None  # a region asked for by name must exist; form_spec says why not
    if regions is None:
        with connect(settings.ingest_db, read_only=True) as con:
            if not table_exists(con, "raw", "plan_indicators"):
                raise ConfigError(f"`file={settings.ingest_db}` holds no plan rows: run the load_plans stage first")
            regions = [r[0] for r in con.execute(
                "select distinct region_code from raw.plan_indicators where coalesce(indicator_code, '') <> '' "
                "order by 1").fetchall()]
    written = []
    for code in regions:
        if code not in catalog.regions and not named:
            continue
        spec = form_spec(settings, code, quarter, catalog)
        path = write_form(spec, form_path(out_dir, code, quarter), catalog)
        path.with_name(f"{code}_{quarter}_说明.txt").write_text(cover_text(spec), encoding="utf-8")
        written.append(path)
    return written
