"""Layout 'one cell per line': a table pasted from a web page or a word processor, each cell on
its own line (names may continue on the next line)."""

from __future__ import annotations

from planwatch.ingest.extract.cells import Cell, FoundTable, find_tables


def cells_of(lines: list[str]) -> list[Cell]:
    return [Cell(line.strip(), no) for no, line in enumerate(lines, 1) if line.strip()]


def parse(lines: list[str], units: list[str]) -> list[FoundTable]:
    return find_tables(cells_of(lines), units)
