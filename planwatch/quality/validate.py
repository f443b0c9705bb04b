"""Run the data-quality suites of `expectations/` through Great Expectations, inside DuckDB.

`validate_raw` checks the ingest store (statistics as the run will publish them, plan targets);
`validate_marts` checks the marts dbt built in the run's candidate. Both open their file
read-only through GX's SQL execution engine (made to work on DuckDB by planwatch.quality.gx_duckdb, so
every rule runs as SQL inside DuckDB, nothing is pulled into pandas), then close it, then write
the findings to `audit.dq_results` of the ingest store and return counts. Neither raises on a
failed check: `planwatch.serve.publish.publish` is the gate.

GX is kept quiet (loggers at WARNING, no progress bars, no analytics) and runs in an ephemeral
context; its Data Docs are built into `reports/data_docs/` from validation results kept in
`warehouse/gx/validations/`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from planwatch.quality import gx_duckdb
from planwatch.quality.gx_import import defer_unused_dependencies
from planwatch.core.background_import import import_in_background, wait_for_import
from planwatch.core.config import Settings
from planwatch.core.db import (
    attach_read_only,
    connect,
    ensure_ingest_schema,
    memory_limit_beside_build,
    table_exists,
    transaction,
)
from planwatch.core.errors import ConfigError, WarehouseLocked
from planwatch.core.faults import crash_point
from planwatch.core.suites import SUITES_PACKAGE, load_suites
from planwatch.core.types import Metrics, RunContext, side_by_side

log = logging.getLogger(__name__)

NOISY_LOGGERS = ("great_expectations", "sqlalchemy", "duckdb_engine", "urllib3", "matplotlib",
                 "altair", "numexpr", "tzlocal", "posthog")
DOCS_SITE = "planwatch"


@dataclass
class Finding:
    suite: str
    expectation: str
    severity: str
    success: bool
    unexpected_count: int | None
    sample: list[Any] = field(default_factory=list)
    error: str | None = None


def quiet_logging() -> None:
    """GX and its dependencies log import chatter and progress at INFO: keep them to warnings."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# Before anything imports GX: its import alone logs hundreds of INFO lines ("Skipping registering
# function ..."). Setting levels is cheap and imports nothing.
quiet_logging()

GX_MODULE = "great_expectations"


def import_gx_in_background() -> None:
    """Start GX's import (3-4 s of one core, bench/README.md) in the background
    (planwatch.core.background_import): for a process that runs the checks after other stages."""
    defer_unused_dependencies()  # here, not in the thread: before anything can import GX
    import_in_background(GX_MODULE, then=quiet_logging)  # GX adds its own handlers and levels on import


def _params(settings: Settings, run: RunContext, previous_row_counts: dict[str, int]) -> Any:
    suites = load_suites(settings)
    common = importlib.import_module(SUITES_PACKAGE + "._common")
    path = settings.expectations_dir / "thresholds.yml"
    try:
        thresholds = suites.Thresholds.load(path)
    except (common.ThresholdError, OSError) as exc:
        raise ConfigError(str(exc)) from exc
    return suites.SuiteParams(quarter=str(run.quarter), quarter_index=run.quarter.index,
                              thresholds=thresholds, previous_row_counts=previous_row_counts)


def _docs_dir(settings: Settings) -> Path:
    return settings.reports_dir / "data_docs"


def _gx_context(settings: Settings) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    docs_dir = _docs_dir(settings)
    results_dir = settings.warehouse_dir / "gx" / "validations"
    docs_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    config = DataContextConfig(
        store_backend_defaults=defaults,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
    )
    # Keep validation results on disk so the Data Docs index shows the raw and the mart suites
    # (separate tasks, separate processes) and earlier runs.
    config.stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir)},
    }
    return gx.get_context(project_config=config, mode="ephemeral")


