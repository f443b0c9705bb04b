"""A read-only open of a warehouse that a publish replaces during the open.

DuckDB 2.0 opens a database file by its path three times while connecting (planwatch/core/db.py,
`_file_id`), so a rename in between can pair one file's headers with the other's blocks. These
tests replace the file from inside the open, with real DuckDB files and real renames, at the one
moment the race needs: after DuckDB has opened the old file and before `connect` looks again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from planwatch.core.db import connect
from planwatch.core.errors import WarehouseLocked


def _warehouse(path: Path, tag: str, rows: int) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute(f"create table t as select '{tag}' as tag, i from range({rows}) r(i)")
    finally:
        con.close()
    return path


def _publish(source: Path, published: Path) -> None:
    """As publish does: a new file, renamed over the published one."""
    tmp = published.with_name("candidate.duckdb")
    shutil.copyfile(source, tmp)
    os.replace(tmp, published)


def _replacing_opener(new: Path, published: Path, times: int) -> tuple[list[str], object]:
    opened: list[str] = []

    def opener(*args, **kwargs):
        con = duckdb.connect(*args, **kwargs)
        opened.append(con.execute("select any_value(tag) from t").fetchone()[0])
        if len(opened) <= times:
            _publish(new, published)  # the publish lands while this open is under way
        return con

    return opened, opener


def test_a_reader_that_opened_the_old_file_while_it_was_replaced_opens_the_new_one(tmp_path: Path) -> None:
    old, new = _warehouse(tmp_path / "old.duckdb", "old", 3), _warehouse(tmp_path / "new.duckdb", "new", 5)
    published = tmp_path / "planwatch.duckdb"
    _publish(old, published)
    opened, opener = _replacing_opener(new, published, times=1)
    with connect(published, read_only=True, opener=opener) as con:
        answer = con.execute("select any_value(tag), count(*) from t").fetchone()
    assert opened == ["old", "new"]  # the first connection was closed, not used
    assert answer == ("new", 5)


def test_a_file_replaced_during_every_open_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old, new = _warehouse(tmp_path / "old.duckdb", "old", 3), _warehouse(tmp_path / "new.duckdb", "new", 5)
    published = tmp_path / "planwatch.duckdb"
    _publish(old, published)
    opened, opener = _replacing_opener(new, published, times=10)
    with pytest.raises(WarehouseLocked) as refused:
        with connect(published, read_only=True, retries=2, opener=opener):
            pass
    assert len(opened) == 3
    message = str(refused.value)
    assert f"`file={published}`" in message and "replaced 3 times" in message and "publish stage" in message


def test_a_writer_and_an_unchanged_file_open_once(tmp_path: Path) -> None:
    published = _warehouse(tmp_path / "planwatch.duckdb", "old", 3)
    opened, opener = _replacing_opener(published, published, times=0)
    with connect(published, read_only=True, opener=opener) as con:
        assert con.execute("select count(*) from t").fetchone() == (3,)
    with connect(published, opener=opener) as con:  # a writer's file is never renamed under it
        con.execute("insert into t values ('old', 3)")
    assert opened == ["old", "old"]
