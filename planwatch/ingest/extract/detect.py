"""Which layout a plan document uses."""

from __future__ import annotations

from typing import Literal

from planwatch.ingest.extract import pipe_table
from planwatch.ingest.extract.header import HEADER_STARTS

TLayout = Literal["flattened", "pipe_table", "cell_per_line", "prose"]
ONE_LINE_MIN_CHARS = 100


def detect_layout(text: str) -> TLayout:
    lines = text.split("\n")
    longest = max((len(line) for line in lines), default=0)
    if longest >= ONE_LINE_MIN_CHARS and longest >= 0.9 * len(text):
        # the whole document (but perhaps a title line) is one line: a flattened table, if any
        return "flattened"
    if pipe_table.looks_like(lines):
        return "pipe_table"
    if any(line.strip() in HEADER_STARTS for line in lines):
        return "cell_per_line"
    return "prose"
