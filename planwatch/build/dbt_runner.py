"""Run one dbt command against a candidate file and count what it did.

Console quiet (warnings only), the full log in the work folder; dbt-duckdb's open database is
released after every call so that the next reader of the candidate can open it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planwatch.build.dbt_parse import kept_parse
from planwatch.core.background_import import wait_for_import
from planwatch.core.errors import WarehouseLocked

# The values that change every run reach dbt as env vars, not vars: dbt parses the whole project
# again when a var changes, but only the files that read an env var when that changes
# (build/dbt_parse.py). dbt reads them in dbt/macros/periods.sql (as_of_quarter()) and
# dbt/macros/rebuilt_rows.sql (the bound, and the `where` of the tests keyed by period), only when it
# executes: so no file is parsed again at all.
# dbt's entry point: about 1 s of CPU to import in a fresh process, most of dbt's own import
DBT_MODULE = "dbt.cli.main"

RUN_ENV_VARS = {
    "as_of_quarter": "PLANWATCH_AS_OF_QUARTER",
    "rebuilt_from_period_index": "PLANWATCH_REBUILT_FROM_PERIOD_INDEX",
}


@dataclass
class DbtOutcome:
    """What one `dbt build` did, counted by resource type and status."""

    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def _build_db_env(candidate_db: Path, run_values: dict[str, Any] | None = None) -> Iterator[None]:
    """dbt's profile reads PLANWATCH_BUILD_DB, the models the RUN_ENV_VARS; set them for this
    invocation only (one left unset is unset for it, so a caller's value cannot leak in)."""
    values = {"PLANWATCH_BUILD_DB": str(candidate_db)}
    for var, env in RUN_ENV_VARS.items():
        value = (run_values or {}).get(var)
        values[env] = None if value is None else str(value)
    old = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the process after `invoke` returns.

    Otherwise the candidate stays open in this process with dbt's configuration, and the next
    read-only open (checks, tests) or another process's open fails.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held
        return
    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        try:
            env.close()
        finally:
            DuckDBConnectionManager.close_all_connections()


def run_dbt(
    dbt_dir: Path,
    candidate_db: Path,
    work_dir: Path,
    dbt_vars: dict[str, Any],
    *,
    full_refresh: bool = False,
    command: str = "build",
    select: list[str] | None = None,
    exclude_resource_types: tuple[str, ...] = (),
    exclude: list[str] | None = None,
    indirect_selection: str | None = None,
    parse_dir: Path | None = None,
) -> DbtOutcome:
    """Run one dbt command against `candidate_db`, console quiet (warnings only), full log in `work_dir`.

    `parse_dir` keeps dbt's parse of the project for the next build (build/dbt_parse.py).
    """
    wait_for_import(DBT_MODULE)  # started beside the statistics load by run_all (pipeline.before_stage)
    from dbt.cli.main import dbtRunner

    from planwatch.core.scheduling import dbt_vars as scheduling_vars

    all_vars = {**scheduling_vars(), **dbt_vars}
    run_values = {k: all_vars.pop(k) for k in RUN_ENV_VARS if k in all_vars}
    args = [
        command,
        "--project-dir", str(dbt_dir),
        "--profiles-dir", str(dbt_dir),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        # the scheduling rules (the submission deadline) come from their one home in Python
        "--vars", json.dumps(all_vars),
        "--log-level", "warn",
        "--log-level-file", "info",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]
    if command == "build":
        # nothing reads a build's manifest.json and run_results.json (the candidate's target/ is removed
        # after it; the kept parse is partial_parse.msgpack): 0.3 s of CPU per build (bench/README.md)
        args.append("--no-write-json")
    if full_refresh and command in ("build", "run"):
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
    if exclude:
        args += ["--exclude", *exclude]
    if indirect_selection:
        args += ["--indirect-selection", indirect_selection]
    for resource_type in exclude_resource_types:
        args += ["--exclude-resource-type", resource_type]
    with kept_parse(parse_dir, candidate_db, work_dir / "target") as (dbt_db, parse_file):
        if parse_file is not None:
            args += ["--partial-parse-file-path", str(parse_file)]
        with _build_db_env(dbt_db, run_values):
            try:
                result = dbtRunner().invoke(args)
            finally:
                _release_duckdb()
    outcome = DbtOutcome(success=bool(result.success))
    if result.exception is not None:
        text = str(result.exception)
        if "lock" in text.lower():
            raise WarehouseLocked(f"`file={candidate_db}` is locked: {text}")
        outcome.errors.append(f"dbt {command}: {text}")
        return outcome
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        status = str(getattr(node_result.status, "value", node_result.status))
        key = f"{node.resource_type}:{status}"
        outcome.counts[key] = outcome.counts.get(key, 0) + 1
        label = f"{node.name} ({node_result.message or status})"
        if status == "fail":
            outcome.failed.append(label)
        elif status == "error":
            outcome.errors.append(label)
        elif status == "warn":
            outcome.warned.append(label)
    return outcome
