"""The raw_statistics batch (`batch_between`) picks each key's latest version and gives each quarter row
the latest value of its series' quarter before, in one window (bench/README.md, seventh pass). Its
rows must be those of a plain reference computed row by row in Python, with keys loaded up to three
times (the latest version with a NULL value, a later line of the same file), quarters missing from a
series, yearly rows beside their Q4, and a lower end (`low`) as the kept batch uses it."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.core.periods import Quarter, period_index
from planwatch.core.suites import load_suites

QUARTERS = [f"{y}Q{q}" for y in (2021, 2022) for q in (1, 2, 3, 4)]


def _rows() -> list[tuple]:
    """(region, indicator, breakdown, period, period_type, value, file_id, file_seq, line_no)."""
    rows = []
    line = 0
    for region in ("110101", "110102"):
        for breakdown in ("", "urban"):
            for i, period in enumerate(QUARTERS):
                if region == "110102" and period == "2021Q3":
                    continue  # a gap: 2021Q4 has no quarter before it
                line += 1
                rows.append((region, "ELD_BEDS", breakdown, period, "quarter", float(i + 1), "f1", 1, line))
        rows.append((region, "ELD_BEDS", "", "2021", "year", 50.0, "y1", 2, line + 1))
    # A later file revises 2021Q2 and 2022Q1 of 110101's total (2022Q1 to NULL), a third one 2021Q2 again,
    # file f1 gives 2021Q4 again on a later line, an older file an older version of a row, and a
    # later file the yearly row again.
    rows += [
        ("110101", "ELD_BEDS", "", "2021Q2", "quarter", 20.0, "f2", 3, 1),
        ("110101", "ELD_BEDS", "", "2022Q1", "quarter", None, "f2", 3, 2),
        ("110101", "ELD_BEDS", "", "2021Q2", "quarter", 30.0, "f3", 4, 1),
        ("110101", "ELD_BEDS", "", "2021Q4", "quarter", 40.0, "f1", 1, 900),
        ("110102", "ELD_BEDS", "urban", "2022Q2", "quarter", 60.0, "f0", 0, 5),  # older than f1's row
        ("110101", "ELD_BEDS", "", "2021", "year", 70.0, "y2", 5, 1),
    ]
    return rows


def _reference(rows: list[tuple], low: int | None, high: int) -> set[tuple]:
    latest: dict[tuple, tuple] = {}
    for r in rows:
        key = r[:4]
        if key not in latest or (r[7], r[8]) > (latest[key][7], latest[key][8]):
            latest[key] = r
    out = set()
    for (region, ind, brk, period), r in latest.items():
        pi = period_index(period)
        if pi > high or (low is not None and pi < low):
            continue
        before = None
        if r[4] == "quarter":
            prev = next((v for k, v in latest.items() if k[:3] == (region, ind, brk) and v[4] == "quarter"
                         and period_index(k[3]) == pi - 1), None)
            before = prev[5] if prev is not None else None
        out.add((region, ind, brk, period, r[4], r[5], r[7], r[8], pi, before))  # the batch has no file_id
    return out


@pytest.mark.parametrize("low", [None, Quarter.parse("2021Q3").index, Quarter.parse("2022Q1").index])
def test_batch_is_the_latest_version_with_the_quarter_before(tmp_path: Path, low: int | None) -> None:
    suites = load_suites(Settings(home=tmp_path))
    high = Quarter.parse("2022Q3").index
    rows = _rows()
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.stat_observations (region_code varchar, indicator_code varchar, breakdown varchar, "
                "period varchar, period_type varchar, value double, numerator double, denominator double, "
                "file_id varchar, file_seq bigint, line_no bigint, period_index integer)")
    con.executemany("insert into raw.stat_observations values (?, ?, ?, ?, ?, ?, null, null, ?, ?, ?, ?)",
                    [(*r, period_index(r[3])) for r in rows])
    sql = suites.raw_statistics.batch_between(low, high)
    got = con.execute(f"select region_code, indicator_code, breakdown, period, period_type, value, "
                      f"file_seq, line_no, period_index, previous_quarter_value from ({sql})").fetchall()
    assert len(got) == len(set(got))
    want = _reference(rows, low, high)
    assert set(got) == want
    by_key = {g[:4]: g for g in got}
    if low is None:
        # the checks the reference makes, spelt out: the third version wins, its NULL successor is kept
        assert by_key[("110101", "ELD_BEDS", "", "2021Q2")][5] == 30.0
        assert by_key[("110101", "ELD_BEDS", "", "2021Q3")][9] == 30.0
        assert by_key[("110101", "ELD_BEDS", "", "2021Q4")][5] == 40.0
        assert by_key[("110101", "ELD_BEDS", "", "2022Q1")][9] == 40.0
        assert by_key[("110101", "ELD_BEDS", "", "2022Q2")][9] is None  # its quarter before is NULL
        assert by_key[("110102", "ELD_BEDS", "", "2021Q4")][9] is None  # no 2021Q3
        assert by_key[("110101", "ELD_BEDS", "", "2021")][5:7] == (70.0, 5)  # file y2
        assert by_key[("110101", "ELD_BEDS", "", "2021")][9] is None  # yearly rows have none
        assert by_key[("110102", "ELD_BEDS", "urban", "2022Q2")][5] == 6.0
    assert not any(g[9] is not None and math.isnan(g[9]) for g in got)