def _expectation(rule: Any, query: str | None = None) -> Any:
    """GX's expectation of `rule`; `query`, when given, is what GX runs instead of the rule's own
    (its rows kept by _update_carried)."""
    import great_expectations as gx
    from great_expectations.expectations.metadata_types import FailureSeverity

    common: dict[str, Any] = {
        "description": rule.description,
        "meta": {"rule": rule.name, "severity": rule.severity},
        "severity": FailureSeverity.CRITICAL if rule.severity == "error" else FailureSeverity.WARNING,
    }
    if rule.query is not None:
        return gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=query or rule.gx_query(), **common)
    cls_name, kwargs = rule.builtin
    return getattr(gx.expectations, cls_name)(**kwargs, **common)


def _exception_message(info: Any) -> str | None:
    """GX reports a metric that raised either at the top level or keyed by metric id."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))[:500]
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))[:500]
    return None


def _finding(suite: str, result: Any, sample_size: int) -> Finding:
    config = result.expectation_config
    meta = config.meta or {}
    name, severity = meta.get("rule", config.type), meta.get("severity", "error")
    message = _exception_message(result.exception_info)
    if message is not None:
        log.error("check %s.%s could not run: %s", suite, name, message)
        return Finding(suite, name, severity, False, None, [{"exception": message}], message)
    res = result.result or {}
    if config.type == "unexpected_rows_expectation":
        count = int(res.get("observed_value") or 0)
        rows = (res.get("details") or {}).get("unexpected_rows") or []
        sample = [dict(r) if not isinstance(r, dict) else r for r in rows[:sample_size]]
    elif config.type == "expect_table_row_count_to_be_between":
        observed = res.get("observed_value")
        floor = config.kwargs.get("min_value")
        count = 0 if result.success else max(0, int(floor or 0) - int(observed or 0))
        sample = [] if result.success else [{"rows": observed, "min_rows": floor}]
    else:
        count = int(res.get("unexpected_count") or 0)
        sample = list(res.get("partial_unexpected_list") or [])[:sample_size]
    return Finding(suite, name, severity, bool(result.success), count, sample)


BATCHES_ALIAS = "planwatch_batches"
KEPT_BATCHES = f"{BATCHES_ALIAS}.duckdb"  # its catalog is BATCHES_ALIAS; kept under warehouse/gx/<stage>/
# What the kept batches were computed from (see _update_kept), in the same file.
KEPT_STATE = f'"{BATCHES_ALIAS}".main.kept_state'
KEPT_SOURCES = f'"{BATCHES_ALIAS}".main.kept_sources'
KEPT_RULE_INPUTS = f'"{BATCHES_ALIAS}".main.kept_rule_inputs'  # what a suite's kept rule rows were computed from
KEPT_CARRIED = f'"{BATCHES_ALIAS}".main.kept_carried'  # the fingerprint each Suite.inputs suite's rule rows are of


def materialize_batches(db_path: Path, suites: list[Any], scratch: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Compute the batch of each suite marked `materialize` once, into tables of the file `scratch`,
    and bring the kept rule rows of each suite with `inputs` up to date there (`_update_carried`).

    `db_path` is only attached read-only (it has one writer, and it is not this stage), so the
    tables go to a scratch file that GX then attaches as `planwatch_batches`. A suite with `kept`
    keeps its batch there between runs and recomputes only the periods that changed (`_update_kept`);
    the others are computed afresh. Returns the query that reads each materialised batch, by suite
    name, and the query GX runs instead of each kept rule's own, by `suite.rule`. A batch or rule rows
    that cannot be computed are left to GX, which then records every rule of its suite as failed with
    the error, as before.
    """
    import duckdb

    wanted = [s for s in suites if s.materialize or s.inputs]
    if not wanted:
        return {}, {}
    queries: dict[str, str] = {}
    rule_queries: dict[str, str] = {}
    with connect(scratch) as con:
        attach_read_only(con, db_path, "source_db")
        # The suites' SQL names tables as schema.table of the checked file: make it the default.
        con.execute("USE source_db")
        for suite in wanted:
            table = f'"{BATCHES_ALIAS}".main."{suite.name}"'  # suite names come from code
            started = time.monotonic()
            if suite.inputs:
                try:
                    carried, done = _update_carried(con, suite)
                except duckdb.Error as exc:
                    log.warning("rules of %s could not be kept (%s); GX runs them", suite.name, exc)
                else:
                    rule_queries.update(carried)
                    log.info("rules of %s: %s in %.2f s", suite.name, done, time.monotonic() - started)
                if not suite.materialize:
                    continue
            try:
                if suite.kept is not None:
                    done = _update_kept(con, suite)
                else:
                    con.execute(f"CREATE OR REPLACE TABLE {table} AS {suite.batch_sql}")
                    done = "computed afresh"
            except duckdb.Error as exc:
                log.warning("batch of %s could not be computed once (%s); GX derives it per rule", suite.name, exc)
                continue
            queries[suite.name] = f"select * from {table}"
            log.info("batch of %s %s in %.1f s", suite.name, done, time.monotonic() - started)
        con.execute(f'USE "{BATCHES_ALIAS}"')
        con.execute("DETACH source_db")
    return queries, rule_queries


