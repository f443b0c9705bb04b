"""Stage `dbt_build`: snapshot the ingest store into a candidate file and build the dbt project in it.

The candidate (`warehouse/candidates/<run_id>.duckdb`) gets a copy of the raw tables (build/snapshot.py),
with statistics only for periods ending at or before the run's quarter, and the audit tables' shape
(publish copies their rows in, once, after the checks); then `dbt build` (build/dbt_runner.py) adds
the `staging`, `intermediate` and `marts` schemas and runs every data and unit test. A failed test of severity error fails the stage: dbt's tests are part of the audit.

Incremental builds: when the published build was for the same or an earlier quarter and its fingerprint
(build/fingerprint.py: reference and plan tables, dbt code, vars other than the quarter) equals this build's, the candidate
starts as a copy of the published file, and dbt's incremental models (the statistics chain and the
facts) rebuild only the series that new files touch. Otherwise the candidate starts empty and dbt
builds everything (`--full-refresh`). Both paths give the same rows (tests/planwatch/build/test_candidate.py);
dbt/README.md states the rule.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwatch.build import prepared_copy
from planwatch.build.dbt_parse import PARSE_DIR_NAME
from planwatch.build.dbt_runner import run_dbt
from planwatch.build.bi_views import check_bi_views
from planwatch.build.fingerprint import INCREMENTAL_FACT, extendable_quarter, ingest_fingerprint, write_build_state
from planwatch.build.snapshot import copy_ingest_file, copy_raw_tables, remove_db, trim_ingest_copy
from planwatch.core.config import Settings
from planwatch.core.db import MEMORY_LIMIT_ENV, connect, memory_limit
from planwatch.core.errors import ConfigError, TerminalError
from planwatch.core.periods import Quarter
from planwatch.core.scheduling import dbt_vars as scheduling_vars
from planwatch.core.types import Metrics, RunContext
from planwatch.core.faults import crash_point

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

# dbt_project.yml tags the bi views' tests with it, and _intermediate__models.yml the key test of the
# view int_observations_year_end: checks of the views' SQL, not of the data.
VIEW_LOGIC_TAG = "view_logic"
# _intermediate__models.yml tags with it the key tests of the statistics chain's intermediate
# tables that fct_indicator_progress.progress_id's unique test proves again in every run: each of
# their rows becomes one fact row whose id is made of the same key (the test's comment says why).
CHAIN_LOGIC_TAG = "chain_logic"
# dbt_project.yml tags with it the plan-side tables that read no statistics and no var: an
# incremental build starts from a copy of the published file whose fingerprint (plans, reference
# tables, dbt code, vars but the quarter) equals its own, so those tables are already what it would
# build, and their tests already passed there.
SAME_EVERY_QUARTER_TAG = "same_every_quarter"
# The bi views (dbt selection: views under models/bi). A view holds no rows, only its SQL, which
# comes from the dbt code and vars alone (no bi view reads the run's quarter or bound): an
# incremental build's copy of the published file, whose fingerprint equals its own, already holds
# them as this build would create them. Their tests are view_logic, left out of runs anyway.
BI_VIEWS = "path:models/bi,config.materialized:view"


def build_candidate(settings: Settings, run: RunContext) -> Metrics:
    """Stage: a candidate warehouse for `run` (new, or a copy of the published one), built and tested by dbt."""
    settings.candidates_dir.mkdir(parents=True, exist_ok=True)
    candidate = settings.candidate_db(run.run_id)
    previous = settings.published_db if settings.published_db.exists() else None
    return build_from_ingest(
        settings.ingest_db, candidate, run.quarter, settings.dbt_dir,
        work_dir=candidate.with_suffix(".dbt"), previous_db=previous, run_id=run.run_id,
    )


def _built_up_to(con: "duckdb.DuckDBPyConnection") -> tuple[int, int]:
    """The newest file_seq and period of the facts in a copy of the published build."""
    row = con.execute(f"select coalesce(max(source_file_seq), -1), coalesce(max(period_index), -1) "
                      f"from marts.{INCREMENTAL_FACT}").fetchone()
    return (int(row[0]), int(row[1])) if row else (-1, -1)


def earliest_new_period(con: "duckdb.DuckDBPyConnection", file_seq: int, period_index: int) -> int:
    """The earliest period of a statistics row newer than the published build (a later file, or a later
    period): the incremental models rebuild nothing before it (dbt/macros/incremental.sql,
    newer_than_built), so the tests keyed by period check the rows from it on (their `where` config,
    dbt/models/intermediate/_intermediate__models.yml).
    With nothing newer, the period after the last: no row to check again."""
    row = con.execute("select min(period_index) from raw.stat_observations where file_seq > ? or period_index > ?",
                      [file_seq, period_index]).fetchone()
    return int(row[0]) if row and row[0] is not None else period_index + 1


def _what_to_do(problems: list[str]) -> str:
    """A hint for the failures a user can mend without touching the models: memory and disk."""
    text = " ".join(problems)
    if "Out of Memory Error" in text:
        return (f"DuckDB ran out of its memory limit ({MEMORY_LIMIT_ENV}={memory_limit()}): set "
                f"{MEMORY_LIMIT_ENV} higher (e.g. 2GB) and run again; beyond the limit it spills to disk. ")
    if "No space left on device" in text:
        return ("The disk is full (DuckDB spills to `.dbt-parse/build.duckdb.tmp/` beside the candidate): free space "
                "in the warehouse folder, or remove old candidates and versions, and run again. ")
    return ""


def build_from_ingest(
    ingest_db: Path,
    candidate_db: Path,
    quarter: Quarter,
    dbt_dir: Path,
    *,
    work_dir: Path | None = None,
    previous_db: Path | None = None,
    full_refresh: bool = False,
    run_id: str = "manual",
    extra_vars: dict[str, Any] | None = None,
    logic_tests: bool = False,
    parse_dir: Path | None = None,
) -> Metrics:
    """Snapshot `ingest_db` into a new `candidate_db` for `quarter` and run `dbt build` there.

    `previous_db` is a published warehouse whose facts may be reused (see the module docstring);
    `full_refresh=True` ignores it. `extra_vars` override dbt vars (thresholds) for this build.
    Logic tests check the models' SQL, not the data: dbt's unit tests (fixed rows), the data
    tests tagged `view_logic` (invariants of the views' SQL: the bi views', dbt_project.yml, and
    int_observations_year_end's key) and those tagged
    `chain_logic` (the intermediate keys that the fact's unique id re-checks). A run leaves them
    out (`logic_tests=False`; 2-4 s and 95 s of node time of a national build, and 8 s of the
    chain's, bench/README.md) and `make test` runs them (tests/dbt/test_marts_fixture.py), as dbt
    recommends for unit tests.
    dbt's parse of the project is kept for the next build in `parse_dir` (default `.dbt-parse/`
    beside the candidate; build/dbt_parse.py).
    """
    started = time.monotonic()
    if not ingest_db.exists():
        raise ConfigError(
            f"`file={ingest_db}` does not exist: there is no ingest store to build from. "
            "Run the load stages first (`python -m planwatch load_plans`, `load_statistics`)."
        )
    candidate_db.parent.mkdir(parents=True, exist_ok=True)
    work = work_dir or candidate_db.with_suffix(".dbt")
    remove_db(candidate_db)
    shutil.rmtree(work, ignore_errors=True)

    # the scheduling vars (run_dbt passes them too) belong to the fingerprint: a new deadline
    # changes bi.submission_counts
    dbt_vars: dict[str, Any] = {**scheduling_vars(), **(extra_vars or {})}
    dbt_vars["as_of_quarter"] = str(quarter)
    fingerprint = ingest_fingerprint(ingest_db, dbt_dir, dbt_vars)
    mode = "full_refresh"
    copy_of_published = None
    extends: Quarter | None = None
    if previous_db is not None and not full_refresh:
        extends = extendable_quarter(previous_db, quarter, fingerprint)
    if extends is not None:
        # The candidate starts as a copy of the published file, so that dbt's incremental models
        # find their previous rows in place ({{ this }}) and rebuild only what new files touch;
        # run_all made it beside the statistics load (build/prepared_copy.py), a DAG task makes it here.
        if prepared_copy.take(previous_db, candidate_db):
            copy_of_published = "made beside the load"
        else:
            shutil.copyfile(previous_db, candidate_db)
            copy_of_published = "made here"
        mode = "incremental"
        log.info("dbt_build: extending a copy of %s (built for %s, fingerprint unchanged)", previous_db, extends)
    else:
        prepared_copy.discard(candidate_db)
    byte_copy = extends is None and copy_ingest_file(ingest_db, candidate_db)
    with connect(candidate_db) as con:
        built = _built_up_to(con) if extends is not None else None
        if byte_copy:
            copied = trim_ingest_copy(con, ingest_db, quarter)
        else:
            copied = copy_raw_tables(con, ingest_db, quarter, extends)
        write_build_state(con, run_id, quarter, fingerprint, mode)
        if built is not None:
            # After the fingerprint: the bound changes every run and says nothing about the inputs.
            dbt_vars["rebuilt_from_period_index"] = earliest_new_period(con, *built)

    crash_point("dbt_build.before_dbt")  # candidate snapshot written, dbt not started
    exclude = [] if logic_tests else [f"tag:{VIEW_LOGIC_TAG}", f"tag:{CHAIN_LOGIC_TAG}"]
    if mode == "incremental":
        exclude += [f"tag:{SAME_EVERY_QUARTER_TAG}", BI_VIEWS]
    # `cautious`: a test leaves with the excluded models only when every model it reads is one of
    # them; a test that also reads statistics (a relationship into an evaluation) still runs
    outcome = run_dbt(dbt_dir, candidate_db, work, dbt_vars, full_refresh=(mode == "full_refresh"),
                      exclude_resource_types=() if logic_tests else ("unit_test",), exclude=exclude,
                      indirect_selection="cautious" if mode == "incremental" else None,
                      parse_dir=parse_dir or candidate_db.parent / PARSE_DIR_NAME)
    crash_point("dbt_build.after_dbt")  # candidate built, stage not yet recorded
    if outcome.errors or outcome.failed or not outcome.success:
        problems = outcome.errors + outcome.failed
        shown = "; ".join(problems[:10]) + (" …" if len(problems) > 10 else "")
        raise TerminalError(
            f"`run_id={run_id}` `quarter={quarter}`: dbt build failed: {len(problems)} node(s): {shown}. "
            f"Nothing was published. {_what_to_do(problems)}The full log is {work / 'logs' / 'dbt.log'}; "
            f"rerun one test with `PLANWATCH_BUILD_DB={candidate_db} dbt build --project-dir {dbt_dir} "
            f"--profiles-dir {dbt_dir} --select <name>`."
        )
    for name in outcome.warned:
        log.warning("dbt_build: warning test %s", name)

    # The dashboard views (dbt/models/bi/) belong to the warehouse a run builds, so they are built
    # and tested with it and published with it; the data-quality views read audit.dq_results when queried.
    with connect(candidate_db) as con:
        bi_views = check_bi_views(con)
        row = con.execute(f"select count(*) from marts.{INCREMENTAL_FACT}").fetchone()
        con.execute("checkpoint")
    fact_rows = int(row[0]) if row else 0
    shutil.rmtree(work / "target", ignore_errors=True)
    metrics: Metrics = {
        "build_mode": mode,
        "copy_of_published": copy_of_published,
        "raw_rows_copied": copied,
        "models_built": outcome.counts.get("model:success", 0),
        "tests_passed": outcome.counts.get("test:pass", 0),
        "tests_warned": outcome.counts.get("test:warn", 0),
        "tests_failed": outcome.counts.get("test:fail", 0) + outcome.counts.get("test:error", 0),
        "unit_tests_passed": outcome.counts.get("unit_test:pass", 0),
        "fct_indicator_progress_rows": fact_rows,
        # the rows the tests keyed by period checked (their `where` config): all in a full build
        "rebuilt_from_period_index": dbt_vars.get("rebuilt_from_period_index"),
        "bi_views": len(bi_views),
        "seconds": round(time.monotonic() - started, 1),
        "candidate": str(candidate_db),
    }
    log.info("dbt_build: %s", " ".join(f"{k}={v}" for k, v in metrics.items()))
    return metrics
