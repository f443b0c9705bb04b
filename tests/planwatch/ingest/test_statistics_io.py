"""planwatch.ingest.statistics_io: DuckDB's CSV reader gives the loader the same rows as the Arrow split."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from planwatch.ingest.statistics_io import _read_plain_csv, _split_plain_csv, csv_lines, open_submission

HEADER = "region_code,period,indicator_code,value,unit"
TEXTS = {
    "blank and comma-only lines keep the numbering": f"{HEADER}\n1,2,3,4,5\n\n,,,,\n6,7,8,9,10\n",
    "short rows are padded, filled extra cells kept": f"{HEADER}\n1,2\n1,2,3,4,5,6,7\n1,2,3,4,5,,\n",
    "no final newline, spaces are not blank": f"{HEADER}\n \n1,2,3,4,5",
    "a byte-order mark and Chinese text": f"\ufeff{HEADER}\n320583,2024Q1,人口,1,万人\n",
}


@pytest.mark.parametrize("text", TEXTS.values(), ids=list(TEXTS))
def test_duckdb_reader_gives_the_arrow_split(text: str, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    read = _read_plain_csv(path, text, 5)
    assert read is not None
    assert read.equals(_split_plain_csv(text, 5))


def test_a_large_file_keeps_its_line_order(tmp_path: Path) -> None:
    lines = [f"{i},p{i % 7},c{i % 11},{i * 3},u" if i % 97 else "" for i in range(200_000)]
    text = HEADER + "\n" + "\n".join(lines) + "\n"
    path = tmp_path / "big.csv"
    path.write_text(text, encoding="utf-8")
    with duckdb.connect() as con:
        read = _read_plain_csv(path, text, 5, con)
    assert read is not None and read.num_rows == 200_000 - len(range(0, 200_000, 97))
    assert read.equals(_split_plain_csv(text, 5))
    assert read.column("line_no").to_pylist()[:3] == [3, 4, 5]  # line 2 (i = 0) is blank


def test_a_file_below_small_file_lines_is_split_in_arrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("planwatch.ingest.statistics_io.SMALL_FILE_LINES", 4)
    read: list[Path] = []
    monkeypatch.setattr("planwatch.ingest.statistics_io._read_plain_csv", lambda path, *_: read.append(path))
    for name, lines in (("small.csv", 3), ("large.csv", 4)):  # header and data lines, each ending in \n
        path = tmp_path / name
        path.write_text("".join(f"{HEADER}\n" if i == 0 else "1,2,3,4,5\n" for i in range(lines)), encoding="utf-8")
        sub = open_submission(path, name)
        assert sub.is_small == (lines < 4)
        assert sub.table().num_rows == lines - 1
    assert [p.name for p in read] == ["large.csv"]  # the small file never reached DuckDB's reader


def test_what_the_reader_would_count_differently_goes_to_arrow(tmp_path: Path) -> None:
    crlf = f"{HEADER}\r\n1,2,3,4,5\r\n\r\n6,7,8,9,10\r\n"
    path = tmp_path / "crlf.csv"
    path.write_bytes(crlf.encode("utf-8"))
    assert _read_plain_csv(path, crlf, 5) is None
    sub = open_submission(path, "crlf.csv")
    assert sub.table().column("line_no").to_pylist() == [2, 4]
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = false")
        assert _read_plain_csv(path, crlf.replace("\r", ""), 5, con) is None  # rows could come in any order


# open_submission: what a submitter's file turns into, or why it is refused (with the file's name).

def test_a_gb18030_export_is_decoded_and_its_rows_read(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"{HEADER}\n320583,2024Q1,人口,1.5,万人\n".encode("gb18030"))
    sub = open_submission(path, "raw/statistics/gbk.csv")
    assert sub.encoding == "gb18030"
    assert sub.header[:sub.data_width] == ["region_code", "period", "indicator_code", "value", "unit"]
    assert [cells for _, cells in sub.rows()] == [["320583", "2024Q1", "人口", "1.5", "万人"]]


def test_chinese_column_names_are_read_as_the_canonical_ones(tmp_path: Path) -> None:
    path = tmp_path / "zh.csv"
    path.write_text("地区代码,报告期,指标名称,数值,计量单位\n320583,2024Q1,养老床位数,120,张\n", encoding="utf-8")
    sub = open_submission(path, "zh.csv")
    assert sub.header[:5] == ["region_code", "period", "indicator_name", "value", "unit"]
    assert sub.table().column("c4").to_pylist() == ["张"]


@pytest.mark.parametrize("content, reason", [
    (b"", "is empty"),
    ("region_code,period,value,unit\n1,2024Q1,3,%\n".encode(), "lacks indicator_code or indicator_name"),
    ("\ufeffregion_code,period,value".encode("utf-16"), "is UTF-16 text"),
    ("region_code,period,indicator_name,value,unit\n".encode() + "1,2024Q1,人口,1,万人\n".encode("gb18030")
     + "2,2024Q1,人口,1,万人\n".encode("utf-8"), "mixes text encodings: line 3 is UTF-8 but line 2"),
    ("region_code,period,indicator_code,单位,计量单位,value\n".encode(), "more than once"),
])
def test_an_unreadable_file_is_refused_naming_the_file_and_the_reason(
        tmp_path: Path, content: bytes, reason: str) -> None:
    from planwatch.core.errors import FileRefused

    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(FileRefused, match=reason) as info:
        open_submission(path, "raw/statistics/320583/bad.csv")
    assert str(info.value).startswith("`file=raw/statistics/320583/bad.csv`: ")


def test_an_old_xls_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    from planwatch.core.errors import FileRefused

    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(FileRefused, match=r"old-style \.xls workbook \(open it in a spreadsheet program and save it as "
                                          r"\.xlsx or CSV\)"):
        open_submission(path, "old.xls")


def test_an_xlsx_sheet_is_read_like_the_csv(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["region_code", "period", "indicator_code", "value", "unit"])
    sheet.append(["320583", "2024Q1", "ELD_NURSING_BED_SHARE", 55.5, "%"])
    sheet.append([320583, 2024, "ELD_BEDS", 1200, "张"])  # numbers typed as numbers stay plain text
    book.save(tmp_path / "f.xlsx")
    sub = open_submission(tmp_path / "f.xlsx", "f.xlsx")
    rows = [cells for _, cells in sub.rows()]
    assert rows == [["320583", "2024Q1", "ELD_NURSING_BED_SHARE", "55.5", "%"],
                    ["320583", "2024", "ELD_BEDS", "1200", "张"]]
    assert sub.raw_text(3) == "320583,2024,ELD_BEDS,1200,张"


@pytest.mark.parametrize("text", [
    "", "a", "a\n", "a\r\nb", "a\rb\r", "a\r\r\nb\n\n", "\n\n", "\r", "a\n\rb",
    'region_code,value\r\n320583,"1\r\n2",x\r3\n"open',
])
def test_csv_lines_are_those_of_stringio(text: str) -> None:
    # The csv module's records and line numbers (the quarantine's) depend on how the text is cut into lines.
    assert list(csv_lines(text)) == list(io.StringIO(text, newline=""))

    def records(lines: object) -> list[object]:
        reader = csv.reader(lines)  # type: ignore[arg-type]
        out: list[object] = []
        try:
            for cells in reader:
                out.append((reader.line_num, cells))
        except csv.Error as exc:
            out.append(("error", str(exc), reader.line_num))
        return out

    assert records(csv_lines(text)) == records(io.StringIO(text, newline=""))
