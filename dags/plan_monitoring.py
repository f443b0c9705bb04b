"""Quarterly plan monitoring: load plans and statistics, build the warehouse, check it, publish it.

Runs at 02:00 Asia/Shanghai on the 15th day after each quarter closes (statistics are due then)
and publishes the quarter that just closed: the run triggered on 2025-04-15 publishes 2025Q1.
One run at a time, because DuckDB allows one writer per file: `max_active_runs=1` for the runs the
scheduler and triggers make, `airflow backfill create ... --max-active-runs 1` for backfills (a
backfill ignores the DAG's own limit), and a task that still meets another run waits for its turn
(`planwatch.run.locking.DAG_WAIT`) instead of failing. A run for a quarter older than the published one
builds the published quarter again with the older quarter's revisions: the warehouse never moves
backwards (planwatch/serve/publish.py).

Every task is a thin call into `planwatch.run.pipeline.run_stage`; the logic, and its tests, live in
the `planwatch` package. Set the `quarter` param (e.g. `2024Q4`) to rebuild a given quarter.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

# the schedule's one home (25 ms of import: planwatch.core.periods, without duckdb)
from planwatch.core.scheduling import SCHEDULE_CRON, TIMEZONE_NAME

RAW_PLANS = Asset("planwatch://ingest/raw/plan_indicators")
RAW_STATISTICS = Asset("planwatch://ingest/raw/stat_observations")
PUBLISHED = Asset("planwatch://warehouse/planwatch.duckdb")

LOAD_RETRIES = {"retries": 3, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True,
                "max_retry_delay": timedelta(minutes=30)}


def _stage(stage: str, **context: object) -> dict:
    """Run one planwatch stage for this run's quarter; map planwatch errors to Airflow's."""
    from airflow.sdk.exceptions import AirflowFailException

    from planwatch.core.errors import TerminalError
    from planwatch.run.locking import DAG_WAIT
    from planwatch.run.pipeline import run_stage
    from planwatch.core.scheduling import quarter_for_run

    params = context.get("params") or {}
    quarter = quarter_for_run(context.get("logical_date"), params.get("quarter"))  # type: ignore[union-attr]
    run_id = str(context.get("run_id"))
    try:
        return run_stage(stage, quarter, run_id, wait=DAG_WAIT)  # type: ignore[arg-type]
    except TerminalError as exc:
        # Bad data or a failed gate: retrying the same input cannot help, a person must act.
        raise AirflowFailException(str(exc)) from exc


def _notify_failure(context: dict) -> None:
    from planwatch.serve.notify import notify_task_failure

    notify_task_failure(context)


@dag(
    dag_id="plan_monitoring",
    schedule=CronTriggerTimetable(SCHEDULE_CRON, timezone=TIMEZONE_NAME),
    start_date=datetime(2021, 4, 1),
    catchup=False,
    max_active_runs=1,
    tags=["planwatch", "quarterly"],
    doc_md=__doc__,
    params={"quarter": Param(None, type=["null", "string"], pattern=r"^\d{4}Q[1-4]$",
                             description="Publish this quarter instead of the one that just closed")},
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1),
                  "on_failure_callback": _notify_failure},
)
def plan_monitoring() -> None:
    @task(**LOAD_RETRIES)
    def register_files(**context: object) -> dict:
        return _stage("register_files", **context)

    @task(outlets=[RAW_PLANS], **LOAD_RETRIES)
    def load_plans(**context: object) -> dict:
        return _stage("load_plans", **context)

    @task(outlets=[RAW_STATISTICS], **LOAD_RETRIES)
    def load_statistics(**context: object) -> dict:
        return _stage("load_statistics", **context)

    @task
    def validate_raw(**context: object) -> dict:
        return _stage("validate_raw", **context)

    @task
    def dbt_build(**context: object) -> dict:
        return _stage("dbt_build", **context)

    @task
    def validate_marts(**context: object) -> dict:
        return _stage("validate_marts", **context)

    @task(outlets=[PUBLISHED])
    def publish(**context: object) -> dict:
        return _stage("publish", **context)

    @task
    def report(**context: object) -> dict:
        return _stage("report", **context)

    # The raw checks and the build run side by side (planwatch.core.types.CONCURRENT_STAGES): publish
    # gates on both, through validate_marts.
    loaded = register_files() >> load_plans() >> load_statistics()
    loaded >> [validate_raw(), dbt_build()] >> validate_marts() >> publish() >> report()


plan_monitoring()
