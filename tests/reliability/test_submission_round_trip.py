"""The submission round trip on the fixture home: a form goes out, comes back filled in as a person
fills it, loads with no step by hand, gets a receipt listing exactly its quarantined rows, and
bi.submission_status, the report's summary and the overdue digest name what was left empty."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import run_stages
from fixture_home import make_home
from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.core.types import STAGES

QUARTER = "2024Q2"  # the fixture's figures run to 2024Q1: the form asks for the next quarter
REGION = "330100"
RUN = "round-trip"  # one run: its stages in order, as the DAG runs them
FILLED = {  # indicator -> (value cell as typed, unit cell or None to keep the form's)
    "ELD_NURSING_BED_SHARE": ("５７．５", None),  # typed as text, full-width digits
    "COM_SERVICE_COVERAGE": ("１００", None),
    "AST_APPROVAL_DAYS": (16, None),
    "SOC_ORGS_PER_10K": (None, None),  # left empty
    "CHA_DONATIONS": ("约1300", None),  # not a number: quarantined
    "ELD_BEDS_PER_1000": ("40", None),  # the unit stays 张, as the plan prints it
}
LONG_CSV = """region_code,period,indicator_code,value,unit
330100,2024Q2,ELD_NURSING_BED_SHARE,57.5,%
330100,2024Q2,COM_SERVICE_COVERAGE,100,%
330100,2024Q2,AST_APPROVAL_DAYS,16,天
330100,2024Q2,SOC_ORGS_PER_10K,,个
330100,2024Q2,CHA_DONATIONS,约1300,亿元
330100,2024Q2,ELD_BEDS_PER_1000,40,张/千名老人
"""


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture home with its submissions loaded, and a plan that prints 张 for beds per thousand
    older people, as the real plans do, with the reviewer's reading in unit_as_read."""
    import csv

    home = make_home(tmp_path_factory.mktemp("round_trip") / "home")
    plan = home / "raw" / "plan_indicators" / f"{REGION}_14th.csv"
    with plan.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    columns = [*(reader.fieldnames or []), *(c for c in ("unit_as_read", "unit_note") if c not in (reader.fieldnames or []))]
    (beds,) = [r for r in rows if r["indicator_code"] == "ELD_BEDS_PER_1000"]
    assert beds["unit"] == "张/千名老人"
    beds.update(unit="张", unit_as_read="张/千名老人", unit_note="张 is the numerator of a rate per 1000 older people")
    with plan.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    settings = Settings(home=home)
    run_stages(settings, QUARTER, RUN, ("register_files", "load_plans", "load_statistics"))
    return settings


@pytest.fixture(scope="module")
def form(base: Settings) -> Path:
    from planwatch.ingest.forms import write_forms

    (path,) = write_forms(base, Quarter.parse(QUARTER), base.reports_dir / "forms", [REGION])
    return path


def fill(form: Path, target: Path) -> None:
    """Type the FILLED values into the form as a person does in a spreadsheet program."""
    import openpyxl

    wb = openpyxl.load_workbook(form)
    ws = wb["填报表"]
    for row in ws.iter_rows(min_row=4):
        code = row[0].value
        value, unit = FILLED[code]
        row[4].value = value
        if unit is not None:
            row[3].value = unit
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)


@pytest.fixture(scope="module")
def loaded(base: Settings, form: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Settings]:
    """Home A receives the filled form, home B the same figures as a hand-written long CSV."""
    homes = []
    for name in ("form", "csv"):
        home = tmp_path_factory.mktemp(name) / "home"
        shutil.copytree(base.home, home)
        homes.append(Settings(home=home))
    form_home, csv_home = homes
    fill(form, form_home.statistics_dir / REGION / form.name)
    (csv_home.statistics_dir / REGION).mkdir(parents=True)
    (csv_home.statistics_dir / REGION / f"{REGION}_{QUARTER}.csv").write_text(LONG_CSV, encoding="utf-8")
    for settings in homes:
        run_stages(settings, QUARTER, RUN, ("register_files", "load_statistics"))
    return form_home, csv_home