def _update_carried(con: Any, suite: Any) -> tuple[dict[str, str], str]:
    """Keep each query rule's rows of `suite` in the kept file; compute them again only when the
    fingerprint of what they read changed: the suite's SQL (batch and rules, thresholds included)
    and, for every table of `suite.inputs`, its columns and types, its row count and the sum of a
    hash of each row (0.03 s nationally for the plan tables, against 0.5-0.6 s for the plan rules).
    Returns, by `suite.rule`, the query GX runs instead of the rule's own (the kept rows: the same
    rows, columns and order, so the same findings and Data Docs page), and what was done, for the
    log. One transaction: a crash leaves the rows and their fingerprint as they were."""
    rules = [r for r in suite.rules if r.query is not None]
    tables = {r.name: f'"{BATCHES_ALIAS}".main."{suite.name}__{r.name}"' for r in rules}  # names from code
    parts = [suite.batch_sql, *(r.gx_query() for r in rules)]
    for name in sorted(suite.inputs):
        schema, table = name.split(".")
        columns = con.execute("select column_name, data_type from duckdb_columns() where database_name = 'source_db' "
                              "and schema_name = ? and table_name = ? order by column_index", [schema, table]).fetchall()
        # a row's hash does not see column names or types: they are part of the fingerprint beside it
        rows, digest = con.execute(f'select count(*), sum(hash(t))::hugeint from "{schema}"."{table}" as t').fetchone()
        parts.append(f"{name} {columns!r} {rows} {digest}")
    fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    queries = {f"{suite.name}.{name}": f"with batch_rows as (select * from {{batch}}) select * from {table}"
               for name, table in tables.items()}
    con.execute(f"create table if not exists {KEPT_CARRIED} (suite varchar primary key, fingerprint varchar)")
    recorded = con.execute(f"select fingerprint from {KEPT_CARRIED} where suite = ?", [suite.name]).fetchone()
    present = con.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = 'main' "
                          "and table_name in (select unnest(?::varchar[]))",
                          [BATCHES_ALIAS, [f"{suite.name}__{r.name}" for r in rules]]).fetchone()[0]
    if recorded is not None and recorded[0] == fingerprint and present == len(rules):
        return queries, f"{len(rules)} rules' rows kept, their inputs unchanged"
    with transaction(con):
        for rule in rules:
            # the rule as GX runs it, the batch in place of GX's placeholder (rules hold no braces)
            query = rule.gx_query().replace("{batch}", f"({suite.batch_sql}) as subselect")
            con.execute(f"create or replace table {tables[rule.name]} as {query}")
        con.execute(f"delete from {KEPT_CARRIED} where suite = ?", [suite.name])
        con.execute(f"insert into {KEPT_CARRIED} values (?, ?)", [suite.name, fingerprint])
    return queries, f"{len(rules)} rules' rows computed (their inputs changed)"


