"""The dbt build on Apache Spark, from the same ingest store as the DuckDB build.

The loader and its quarantine stay one implementation in Python: the raw tables reach Spark as
Parquet written from the ingest store (the same snapshot the DuckDB candidate gets: statistics up
to the run's quarter, docs/architecture.md), declared as the `raw` tables of a Spark session in
local mode. dbt then builds the project there with the `spark` target (dbt-spark's `session`
method finds the session this module started) and every mart is written out as Parquet, which is
what `make test-spark` compares with the DuckDB build and what `bench --engine spark` times.

Run it in its own process (`python -m planwatch.build.spark`): the JVM lives as long as it does.
Needs .venv-spark (`make spark-venv`: pyspark, dbt-spark, a Java runtime).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwatch.core.config import REPO_ROOT
from planwatch.core.db import connect
from planwatch.core.errors import ConfigError, TerminalError
from planwatch.core.periods import Quarter
from planwatch.build.dbt_runner import run_dbt
from planwatch.build.snapshot import _PERIOD_INDEX_SQL, RAW_TABLES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[2]"
MART_SCHEMAS = ("marts",)


def export_raw_parquet(ingest_db: Path, out_dir: Path, quarter: Quarter) -> dict[str, int]:
    """Write every raw table of `ingest_db` to `out_dir/<table>/data.parquet`: the candidate's
    snapshot (statistics up to `quarter`), as Parquet. Returns the rows written per table."""
    if not ingest_db.exists():
        raise ConfigError(
            f"`file={ingest_db}` does not exist: there is no ingest store to export. "
            "Run the load stages first (`python -m planwatch load_plans`, `load_statistics`)."
        )
    rows: dict[str, int] = {}
    with connect(ingest_db, read_only=True) as con:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
        missing = [t for t in RAW_TABLES if t not in present]
        if missing:
            raise TerminalError(
                f"`file={ingest_db}` has no table(s) {', '.join('raw.' + t for t in missing)}. "
                "Load the reference, plan and statistics files first (stages load_plans and load_statistics)."
            )
        for table in RAW_TABLES:
            target = out_dir / table
            target.mkdir(parents=True, exist_ok=True)
            where = f" where {_PERIOD_INDEX_SQL} <= {int(quarter.index)}" if table == "stat_observations" else ""
            query = f'select * from raw."{table}"{where}'  # names come from code
            con.execute(f"copy ({query}) to '{target / 'data.parquet'}' (format parquet)")
            row = con.execute(f"select count(*) from ({query})").fetchone()
            rows[table] = int(row[0]) if row else 0
    return rows


def start_session(work_dir: Path, master: str = DEFAULT_MASTER) -> "SparkSession":
    """A Spark session in local mode whose tables live under `work_dir`, with the settings
    dbt-spark gives its own (ANSI mode off: a division by zero is null, as on DuckDB)."""
    from pyspark.sql import SparkSession

    # The catalog lives in memory, for this process: the tables are files under `work_dir`, and
    # an embedded Hive metastore (Derby) only added writes to every one of dbt's statements.
    return (
        SparkSession.builder.master(master)
        .appName("planwatch-dbt")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(work_dir / "spark-warehouse"))
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("PLANWATCH_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def register_raw_tables(dbt_dir: Path, parquet_dir: Path, work_dir: Path) -> None:
    """Declare each exported raw table as `raw.<table>` over its Parquet folder, with the dbt
    macro a cluster uses too (dbt/macros/raw_tables.sql), in the session this process started."""
    from dbt.cli.main import dbtRunner

    args = json.dumps({"location": str(parquet_dir), "tables": list(RAW_TABLES)})
    result = dbtRunner().invoke([
        "run-operation", "register_raw_tables", "--args", args,
        "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
        "--log-level", "warn", "--no-use-colors", "--no-send-anonymous-usage-stats",
    ])
    if not result.success:
        raise TerminalError(f"registering the raw tables under {parquet_dir} on Spark failed: {result.exception}; "
                            f"the log is {work_dir / 'logs' / 'dbt.log'}")


def export_marts(spark: "SparkSession", out_dir: Path) -> dict[str, int]:
    """Write every table of the mart schema to `out_dir/<mart>/` as Parquet; rows per mart."""
    rows: dict[str, int] = {}
    for schema in MART_SCHEMAS:
        for table in spark.catalog.listTables(schema):
            if table.tableType == "VIEW":
                continue
            frame = spark.table(f"{schema}.{table.name}")
            frame.write.mode("overwrite").parquet(str(out_dir / table.name))
            rows[table.name] = frame.count()
    return rows


def build_on_spark(
    ingest_db: Path,
    quarter: Quarter,
    dbt_dir: Path,
    work_dir: Path,
    *,
    master: str = DEFAULT_MASTER,
    extra_vars: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Export the raw tables, build the dbt project on Spark and write the marts to
    `work_dir/marts/`. Returns timings and counts; raises TerminalError when dbt fails."""
    started = time.monotonic()
    parquet_dir = work_dir / "raw"
    raw_rows = export_raw_parquet(ingest_db, parquet_dir, quarter)
    exported = time.monotonic()
    spark = start_session(work_dir, master)
    try:
        os.environ["PLANWATCH_DBT_TARGET"] = "spark"
        register_raw_tables(dbt_dir, parquet_dir, work_dir / "dbt")
        dbt_vars: dict[str, Any] = dict(extra_vars or {})
        dbt_vars["as_of_quarter"] = str(quarter)
        dbt_started = time.monotonic()
        outcome = run_dbt(dbt_dir, work_dir / "candidate-unused.duckdb", work_dir / "dbt", dbt_vars,
                          full_refresh=True)
        dbt_seconds = time.monotonic() - dbt_started
        if outcome.errors or outcome.failed or not outcome.success:
            problems = outcome.errors + outcome.failed
            raise TerminalError(
                f"`quarter={quarter}`: dbt build on Spark failed: {len(problems)} node(s): "
                f"{'; '.join(problems[:10])}. The full log is {work_dir / 'dbt' / 'logs' / 'dbt.log'}."
            )
        mart_rows = export_marts(spark, work_dir / "marts")
    finally:
        spark.stop()
    return {
        "engine": "spark",
        "master": master,
        "raw_rows": raw_rows,
        "mart_rows": mart_rows,
        "models_built": outcome.counts.get("model:success", 0),
        "tests_passed": outcome.counts.get("test:pass", 0),
        "tests_warned": outcome.counts.get("test:warn", 0),
        "unit_tests_passed": outcome.counts.get("unit_test:pass", 0),
        "export_seconds": round(exported - started, 1),
        "dbt_seconds": round(dbt_seconds, 1),
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planwatch.build.spark", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="export the raw tables, build on Spark in local mode, "
                                              "write the marts as Parquet")
    build.add_argument("--work-dir", type=Path, required=True, help="folder for Parquet, Spark tables and marts")
    build.add_argument("--dbt-dir", type=Path, default=REPO_ROOT / "dbt")
    build.add_argument("--master", default=os.environ.get("PLANWATCH_SPARK_MASTER", DEFAULT_MASTER))
    build.add_argument("--metrics", type=Path, help="write the metrics here as JSON")
    export = commands.add_parser("export-raw", help="only write the raw tables as Parquet (for a cluster: "
                                                    "docs/deployment.md, Spark)")
    export.add_argument("--out", type=Path, required=True, help="folder for <table>/data.parquet")
    for command in (build, export):
        command.add_argument("--ingest", type=Path, required=True, help="the ingest store (warehouse/ingest.duckdb)")
        command.add_argument("--quarter", required=True, help="the run's quarter, YYYYQn")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        quarter = Quarter.parse(args.quarter)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if args.command == "export-raw":
            result: dict[str, Any] = export_raw_parquet(args.ingest, args.out, quarter)
        else:
            result = build_on_spark(args.ingest, quarter, args.dbt_dir, args.work_dir, master=args.master)
    except (ConfigError, TerminalError) as exc:
        print(f"planwatch spark {args.command}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    text = json.dumps(result, indent=2, sort_keys=True)
    if getattr(args, "metrics", None):
        args.metrics.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
