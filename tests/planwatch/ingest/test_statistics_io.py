"""planwatch.ingest.statistics_io: DuckDB's CSV reader gives the loader the same rows as the Arrow split."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from planwatch.ingest.statistics_io import _read_plain_csv, _split_plain_csv, open_submission

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