def _update_kept(con: Any, suite: Any) -> str:
    """Bring the batch kept from an earlier run up to date; recompute it whole when that cannot be proven.

    The kept batch equals a fresh one for every period before the earliest period of any source file
    that was added, removed or changed since (`kept.sources_sql`: rows, checksum and earliest period
    of each file, as recorded with the batch), and before the first period the earlier run left out
    (its upper end was an earlier quarter). Those periods are kept; the others are deleted and
    recomputed. The batch's own code (SQL) is fingerprinted: changed code recomputes it whole.
    Everything happens in one transaction, so a crash leaves the batch and its record as they were.
    """
    kept = suite.kept
    table = f'"{BATCHES_ALIAS}".main."{suite.name}"'  # suite names come from code
    rule_rows = kept.rule_rows
    code = kept.between(None, 0) + kept.sources_sql
    if rule_rows is not None:
        code += rule_rows.groups_sql("b") + rule_rows.inputs_sql("b") + rule_rows.rows_sql("b", "g", None, None, 0)
    fingerprint = hashlib.sha256(code.encode()).hexdigest()
    con.execute(f"create table if not exists {KEPT_STATE} (suite varchar primary key, fingerprint varchar, "
                "high_index integer)")
    con.execute(f"create table if not exists {KEPT_SOURCES} (suite varchar, file_id varchar, rows bigint, "
                "checksum varchar, min_index integer)")
    now = {r[0]: (int(r[1]), str(r[2]), int(r[3])) for r in con.execute(kept.sources_sql).fetchall()}
    recorded = con.execute(f"select fingerprint, high_index from {KEPT_STATE} where suite = ?",
                           [suite.name]).fetchone()
    has_table = con.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = 'main' "
                            "and table_name = ?", [BATCHES_ALIAS, suite.name]).fetchone()[0]
    low: int | None = None
    afresh = recorded is None or recorded[0] != fingerprint or not has_table
    if not afresh:
        before = {r[0]: (int(r[1]), str(r[2]), int(r[3])) for r in con.execute(
            f"select file_id, rows, checksum, min_index from {KEPT_SOURCES} where suite = ?", [suite.name]).fetchall()}
        changed = [v[2] for f in set(before) | set(now) if before.get(f) != now.get(f)
                   for v in (before.get(f), now.get(f)) if v is not None]
        if kept.high > recorded[1]:
            changed.append(recorded[1] + 1)
        low = min(changed, default=None)
    with transaction(con):
        if afresh:
            con.execute(f"create or replace table {table} as {kept.between(None, kept.high)}")
            done = "computed afresh (kept for the next run)"
        else:
            con.execute(f"delete from {table} where period_index > ? or period_index >= ?",
                        [kept.high, kept.high + 1 if low is None else low])
            if low is not None and low <= kept.high:
                con.execute(f"insert into {table} {kept.between(low, kept.high)}")
            done = ("kept, nothing changed" if low is None else
                    f"kept, periods from index {low} recomputed")
        if rule_rows is not None:
            done += "; " + _update_rule_rows(con, suite.name, rule_rows, table, afresh,
                                             kept.high + 1 if low is None else min(low, kept.high + 1), kept.high)
        con.execute(f"delete from {KEPT_STATE} where suite = ?", [suite.name])
        con.execute(f"insert into {KEPT_STATE} values (?, ?, ?)", [suite.name, fingerprint, int(kept.high)])
        con.execute(f"delete from {KEPT_SOURCES} where suite = ?", [suite.name])
        con.executemany(f"insert into {KEPT_SOURCES} values (?, ?, ?, ?, ?)",
                        [(suite.name, f, *v) for f, v in sorted(now.items())])
    return done


