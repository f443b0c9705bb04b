"""Tables printed as a stream of cells (one cell per line, or pipe-terminated cells).

Rows are found from the header's column roles: a row starts at the next sequence number (or, in
tables without one, at a name), its name may be broken over several cells, and it ends at the
attribute, at the next sequence number or at the next name. A cell that reads like a sentence ends
the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from planwatch.ingest.extract.header import HEADER_STARTS, TableSpec, is_header_text, parse_header
from planwatch.ingest.extract.rows import ATTRIBUTES, TableRow
from planwatch.ingest.extract.values import clean_value, is_missing, is_number

SENTENCE_RE = re.compile(r"[,，。;；:：!！?？]|^第.{1,3}[章节]|^[一二三四五六七八九十]+、|^[(（][一二三四五六七八九十]+[)）]")
MAX_NAME_CELL = 40


@dataclass(frozen=True)
class Cell:
    text: str
    pos: int  # 1-based line number (or 0-based offset in a one-line document)


@dataclass
class FoundTable:
    spec: TableSpec
    rows: list[TableRow]
    header_pos: int


def _kind(cell: Cell, units: list[str]) -> str:
    t = cell.text.strip()
    if not t:
        return "empty"
    if t in ATTRIBUTES:
        return "attribute"
    if is_number(t.replace(",", "")) or is_missing(t) or re.fullmatch(r"[\d.]*\*[\d.*]*", t):
        return "value"
    if t in units:
        return "unit"
    if SENTENCE_RE.search(t) or len(t) > MAX_NAME_CELL:
        return "prose"
    return "text"


def find_tables(cells: list[Cell], units: list[str]) -> list[FoundTable]:
    """Every table whose header is recognised in `cells`, with its rows."""
    tables: list[FoundTable] = []
    i = 0
    while i < len(cells):
        if cells[i].text.strip() not in HEADER_STARTS:
            i += 1
            continue
        j = i
        while j < len(cells) and (not cells[j].text.strip() or is_header_text(cells[j].text)):
            j += 1
        header = "".join(c.text for c in cells[i:j])
        title = next((c.text.strip() for c in reversed(cells[max(0, i - 4):i]) if c.text.strip()), "")
        spec = parse_header(header, title)
        if spec is None:
            i += 1
            continue
        rows, end = parse_rows(cells, j, spec, units)
        tables.append(FoundTable(spec, rows, cells[i].pos))
        i = max(end, j)
    return tables


def parse_rows(cells: list[Cell], start: int, spec: TableSpec, units: list[str]) -> tuple[list[TableRow], int]:
    rows: list[TableRow] = []
    kinds = [_kind(c, units) for c in cells]
    n = len(cells)
    i = start
    expected_seq = 1
    # the attribute closes a row when only a remark (or nothing) follows it in the header
    ends_at_attribute = spec.has("attribute") and all(
        r == "remark" for r in spec.roles[spec.roles.index("attribute") + 1:])

    def skip_empty(k: int) -> int:
        while k < n and kinds[k] == "empty":
            k += 1
        return k

    def next_is_name(k: int) -> bool:
        k = skip_empty(k)
        return k < n and kinds[k] == "text"

    while True:
        i = skip_empty(i)
        if i >= n:
            break
        row_start = i
        seq = ""
        seq_pos = 0
        category = ""
        if (spec.has("category") and spec.has("seq") and kinds[i] == "text"
                and spec.roles.index("category") < spec.roles.index("seq")):
            k = skip_empty(i + 1)
            if k < n and cells[k].text.strip() == str(expected_seq) and next_is_name(k + 1):
                category, seq, seq_pos = cells[i].text.strip(), str(expected_seq), cells[k].pos
                i = skip_empty(k + 1)
        if spec.has("seq") and not seq:
            if kinds[i] == "value" and cells[i].text.strip() == str(expected_seq) and next_is_name(i + 1):
                seq, seq_pos = cells[i].text.strip(), cells[i].pos
                i = skip_empty(i + 1)
            else:
                break
        if i >= n or kinds[i] != "text":
            break
        if spec.has("category") and not spec.has("seq"):
            k = skip_empty(i + 1)
            if k < n and kinds[k] == "text":
                category = cells[i].text.strip()
                i = k
        name_cells: list[Cell] = []
        while i < n and kinds[i] == "text":
            name_cells.append(cells[i])
            i += 1
        if not name_cells:
            break
        unit = ""
        k = skip_empty(i)
        if k < n and kinds[k] == "unit":
            unit = cells[k].text.strip()
            i = k + 1
        values: list[str] = []
        attribute = ""
        raw_values: list[str] = []
        while i < n:
            kind = kinds[i]
            text = cells[i].text.strip()
            if kind == "value":
                if spec.has("seq") and text == str(expected_seq + 1) and next_is_name(i + 1):
                    break
                values.append(clean_value(text))
                raw_values.append(text)
                i += 1
            elif kind == "empty":
                # an empty pipe cell is an empty value; blank lines between cells are not
                if isinstance(cells[i], PipeCell) and not attribute:
                    values.append("")
                    raw_values.append("")
                i += 1
            elif kind == "attribute" and not attribute:
                attribute = ATTRIBUTES[text]
                i += 1
                if ends_at_attribute:
                    break
            else:
                break
        first_pos = seq_pos if seq else name_cells[0].pos
        row = TableRow(kind=spec.kind, source_line=first_pos, seq=seq, category=category,
                       indicator_name="".join(c.text.strip() for c in name_cells), unit=unit,
                       attribute=attribute)
        place_values(row, spec, values)
        rows.append(row)
        expected_seq += 1
        if i == row_start:
            break
    return rows, i


@dataclass(frozen=True)
class PipeCell(Cell):
    """A cell of a pipe-terminated table: an empty one is an empty table cell, not a blank line."""


def place_values(row: TableRow, spec: TableSpec, values: list[str]) -> None:
    """Put the printed values in their columns; a row with too few or too many is flagged."""
    columns = spec.value_roles
    if spec.kind == "completion":
        columns = [c for c in columns if c != "baseline"] if len(values) < len(columns) else columns
    if len(values) == len(columns):
        pairs = list(zip(columns, values))
    elif len(values) == 1 and "target" in columns:
        pairs = [("target", values[0])]
        row.flag(f"one value for {len(columns)} columns ({', '.join(columns)}): read as the target")
    elif len(values) < len(columns):
        pairs = list(zip(columns, values))
        row.flag(f"{len(values)} values for {len(columns)} columns ({', '.join(columns)}): "
                 f"read left to right")
    else:
        pairs = []
        row.flag(f"{len(values)} values for {len(columns)} columns: values left empty")
    for column, value in pairs:
        row.values[column] = value
