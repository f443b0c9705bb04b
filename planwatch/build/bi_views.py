"""The `bi` views: dbt models (dbt/models/bi/) built and tested with the marts, published with them.

`BI_VIEWS` names the views dashboards, docs/bi.md and the Superset dashboard read; the build stage
refuses a candidate without one of them (`check_bi_views`), so a dashboard never finds one gone.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.build.dbt_runner import run_dbt
from planwatch.core.db import connect
from planwatch.core.errors import TerminalError

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

BI_SCHEMA = "bi"
BI_VIEWS: tuple[str, ...] = (
    "latest_status", "status_counts", "dq_last_run", "dq_summary", "dq_findings",
    "plan_figures_excluded", "submission_status", "submission_by_region",
    "observations_without_plan", "regions_without_current_plan",
)

# The marts made for the views alone (the summaries they show): built with them here.
BI_TABLES: tuple[str, ...] = ("fct_indicator_latest",)


def check_bi_views(con: "duckdb.DuckDBPyConnection") -> list[str]:
    """The `bi` views of the warehouse `con` is connected to; raises naming any of `BI_VIEWS` missing.

    DuckDB binds a view when it is created, so a view whose mart is missing fails the dbt build
    rather than a dashboard.
    """
    created = [r[0] for r in con.execute(
        "select view_name from duckdb_views() where schema_name = ? and not internal "
        "order by view_name", [BI_SCHEMA]).fetchall()]
    missing = sorted(set(BI_VIEWS) - set(created))
    if missing:
        raise TerminalError(f"bi views {missing} were not built: dbt/models/bi/ must have a model for each "
                            "of planwatch.build.bi_views.BI_VIEWS")
    log.info("bi views: %s", ", ".join(created))
    return created


def build_bi_views(db_path: Path, dbt_dir: Path, work_dir: Path) -> list[str]:
    """Build the `bi` views in an existing warehouse whose marts are there; returns their names.

    `dbt build` makes them with everything else; this is for a warehouse whose marts were made
    otherwise (a test fixture, a file restored by hand). No connection to `db_path` may be open.
    """
    # rebuilt whole: the incremental tables' rule (what a build has seen) holds only for tables dbt
    # built from these statistics
    outcome = run_dbt(dbt_dir, db_path, work_dir, {}, command="run", select=["bi", *BI_TABLES], full_refresh=True)
    if outcome.errors or outcome.failed or not outcome.success:
        raise TerminalError(f"`file={db_path}`: the bi views were not built: "
                            f"{'; '.join(outcome.errors + outcome.failed)} (log: {work_dir / 'logs' / 'dbt.log'})")
    with connect(db_path) as con:
        return check_bi_views(con)
