"""The bad-input corpus: files shaped like real submissions gone wrong, written at test time.

Each case is a file name, a way to write it, and the outcome the pipeline promises:
`refused` (the ledger says `refused` with the reason, nothing of the file is loaded), `quarantined`
(the file loads; the named rows go to raw.stat_quarantine with the reason code, values outside the
catalog bounds among them), `blocked` (the rows load but contradict themselves: the raw_statistics
suite fails with an error naming file and line, so the quarter is not published until a corrected
file arrives), `loaded` (odd but valid: every row
loads) or `not_registered` (never read). Nothing large is committed: the 200 MB file of
test_bad_input.py is generated there, behind the `slow` marker.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HEADER = "region_code,period,indicator_code,indicator_name,breakdown,value,unit,numerator,denominator,reported_on,source"
GOOD = "330100,2024Q2,ELD_NURSING_BED_SHARE,,,57.5,%,5750,10000,2024-07-20,杭州市民政局"
GOOD_NAME = "330100,2024Q2,,护理型床位占比,urban,58,%,,,2024-07-20,杭州市民政局"
GOOD_COUNT = "330100,2024Q2,AST_APPROVAL_DAYS,,,16,天,,,2024-07-20,杭州市民政局"


def _csv(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


@dataclass(frozen=True)
class Case:
    name: str
    write: Callable[[Path], None]
    outcome: str  # refused | quarantined | blocked | loaded | not_registered
    expect: str = ""  # a phrase of the ledger error (refused) or the check name (blocked)
    reasons: dict[int, str] = field(default_factory=dict)  # line -> reason code (quarantined)
    loaded: int = 0  # rows that must load


def text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda p: p.write_bytes(content.encode(encoding))


def raw(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def xlsx(rows: list[list[object]], merge: str | None = None) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        for row in rows:
            ws.append(row)
        if merge:
            ws.merge_cells(merge)
        wb.save(path)
    return write


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def truncated_xlsx(path: Path) -> None:
    path.write_bytes(_xlsx_bytes([HEADER.split(","), GOOD.split(",")])[:700])


def mixed_encoding(path: Path) -> None:
    utf8 = _csv(GOOD, "330100,2024Q1,ELD_NURSING_BED_SHARE,,,57,%,,,2024-04-20,杭州市民政局").encode("utf-8")
    gbk = "330100,2023Q4,ELD_NURSING_BED_SHARE,,,56,%,,,2024-01-20,杭州市民政局\n".encode("gb18030")
    path.write_bytes(utf8 + gbk)


def symlink_outside(path: Path) -> None:
    outside = path.parents[4] / "outside_raw" / "secret.csv"  # <home>/outside_raw, a sibling of raw/
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_text(_csv(GOOD), encoding="utf-8")
    os.symlink(outside, path)


HEADER_CELLS = HEADER.split(",")
GOOD_CELLS: list[object] = ["330100", "2024Q2", "ELD_NURSING_BED_SHARE", None, None, 57.5, "%", 5750, 10000,
                            "2024-07-20", "杭州市民政局"]

CASES: list[Case] = [
    # --- encodings ---------------------------------------------------------------------------------
    Case("utf16_excel_unicode_text.csv", raw(codecs.BOM_UTF16_LE + _csv(GOOD).encode("utf-16-le")), "refused",
         "UTF-16"),
    Case("mixed_utf8_and_gbk_lines.csv", mixed_encoding, "refused", "mix"),
    Case("big5_indicator_names.csv", text(_csv(GOOD.replace("杭州市民政局", "x"),
                                               "330100,2024Q2,,護理型床位占比,urban,58,%,,,2024-07-20,x"), "big5"),
         "quarantined",
         reasons={3: "unknown_indicator"}, loaded=1),
    Case("utf8_with_bom.csv", raw(codecs.BOM_UTF8 + _csv(GOOD, GOOD_NAME).encode()), "loaded", loaded=2),
    Case("gb18030_names.csv", text(_csv(GOOD, GOOD_NAME), "gb18030"), "loaded", loaded=2),
    Case("undecodable_bytes.csv", raw(_csv(GOOD).encode() + b"\x80\xff\xfe\x81\n"), "refused", "neither UTF-8 nor GB18030"),
    # --- spreadsheets ------------------------------------------------------------------------------
    # A title above a recognisable header is skipped (lines keep their numbers in the sheet).
    Case("merged_title_cells.xlsx", xlsx([["杭州市2024年第二季度民政统计"] + [None] * 10, HEADER_CELLS, GOOD_CELLS],
                                         merge="A1:K1"), "loaded", loaded=1),
    Case("extra_title_rows.xlsx", xlsx([["民政统计季报"], ["填报单位：杭州市民政局"], HEADER_CELLS, GOOD_CELLS]),
         "loaded", loaded=1),
    Case("title_rows_above_no_header.xlsx", xlsx([["民政统计季报"], ["填报单位：杭州市民政局"], GOOD_CELLS]),
         "refused", "header"),
    # The wide layout of a statistical report: region and period from the title, indicators as rows.
    Case("wide_report_layout.xlsx", xlsx([["2024年第二季度民政统计报表(杭州市)"], [],
                                          ["指标名称", "计量单位", "本期", "上年同期", "备注"],
                                          ["护理型床位占比", "%", "57.5", 55, None],
                                          ["社会救助审批时限", "天", 16, 18, "按工作日计"],
                                          ["慈善捐赠额", "万元", "待核实", 30, None]]),
         "quarantined", reasons={6: "not_a_number"}, loaded=2),
    Case("wide_report_without_period.csv", text("民政统计报表(杭州市)\n指标名称,计量单位,本期\n护理型床位占比,%,57.5\n"),
         "refused", "name the quarter and the region in the title row"),
    Case("wide_report_naming_two_regions.csv",
         text("2024年第二季度民政统计报表(杭州市、模拟市)\n指标名称,计量单位,本期\n护理型床位占比,%,57.5\n"),
         "refused", "several regions"),
    Case("formulas_not_values.xlsx", xlsx([HEADER_CELLS, GOOD_CELLS,
                                           ["330100", "2024Q1", "ELD_NURSING_BED_SHARE", None, None, "=F2+0.5", "%",
                                            None, None, "2024-04-20", "杭州市民政局"]]),
         "quarantined", reasons={3: "not_a_number"}, loaded=1),
    Case("truncated_download.xlsx", truncated_xlsx, "refused", "cannot be opened as an .xlsx"),
    Case("csv_named_xlsx.xlsx", text(_csv(GOOD)), "refused", "cannot be opened as an .xlsx"),
    Case("old_excel_97.xls", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512), "refused", ".xls"),
    # --- empty and header-only ---------------------------------------------------------------------
    Case("empty.csv", raw(b""), "refused", "is empty"),
    Case("blank_lines_only.csv", raw(b"\r\n\r\n   \r\n"), "refused", "is empty"),
    Case("header_only.csv", text(HEADER + "\n"), "refused", "no data rows"),
    Case("header_lacks_value_column.csv", text("region_code,period,indicator_code,unit,reported_on,source\n"
                                               "330100,2024Q2,ELD_NURSING_BED_SHARE,%,2024-07-20,x\n"),
         "refused", "lacks value"),
    # --- numbers -----------------------------------------------------------------------------------
    Case("huge_numeric_strings.csv", text(_csv(GOOD, "330100,2024Q1,ELD_NURSING_BED_SHARE,,,"
                                                + "9" * 400 + ",%,,,2024-04-20,x",
                                                "330100,2024Q1,CHA_DONATIONS,,,1e400,万元,,,2024-04-20,x")),
         "quarantined", reasons={3: "not_a_number", 4: "not_a_number"}, loaded=1),
    Case("nan_and_infinity.csv", text(_csv(GOOD, "330100,2024Q1,ELD_NURSING_BED_SHARE,,,NaN,%,,,2024-04-20,x",
                                           "330100,2023Q4,ELD_NURSING_BED_SHARE,,,inf,%,,,2024-01-20,x",
                                           "330100,2023Q3,ELD_NURSING_BED_SHARE,,,-Infinity,%,,,2023-10-20,x")),
         "quarantined", reasons={3: "not_a_number", 4: "not_a_number", 5: "not_a_number"}, loaded=1),
    # Implausible figures wait in quarantine for a correction (Catalog.bound_violation): one typo must
    # not hold back the whole quarter.
    Case("negative_count.csv", text(_csv("330100,2023Q3,AST_APPROVAL_DAYS,,,-3,天,,,2023-10-20,x")), "quarantined",
         reasons={2: "outside_bounds"}),
    Case("percentage_above_100.csv", text(_csv("330100,2024Q2,COM_SERVICE_COVERAGE,,,130,%,,,2024-07-20,x")),
         "quarantined", reasons={2: "outside_bounds"}),
    Case("fractional_count.csv", text(_csv("330100,2024Q1,AST_APPROVAL_DAYS,,,16.5,天,,,2024-04-20,x")),
         "quarantined", reasons={2: "outside_bounds"}),
    # A share that disagrees with its own numerator and denominator is plausible on its face: it loads,
    # and the raw suite stops the publish, naming file and line, until a corrected file arrives.
    Case("ratio_disagrees_with_its_components.csv",
         text(_csv("330100,2022Q2,ELD_NURSING_BED_SHARE,,,57.5,%,4000,10000,2022-07-20,x")),
         "blocked", "ratio_matches_components"),
    Case("value_with_unquoted_thousands_comma.csv", text(_csv(GOOD, "330100,2024Q1,CHA_DONATIONS,,,1,250,万元,,,2024-04-20,x")),
         "quarantined", reasons={3: "malformed_row"}, loaded=1),
    Case("unit_that_does_not_convert.csv", text(_csv(GOOD, "330100,2024Q1,ELD_NURSING_BED_SHARE,,,57,张,,,2024-04-20,x")),
         "quarantined", reasons={3: "unit_not_convertible"}, loaded=1),
    # --- periods -----------------------------------------------------------------------------------
    # A quarter's (or year's) last day is read as the quarter; any other date is refused.
    Case("dates_instead_of_periods.csv", text(_csv(GOOD, "330100,2024-03-31,ELD_NURSING_BED_SHARE,,,57,%,,,2024-04-20,x",
                                                   "330100,2023/12/31,ELD_NURSING_BED_SHARE,,,56,%,,,2024-01-20,x",
                                                   "330100,2023年4季度,ELD_NURSING_BED_SHARE,,,56,%,,,2024-01-20,x")),
         "quarantined", reasons={5: "bad_period"}, loaded=3),
    Case("date_not_a_quarter_end.csv", text(_csv(GOOD, "330100,2024-03-15,ELD_NURSING_BED_SHARE,,,57,%,,,2024-04-20,x",
                                                 "330100,2024-03-31,ELD_NURSING_BED_SHARE,,,57,%,,,2024-04-20,x",
                                                 "330100,2024Q1,ELD_NURSING_BED_SHARE,,,57,%,,,2024-04-20,x")),
         "quarantined", reasons={3: "bad_period", 5: "duplicate_in_file"}, loaded=2),
    Case("period_in_the_future.csv", text(_csv(GOOD, "330100,2031Q1,ELD_NURSING_BED_SHARE,,,70,%,,,2031-04-20,x")),
         "quarantined", reasons={3: "future_period"}, loaded=1),
    Case("reported_on_not_a_date.csv", text(_csv(GOOD, "330100,2024Q1,ELD_NURSING_BED_SHARE,,,57,%,,,下周一,x")),
         "quarantined", reasons={3: "bad_date"}, loaded=1),
    # --- codes and names ---------------------------------------------------------------------------
    Case("unknown_and_malformed_regions.csv", text(_csv(GOOD, "999999,2024Q2,ELD_NURSING_BED_SHARE,,,50,%,,,2024-07-20,x",
                                                        "33010,2024Q2,ELD_NURSING_BED_SHARE,,,50,%,,,2024-07-20,x",
                                                        "330100.0,2024Q2,ELD_NURSING_BED_SHARE,,,50,%,,,2024-07-20,x",
                                                        "杭州市,2024Q2,ELD_NURSING_BED_SHARE,,,50,%,,,2024-07-20,x")),
         "quarantined", reasons={3: "unknown_region", 4: "unknown_region", 5: "unknown_region", 6: "unknown_region"},
         loaded=1),
    Case("indicator_name_matches_no_alias.csv", text(_csv(GOOD, "330100,2024Q2,,养老床位护理型比例（新口径）,,50,%,,,2024-07-20,x")),
         "quarantined", reasons={3: "unknown_indicator"}, loaded=1),
    Case("unknown_indicator_code.csv", text(_csv(GOOD, "330100,2024Q2,ELD_NURSING_BEDS_SHARE,,,50,%,,,2024-07-20,x")),
         "quarantined", reasons={3: "unknown_indicator"}, loaded=1),
    Case("duplicated_rows.csv", text(_csv(GOOD, GOOD, GOOD_COUNT)), "quarantined", reasons={3: "duplicate_in_file"},
         loaded=2),
    Case("bad_breakdown.csv", text(_csv(GOOD, "330100,2024Q2,ELD_NURSING_BED_SHARE,,郊区,50,%,,,2024-07-20,x")),
         "quarantined", reasons={3: "bad_breakdown"}, loaded=1),
    # --- columns ---------------------------------------------------------------------------------------
    # Only the columns that carry figures, in any order, plus remarks: the file's name is the source.
    Case("only_figure_columns_any_order.csv", text("value,unit,indicator_code,备注,period,region_code\n"
                                                   "57.5,%,ELD_NURSING_BED_SHARE,核实,2024Q2,330100\n"
                                                   "16,天,AST_APPROVAL_DAYS,,2024Q2,330100\n"), "loaded", loaded=2),
    Case("unit_column_twice.csv", text("region_code,period,indicator_code,value,单位,计量单位\n"
                                       "330100,2024Q2,AST_APPROVAL_DAYS,16,天,日\n"), "refused", "more than once"),
    Case("csv_title_row_above_header.csv", text("杭州市2024年第二季度民政统计,,,\n" + _csv(GOOD)), "loaded", loaded=1),
    # --- paths -------------------------------------------------------------------------------------
    Case("submission with spaces 2024 Q2.csv", text(_csv(GOOD_COUNT)), "loaded", loaded=1),
    Case("杭州市民政局_2024年第二季度.csv", text(_csv(GOOD_NAME)), "loaded", loaded=1),
    Case("symlink_to_outside_raw.csv", symlink_outside, "not_registered"),
]


def write_corpus(statistics_dir: Path, cases: list[Case] = CASES) -> dict[str, Case]:
    """Write every case into its own folder under `statistics_dir` (so identical bytes stay separate files)."""
    written = {}
    for i, case in enumerate(cases):
        folder = statistics_dir / "corpus" / f"{i:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        case.write(folder / case.name)
        written[f"statistics/corpus/{i:02d}/{case.name}"] = case
    return written
