"""Helpers of tests/spark: the same ingest store built by dbt on DuckDB (in the test process)
and on Spark in local mode (`python -m planwatch.build.spark`, its own process and JVM).

Two warehouses: the tiny ingest fixture for 2023Q4 (tests/fixtures/ingest/), and the transition
home for 2026Q2 (tests/reliability/fixture_home.py + tests/fixtures/transition/: a 14th and a 15th
plan, chained bases, a dropped and a renamed indicator, a region without a current plan), loaded
by the real loader and published by the real pipeline, Parquet export included.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = REPO_ROOT / "dbt"
TRANSITION = REPO_ROOT / "tests" / "fixtures" / "transition"
FIXTURE_BUILDER = REPO_ROOT / "tests" / "fixtures" / "ingest" / "build_ingest.py"


@dataclass
class EngineBuilds:
    """One ingest store built on both engines."""

    name: str
    quarter: str
    duckdb_file: Path  # the DuckDB warehouse (candidate or published)
    duckdb_metrics: dict[str, Any]
    spark_marts: Path  # one Parquet folder per mart, written by the Spark build
    spark_metrics: dict[str, Any]
    parquet_export: Path | None = None  # publish's Parquet export, where the pipeline published


def build_on_spark(ingest_db: Path, quarter: str, work_dir: Path) -> dict[str, Any]:
    """Run the Spark build in its own process; its metrics, or the failure with its output."""
    metrics_file = work_dir / "spark-metrics.json"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "planwatch.build.spark", "build", "--ingest", str(ingest_db), "--quarter", quarter,
         "--work-dir", str(work_dir), "--metrics", str(metrics_file)],
        cwd=work_dir.parent, env=env, capture_output=True, text=True, timeout=1800,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"the Spark build of {ingest_db} for {quarter} failed ({proc.returncode}):\n{tail}")
    return json.loads(metrics_file.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
