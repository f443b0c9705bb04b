"""Shared homes for the reliability tests, built once per session by the real pipeline.

* `template_home`: the fixture home (tests/reliability/fixture_home.py) after a full run for 2023Q2
  with submissions 1-2 published, and submissions 3-4 then dropped into raw/statistics: the state
  just before the next quarterly run. Its published warehouse is "the one before the run".
* `built_home`: the template after the 2023Q4 run `q4` went through every stage up to dbt_build;
  `checked_home`: the same after validate_marts (a checked candidate waiting for publish).
* `reference`: what the uninterrupted 2023Q4 run publishes (the checked home after `publish`).

Tests copy these homes into their own tmp_path and never write into them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from planwatch.core.config import Settings
from planwatch.core.types import STAGES

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from fixture_home import make_home, write_statistics  # noqa: E402

BEFORE_QUARTER, QUARTER, RUN_ID = "2023Q2", "2023Q4", "q4"
# Columns that differ between two runs over the same data by design: when, and under which run id.
VOLATILE_COLUMNS = {"run_id", "loaded_at", "registered_at", "built_at", "checked_at", "started_at", "ended_at",
                    "published_at", "generated_at", "metrics", "reason", "candidate"}


def copy_home(src: Path, dst: Path) -> Settings:
    shutil.copytree(src, dst, symlinks=True)
    return Settings(home=dst)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(db: Path, schemas: tuple[str, ...] = ("raw", "marts")) -> dict[str, list[tuple]]:
    """Every table of `schemas` in `db` (opened read-only): sorted rows without run-specific columns."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ? order by all",
            [list(schemas)]).fetchall()
        out = {}
        for schema, table in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                "and data_type not like 'TIMESTAMP%' order by column_index", [schema, table]).fetchall()
                if r[0] not in VOLATILE_COLUMNS]
            # identifiers come from DuckDB's own catalog, quoted
            select = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
            rows = con.execute(f'select {select} from "{schema}"."{table}"').fetchall()
            out[f"{schema}.{table}"] = sorted(rows, key=repr)
        return out
    finally:
        con.close()


def ingest_snapshot(settings: Settings) -> dict[str, list[tuple]]:
    return {k: v for k, v in snapshot(settings.ingest_db, ("raw",)).items()
            if k in ("raw.file_ledger", "raw.stat_observations", "raw.stat_quarantine")}


def ledger(settings: Settings) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        return con.execute("select path, status, rows_read, rows_loaded, rows_quarantined, "
                           "(select count(*) from raw.stat_observations o where o.file_id = l.file_id), "
                           "(select count(*) from raw.stat_quarantine q where q.file_id = l.file_id) "
                           "from raw.file_ledger l where kind = 'statistics' order by file_seq").fetchall()
    finally:
        con.close()


def run_status(settings: Settings, run_id: str) -> tuple | None:
    import duckdb

    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        return con.execute("select status, published from audit.run_log where run_id = ?", [run_id]).fetchone()
    finally:
        con.close()


def child_env(home: Path, crash_at: str | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PLANWATCH_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("PLANWATCH_CRASH_AT", None)
    if crash_at:
        env["PLANWATCH_CRASH_AT"] = crash_at
    env.update(extra)
    return env


def planwatch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "planwatch", *args]


def run_child(home: Path, args: list[str], crash_at: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(planwatch_cmd(*args), cwd=REPO_ROOT, env=child_env(home, crash_at), capture_output=True,
                          text=True, timeout=timeout)


@dataclass(frozen=True)
class Published:
    """A published warehouse as the tests compare it."""

    sha256: str
    inode: int
    tables: dict[str, list[tuple]]


def published_state(settings: Settings) -> Published:
    path = settings.published_db
    return Published(sha256(path), path.stat().st_ino, snapshot(path))


def passes_own_checks(settings: Settings) -> list[str]:
    """Run the mart suites (the checks that gate a publish) read-only against the published file;
    returns the failed error-severity checks (empty = passes)."""
    from planwatch.quality import validate

    module = validate.load_suites(settings)
    from planwatch.core.periods import Quarter
    from planwatch.core.types import RunContext

    params = validate._params(settings, RunContext("verify", Quarter.parse(QUARTER)), {})
    findings = validate.run_suites(settings, settings.published_db, module.mart_suites(params), 5, "verify")
    assert findings, "the mart suites reported nothing"
    return [f"{f.suite}.{f.expectation}" for f in findings if f.severity == "error" and not f.success]


def run_stages(settings: Settings, quarter: str, run_id: str, stages: tuple[str, ...]) -> None:
    from planwatch.run.pipeline import run_stage

    for stage in stages:
        run_stage(stage, quarter, run_id, settings)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from planwatch.run.pipeline import run_all

    home = make_home(tmp_path_factory.mktemp("reliability") / "template", seqs=(1, 2))
    run_all(BEFORE_QUARTER, "before", Settings(home=home))
    write_statistics(home / "raw", seqs=(3, 4))
    return home


@pytest.fixture(scope="session")
def built_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2023Q4 run `q4` after every stage up to dbt_build: a built candidate, mart checks not run."""
    settings = copy_home(template_home, tmp_path_factory.mktemp("reliability") / "built")
    run_stages(settings, QUARTER, RUN_ID, STAGES[:STAGES.index("validate_marts")])
    return settings.home


@pytest.fixture(scope="session")
def checked_home(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`built_home` after validate_marts: a checked candidate waiting for publish."""
    settings = copy_home(built_home, tmp_path_factory.mktemp("reliability") / "checked")
    run_stages(settings, QUARTER, RUN_ID, ("validate_marts",))
    return settings.home


@pytest.fixture(scope="session")
def reference(checked_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """Marts and raw tables the uninterrupted 2023Q4 run publishes."""
    settings = copy_home(checked_home, tmp_path_factory.mktemp("reliability") / "reference")
    run_stages(settings, QUARTER, RUN_ID, ("publish",))
    return snapshot(settings.published_db)
