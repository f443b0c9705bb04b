"""The period index: Python's rule and the SQL copy the loader writes with agree on every form."""

from __future__ import annotations

import duckdb
import pytest

from planwatch.core.periods import Quarter, period_index, period_index_sql, year_of_index_sql

PERIODS = ["2020Q1", "2020Q4", "2020", "2021Q1", "2025Q3", "2025", "1999Q2"]


def test_a_year_has_the_index_of_its_fourth_quarter() -> None:
    assert period_index("2023") == period_index("2023Q4") == Quarter(2023, 4).index == 2023 * 4 + 3
    assert period_index("2024Q1") - period_index("2023") == 1


@pytest.mark.parametrize("period", ["2020Q1", "2020Q4", "2021Q1", "2025Q3", "1999Q2"])
def test_a_quarter_comes_back_from_its_index(period: str) -> None:
    assert Quarter.from_index(Quarter.parse(period).index) == Quarter.parse(period)
    assert str(Quarter.from_index(period_index(period))) == period


@pytest.mark.parametrize("period", PERIODS)
def test_sql_copy_matches_python(period: str) -> None:
    con = duckdb.connect()
    row = con.execute(f"select {period_index_sql('p')} from (select ? as p)", [period]).fetchone()
    assert row is not None and row[0] == period_index(period)


@pytest.mark.parametrize("period", PERIODS)
def test_year_of_an_index_is_the_periods_year(period: str) -> None:
    # the Parquet export finds a year's rows by period_index (planwatch.serve.parquet_export)
    con = duckdb.connect()
    row = con.execute(f"select {year_of_index_sql('i')} from (select ?::integer as i)", [period_index(period)]).fetchone()
    assert row is not None and row[0] == int(period[:4])
