"""Open a statistics submission (.csv in UTF-8 or GB18030, or .xlsx) as numbered rows of text cells.

A file that cannot be read at all raises `FileRefused` with the reason and what to do; a file that
can be read yields every non-blank row with its line number (the spreadsheet row for .xlsx), so
that the loader can quarantine single rows and point at them.

Title rows above the header, Chinese column names, a planwatch form's hidden identity sheet and the
optional metadata columns are handled by planwatch.ingest.submission_layout: what it decides for the whole
file becomes constant columns (`constants`) and lineage notes (`notes`), never a changed figure.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

from typing import TYPE_CHECKING

from planwatch.core.errors import FileRefused
from planwatch.ingest.submission_layout import (
    CANONICAL_COLUMNS,
    FORM_SHEET,
    MAX_TITLE_ROWS,
    Identity,
    canonical_column,
    find_header,
    identity_from_form,
    identity_from_titles,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("region_code", "period", "value", "unit")  # reported_on and source may be absent
INDICATOR_COLUMNS = ("indicator_code", "indicator_name")  # at least one of them
OPTIONAL_COLUMNS = ("breakdown", "numerator", "denominator")
DATA_SUFFIXES = (".csv", ".xlsx", ".xls")

_FORMAT_HINT = "see raw/README.md for the submission format"

# A file with fewer lines is read by the Arrow split and judged by the row-by-row rules alone:
# DuckDB's CSV reader and the clean-row query cost about 7 + 10 ms of CPU a file whatever its size,
# more than the split and the rules take below 1,000-5,000 lines (bench/README.md, sixth pass).
SMALL_FILE_LINES = 1000
# Rows made in Python (cells split by the csv module here; rows the loader judged one by one, quarantined
# rows, the catalog) up to this many reach DuckDB as list parameters; more as an Arrow table, which is
# faster then. pyarrow imports pandas for its first array made from Python values, and an incremental
# load otherwise makes none: 0.25-0.45 s of CPU (bench/README.md, fourteenth pass).
LIST_PARAMS_MAX_ROWS = SMALL_FILE_LINES  # a small file's rows at most


@dataclass
class Submission:
    """A readable submission: its normalised header, how it was decoded, and its rows."""

    path: Path
    display_path: str
    header: list[str]
    encoding: str
    _rows: Iterator[tuple[int, list[str]]]
    _lines: list[str] | None = None
    _text: str | None = None
    _xlsx_rows: dict[int, list[str]] = field(default_factory=dict)
    header_line: int = 1
    titles: list[str] = field(default_factory=list)  # text of the rows above the header
    form: Identity | None = None  # the identity sheet of a planwatch form
    constants: dict[str, str] = field(default_factory=dict)  # columns absent from the file, one value for all rows
    notes: list[str] = field(default_factory=list)  # what was decided for the whole file (lineage)
    identity_problems: list[str] = field(default_factory=list)  # why region or period could not be decided

    @property
    def data_width(self) -> int:
        """Columns the file itself has (the header's cells), before the constant columns."""
        return len(self.header) - len(self.constants)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) for every row after the header that has at least one non-empty cell."""
        return self._rows

    def raw_text(self, line_no: int) -> str:
        """The row exactly as it stands in the file (for .xlsx: its cells joined by commas)."""
        if self._text is not None:
            if self._lines is None:
                self._lines = self._text.split("\n")
            if 1 <= line_no <= len(self._lines):
                return self._lines[line_no - 1].rstrip("\r")
            return ""
        return ",".join(self._xlsx_rows.get(line_no, []))

    def column_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.header) if name}

    @cached_property
    def is_small(self) -> bool:
        """Fewer than SMALL_FILE_LINES lines (rows of an .xlsx): read and judged in Python, where
        DuckDB's fixed cost per statement would exceed the work."""
        if self._text is None:
            return len(self._xlsx_rows) < SMALL_FILE_LINES
        at = -1
        for _ in range(SMALL_FILE_LINES):  # the first lines only: a county file has 267,900
            at = self._text.find("\n", at + 1)
            if at < 0:
                return True
        return False

    def table(self, con: "duckdb.DuckDBPyConnection | None" = None) -> "pa.Table":
        """Every non-blank row as columns: `line_no`, `ncells`, `extra` (cells past the header's width,
        comma-joined, '' when none are filled) and `c0`…`c{n-1}` (text cells in header order, '' when absent).

        A plain CSV (no quotes, no lone carriage returns) is read by DuckDB's CSV reader when it is
        UTF-8 with plain line feeds and not small (`is_small`), else split by Arrow (a small one only
        without `con`), both without a Python loop; anything else goes through the csv module, which
        follows quoting and multi-line records. `con` is the DuckDB connection to read with (the
        loader's; a new in-memory one when None)."""
        import pyarrow as pa

        width = self.data_width
        text = self._text
        # A small file with a connection to read it goes through the loop below, as list parameters:
        # the Arrow split's first array would import pandas (LIST_PARAMS_MAX_ROWS), DuckDB's reader
        # costs more than the loop for a few lines.
        if text is not None and self.header_line == 1 and '"' not in text \
                and ("\r" not in text or text.count("\r") == text.count("\r\n")) \
                and not (con is not None and self.is_small):
            read = _read_plain_csv(self.path, text, width, con) \
                if self.encoding in ("utf-8", "utf-8-sig") and not self.is_small else None
            return _with_constants(read if read is not None else _split_plain_csv(text, width), self.constants, width)
        line_nos: list[int] = []
        ncells: list[int] = []
        extras: list[str] = []
        columns: list[list[str]] = [[] for _ in range(width)]
        for line_no, cells in self.rows():
            line_nos.append(line_no)
            ncells.append(len(cells))
            extras.append(",".join(cells[width:]) if any(cells[width:]) else "")
            for i in range(width):
                columns[i].append(cells[i] if i < len(cells) else "")
        if con is not None and len(line_nos) <= LIST_PARAMS_MAX_ROWS:
            cells = ", ".join(f"unnest(?::varchar[]) as c{i}" for i in range(width))
            cursor = con.cursor()  # con.sql refuses while the caller's connection has a result open
            try:
                table = cursor.sql(f"select unnest(?::bigint[]) as line_no, unnest(?::integer[]) as ncells, "
                                   f"unnest(?::varchar[]) as extra{', ' if width else ''}{cells}",
                                   params=[line_nos, ncells, extras, *columns]).to_arrow_table()
            finally:
                cursor.close()
            return _with_constants(table.cast(_cells_schema(width)), self.constants, width)
        arrays = {"line_no": pa.array(line_nos, pa.int64()), "ncells": pa.array(ncells, pa.int32()),
                  "extra": pa.array(extras, pa.string())}
        arrays.update({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
        return _with_constants(pa.table(arrays), self.constants, width)


def _with_constants(table: "pa.Table", constants: dict[str, str], width: int) -> "pa.Table":
    """Append the constant columns as c{width}, c{width+1}, … in the order of `constants`."""
    import pyarrow as pa

    for i, value in enumerate(constants.values()):
        table = table.append_column(f"c{width + i}", pa.array([value] * table.num_rows, pa.string()))
    return table


def _plain_csv_sql(width: int) -> str:
    """The rows of `_split_plain_csv`, from DuckDB's reader: each line whole (a delimiter that is not in
    the file), numbered in file order (blank lines come as NULL and keep their number), split at commas."""
    cells = ", ".join(f"coalesce(parts[{i + 1}], '') as c{i}" for i in range(width))
    return f"""
        select line_no, len(parts)::integer as ncells,
               case when len(parts) > {width} and array_to_string(parts[{width + 1}:], '') <> ''
                    then array_to_string(parts[{width + 1}:], ',') else '' end as extra,
               {cells}
        from (select row_number() over () + 1 as line_no, line, string_split(line, ',') as parts
              from read_csv(?, delim = chr(1), quote = '', escape = '', header = false, skip = 1,
                            new_line = '\\n', columns = {{'line': 'VARCHAR'}}, auto_detect = false))
        where replace(line, ',', '') <> ''
    """


def _read_plain_csv(path: Path, text: str, width: int,
                    con: "duckdb.DuckDBPyConnection | None" = None) -> "pa.Table | None":
    """A plain UTF-8 CSV with line feeds only, read by DuckDB's parallel CSV reader: the same table as
    `_split_plain_csv` (tests/planwatch/ingest/test_statistics_io.py), in about half its time
    (bench/README.md). None when the text has what the reader would count differently (a carriage
    return, the \\x01 it uses as delimiter), when `con` may reorder rows, or when the reader fails:
    the caller splits in Arrow then."""
    import duckdb

    if "\r" in text or "\x01" in text:
        return None
    own = con is None
    reader = duckdb.connect() if con is None else con
    try:
        ordered = reader.execute("select current_setting('preserve_insertion_order')").fetchall()
        if not (ordered and ordered[0][0]):
            return None  # the rows' order is their line number
        table = reader.sql(_plain_csv_sql(width), params=[str(path)]).to_arrow_table()
    except duckdb.Error as exc:
        log.info("`file=%s`: DuckDB's CSV reader failed (%s); split in Arrow instead", path, exc)
        return None
    finally:
        if own:
            reader.close()
    return table.cast(_cells_schema(width))


def _cells_schema(width: int) -> "pa.Schema":
    import pyarrow as pa

    return pa.schema([("line_no", pa.int64()), ("ncells", pa.int32()), ("extra", pa.string())]
                     + [(f"c{i}", pa.string()) for i in range(width)])


def _split_plain_csv(text: str, width: int) -> "pa.Table":
    import pyarrow as pa
    import pyarrow.compute as pc

    import numpy as np

    # Split inside Arrow: no Python string per line.
    lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
    body = pc.cast(lines.slice(1), pa.string())
    if "\r" in text:
        body = pc.replace_substring_regex(body, "\r$", "")
    line_no = pa.array(np.arange(2, len(lines) + 1, dtype=np.int64))
    nonblank = pc.not_equal(pc.replace_substring(body, ",", ""), "")
    body, line_no = body.filter(nonblank), line_no.filter(nonblank)
    ncells = pc.add(pc.count_substring(body, ","), 1)
    # Padding with commas makes every row at least `width` cells long, so short rows read as ''.
    parts = pc.split_pattern(pc.binary_join_element_wise(body, "," * width, ""), ",")
    arrays = {"line_no": line_no, "ncells": pc.cast(ncells, pa.int32())}
    extra = [""] * len(body)
    for i in pc.indices_nonzero(pc.greater(ncells, width)).to_pylist():
        cells = body[i].as_py().split(",")[width:]
        extra[i] = ",".join(cells) if any(cells) else ""
    arrays["extra"] = pa.array(extra, pa.string())
    for i in range(width):
        arrays[f"c{i}"] = pc.list_element(parts, i)
    return pa.table(arrays)


def normalize_header(cell: str) -> str:
    """`Region Code ` → `region_code`, `计量单位` → `unit`; a BOM or full-width characters do not matter."""
    return canonical_column(cell)


def _complete_header(sub: Submission, region_names: dict[str, str] | None) -> None:
    """Fill in, as constant columns, what a form, a report's title rows or the file's name say for
    the whole file: region and period (form or title), reported_on (empty) and source (file name)."""
    present = set(sub.header)
    ident = sub.form or (identity_from_titles(sub.titles, region_names or {}) if sub.titles else None)
    added: dict[str, str] = {}
    if ident is not None:
        for column in ("region_code", "period"):
            value = getattr(ident, column)
            if column not in present and value:
                added[column] = value
        if added:
            sub.notes.extend(ident.notes)
    if "reported_on" not in present:
        added["reported_on"] = ""
    if "source" not in present:
        origin = f"{ident.notes[0]}, " if sub.form is not None and ident is not None else ""
        added["source"] = f"{origin}file {sub.path.name}"[:200]
        sub.notes.append("source from the file name")
    sub.constants = added
    sub.header = sub.header + list(added)
    sub.identity_problems = ident.problems if ident is not None else []


def check_header(sub: Submission) -> None:
    """Refuse a file whose header lacks a required column (the usual sign of a wrong file or encoding),
    or names one twice (`单位` and `计量单位`): which of the two holds the figure would be a guess."""
    present = set(sub.header)
    named = [h for h in sub.header[:sub.data_width] if h in CANONICAL_COLUMNS]
    twice = sorted({h for h in named if named.count(h) > 1})
    if twice:
        raise FileRefused(sub.display_path, f"row {sub.header_line} names the column(s) {', '.join(twice)} more than once "
                          "(e.g. both 单位 and 计量单位)", "keep one column of each; " + _FORMAT_HINT)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if not any(c in present for c in INDICATOR_COLUMNS):
        missing.append("indicator_code or indicator_name")
    if missing:
        shown = ", ".join(h for h in sub.header[:sub.data_width] if h)[:200] or "(nothing)"
        problems = "; ".join(sub.identity_problems)
        where = f"row {sub.header_line}" if sub.header_line != 1 else "the header row"
        hint = f"the first row must name the columns; {_FORMAT_HINT}"
        if {"region_code", "period"} & set(missing) and not ({"value", "unit"} & set(missing)):
            hint = ("add region_code and period columns, or name the quarter and the region in the title row "
                    f"(e.g. 2024年第一季度民政统计报表(晋江市)){'; ' + problems if problems else ''}; {_FORMAT_HINT}")
        raise FileRefused(
            sub.display_path,
            f"{where} lacks {', '.join(missing)}; it has: {shown}",
            hint,
        )


def open_submission(path: Path, display_path: str, region_names: dict[str, str] | None = None) -> Submission:
    """Open `path` for reading rows, or raise FileRefused saying why it cannot be read.

    `region_names` (Chinese name → code) lets a report without a region column name its region in
    the title row."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise FileRefused(display_path, "is an old-style .xls workbook", "open it in a spreadsheet program and save it as .xlsx or CSV")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRefused(display_path, f"cannot be read ({exc.strerror or exc})", "check that the file exists and is readable") from exc
    if not data.strip():
        raise FileRefused(display_path, "is empty", "export the sheet again; an empty file carries no figures")
    sub = _open_xlsx(path, display_path, data) if suffix == ".xlsx" else _open_csv(path, display_path, data)
    _complete_header(sub, region_names)
    check_header(sub)
    return sub


def _decode(data: bytes, display_path: str) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileRefused(display_path, f"starts with a UTF-8 mark but byte {exc.start + 3} is not UTF-8",
                              "save it again as CSV UTF-8") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise FileRefused(display_path, "is UTF-16 text (Excel's 'Unicode text'), which is not accepted",
                          "save it as 'CSV UTF-8' or as .xlsx")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRefused(display_path, f"is neither UTF-8 nor GB18030 text (undecodable byte at offset {exc.start})",
                          "save it as 'CSV UTF-8' or as .xlsx") from exc
    _refuse_mixed_encodings(data, display_path)
    return text, "gb18030"


def _refuse_mixed_encodings(data: bytes, display_path: str) -> None:
    """Refuse a file that is not UTF-8 as a whole but has lines of Chinese text in UTF-8: pasted together
    from two exports, it would otherwise be read as GB18030 and its UTF-8 lines would load as mojibake."""
    utf8_line = other_line = 0
    for no, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            other_line = other_line or no
            continue
        # GB18030 bytes are seldom valid UTF-8, and then not as CJK characters (U+4E00-U+9FFF)
        if any("\u4e00" <= ch <= "\u9fff" for ch in decoded):
            utf8_line = utf8_line or no
    if utf8_line and other_line:
        raise FileRefused(display_path, f"mixes text encodings: line {utf8_line} is UTF-8 but line {other_line} "
                          "is not (probably GB18030), as when two exports are pasted together",
                          "open it, fix the garbled lines and save the whole file once as 'CSV UTF-8'")


# A line as io.StringIO(text, newline="") gives it: up to and with \r\n, \r or \n, or the unterminated end.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def csv_lines(text: str) -> Iterator[str]:
    """The lines of `text` for csv.reader, as io.StringIO(text, newline="") yields them, one at a time:
    finding the header of a 25 MB file needs its first lines, not a copy of the whole text (0.07 s)."""
    return (match.group() for match in _LINE.finditer(text))


def _open_csv(path: Path, display_path: str, data: bytes) -> Submission:
    text, encoding = _decode(data, display_path)
    reader = csv.reader(csv_lines(text))
    # The first records, with the line each starts on, to find a header below title rows.
    head: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for cells in reader:
            head.append((start, cells))
            start = reader.line_num + 1
            if len(head) > MAX_TITLE_ROWS:
                break
    except csv.Error as exc:
        raise FileRefused(display_path, f"line {reader.line_num} is not CSV ({exc})", _FORMAT_HINT) from exc
    if not head:
        raise FileRefused(display_path, "is empty", "export the sheet again")
    at = find_header([cells for _, cells in head])
    header_line, header = head[at]
    titles = [" ".join(c for c in cells if c.strip()) for _, cells in head[:at] if any(c.strip() for c in cells)]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for line, cells in head[at + 1:]:
            if any(cells):
                yield line, cells
        start = reader.line_num + 1
        try:
            for cells in reader:
                # A record may span lines (a quoted newline); report the line on which it starts.
                if any(cells):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error as exc:
            raise FileRefused(display_path, f"line {reader.line_num} is not valid CSV ({exc})",
                              "fix the quoting on that line or export the file again") from exc

    return Submission(path, display_path, [normalize_header(h) for h in header], encoding, rows(), _text=text,
                      header_line=header_line, titles=titles)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores 320583 and 2023 as floats; a code must not become "320583.0".
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _show_unsaved_formulas(data: bytes, table: list[list[str]]) -> None:
    """A formula whose result was never saved (a file written by a script, not by Excel) reads as an empty
    cell, which would pass for "no figure": put the formula text in its place so the row is quarantined
    naming it (planwatch.core.normalize refuses a value that starts with `=`)."""
    import zipfile

    import openpyxl

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        if not any(b"<f" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")):
            return
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for r, row in enumerate(wb.worksheets[0].iter_rows(values_only=True)):
            for c, value in enumerate(row):
                if isinstance(value, str) and value.startswith("=") and r < len(table) and c < len(table[r]) \
                        and table[r][c] == "":
                    table[r][c] = value
    finally:
        wb.close()


def _open_xlsx(path: Path, display_path: str, data: bytes) -> Submission:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheets = wb.worksheets
            if not sheets:
                raise FileRefused(display_path, "is a workbook without sheets", "export the sheet again")
            table = [[_cell_text(v) for v in row] for row in sheets[0].iter_rows(values_only=True)]
            form_sheet = next((ws for ws in sheets[1:] if ws.title == FORM_SHEET), None)
            form = identity_from_form([[_cell_text(v) for v in row] for row in form_sheet.iter_rows(values_only=True)]) \
                if form_sheet is not None else None
            ignored = [ws.title for ws in sheets[1:] if ws.max_row and ws.max_row > 1 and ws.title != FORM_SHEET]
        finally:
            wb.close()
        _show_unsaved_formulas(data, table)
    except FileRefused:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, EOFError, OSError, ValueError) as exc:
        raise FileRefused(display_path, f"cannot be opened as an .xlsx workbook ({type(exc).__name__}: {exc})",
                          "the file is probably truncated or not really .xlsx; export it again") from exc
    if ignored:
        log.warning("`file=%s`: only the first sheet is read; sheets %s are ignored", display_path, ignored)
    if not table:
        raise FileRefused(display_path, "has an empty first sheet", "put the submission on the first sheet")
    at = find_header(table)
    titles = [" ".join(c for c in cells if c.strip()) for cells in table[:at] if any(c.strip() for c in cells)]
    by_line = {i: cells for i, cells in enumerate(table, start=1)}
    rows = ((i, cells) for i, cells in by_line.items() if i > at + 1 and any(cells))
    return Submission(path, display_path, [normalize_header(h) for h in table[at]], "xlsx", rows, _xlsx_rows=by_line,
                      header_line=at + 1, titles=titles, form=form)
