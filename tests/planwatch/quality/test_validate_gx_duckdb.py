"""The GX-on-DuckDB adapter: the failure it fixes, reproduced with plain duckdb-engine, and the fix."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from planwatch.quality import gx_duckdb


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema s; create table s.t as select range::integer as id, (range % 120)::double as v, "
                "(range % 7)::decimal(18, 3) as d from range(1000)")
    con.close()
    return path


def test_plain_duckdb_engine_loses_a_result_fetched_after_close(db: Path) -> None:
    # GX's execute_query fetches after leaving `with engine.connect()`: the ROLLBACK sent on close
    # runs on the same DuckDB connection and discards the pending result. This is the IndexError's
    # cause; if this test starts failing, duckdb-engine fixed it and the adapter may go.
    engine = sa.create_engine(f"duckdb:///{db}", connect_args={"read_only": True})
    with engine.connect() as c:
        result = c.execute(sa.text("select count(*) from s.t"))
    assert result.fetchall() == []
    engine.dispose()


def test_buffered_dialect_keeps_results_and_reflects_schemas(db: Path) -> None:
    engine = sa.create_engine(gx_duckdb.connection_string(db), connect_args={"read_only": True})
    with engine.connect() as c:
        result = c.execute(sa.text("select count(*), sum(v) from s.t"))
        many = c.execute(sa.text("select id from s.t order by id limit 5"))
    assert result.fetchall() == [(1000, sum(i % 120 for i in range(1000)))]
    assert many.fetchmany(2) == [(0,), (1,)] and many.fetchall() == [(2,), (3,), (4,)]
    columns = sa.inspect(engine).get_columns("t", schema="s")
    assert [(c["name"], type(c["type"]).__name__) for c in columns] == [
        ("id", "INTEGER"), ("v", "FLOAT"), ("d", "NUMERIC")]
    engine.dispose()
    assert gx_duckdb.close_connections() >= 0
    duckdb.connect(str(db)).close()  # no reader left open: a writer may open the file


def test_gx_sql_expectations_run_inside_duckdb(db: Path) -> None:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_sql(name="d", connection_string=gx_duckdb.connection_string(db),
                                          kwargs={"connect_args": {"read_only": True}})
    batch = source.add_table_asset(name="t", table_name="t", schema_name="s") \
        .add_batch_definition_whole_table("all").get_batch()
    between = batch.validate(gx.expectations.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=100))
    assert between.exception_info.get("raised_exception") is False, between.exception_info
    assert (between.success, between.result["unexpected_count"]) == (False, 19 * 8)
    rows = batch.validate(gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query="select id from {batch} where v > 118"))
    assert (rows.success, rows.result["observed_value"]) == (False, 8)
    del source, context, batch
    assert gx_duckdb.close_connections() >= 1
    duckdb.connect(str(db)).close()
