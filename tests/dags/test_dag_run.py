"""End to end: the real DAG, run with `dag.test()`, publishes a warehouse from the demo data."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """Airflow's SQLite metadata database (the conftest points AIRFLOW_HOME at a temporary folder)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def _published_facts(path: Path) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select region_code, indicator_code, breakdown, period, actual_value, status, is_simulated "
            "from marts.fct_indicator_progress order by all").fetchall()
    finally:
        con.close()


def test_dag_test_publishes_the_demo_quarter(airflow_db: None, planwatch_home: Path) -> None:
    import duckdb
    from airflow.dag_processing.dagbag import DagBag

    from planwatch.core.config import Settings
    from planwatch.demo.simulate import ensure_demo_statistics

    settings = Settings.from_env()
    assert settings.home == planwatch_home
    assert ensure_demo_statistics(settings) is True

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags")).dags["plan_monitoring"]
    # The run due on 2024-01-15 publishes 2023Q4.
    dagrun = dag.test(logical_date=datetime(2024, 1, 15, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert str(dagrun.state) in ("success", "DagRunState.SUCCESS"), f"DAG run ended {dagrun.state}"

    published = settings.published_db
    assert published.exists()
    facts = _published_facts(published)
    regions = {f[0] for f in facts}
    periods = {f[3] for f in facts}
    assert {"320583", "321200", "520300", "350582"} <= regions
    # A run for 2023Q4 uses statistics up to 2023Q4 only.
    assert max(p for p in periods if "Q" in p) == "2023Q4"
    assert all(p <= "2023Q4" for p in periods)
    assert all(f[6] for f in facts), "demo statistics must be marked is_simulated"

    con = duckdb.connect(str(published), read_only=True)
    try:
        runs = con.execute("select quarter, status, published from audit.run_log").fetchall()
    finally:
        con.close()
    assert ("2023Q4", "published", True) in runs


def test_rerunning_a_quarter_gives_the_same_warehouse(planwatch_home: Path) -> None:
    from planwatch.core.config import Settings
    from planwatch.run.pipeline import run_all
    from planwatch.demo.simulate import ensure_demo_statistics

    settings = Settings.from_env()
    ensure_demo_statistics(settings)
    run_all("2022Q2", "first", settings)
    first = _published_facts(settings.published_db)
    rerun = run_all("2022Q2", "second", settings)
    second = _published_facts(settings.published_db)
    assert len(first) > 100
    assert first == second
    # the rerun extends a copy of the published file, made beside its statistics load (build/prepared_copy.py)
    assert rerun["dbt_build"]["build_mode"] == "incremental"
    assert rerun["dbt_build"]["copy_of_published"] == "made beside the load"
    assert not list(settings.candidates_dir.glob("*.prepared*"))
