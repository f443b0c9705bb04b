"""The published Parquet export (warehouse/parquet/<mart>.parquet, written by publish) is the
contract for readers outside DuckDB: Spark and DuckDB read the same files and get the same rows,
types that compare equal, and the same statuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from planwatch.build.engine_compare import compare_rows, mart_keys
from tests.spark.engines import DBT_DIR, EngineBuilds

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator["SparkSession"]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("planwatch-parquet-reader")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-reader")))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def _duckdb_rows(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The rows of one exported mart: a file, or a folder of `period_year=<year>/` files (read as
    a reader does, with the partition column from the folder names, as Spark does)."""
    pattern = str(path / "*" / "*.parquet") if path.is_dir() else str(path)
    con = duckdb.connect()
    try:
        cur = con.execute("select * from read_parquet(?, hive_partitioning = true)", [pattern])
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


def _exported_marts(export: Path) -> dict[str, Path]:
    """Each mart of publish's export: `<mart>.parquet`, or the folder `<mart>/` of the large facts."""
    marts = {p.stem: p for p in export.glob("*.parquet")}
    marts.update({p.name: p for p in export.iterdir() if p.is_dir() and any(p.glob("*=*/*.parquet"))})
    return marts


def test_spark_and_duckdb_read_the_same_published_parquet(transition_builds: EngineBuilds,
                                                          spark: "SparkSession") -> None:
    export = transition_builds.parquet_export
    assert export is not None
    keys = mart_keys(DBT_DIR)
    files = _exported_marts(export)
    assert set(files) == set(keys), "publish exports every mart"
    assert files["fct_indicator_progress"].is_dir()  # one file per year: Spark discovers the partitions
    for mart, path in sorted(files.items()):
        frame = spark.read.parquet(str(path))
        spark_rows = [tuple(row) for row in frame.collect()]
        columns, duck_rows = _duckdb_rows(path)
        assert sorted(frame.columns) == sorted(columns), mart
        result = compare_rows(mart, keys[mart], columns, duck_rows, frame.columns, spark_rows,
                              rel_tol=0.0, abs_tol=0.0)
        assert result.equal, result.describe()
        assert result.rows == len(duck_rows)


def test_spark_queries_the_export_like_a_table(transition_builds: EngineBuilds, spark: "SparkSession") -> None:
    """A reader's query (statuses of the latest quarter per plan) gives DuckDB's answer."""
    export = transition_builds.parquet_export
    assert export is not None
    path = export / "fct_indicator_progress"
    spark.read.parquet(str(path)).createOrReplaceTempView("fct_indicator_progress")
    query = """
        select plan, status, count(*) as n
        from fct_indicator_progress
        where period_type = 'quarter' and plan is not null
        group by plan, status
    """
    theirs = {(r["plan"], r["status"]): r["n"] for r in spark.sql(query).collect()}
    con = duckdb.connect()
    try:
        con.execute("create view fct_indicator_progress as "
                    f"select * from read_parquet('{path}/*/*.parquet', hive_partitioning = true)")
        ours = {(p, s): n for p, s, n in con.execute(query).fetchall()}
    finally:
        con.close()
    assert theirs == ours
    assert {plan for plan, _ in ours} == {"14th", "15th"}  # both plans of the transition home
