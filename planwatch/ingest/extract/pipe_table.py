"""Layout 'pipe table': each cell on its own line, terminated by ' |'; a line '|' or '||' holds
empty cells (an empty remark, or a cell merged with the one above)."""

from __future__ import annotations

from planwatch.ingest.extract.cells import Cell, FoundTable, PipeCell, find_tables


def cells_of(lines: list[str]) -> list[Cell]:
    cells: list[Cell] = []
    for no, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if "|" not in text:
            cells.append(Cell(text, no))
            continue
        parts = text.split("|")
        if parts and parts[-1].strip() == "":
            parts = parts[:-1]  # the terminator of the last cell
        cells.extend(PipeCell(p.strip(), no) for p in parts)
    return cells


def looks_like(lines: list[str]) -> bool:
    """More than a handful of short lines end in '|'."""
    return sum(1 for line in lines if line.rstrip().endswith("|") and len(line.strip()) < 60) >= 5


def parse(lines: list[str], units: list[str]) -> list[FoundTable]:
    return find_tables(cells_of(lines), units)