def test_the_form_lists_the_plan_indicators_with_units_hints_and_validation(form: Path, base: Settings) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(form)
    ws, ident = wb["填报表"], wb["_form"]
    assert ws["A1"].value == "2024年第二季度民政规划指标统计填报表(杭州市)"
    assert "2024-07-15" in ws["A2"].value  # 15 days after the quarter closes
    rows = {r[0]: r for r in ws.iter_rows(min_row=4, values_only=True)}
    assert sorted(rows) == sorted(FILLED)
    assert rows["ELD_BEDS_PER_1000"][3] == "张"  # the plan's own unit
    assert rows["CHA_DONATIONS"][3] == "亿元"
    assert rows["ELD_NURSING_BED_SHARE"][5] == 57  # 2024Q1, the previous quarter, as a hint
    assert ws.protection.sheet and not ws["E4"].protection.locked and ws["A4"].protection.locked
    assert ident.sheet_state == "hidden"
    assert {r[0]: r[1] for r in ident.iter_rows(values_only=True)}.items() >= {
        "form_id": "planwatch-statistics-form", "form_version": "1", "region_code": REGION, "period": QUARTER}.items()
    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    share = next(dv for ref, dv in validations.items() if ref == f"E{4 + list(rows).index('ELD_NURSING_BED_SHARE')}")
    assert (share.type, share.formula1, share.formula2) == ("decimal", "0", "100")
    days = next(dv for ref, dv in validations.items() if ref == f"E{4 + list(rows).index('AST_APPROVAL_DAYS')}")
    assert days.type == "whole"
    units = next(dv for ref, dv in validations.items() if ref == f"D{4 + list(rows).index('ELD_BEDS_PER_1000')}")
    assert units.type == "list" and "张" in units.formula1 and "张/千名老人" in units.formula1


def test_a_filled_form_loads_the_same_figures_as_a_long_csv(loaded: tuple[Settings, Settings]) -> None:
    sql = ("select o.region_code, o.period, o.indicator_code, o.breakdown, o.value, o.unit from raw.stat_observations o "
           "join raw.file_ledger l using (file_id) where l.path like 'statistics/330100/%' order by all")
    form_rows, csv_rows = (_query(s.ingest_db, sql) for s in loaded)
    assert form_rows == csv_rows
    assert ("330100", "2024Q2", "ELD_BEDS_PER_1000", "", 40.0, "张/千名老人") in form_rows
    assert ("330100", "2024Q2", "ELD_NURSING_BED_SHARE", "", 57.5, "%") in form_rows
    assert ("330100", "2024Q2", "SOC_ORGS_PER_10K", "", None, "个") in form_rows
    quarantine = "select reason_code from raw.stat_quarantine where path like 'statistics/330100/%'"
    assert _query(loaded[0].ingest_db, quarantine) == _query(loaded[1].ingest_db, quarantine) == [("not_a_number",)]
    ledger = _query(loaded[0].ingest_db, "select rows_read, rows_loaded, rows_quarantined from raw.file_ledger "
                                         "where path like 'statistics/330100/%'")
    assert ledger == [(6, 5, 1)]
    mapped = dict(_query(loaded[0].ingest_db, "select indicator_code, mapped from raw.stat_observations "
                                              "where period = '2024Q2' and region_code = '330100'"))
    assert "unit 张 as printed in the region's plan, read as 张/千名老人 (the plan's unit_as_read)" \
        in mapped["ELD_BEDS_PER_1000"]
    assert "form planwatch-statistics-form version 1" in mapped["AST_APPROVAL_DAYS"]


