"""DuckDB's memory limit of planwatch's connections, and the raw checks' smaller share of it while they
run beside dbt's build (planwatch/core/db.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from planwatch.core.db import (
    CHECKS_MEMORY_LIMIT_ENV,
    MEMORY_LIMIT_ENV,
    connect,
    memory_limit,
    memory_limit_beside_build,
)
from planwatch.core.errors import ConfigError


def _as_duckdb_shows(size: str) -> str:
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{size}'")
        return con.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


def _limit_of_a_connection(path: Path) -> str:
    with connect(path) as con:
        return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_the_raw_checks_beside_the_build_take_their_own_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.delenv(CHECKS_MEMORY_LIMIT_ENV, raising=False)
    db = tmp_path / "store.duckdb"
    assert _limit_of_a_connection(db) == _as_duckdb_shows("1GB")
    with memory_limit_beside_build():
        assert memory_limit() == "384MB"
        assert _limit_of_a_connection(db) == _as_duckdb_shows("384MB")
        monkeypatch.setenv(CHECKS_MEMORY_LIMIT_ENV, "700MB")
        assert _limit_of_a_connection(db) == _as_duckdb_shows("700MB")
    # after the raw checks, the process's own limit again (the mart checks run in the same process)
    assert memory_limit() == "1GB"


def test_a_checks_limit_that_is_not_a_size_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.setenv(CHECKS_MEMORY_LIMIT_ENV, "half")
    assert memory_limit() == "1GB"  # outside the raw checks the variable is not read
    with memory_limit_beside_build(), pytest.raises(ConfigError, match=f"{CHECKS_MEMORY_LIMIT_ENV}=half"):
        memory_limit()
