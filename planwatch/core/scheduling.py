"""Which quarter a scheduled run publishes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from planwatch.core.periods import Quarter, last_closed_quarter

# The plans' and the statistics offices' time zone: the DAG's schedule and "today" for deadlines.
TIMEZONE_NAME = "Asia/Shanghai"
TIMEZONE = ZoneInfo(TIMEZONE_NAME)
# A quarter's figures are due this many days after it closes: the DAG runs that day (SCHEDULE_CRON),
# the forms print it, and bi.submission_status counts a figure missing after it as overdue (dbt reads
# it as the var `submission_deadline_days`, which every planwatch dbt run passes: dbt_vars below).
SUBMISSION_DEADLINE_DAYS = 15
# 02:00 on that day of the month after each quarter closes (quarters end on a month's last day).
SCHEDULE_CRON = f"0 2 {SUBMISSION_DEADLINE_DAYS} 1,4,7,10 *"
# The dbt var that carries the deadline into dbt/macros/submissions.sql.
DEADLINE_DBT_VAR = "submission_deadline_days"


def dbt_vars() -> dict[str, int]:
    """The scheduling rules dbt needs, as vars for every planwatch dbt run (build/dbt_runner.py)."""
    return {DEADLINE_DBT_VAR: SUBMISSION_DEADLINE_DAYS}


def submission_deadline(quarter: Quarter) -> date:
    """The last day for a quarter's figures (2026Q1 → 2026-04-15)."""
    return quarter.end_date + timedelta(days=SUBMISSION_DEADLINE_DAYS)


def quarter_for_run(logical_date: datetime | None, override: str | None = None) -> str:
    """The quarter a run publishes: the `quarter` param if given, else the last one closed at the
    run's logical date in Asia/Shanghai (a run on 2025-04-15 publishes 2025Q1)."""
    if override:
        return str(Quarter.parse(override))
    if logical_date is None:
        logical_date = datetime.now(TIMEZONE)
    local = logical_date.astimezone(TIMEZONE) if logical_date.tzinfo else logical_date
    return str(last_closed_quarter(local))
