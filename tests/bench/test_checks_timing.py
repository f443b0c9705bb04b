"""bench/checks_timing.py (moved from expectations/benchmark.py) still builds its synthetic stores:
at a tiny scale here, the row count and the tables the suites read; the timing run is by hand."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from bench import checks_timing
from planwatch.core.config import Settings
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext


def test_the_synthetic_stores_hold_regions_x_indicators_x_quarters(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks_timing, "REGIONS", 3)
    monkeypatch.setattr(checks_timing, "INDICATORS", 5)
    settings = Settings(home=tmp_path)
    settings.ensure_dirs()
    quarter = Quarter(checks_timing.FIRST_YEAR + checks_timing.YEARS - 1, 4)
    rows = checks_timing.build(settings, RunContext("benchmark", quarter))
    assert rows == 3 * 5 * checks_timing.YEARS * 4
    with duckdb.connect(str(settings.ingest_db), read_only=True) as con:
        assert con.execute("select count(*) from raw.stat_observations").fetchone() == (rows,)
        assert con.execute("select count(distinct region_code) from raw.regions").fetchone() == (3,)
    with duckdb.connect(str(settings.candidate_db("benchmark")), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
    assert {"marts.fct_indicator_progress", "marts.dim_region", "marts.dim_indicator"} <= tables