def test_the_receipt_lists_exactly_the_quarantined_rows(loaded: tuple[Settings, Settings]) -> None:
    import openpyxl

    settings = loaded[0]
    quarantined = _query(settings.ingest_db, "select line_no, raw_text from raw.stat_quarantine "
                                             "where path like 'statistics/330100/%' order by line_no")
    receipts = sorted((settings.reports_dir / "receipts").glob("330100_2024Q2_*"))
    assert [p.suffix for p in receipts] == [".html", ".xlsx"]
    html = receipts[0].read_text(encoding="utf-8")
    assert "读取行数" in html and "rows quarantined" in html and "数值不是数字" in html and "约1300" in html
    sheet = openpyxl.load_workbook(receipts[1])["待更正 quarantined"]
    listed = [(r[0], r[1]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert listed == quarantined and len(listed) == 1
    summary = {r[0]: r[1] for r in openpyxl.load_workbook(receipts[1]).active.iter_rows(values_only=True)}
    assert (summary["读取行数 rows read"], summary["已入库 rows loaded"], summary["待更正 rows quarantined"]) == (6, 5, 1)
    # the simulator's files get none; the fixture's own submissions (sent by "fixture") do
    assert not any("simulated" in p.name for p in receipts)


def test_submission_status_report_and_digest_name_what_was_left_empty(loaded: tuple[Settings, Settings]) -> None:
    from planwatch.serve.submissions import overdue_digest

    settings = loaded[0]
    run_stages(settings, QUARTER, RUN, tuple(s for s in STAGES if s not in ("register_files", "load_plans",
                                                                                  "load_statistics")))
    rows = _query(settings.published_db, "select indicator_code, is_received, is_overdue, received_from_file "
                                         "from bi.submission_status where region_code = ? and period = ? "
                                         "order by indicator_code", [REGION, QUARTER])
    missing = {code for code, received, overdue, _ in rows if not received}
    assert missing == {"SOC_ORGS_PER_10K", "CHA_DONATIONS"}  # left empty, and quarantined
    assert all(overdue for code, received, overdue, _ in rows if not received)  # due 2024-07-15
    assert {path for _, received, _, path in rows if received} == {"statistics/330100/330100_2024Q2_填报表.xlsx"}
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        subject, body = overdue_digest(con)  # type: ignore[misc]
    finally:
        con.close()
    assert subject.endswith("overdue for 2024Q2")
    line = next(x for x in body.splitlines() if x.startswith("330100"))
    assert line.endswith("CHA_DONATIONS, SOC_ORGS_PER_10K")
    report = (settings.reports_dir / f"progress_{QUARTER}.html").read_text(encoding="utf-8")
    assert "数据报送情况" in report and "CHA_DONATIONS, SOC_ORGS_PER_10K" in report


def test_the_cli_writes_a_form_for_a_quarter_after_the_loaded_plan_and_says_so(
        base: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import openpyxl

    from planwatch.run.cli import main

    monkeypatch.setenv("PLANWATCH_HOME", str(base.home))
    assert main(["forms", "--quarter", "2026Q1", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    # every region with plan rows: 330100 and the simulated 990100, each with its cover letter
    assert written == ["330100_2026Q1_填报表.xlsx", "330100_2026Q1_说明.txt",
                       "990100_2026Q1_填报表.xlsx", "990100_2026Q1_说明.txt"]
    assert capsys.readouterr().out.count(".xlsx") == 2
    ws = openpyxl.load_workbook(tmp_path / "330100_2026Q1_填报表.xlsx").worksheets[0]
    assert "no loaded plan covers 2026; the indicators are those of the 14th plan (2021–2025)" in ws["A2"].value
    assert "2026-04-15" in (tmp_path / "330100_2026Q1_说明.txt").read_text(encoding="utf-8")
    assert main(["form", "--region", "999999", "--quarter", "2026Q1", "--out", str(tmp_path)]) == 2
    assert "999999" in capsys.readouterr().err


def test_the_receipt_and_the_raw_suite_flag_the_same_stock_jumps(base: Settings,
                                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    """The receipt's "moved" sheet applies the raw suite's stock_quarter_jump rule (one predicate,
    expectations/suites/_common.py stock_jumped, one threshold): a stock sent at 1.1x its previous
    quarter is on neither, its revision to a fifth on both."""
    import openpyxl

    from planwatch.core.types import RunContext
    from planwatch.quality.validate import validate_raw

    home = tmp_path_factory.mktemp("jump") / "home"
    shutil.copytree(base.home, home)
    settings = Settings(home=home)
    previous = str(Quarter.parse(QUARTER).previous())
    ((code, value, unit),) = _query(settings.ingest_db, """
        select o.indicator_code, arg_max(o.value, o.file_seq), any_value(o.unit) from raw.stat_observations o
        join raw.indicators i on i.indicator_code = o.indicator_code and i.measure = 'stock'
        where o.region_code = ? and o.period = ? and o.breakdown = '' and o.value > 0
        group by o.indicator_code order by o.indicator_code limit 1""", [REGION, previous])
    (settings.statistics_dir / REGION).mkdir(parents=True, exist_ok=True)
    # a share: the jump goes down (to a fifth; the threshold is 3x either way), a jump up would leave 100 %
    for send, factor, expected in (("steady", 1.1, []), ("revised", 0.2, [(2, code)])):
        (settings.statistics_dir / REGION / f"{REGION}_{QUARTER}_{send}.csv").write_text(
            f"region_code,period,indicator_code,value,unit\n{REGION},{QUARTER},{code},{value * factor:g},{unit}\n",
            encoding="utf-8")
        run_stages(settings, QUARTER, RUN, ("register_files", "load_statistics"))
        (receipt,) = sorted((settings.reports_dir / "receipts").glob(f"{REGION}_{QUARTER}_{send}_*.xlsx"))
        moved = list(openpyxl.load_workbook(receipt)["变动较大 moved"].iter_rows(min_row=2, values_only=True))
        assert [(r[0], r[1]) for r in moved] == expected, send

        validate_raw(settings, RunContext(RUN, Quarter.parse(QUARTER)))
        ((sample,),) = _query(settings.ingest_db, "select sample from audit.dq_results where run_id = ? "
                                                  "and expectation = 'stock_quarter_jump'", [RUN])
        flagged = {(r["region_code"], r["indicator_code"], r["period"]) for r in json.loads(sample or "[]")}
        assert ((REGION, code, QUARTER) in flagged) == bool(expected), (send, flagged)
