"""`make test-deploy`: the deployment of docker-compose.yml, run natively (no Docker daemon here).

PostgreSQL-backed Airflow (api-server, scheduler, dag-processor, triggerer) started through
docker/entrypoint.sh with compose's environment (tests/deploy/native.py). Its own scheduler runs the
DAG: a backfill of four quarters, a manual run with {"quarter": ...}, the scheduled run, and a manual
run for an older quarter that must not move the published warehouse backwards; then the same on
CeleryExecutor with a worker. The published file is opened by a DuckDB 1.4 client in a throwaway
virtualenv. Every process started is stopped, also when a test fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from planwatch.core.scheduling import quarter_for_run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from native import Services, running, wait_until  # noqa: E402

pytestmark = pytest.mark.deploy
DAG_ID = "plan_monitoring"
TASKS = ("register_files", "load_plans", "load_statistics", "validate_raw", "dbt_build", "validate_marts",
         "publish", "report")
RUN_TIMEOUT = 900  # one run; about 1-2 min here


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with running(tmp_path_factory.mktemp("local"), "LocalExecutor") as services:
        yield services


def runs(services: Services) -> list[dict[str, Any]]:
    return list(services.airflow_json("dags", "list-runs", DAG_ID))


def wait_for_runs(services: Services, count: int, prefix: str = "",
                  timeout: float = RUN_TIMEOUT) -> list[dict[str, Any]]:
    """Runs whose id starts with `prefix` (backfill__, scheduled__, or the test's own ids) once `count`
    of them have finished; fails at once on a failed run."""
    def finished() -> list[dict[str, Any]] | None:
        mine = [r for r in runs(services) if r["run_id"].startswith(prefix)]
        failed = [r["run_id"] for r in mine if r["state"] == "failed"]
        assert not failed, f"failed runs {failed}: {task_log_tail(services)}"
        done = [r for r in mine if r["state"] == "success"]
        return mine if len(done) >= count else None
    return list(wait_until(f"{count} {prefix}* run(s) of {DAG_ID}", finished, timeout * count, None,
                           services.log_of("scheduler")))


def task_log_tail(services: Services) -> str:
    logs = sorted(services.airflow_home.rglob("*.log"), key=lambda p: p.stat().st_mtime)
    return "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-1500:]}" for p in logs[-3:])


def run_log(services: Services) -> dict[str, dict[str, Any]]:
    con = duckdb.connect(str(services.home / "warehouse" / "ingest.duckdb"), read_only=True)
    try:
        rows = con.execute("select run_id, quarter, status, published, metrics, ended_at from audit.run_log").fetchall()
    finally:
        con.close()
    return {r[0]: {"quarter": r[1], "status": r[2], "published": r[3], "metrics": json.loads(r[4] or "{}"),
                   "ended_at": r[5]} for r in rows}


def published_quarters(services: Services) -> list[str]:
    """The quarter each kept version was built for, in the order they were published."""
    out = []
    for version in sorted((services.home / "warehouse" / "versions").glob("*.duckdb")):
        con = duckdb.connect(str(version), read_only=True)
        try:
            out.append(con.execute("select quarter from audit.transform_state").fetchone()[0])
        finally:
            con.close()
    return out


def test_the_dag_parses_without_import_errors(local: Services) -> None:
    wait_until("the dag-processor parses dags/", lambda: any(d["dag_id"] == DAG_ID for d in
                                                            local.airflow_json("dags", "list")), 300)
    assert local.airflow_json("dags", "list-import-errors") == []
    local.airflow("dags", "unpause", DAG_ID)  # the scheduler's own schedule stays off until its test


def test_a_backfill_of_four_quarters_publishes_each_in_order(local: Services) -> None:
    started = time.monotonic()
    local.airflow("backfill", "create", "--dag-id", DAG_ID, "--from-date", "2021-04-01", "--to-date", "2022-01-31",
                  "--max-active-runs", "1")
    done = wait_for_runs(local, 4, "backfill__")
    assert len(done) == 4 and {r["state"] for r in done} == {"success"}
    log = run_log(local)
    order = sorted((log[r["run_id"]] for r in done), key=lambda r: r["ended_at"])
    assert [r["quarter"] for r in order] == ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]
    assert all(r["status"] == "published" and r["published"] for r in order)
    assert published_quarters(local)[-4:] == ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]
    print(f"backfill of 4 quarters: {time.monotonic() - started:.0f} s, every run published, in order")


def test_a_manual_run_publishes_the_quarter_it_names(local: Services) -> None:
    local.airflow("dags", "trigger", DAG_ID, "-c", json.dumps({"quarter": "2022Q2"}), "--run-id", "manual_2022Q2")
    wait_for_runs(local, 1, "manual_2022Q2")
    row = run_log(local)["manual_2022Q2"]
    assert (row["quarter"], row["status"]) == ("2022Q2", "published")


def test_the_scheduler_makes_and_publishes_the_scheduled_run(local: Services) -> None:
    # catchup=False: the scheduler runs the latest trigger time, 2026-10-15 (2026Q3) here.
    local.restart_scheduler(AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="True")
    scheduled = wait_for_runs(local, 1, "scheduled__")
    row = run_log(local)[scheduled[0]["run_id"]]
    expected = quarter_for_run(datetime.fromisoformat(scheduled[0]["logical_date"]))
    assert (row["status"], row["quarter"]) == ("published", expected), row
    assert published_quarters(local)[-1] == expected


def test_an_older_quarter_never_moves_the_published_warehouse_backwards(local: Services) -> None:
    newest = published_quarters(local)[-1]
    local.airflow("dags", "trigger", DAG_ID, "-c", json.dumps({"quarter": "2021Q3"}), "--run-id", "manual_2021Q3")
    wait_for_runs(local, 1, "manual_2021Q3")
    row = run_log(local)["manual_2021Q3"]
    assert row["status"] == "published" and row["quarter"] == newest
    assert row["metrics"]["publish"]["requested_quarter"] == "2021Q3"
    quarters = published_quarters(local)
    assert quarters == sorted(quarters) and quarters[-1] == newest, quarters


def test_published_files_are_group_readable(local: Services) -> None:
    warehouse = local.home / "warehouse"
    for path in [warehouse / "planwatch.duckdb", warehouse / "versions", *warehouse.glob("parquet/*.parquet")]:
        assert path.stat().st_mode & 0o040, oct(path.stat().st_mode)


def test_a_duckdb_1_4_client_reads_the_published_warehouse(local: Services, tmp_path: Path) -> None:
    venv = tmp_path / "duckdb14"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                          "duckdb>=1.4,<1.5"], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr[-2000:]
    published = local.home / "warehouse" / "planwatch.duckdb"
    query = ("select table_schema || '.' || table_name, (select 1) from information_schema.tables "
             "where table_schema in ('marts', 'bi') order by 1")
    script = (f"import duckdb, json, sys; con = duckdb.connect({str(published)!r}, read_only=True); "
              f"names = [r[0] for r in con.execute({query!r}).fetchall()]; "
              "print(json.dumps([duckdb.__version__, {n: con.execute(f'select count(*) from {n}').fetchone()[0] "
              "for n in names}]))")
    old = subprocess.run([str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True)
    assert old.returncode == 0, old.stderr[-3000:]
    version, counts_14 = json.loads(old.stdout)
    assert version.startswith("1.4.")
    con = duckdb.connect(str(published), read_only=True)
    try:
        names = [r[0] for r in con.execute(query).fetchall()]
        counts_20 = {n: con.execute(f"select count(*) from {n}").fetchone()[0] for n in names}
    finally:
        con.close()
    assert counts_14 == counts_20 and counts_20["marts.fct_indicator_progress"] > 0
    print(f"DuckDB {version} read {len(counts_14)} tables and views, same counts as DuckDB {duckdb.__version__}")


@pytest.fixture(scope="module")
def celery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    with running(tmp_path_factory.mktemp("celery"), "CeleryExecutor") as services:
        yield services


def test_celery_worker_runs_every_task_of_a_manual_run(celery: Services) -> None:
    wait_until("the dag-processor parses dags/", lambda: any(d["dag_id"] == DAG_ID for d in
                                                            celery.airflow_json("dags", "list")), 300)
    assert celery.airflow_json("dags", "list-import-errors") == []
    celery.airflow("dags", "unpause", DAG_ID)
    celery.airflow("dags", "trigger", DAG_ID, "-c", json.dumps({"quarter": "2025Q4"}), "--run-id", "celery_2025Q4")
    wait_for_runs(celery, 1, "celery_2025Q4")
    assert run_log(celery)["celery_2025Q4"]["status"] == "published"
    worker_log = celery.log_of("celery-worker").read_text(errors="replace")
    ran = [t for t in TASKS if t in worker_log and "celery_2025Q4" in worker_log]
    assert ran == list(TASKS), worker_log[-3000:]
