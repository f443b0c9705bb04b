"""Plan files without quotes split into columns by Arrow, many files at once (planwatch.ingest.load_plans).

Python's csv module turned each of the 2,850 national plan files into one str per cell, and Arrow
then converted every str back: about half of `load_plans`' CPU in a full refresh (3.1 -> 1.6 s
nationally under load, bench/README.md, tenth pass). A file with no quote character and no carriage return is cut by the
csv module at every newline and then at every comma and nothing else, so Arrow can do the same cuts
on the text of many files in one call. Such a file gives here the cells `_read_columns` gives:
blank lines skipped, a short row padded with '', cells beyond the header dropped, a name given twice
keeping its last column, every cell stripped as `str.strip` strips it. Any other file goes through
the csv module (`read_plain` returns None).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.errors import FileRefused

if TYPE_CHECKING:
    import pyarrow as pa

# Every character str.strip() removes (none above U+3000), for Arrow's utf8_trim.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


@dataclass
class PlainFile:
    """A plan file the csv module would cut at newlines and commas only."""

    header: list[str]
    body: str  # the text after the header's line


def refuse_missing(path: Path, header: list[str], required: list[str]) -> None:
    """FileRefused naming the required columns `header` lacks; the one message of both readers."""
    missing = [c for c in required if c not in header]
    if missing:
        raise FileRefused(
            str(path), f"line 1: missing column(s) {', '.join(missing)}",
            "add them to the header; see docs/architecture.md, 'Plan files'",
        )


def read_plain(path: Path, required: list[str]) -> PlainFile | None:
    """The file split into header and body when it is UTF-8 with no '"', CR or NUL, has a header
    line, and no more characters than the csv module's field limit (which it would raise on); else
    None, and the csv path reads it (and words a decoding error as it always has). Refuses a file
    that lacks a required column, as the csv path does."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    head, newline, body = text.partition("\n")
    if not head or '"' in text or "\r" in text or "\0" in text or len(text) >= csv.field_size_limit():
        return None
    header = head.split(",")
    refuse_missing(path, header, required)
    return PlainFile(header, body if newline else "")


@dataclass
class PlainBatch:
    """Consecutive plain files with one header, split together (`columns`)."""

    header: list[str]
    bodies: list[str] = field(default_factory=list)
    chars: int = 0

    def add(self, body: str) -> None:
        self.bodies.append(body)
        self.chars += len(body)

    def columns(self) -> tuple[dict[str, "pa.Array"], "pa.Array"]:
        """Each header column's stripped cells over all the files' rows, in file and line order, and
        for every row the index of its file in `bodies`."""
        import pyarrow as pa
        import pyarrow.compute as pc

        per_file = pc.split_pattern(pa.array(self.bodies, pa.large_string()), "\n")
        lines, parent = pc.list_flatten(per_file), pc.list_parent_indices(per_file)
        filled = pc.not_equal(lines, "")  # a blank line is no row (csv gives it as [])
        lines, parent = lines.filter(filled), parent.filter(filled)
        width = len(self.header)
        # `width` commas appended: every line has at least `width` cells (a short row reads ''), and
        # at most `width` splits put whatever lies beyond the header's cells into one more, dropped.
        pad = pa.scalar("," * width, pa.large_string())
        cells = pc.split_pattern(pc.binary_join_element_wise(lines, pad, pa.scalar("", pa.large_string())),
                                 ",", max_splits=width)
        position = {name: i for i, name in enumerate(self.header)}  # a name given twice: its last column
        return ({name: pc.utf8_trim(pc.list_element(cells, i), WHITESPACE).cast(pa.string())
                 for name, i in position.items()}, parent)