def _update_rule_rows(con: Any, suite_name: str, rule_rows: Any, batch: str, afresh: bool, low: int,
                      high: int) -> str:
    """Bring a cross-row rule's kept rows up to date with the batch just updated (inside its transaction).

    The batch changed at periods from `low` only (unless `afresh`); a kept row of an earlier period
    changes only when its region × indicator moved in or out of the groups, or when the rule's other
    inputs changed (then all rows are recomputed). See expectations/suites/_common.py, KeptRuleRows.
    """
    rows = f'"{BATCHES_ALIAS}".main."{rule_rows.table}"'  # table names come from the suites' code
    groups = f'"{BATCHES_ALIAS}".main."{rule_rows.groups_table}"'
    con.execute(f"create table if not exists {KEPT_RULE_INPUTS} (suite varchar primary key, inputs varchar)")
    inputs = repr(con.execute(rule_rows.inputs_sql(batch)).fetchone())
    recorded = con.execute(f"select inputs from {KEPT_RULE_INPUTS} where suite = ?", [suite_name]).fetchone()
    present = con.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = 'main' "
                          "and table_name in (?, ?)", [BATCHES_ALIAS, rule_rows.table, rule_rows.groups_table]).fetchone()[0]
    con.execute(f"create or replace temp table rule_groups_now as {rule_rows.groups_sql(batch)}")
    if afresh or recorded is None or recorded[0] != inputs or present != 2:
        con.execute(f"create or replace table {rows} as "
                    f"{rule_rows.rows_sql(batch, 'rule_groups_now', None, None, high)}")
        done = f"{rule_rows.table} computed afresh"
    else:
        con.execute("create or replace temp table rule_groups_changed as "
                    f"(select * from {groups} except select * from rule_groups_now) "
                    f"union (select * from rule_groups_now except select * from {groups})")
        changed = con.execute("select count(*) from rule_groups_changed").fetchone()[0]
        con.execute(f"delete from {rows} r where r.period_index >= ? or exists (select 1 from rule_groups_changed c "
                    "where c.region_code = r.region_code and c.indicator_code = r.indicator_code)", [low])
        con.execute(f"insert into {rows} "
                    f"{rule_rows.rows_sql(batch, 'rule_groups_now', int(low), 'rule_groups_changed' if changed else None, high)}")
        done = f"{rule_rows.table} kept, from index {low} and {changed} changed group(s) recomputed"
    con.execute(f"create or replace table {groups} as select * from rule_groups_now")
    con.execute(f"delete from {KEPT_RULE_INPUTS} where suite = ?", [suite_name])
    con.execute(f"insert into {KEPT_RULE_INPUTS} values (?, ?)", [suite_name, inputs])
    return done


def _kept_batches(settings: Settings, checkpoint: str) -> Path:
    return settings.warehouse_dir / "gx" / checkpoint / KEPT_BATCHES


def run_suites(settings: Settings, db_path: Path, suites: list[Any], sample_size: int,
               checkpoint: str) -> list[Finding]:
    """Validate `suites` against the DuckDB file `db_path` (opened read-only); build Data Docs.

    Batches of suites with `kept` live in warehouse/gx/<checkpoint>/ between runs; the others in a
    temporary file. When the kept file cannot be opened (another process holds it), the batches are
    computed afresh in a temporary file: slower, same findings.
    """
    import duckdb

    with tempfile.TemporaryDirectory(prefix="planwatch-batches-") as scratch_dir:
        scratch = Path(scratch_dir) / KEPT_BATCHES
        if any((s.materialize and s.kept is not None) or s.inputs for s in suites):
            kept = _kept_batches(settings, checkpoint)
            try:
                batch_queries, rule_queries = materialize_batches(db_path, suites, kept)
                scratch = kept
            except (duckdb.Error, WarehouseLocked) as exc:
                log.warning("kept batches `file=%s` unusable (%s): computing them afresh", kept, exc)
                batch_queries, rule_queries = materialize_batches(db_path, suites, scratch)
        else:
            batch_queries, rule_queries = materialize_batches(db_path, suites, scratch)
        attach = {BATCHES_ALIAS: str(scratch)} if batch_queries or rule_queries else {}
        return _run_gx(settings, db_path, suites, sample_size, checkpoint, batch_queries, attach, rule_queries)


