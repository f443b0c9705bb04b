"""The DAG files parse, wire the stages in order, and stay cheap to import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO_ROOT / "dags").glob("*.py"))
# Each task's upstream tasks: a chain, but for the raw checks and the build, which run side by side
# (planwatch.core.types.CONCURRENT_STAGES) and both gate the mart checks.
EXPECTED_UPSTREAM = {
    "register_files": set(), "load_plans": {"register_files"}, "load_statistics": {"load_plans"},
    "validate_raw": {"load_statistics"}, "dbt_build": {"load_statistics"},
    "validate_marts": {"validate_raw", "dbt_build"}, "publish": {"validate_marts"}, "report": {"publish"},
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=[p.name for p in DAG_FILES])
def test_dag_file_imports_without_errors(dagbag, dag_file: Path) -> None:
    errors = {k: v for k, v in dagbag.import_errors.items() if Path(k).name == dag_file.name}
    assert not errors, f"{dag_file.name} failed to import: {errors}. Run `python {dag_file}` to see the traceback."


def test_plan_monitoring_tasks_in_order(dagbag) -> None:
    from planwatch.core.types import CONCURRENT_STAGES, STAGES

    dag = dagbag.dags.get("plan_monitoring")
    assert dag is not None, "dags/plan_monitoring.py defines no DAG with dag_id 'plan_monitoring'"
    assert {t.task_id: set(t.upstream_task_ids) for t in dag.tasks} == EXPECTED_UPSTREAM
    # every stage is a task, and the two side by side are exactly the package's concurrent stages
    assert sorted(t.task_id for t in dag.tasks) == sorted(STAGES)
    assert {s for s, up in EXPECTED_UPSTREAM.items() if up == {"load_statistics"}} == set(CONCURRENT_STAGES)


def test_plan_monitoring_schedule_is_quarterly_in_shanghai(dagbag) -> None:
    dag = dagbag.dags.get("plan_monitoring")
    timetable = dag.timetable
    assert timetable.expression == "0 2 15 1,4,7,10 *"
    assert str(timetable.timezone) == "Asia/Shanghai"
    assert dag.max_active_runs == 1
    assert dag.start_date.year == 2021 and dag.start_date.month == 4
    assert "planwatch" in dag.tags


def test_load_tasks_retry_with_backoff(dagbag) -> None:
    dag = dagbag.dags.get("plan_monitoring")
    for task_id in ("register_files", "load_plans", "load_statistics"):
        task = dag.get_task(task_id)
        assert task.retries >= 2, f"{task_id} must retry (retries={task.retries})"
        assert task.retry_exponential_backoff, f"{task_id} must back off between retries"
    for task in dag.tasks:
        assert (task.retries or 0) >= 2, f"{task.task_id}: retries={task.retries}; set retries >= 2"


def test_importing_dag_file_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, json; sys.path.insert(0, 'dags'); import plan_monitoring; "
        "print(json.dumps(sorted(m for m in ('dbt', 'great_expectations', 'pandas', 'duckdb') "
        "if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True)
    heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert heavy == [], f"importing dags/plan_monitoring.py pulled in {heavy}; import them inside tasks"


@pytest.mark.parametrize(("logical", "quarter"), [
    ("2025-04-15T02:00:00+08:00", "2025Q1"),
    ("2025-01-15T02:00:00+08:00", "2024Q4"),
    # 18:00 UTC on 31 Dec is already 1 Jan in Shanghai: Q4 has closed there.
    ("2025-12-31T18:00:00+00:00", "2025Q4"),
])
def test_run_publishes_the_quarter_that_closed(logical: str, quarter: str) -> None:
    from datetime import datetime

    from planwatch.core.scheduling import quarter_for_run

    assert quarter_for_run(datetime.fromisoformat(logical)) == quarter
    assert quarter_for_run(datetime.fromisoformat(logical), "2023Q2") == "2023Q2"