def _run_gx(settings: Settings, db_path: Path, suites: list[Any], sample_size: int, checkpoint: str,
            batch_queries: dict[str, str], attach: dict[str, str],
            rule_queries: dict[str, str] | None = None) -> list[Finding]:
    quiet_logging()
    wait_for_import(GX_MODULE)
    defer_unused_dependencies()
    import great_expectations as gx

    quiet_logging()  # GX adds its own handlers and levels on import
    context = _gx_context(settings)
    connect_args: dict[str, Any] = {"read_only": True}
    if attach:
        connect_args[gx_duckdb.ATTACH_ARG] = attach
    source = context.data_sources.add_sql(
        name="duckdb", connection_string=gx_duckdb.connection_string(db_path),
        kwargs={"connect_args": connect_args}, create_temp_table=False,
    )
    try:
        definitions = []
        for suite in suites:
            asset = source.add_query_asset(name=suite.name, query=batch_queries.get(suite.name, suite.batch_sql))
            batch_definition = asset.add_batch_definition_whole_table("all")
            gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name))
            for rule in suite.rules:
                gx_suite.add_expectation(_expectation(rule, (rule_queries or {}).get(f"{suite.name}.{rule.name}")))
            definitions.append(context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite)))
        cp = context.checkpoints.add(gx.Checkpoint(
            name=checkpoint, validation_definitions=definitions, actions=[],
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": sample_size},
        ))
        outcome = cp.run()
        # Once per stage: GX's UpdateDataDocsAction rebuilds the whole site once per suite.
        context.build_data_docs(site_names=[DOCS_SITE],
                                resource_identifiers=_pages_to_render(settings, context, outcome))
        findings = []
        for validation in outcome.run_results.values():
            for result in validation.results:
                findings.append(_finding(validation.suite_name, result, sample_size))
        return findings
    finally:
        # Close every pooled read-only connection: the caller opens the ingest store read-write
        # next, and DuckDB refuses a writer while this process still holds a reader on the file.
        # close_connections closes each one the dialect opened (a weak set: those GX still holds and
        # those left in reference cycles alike), so no full gc.collect is needed first: it walked
        # every object of a process that has imported dbt and GX (0.2 s of CPU or more per stage,
        # bench/README.md, ninth pass).
        del source, context
        gx_duckdb.close_connections()


def _pages_to_render(settings: Settings, context: Any, outcome: Any) -> list[Any] | None:
    """The Data Docs pages a stage renders: its suites, its results, and any stored result whose page
    is missing. A full build renders a page for every result ever stored, so each check took longer
    with every run (40 runs' results: 5.8 s against 1.5 s for one, bench/README.md); pages of
    earlier results are already on disk. The index still lists every stored result."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    pages = list(outcome.run_results)  # ValidationResultIdentifier of this run's results
    if not pages:
        return None  # GX renders everything for an empty list too; say so
    pages += [ExpectationSuiteIdentifier(name=s.name) for s in context.suites.all()]
    validations = _docs_dir(settings) / "validations"
    for key in context.validation_results_store.list_keys():
        *folders, leaf = key.to_tuple()
        if not (validations.joinpath(*folders) / f"{leaf}.html").is_file():
            pages.append(key)
    return pages


def write_findings(settings: Settings, run: RunContext, suite_names: list[str], findings: list[Finding]) -> None:
    """Replace this run's findings of `suite_names` in audit.dq_results of the ingest store."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [
        (run.run_id, f.suite, f.expectation, f.severity, f.success, f.unexpected_count,
         json.dumps(f.sample, ensure_ascii=False, default=str), now)
        for f in findings
    ]
    with connect(settings.ingest_db) as con:
        ensure_ingest_schema(con)
        with transaction(con):  # a run's findings of a suite are replaced whole or not at all
            for name in suite_names:
                con.execute("delete from audit.dq_results where run_id = ? and suite = ?", [run.run_id, name])
            if rows:
                con.executemany(
                    "insert into audit.dq_results (run_id, suite, expectation, severity, success, unexpected_count, "
                    "sample, checked_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )


def _metrics(findings: list[Finding], seconds: float) -> Metrics:
    failed = [f for f in findings if not f.success]
    return {
        "expectations": len(findings),
        "passed": len(findings) - len(failed),
        "failed_error": sum(f.severity == "error" for f in failed),
        "failed_warn": sum(f.severity == "warn" for f in failed),
        "seconds": round(seconds, 2),
    }


def _report(stage: str, findings: list[Finding]) -> None:
    for f in findings:
        if not f.success:
            level = logging.ERROR if f.severity == "error" else logging.WARNING
            log.log(level, "%s: %s.%s failed (%s, %s unexpected) e.g. %s", stage, f.suite, f.expectation,
                    f.severity, f.unexpected_count, json.dumps(f.sample[:3], ensure_ascii=False, default=str))


def _run_stage(settings: Settings, run: RunContext, stage: str, db_path: Path, suites: list[Any],
               sample_size: int) -> Metrics:
    started = time.monotonic()
    findings = run_suites(settings, db_path, suites, sample_size, checkpoint=stage)
    names = [s.name for s in suites]
    expected = {(s.name, r.name) for s in suites for r in s.rules}
    seen = {(f.suite, f.expectation) for f in findings}
    for suite, rule in sorted(expected - seen):
        # A rule GX did not report is a rule that did not run: never let it pass silently.
        severity = next(r.severity for s in suites if s.name == suite for r in s.rules if r.name == rule)
        findings.append(Finding(suite, rule, severity, False, None, [{"exception": "not evaluated"}],
                                "not evaluated"))
    crash_point(f"{stage}.before_findings")  # checks ran, findings not yet stored
    write_findings(settings, run, names, findings)
    metrics = _metrics(findings, time.monotonic() - started)
    _report(stage, findings)
    log.info("%s: %s", stage, metrics)
    return metrics


def validate_raw(settings: Settings, run: RunContext) -> Metrics:
    """Run the raw suites (statistics, plan consistency) against the ingest store."""
    if not settings.ingest_db.exists():
        raise ConfigError(f"`file={settings.ingest_db}` does not exist: run the load stages first")
    params = _params(settings, run, {})
    suites = load_suites(settings).raw_suites(params)
    # side by side, dbt's build runs meanwhile in another process: these checks take a smaller share
    # of the memory (planwatch.core.db, CHECKS_MEMORY_LIMIT_ENV)
    with memory_limit_beside_build() if side_by_side() else contextlib.nullcontext():
        return _run_stage(settings, run, "validate_raw", settings.ingest_db, suites,
                          params.thresholds.sample_size)


def published_row_counts(settings: Settings, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows of each mart in the published warehouse (empty when nothing is published yet)."""
    if not settings.published_db.exists():
        return {}
    counts = {}
    with connect(settings.published_db, read_only=True) as con:
        for table in tables:
            schema, name = table.split(".")
            if table_exists(con, schema, name):
                # Table names come from the suites' code, never from data.
                row = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
                counts[table] = int(row[0]) if row else 0
    return counts


def validate_marts(settings: Settings, run: RunContext) -> Metrics:
    """Run one suite per mart against the run's candidate, and compare row counts with the published run."""
    candidate = settings.candidate_db(run.run_id)
    if not candidate.exists():
        raise ConfigError(f"`run_id={run.run_id}`: no candidate at {candidate}; run the dbt build stage first")
    module = load_suites(settings)
    params = _params(settings, run, published_row_counts(settings, tuple(module.MART_TABLES)))
    suites = module.mart_suites(params)
    return _run_stage(settings, run, "validate_marts", candidate, suites, params.thresholds.sample_size)
