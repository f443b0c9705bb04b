"""The dbt_build stage end to end: snapshot, dbt build, incremental reuse of published facts, failures."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from planwatch.core.config import Settings
from planwatch.core.db import connect
from planwatch.core.errors import TerminalError
from planwatch.core.periods import Quarter
from planwatch.build.candidate import build_candidate, build_from_ingest
from planwatch.core.types import RunContext
from planwatch.serve.parquet_export import export_parquet, partitioned_tables
from planwatch.serve.partition_state import quarter_states, record_partition_states, recorded_states

REPO_ROOT = Path(__file__).resolve().parents[3]


def _fixture_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "planwatch_ingest_fixture", REPO_ROOT / "tests" / "fixtures" / "ingest" / "build_ingest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _facts(db: Path) -> list[tuple[Any, ...]]:
    with connect(db, read_only=True) as con:
        return con.execute("select * exclude (source_file_seq) from marts.fct_indicator_progress "
                           "order by progress_id").fetchall()


def _rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of `table`, in a stable order (all columns), for comparing two builds."""
    with connect(db, read_only=True) as con:
        return con.execute(f"select * from {table} order by all").fetchall()


def _tables(db: Path, schema: str) -> list[str]:
    with connect(db, read_only=True) as con:
        return [f"{schema}.{r[0]}" for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = ? order by 1", [schema]).fetchall()]


def _views(db: Path, schema: str) -> list[str]:
    with connect(db, read_only=True) as con:
        return [f"{schema}.{r[0]}" for r in con.execute(
            "select view_name from duckdb_views() where schema_name = ? and not internal order by 1",
            [schema]).fetchall()]


def _parquet_rows(out_dir: Path, table: str) -> list[tuple[Any, ...]]:
    whole, years = out_dir / f"{table}.parquet", out_dir / table
    pattern = str(whole) if whole.exists() else str(years / "*" / "*.parquet")
    with duckdb.connect() as con:
        return con.execute("select * from read_parquet(?) order by all", [pattern]).fetchall()


# the incremental tables, and the view of the progress inputs over one of them
INCREMENTAL_TABLES = ("raw.stat_observations", "intermediate.int_observations_latest",
                      "intermediate.int_progress_series_counted", "intermediate.int_progress_inputs_joined",
                      "marts.fct_indicator_progress", "marts.fct_indicator_status_history",
                      "marts.fct_indicator_latest")


def _publish(candidate: Path, settings: Settings) -> None:
    """What the publish stage does, enough for the next build to find the facts and the export the
    record of the facts' years (serve/partition_state.py)."""
    with connect(candidate) as con:
        record_partition_states(con, partitioned_tables(con))
    shutil.copyfile(candidate, settings.published_db)


def _incremental_and_full(settings: Settings, tmp_path: Path, quarter: str) -> tuple[Path, Path, dict[str, Any]]:
    """Build `quarter` on the published file (it must extend it: incremental) and, from the same ingest
    store, a full build beside it; returns both files and the incremental build's metrics."""
    metrics = build_candidate(settings, RunContext(f"run-{quarter}", Quarter.parse(quarter)))
    assert metrics["build_mode"] == "incremental"
    full = tmp_path / "full.duckdb"
    build_from_ingest(settings.ingest_db, full, Quarter.parse(quarter), settings.dbt_dir, full_refresh=True)
    return settings.candidate_db(f"run-{quarter}"), full, metrics


def test_incremental_build_equals_full_refresh(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    builder = _fixture_builder()

    # 2023Q2 is published from the first two files only
    builder.build_ingest(settings.ingest_db, max_file_seq=2)
    first = build_candidate(settings, RunContext("run-2023Q2", Quarter.parse("2023Q2")))
    assert first["build_mode"] == "full_refresh"
    assert first["tests_failed"] == 0
    _publish(settings.candidate_db("run-2023Q2"), settings)

    # files 3 and 4 arrive: new quarter 2023Q4 and a revision of 2022Q4 (an old period)
    builder.build_ingest(settings.ingest_db)
    second = build_candidate(settings, RunContext("run-2023Q4", Quarter.parse("2023Q4")))
    assert second["build_mode"] == "incremental"
    incremental = settings.candidate_db("run-2023Q4")

    full = build_from_ingest(settings.ingest_db, tmp_path / "full.duckdb", Quarter.parse("2023Q4"),
                             settings.dbt_dir, full_refresh=True)
    assert full["build_mode"] == "full_refresh"
    assert second["fct_indicator_progress_rows"] == full["fct_indicator_progress_rows"] == 21
    # the incremental build kept the 21 plan-side models tagged same_every_quarter from the
    # published copy (4 intermediate tables, int_plan_completion_converted, 10 staging views, 6 marts)
    # and the 10 bi views (BI_VIEWS)
    assert second["models_built"] == full["models_built"] - 21 - 10
    assert _facts(incremental) == _facts(tmp_path / "full.duckdb")
    for table in INCREMENTAL_TABLES:
        assert _rows(incremental, table) == _rows(tmp_path / "full.duckdb", table), table
    # every mart, not only the incremental ones: what the incremental build copied from the
    # published file and did not rebuild must be what a full build makes (#17)
    marts = _tables(incremental, "marts")
    assert marts == _tables(tmp_path / "full.duckdb", "marts")
    assert len(marts) >= 10
    # and the intermediate tables, among them those kept from the published file (same_every_quarter)
    intermediate = _tables(incremental, "intermediate")
    assert "intermediate.int_plan_targets_converted" in intermediate
    for table in intermediate:
        assert _rows(incremental, table) == _rows(tmp_path / "full.duckdb", table), table
    for table in marts:
        assert _rows(incremental, table) == _rows(tmp_path / "full.duckdb", table), table
    # the raw tables: the reference and plan tables kept from the published copy (its fingerprint
    # hashes them) and the statistics brought up to date are what a full build copies
    raw = _tables(incremental, "raw")
    assert "raw.plan_indicators" in raw and raw == _tables(tmp_path / "full.duckdb", "raw")
    for table in raw:
        assert _rows(incremental, table) == _rows(tmp_path / "full.duckdb", table), table
    # and the bi tables (bi.submission_counts, incremental by region × quarter)
    bi_tables = _tables(incremental, "bi")
    assert "bi.submission_counts" in bi_tables
    for table in bi_tables:
        assert _rows(incremental, table) == _rows(tmp_path / "full.duckdb", table), table
    # the bi views kept from the published copy show what the full build's show
    bi_views = _views(incremental, "bi")
    assert "bi.latest_status" in bi_views and bi_views == _views(tmp_path / "full.duckdb", "bi")
    for view in bi_views:
        assert _rows(incremental, view) == _rows(tmp_path / "full.duckdb", view), view
    # the Parquet export that follows an incremental publish (only changed quarters rewritten)
    # holds the rows of an export of the full build
    # publish records what each quarter of the facts holds, marking changed only the quarters the
    # incremental build can have changed (from the revised 2022Q4 on); the others keep the hashes
    # of the published record, which are those of the quarter's rows now
    with connect(incremental) as con:
        tables = partitioned_tables(con)
        assert tables == ["fct_indicator_progress", "fct_indicator_status_history"]
        assert all(recorded_states(con, t) is None for t in tables)  # the copy's record is the 2023Q2 one
        # the status history from the revised series' anchor, its 2021 row, written again
        changed_from = {"fct_indicator_progress": "2022Q4", "fct_indicator_status_history": "2021Q4"}
        assert record_partition_states(con, tables) == changed_from
        for table in tables:
            got, whole = recorded_states(con, table), quarter_states(con, table)
            assert got is not None and sorted(got) == sorted(whole) and len(got) >= 4, table
            for index, (n, state) in got.items():
                assert n == whole[index][0], (table, index)
                assert ((state == whole[index][1]) if int(index) < Quarter.parse(changed_from[table]).index
                        else state.startswith("changed ")), (table, index)
    parquet = tmp_path / "parquet"
    export_parquet(settings.published_db, parquet)  # the export of the 2023Q2 publish
    export_parquet(incremental, parquet)
    export_parquet(tmp_path / "full.duckdb", tmp_path / "parquet-full")
    for table in marts:
        name = table.split(".")[1]
        assert _parquet_rows(parquet, name) == _parquet_rows(tmp_path / "parquet-full", name), name

    # the tests keyed by period checked the rows from the revised 2022Q4 on (file 3 revises it)
    assert full["rebuilt_from_period_index"] is None
    assert second["rebuilt_from_period_index"] == Quarter.parse("2022Q4").index
    _check_rebuilt_rows_test(incremental, settings.dbt_dir, tmp_path, second["rebuilt_from_period_index"])

    with connect(incremental, read_only=True) as con:
        revised = con.execute(
            "select actual_value, status from marts.fct_indicator_progress "
            "where progress_id = '330100|AST_APPROVAL_DAYS||2022Q4'").fetchone()
        state = con.execute("select quarter, build_mode from audit.transform_state").fetchone()
    assert revised == (18.5, "needs_acceleration")
    assert state == ("2023Q4", "incremental")


def _submission_counts(db: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    with connect(db, read_only=True) as con:
        return {(r[0], r[1]): r[2:] for r in con.execute(
            "select region_code, period, figures_expected, figures_received, missing_indicators "
            "from bi.submission_counts").fetchall()}


def test_incremental_submission_counts_follow_reporting_kind(tmp_path: Path) -> None:
    """bi.submission_counts is incremental by region × quarter; a series' first figure or its first
    quarterly one after yearly ones changes what every quarter of its region expects (a series
    reported only yearly is expected in Q4), and a quarter can lose its last expected figure."""
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    builder = _fixture_builder()

    def ingest(max_file_seq: int) -> None:
        builder.build_ingest(settings.ingest_db, max_file_seq=max_file_seq)
        with connect(settings.ingest_db) as con:
            # 990100 reports only an indicator outside its plan in file 1, so the plan's one series
            # (ELD_NURSING_BED_SHARE) has no figure: expected every quarter ...
            con.execute("update raw.stat_observations set indicator_code = 'CHA_DONATIONS' "
                        "where region_code = '990100' and file_seq = 1")
            # ... until file 2 brings its first figure, a year's: then it is expected in Q4 only
            con.execute("update raw.stat_observations set period = '2022', period_type = 'year', period_index = ? "
                        "where region_code = '990100' and file_seq = 2 and indicator_code = 'ELD_NURSING_BED_SHARE'",
                        [Quarter.parse("2022Q4").index])

    ingest(1)
    first = build_candidate(settings, RunContext("run-2022Q4", Quarter.parse("2022Q4")))
    assert first["build_mode"] == "full_refresh"
    before = _submission_counts(settings.candidate_db("run-2022Q4"))
    _publish(settings.candidate_db("run-2022Q4"), settings)

    ingest(2)
    second = build_candidate(settings, RunContext("run-2023Q2", Quarter.parse("2023Q2")))
    assert second["build_mode"] == "incremental"
    incremental = settings.candidate_db("run-2023Q2")
    build_from_ingest(settings.ingest_db, tmp_path / "full.duckdb", Quarter.parse("2023Q2"), settings.dbt_dir,
                      full_refresh=True)
    assert _rows(incremental, "bi.submission_counts") == _rows(tmp_path / "full.duckdb", "bi.submission_counts")

    after = _submission_counts(incremental)
    # 330100's donations were yearly (2022) in file 1; file 2 has 2023Q2: expected in every quarter now,
    # also in the quarters the published build had counted without them
    assert "CHA_DONATIONS" not in before[("330100", "2021Q1")][2]
    assert after[("330100", "2021Q1")][0] == before[("330100", "2021Q1")][0] + 1
    assert "CHA_DONATIONS" in after[("330100", "2021Q1")][2]
    # 990100's one series became yearly: its quarters but Q4 expect nothing and are gone
    assert before[("990100", "2021Q1")][:2] == (1, 0)
    assert ("990100", "2021Q1") not in after and ("990100", "2022Q3") not in after
    assert after[("990100", "2022Q4")][:2] == (1, 1)
    # the quarters closed since (2023Q1, 2023Q2) are there, received or not
    assert after[("330100", "2023Q1")][1] == 0 and after[("330100", "2023Q2")][1] > 0


def test_incremental_progress_inputs_seed_a_series_after_a_gap(tmp_path: Path) -> None:
    """int_progress_series_counted seeds a changed series' count and first observation from its kept
    rows of the year before the change; a series with no kept row in that year (a gap of more than
    a year) is seeded from its older rows, and the build still equals a full one."""
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    builder = _fixture_builder()
    builder.build_ingest(settings.ingest_db)  # files 1-4, up to 2024Q1
    first = build_candidate(settings, RunContext("run-2024Q1", Quarter.parse("2024Q1")))
    assert first["build_mode"] == "full_refresh"
    _publish(settings.candidate_db("run-2024Q1"), settings)

    # file 5: the nursing-bed share goes on from 2024Q1; the service coverage, last reported for
    # 2023Q4, comes back five quarters later
    line = {"file_seq": "5", "region_code": "330100", "breakdown": "", "numerator": "", "denominator": "",
            "source": "fixture"}
    builder.build_ingest(settings.ingest_db, extra_observations=[
        line | {"line_no": "2", "period": "2025Q1", "indicator_code": "ELD_NURSING_BED_SHARE", "value": "58",
                "unit": "%", "numerator": "5800", "denominator": "10000"},
        line | {"line_no": "3", "period": "2025Q1", "indicator_code": "COM_SERVICE_COVERAGE", "value": "100",
                "unit": "%"},
    ])
    second = build_candidate(settings, RunContext("run-2025Q1", Quarter.parse("2025Q1")))
    assert second["build_mode"] == "incremental"
    incremental = settings.candidate_db("run-2025Q1")
    build_from_ingest(settings.ingest_db, tmp_path / "full.duckdb", Quarter.parse("2025Q1"), settings.dbt_dir,
                      full_refresh=True)
    for table in ("intermediate.int_progress_series_counted", "intermediate.int_progress_inputs_joined",
                  "marts.fct_indicator_progress"):
        assert _rows(incremental, table) == _rows(tmp_path / "full.duckdb", table), table

    with connect(incremental, read_only=True) as con:
        seeded = dict((r[0], r[1:]) for r in con.execute(
            "select indicator_code, observations_to_date, first_observation_period_type, first_observation_year, "
            "first_observation_quarter, first_observation_value from intermediate.int_progress_series_counted "
            "where region_code = '330100' and period = '2025Q1'").fetchall())
    # 2021Q4, 2022Q4, 2023Q2, 2023Q4 (as corrected), 2024Q1, 2025Q1: seeded from the year before
    assert seeded["ELD_NURSING_BED_SHARE"] == (6, "quarter", 2021, 4, 52.0)
    # 2021Q4, 2022Q4, 2023Q4, 2025Q1: nothing kept in the year before, seeded from the older rows
    assert seeded["COM_SERVICE_COVERAGE"] == (4, "quarter", 2021, 4, 100.0)


def test_incremental_build_rebuilds_a_revised_base_year_and_a_new_series(tmp_path: Path) -> None:
    """int_plan_bases_chained keeps the bases of plans based before the bound's year, and
    fct_plan_figures rewrites only the figures whose reaches_facts changed: a new file that reports
    the base year 2020 of a plan without a printed baseline and starts a plan series changes both,
    and the incremental build still equals a full one (with either rule too lax, it would not)."""
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    builder = _fixture_builder()
    # published: files 1-2 without the organisations per 10k (a plan series, no printed baseline)
    builder.build_ingest(settings.ingest_db, max_file_seq=2)
    with connect(settings.ingest_db) as con:
        con.execute("delete from raw.stat_observations where indicator_code = 'SOC_ORGS_PER_10K'")
    first = build_candidate(settings, RunContext("run-2023Q2", Quarter.parse("2023Q2")))
    assert first["build_mode"] == "full_refresh"
    published = settings.candidate_db("run-2023Q2")
    _publish(published, settings)

    # file 5 reports the series' 2020 year end (the 14th plan's base year) and 2022Q4
    line = {"file_seq": "5", "region_code": "330100", "indicator_code": "SOC_ORGS_PER_10K", "breakdown": "",
            "unit": "个", "numerator": "", "denominator": "", "source": "fixture"}
    builder.build_ingest(settings.ingest_db, extra_observations=[
        line | {"line_no": "2", "period": "2020Q4", "value": "5"},
        line | {"line_no": "3", "period": "2022Q4", "value": "6"},
    ])
    incremental, full, second = _incremental_and_full(settings, tmp_path, "2023Q4")
    assert second["rebuilt_from_period_index"] == Quarter.parse("2020Q4").index
    for table in ("intermediate.int_plan_bases_chained", "marts.fct_plan_figures", "marts.fct_plan_evaluation",
                  "intermediate.int_progress_series_counted", "marts.fct_indicator_progress"):
        assert _rows(incremental, table) == _rows(full, table), table

    base_sql = ("select baseline_source, baseline_value from intermediate.int_plan_bases_chained "
                "where plan_target_id = '330100|14th|SOC_ORGS_PER_10K|'")
    reach_sql = ("select count(*) filter (where reaches_facts), count(*) from marts.fct_plan_figures "
                 "where region_code = '330100' and indicator_code = 'SOC_ORGS_PER_10K' and is_used")
    with connect(published, read_only=True) as con:
        assert con.execute(base_sql).fetchall() == [(None, None)]
        before = con.execute(reach_sql).fetchone()
    with connect(incremental, read_only=True) as con:
        assert con.execute(base_sql).fetchall() == [("previous_plan_actual", 5.0)]
        after = con.execute(reach_sql).fetchone()
    assert before is not None and after is not None and before[1] == after[1] > 0
    assert (before[0], after[0]) == (0, after[1])



def test_incremental_evaluations_turn_due_without_new_figures_of_their_year(tmp_path: Path) -> None:
    """fct_plan_evaluation recomputes the evaluations from the rebuild bound's year on and those not
    yet due: a build for 2024Q1 whose only new figure is of 2024 turns the 14th plan's 2023 mid-term
    evaluations due, and equals a full build (with only the bound's year they would stay not due)."""
    settings = Settings(home=tmp_path / "home")
    settings.ensure_dirs()
    builder = _fixture_builder()
    builder.build_ingest(settings.ingest_db, max_file_seq=2)  # up to 2023Q2
    first = build_candidate(settings, RunContext("run-2023Q3", Quarter.parse("2023Q3")))
    assert first["build_mode"] == "full_refresh"
    published = settings.candidate_db("run-2023Q3")
    _publish(published, settings)

    # file 5 reports 2024Q1 only (files 3-4, of 2022Q4 and 2023Q4, never arrive, nor does the
    # annual 2023 figure of file 2, which a 2023Q3 build leaves out)
    builder.build_ingest(settings.ingest_db, extra_observations=[
        {"file_seq": "5", "line_no": "2", "region_code": "330100", "period": "2024Q1",
         "indicator_code": "ELD_NURSING_BED_SHARE", "breakdown": "", "value": "57", "unit": "%",
         "numerator": "5700", "denominator": "10000", "source": "fixture"}])
    with connect(settings.ingest_db) as con:
        con.execute("delete from raw.stat_observations where file_seq in (3, 4) or period = '2023'")
    incremental, full, second = _incremental_and_full(settings, tmp_path, "2024Q1")
    assert second["rebuilt_from_period_index"] == Quarter.parse("2024Q1").index
    assert _rows(incremental, "marts.fct_plan_evaluation") == _rows(full, "marts.fct_plan_evaluation")

    due_sql = ("select evaluation_year, evaluation_kind, bool_and(is_due), count(*) from marts.fct_plan_evaluation "
               "where plan = '14th' group by all order by all")
    with connect(published, read_only=True) as con:
        before = con.execute(due_sql).fetchall()
    with connect(incremental, read_only=True) as con:
        after = con.execute(due_sql).fetchall()
    assert [row[:3] for row in before] == [(2023, "mid_term", False), (2025, "final", False)]
    assert [row[:3] for row in after] == [(2023, "mid_term", True), (2025, "final", False)]
    assert before[0][3] == after[0][3] > 0

# The tests restricted to rebuilt rows (their `where` config) and the table each one checks.
REBUILT_ROWS_TESTS = {
    "unique_combination_of_columns_int_observations_latest_region_code__indicator_code__breakdown__period":
        "intermediate.int_observations_latest",
    "unique_fct_indicator_status_history_status_history_id": "marts.fct_indicator_status_history",
}


def _check_rebuilt_rows_test(candidate: Path, dbt_dir: Path, tmp_path: Path, bound: int) -> None:
    """The unique tests restricted to rebuilt rows (their `where` config) find a duplicate key from
    the bound on, and, by design, not one before it (a published row)."""
    from planwatch.build.dbt_runner import run_dbt

    copy = tmp_path / "duplicate.duckdb"
    outcomes = {}
    for test, table in REBUILT_ROWS_TESTS.items():
        for label, newest in (("at_bound", True), ("before_bound", False)):
            shutil.copyfile(candidate, copy)
            with connect(copy) as con:
                order = "desc" if newest else "asc"
                # the stored columns: a fact's string id is a virtual column, computed from the
                # copied row's key (dbt/macros/virtual_columns.sql), and takes no value
                stored = ", ".join(r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? and is_generated = 'NEVER' order by ordinal_position",
                    table.split(".")).fetchall())
                con.execute(f"insert into {table} ({stored}) select {stored} from {table} "
                            f"where period_index {'>=' if newest else '<'} ? order by period_index {order} limit 1",
                            [bound])
            outcome = run_dbt(dbt_dir, copy, tmp_path / f"work-{table}-{label}",
                              {"as_of_quarter": "2023Q4", "rebuilt_from_period_index": bound},
                              command="test", select=[test])
            outcomes[test, label] = (len(outcome.failed), outcome.counts.get("test:pass", 0))
    assert outcomes == {(test, label): (1, 0) if label == "at_bound" else (0, 1)
                        for test in REBUILT_ROWS_TESTS for label in ("at_bound", "before_bound")}


def test_changed_vars_force_full_refresh(tmp_path: Path) -> None:
    builder = _fixture_builder()
    ingest = builder.build_ingest(tmp_path / "ingest.duckdb")
    with connect(ingest) as con:  # a finding of validate_raw, before the build
        con.execute("insert into audit.dq_results values ('r1', 'raw_statistics', 'x', 'warn', false, 1, '[]', "
                    "now()::timestamp)")
    published = tmp_path / "published.duckdb"
    first = build_from_ingest(ingest, published, Quarter.parse("2023Q4"), REPO_ROOT / "dbt")
    with connect(published, read_only=True) as con:
        # the audit tables are there for the bi views, empty: publish alone copies their rows
        assert con.execute("select count(*) from audit.dq_results").fetchone() == (0,)
    # a run builds the bi views but leaves out the tests of their SQL (tag view_logic) and the unit tests
    assert first["bi_views"] == 10 and first["unit_tests_passed"] == 0
    dbt_log = (tmp_path / "published.dbt" / "logs" / "dbt.log").read_text()
    assert "OK created sql view model bi.submission_status" in dbt_log
    assert "unique_combination_of_columns_submission_status" not in dbt_log
    # and the intermediate key tests that the fact's id re-checks (tag chain_logic)
    assert "unique_combination_of_columns_int_observations_latest" not in dbt_log
    assert "PASS unique_fct_indicator_progress_progress_id" in dbt_log
    stricter = {"min_data_points": 50}
    metrics = build_from_ingest(ingest, tmp_path / "next.duckdb", Quarter.parse("2023Q4"), REPO_ROOT / "dbt",
                                previous_db=published, extra_vars=stricter)
    # a reused fact would keep the old status: the fingerprint must have refused it
    assert metrics["build_mode"] == "full_refresh"
    with connect(tmp_path / "next.duckdb", read_only=True) as con:
        row = con.execute("select status from marts.fct_indicator_progress "
                          "where progress_id = '330100|ELD_NURSING_BED_SHARE||2023Q4'").fetchone()
    assert row == ("insufficient_data",)  # on track (56 against the expected 56) with 2 points, not 50


def test_failing_dbt_test_raises_terminal_error(tmp_path: Path) -> None:
    builder = _fixture_builder()
    ingest = builder.build_ingest(tmp_path / "ingest.duckdb")
    with connect(ingest) as con:
        # a line loaded twice breaks the loader's grain, which the staging view's key test checks
        con.execute("insert into raw.stat_observations select * from raw.stat_observations "
                    "where line_no = 2 and file_seq = 1")
    with pytest.raises(TerminalError) as info:
        build_from_ingest(ingest, tmp_path / "candidate.duckdb", Quarter.parse("2023Q4"), REPO_ROOT / "dbt")
    assert "unique_combination_of_columns_stg_stats__observations" in str(info.value)


def test_missing_ingest_store_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TerminalError, match="ingest store"):
        build_from_ingest(tmp_path / "nope.duckdb", tmp_path / "c.duckdb", Quarter.parse("2023Q4"),
                          REPO_ROOT / "dbt")


def test_fingerprint_follows_plan_values_not_row_order(tmp_path: Path) -> None:
    from planwatch.build.fingerprint import ingest_fingerprint

    ingest = _fixture_builder().build_ingest(tmp_path / "ingest.duckdb")
    dbt_vars = {"as_of_quarter": "2023Q4"}
    before = ingest_fingerprint(ingest, REPO_ROOT / "dbt", dbt_vars)
    with connect(ingest) as con:
        # same rows, another physical order: the same inputs
        con.execute("create or replace table raw.plan_indicators as "
                    "select * from raw.plan_indicators order by random()")
    assert ingest_fingerprint(ingest, REPO_ROOT / "dbt", dbt_vars) == before
    with connect(ingest) as con:
        con.execute("update raw.plan_indicators set target_value = coalesce(target_value, '') || '1' "
                    "where rowid = (select min(rowid) from raw.plan_indicators)")
    assert ingest_fingerprint(ingest, REPO_ROOT / "dbt", dbt_vars) != before


def test_view_logic_tag_covers_the_bi_views_tests_only(tmp_path: Path) -> None:
    """The tests a run leaves out (planwatch.build.candidate.VIEW_LOGIC_TAG) are those of the bi views and
    the key of the view int_observations_year_end (its anti join keeps one row per key)."""
    import json

    from planwatch.build.candidate import VIEW_LOGIC_TAG

    tests = [json.loads(line) for line in _dbt_ls(tmp_path, "ls", "--resource-type", "test", "--output", "json",
                                                  "--output-keys", "name tags fqn")]
    tagged = {t["name"] for t in tests if VIEW_LOGIC_TAG in t["tags"]}
    on_bi = {t["name"] for t in tests if t["fqn"][1] == "bi"}
    year_end_key = ("unique_combination_of_columns_int_observations_year_end_"
                    "region_code__indicator_code__breakdown__period_year")
    assert tagged == on_bi | {year_end_key}
    assert {"unique_combination_of_columns_submission_status_region_code__plan__indicator_code__breakdown__period",
            "expression_is_true_status_counts_indicators__indicators_1"} <= tagged
    # the marts' and models' data tests stay (a model's not-null columns are one node: tests/generic/not_null_columns.sql)
    assert len(tagged) >= 8 and len(tests) - len(tagged) > 100


def test_chain_logic_tag_covers_the_intermediate_keys_the_fact_rechecks(tmp_path: Path) -> None:
    """The tests a run leaves out as chain_logic are the two intermediate key tests that
    fct_indicator_progress.progress_id's unique test re-checks (tests/dbt/test_mart_tests_catch_defects.py)."""
    import json

    from planwatch.build.candidate import CHAIN_LOGIC_TAG

    tests = [json.loads(line) for line in _dbt_ls(tmp_path, "ls", "--resource-type", "test", "--output", "json",
                                                  "--output-keys", "name tags")]
    tagged = {t["name"] for t in tests if CHAIN_LOGIC_TAG in t["tags"]}
    assert tagged == {
        "unique_combination_of_columns_int_observations_latest_region_code__indicator_code__breakdown__period",
        "unique_combination_of_columns_int_progress_series_counted_region_code__indicator_code__breakdown__period",
    }
    assert CHAIN_LOGIC_TAG not in next(t for t in tests if t["name"] == "unique_fct_indicator_progress_progress_id")["tags"]


def _dbt_ls(tmp_path: Path, *args: str) -> list[str]:
    from planwatch.build.dbt_runner import _build_db_env
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", str(REPO_ROOT / "dbt"), "--profiles-dir", str(REPO_ROOT / "dbt"),
              "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--quiet"]
    with _build_db_env(tmp_path / "ls.duckdb"):
        result = dbtRunner().invoke([args[0], *common, *args[1:]])
    assert result.success, result.exception
    return list(result.result or [])


def _compiled_by_quarter(tmp_path: Path, select: str, indirect_selection: str,
                        quarters: tuple[str, ...] = ("2023Q4", "2030Q1")) -> dict[str, dict[str, str]]:
    """The compiled SQL of `select` (file name -> text) for each quarter, with the pipeline's vars."""
    import json

    from planwatch.build.dbt_runner import _build_db_env
    from planwatch.core.scheduling import dbt_vars
    from dbt.cli.main import dbtRunner

    compiled = {}
    for quarter in quarters:
        target = tmp_path / f"compiled-{quarter}"
        with _build_db_env(tmp_path / "compile.duckdb"):
            result = dbtRunner().invoke(["compile", "--project-dir", str(REPO_ROOT / "dbt"), "--profiles-dir",
                                         str(REPO_ROOT / "dbt"), "--target-path", str(target), "--log-path",
                                         str(tmp_path / "logs"), "--quiet", "--select", select,
                                         "--indirect-selection", indirect_selection,
                                         "--vars", json.dumps({**dbt_vars(), "as_of_quarter": quarter})])
        assert result.success, result.exception
        compiled[quarter] = {p.name: p.read_text() for p in target.rglob("compiled/**/*.sql")}
    return compiled


def test_same_every_quarter_models_read_no_statistics_and_no_quarter(tmp_path: Path) -> None:
    """An incremental build keeps the tables tagged same_every_quarter from the published file
    (planwatch.build.candidate): that is only right if nothing they read changes between quarters."""
    from planwatch.build.candidate import SAME_EVERY_QUARTER_TAG

    tag = f"tag:{SAME_EVERY_QUARTER_TAG}"
    tagged = _dbt_ls(tmp_path, "ls", "--resource-type", "model", "--select", tag, "--output", "name")
    assert {"int_plan_rows_resolved", "int_plan_targets_converted", "int_plan_annual_targets_unpivoted",
            "stg_reference__regions", "stg_plans__indicator_targets", "dim_region", "fct_plan_completion"} <= set(tagged)
    # no statistics and no audit table upstream (intersection: tagged and downstream of the source)
    for source in ("source:stats+", "source:audit+"):
        assert _dbt_ls(tmp_path, "ls", "--resource-type", "model", "--select", f"{tag},{source}",
                       "--output", "name") == [], source
    # no var that changes with the quarter: the compiled SQL of the models and of the tests that
    # leave with them (every model they read is tagged) is the same for two quarters
    compiled = _compiled_by_quarter(tmp_path, tag, "cautious")
    assert len(compiled["2023Q4"]) >= len(tagged) + 10  # the models and their tests
    assert compiled["2023Q4"] == compiled["2030Q1"]


def test_incremental_build_tests_only_what_it_wrote(tmp_path: Path) -> None:
    """An incremental build leaves out the tests of the sources the fingerprint holds equal (reference
    and plans, tagged in their yml), and every test of the tables it extends by period checks the
    rows from the rebuild bound on (`__rebuilt_rows__`, dbt/README.md)."""
    import json

    from planwatch.build.candidate import SAME_EVERY_QUARTER_TAG

    run = _dbt_ls(tmp_path, "ls", "--resource-type", "test", "--exclude", f"tag:{SAME_EVERY_QUARTER_TAG}",
                  "--indirect-selection", "cautious", "--output", "name")
    sources = [name for name in run if name.startswith("source_")]
    assert sources and all("_stats_" in name for name in sources), sources
    assert "source_unique_reference_regions_region_code" not in run
    tests = [json.loads(line) for line in _dbt_ls(tmp_path, "ls", "--resource-type", "test", "--output", "json",
                                                  "--output-keys", "name config depends_on")]
    extended = ("model.planwatch.fct_indicator_progress", "model.planwatch.fct_indicator_status_history",
                "model.planwatch.stg_stats__observations", "source.planwatch.stats.stat_observations")
    for node in extended:
        # (the singular test assert_period_index_matches_loader applies the bound in its own SQL)
        on_node = [t for t in tests if node in t["depends_on"]["nodes"] and not t["name"].startswith("assert_")]
        assert len(on_node) >= 1, node
        assert all(t["config"]["where"] == "__rebuilt_rows__" for t in on_node), [
            t["name"] for t in on_node if t["config"]["where"] != "__rebuilt_rows__"]
    # the fact's 15 not-null columns are one not_null_columns node (tests/generic/not_null_columns.sql)
    assert sum(node in t["depends_on"]["nodes"] for t in tests for node in extended[:1]) >= 15


def test_bi_views_kept_by_an_incremental_build_read_no_quarter(tmp_path: Path) -> None:
    """An incremental build keeps the bi views from the published file (planwatch.build.candidate.BI_VIEWS):
    right only if the selection holds views alone (no rows to bring up to date) whose SQL does not
    change with the quarter."""
    from planwatch.build.candidate import BI_VIEWS

    views = _dbt_ls(tmp_path, "ls", "--resource-type", "model", "--select", BI_VIEWS, "--output", "name")
    assert {"latest_status", "status_counts", "submission_status", "submission_by_region", "dq_summary"} <= set(views)
    assert len(views) == 10 and "submission_counts" not in views
    compiled = _compiled_by_quarter(tmp_path, BI_VIEWS, "empty")
    assert {f"{view}.sql" for view in views} <= set(compiled["2023Q4"])  # and the ephemeral they read
    assert compiled["2023Q4"] == compiled["2030Q1"]


def test_out_of_memory_and_full_disk_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """The messages of a national build that ran out of DuckDB's memory limit and of one whose disk
    filled up (bench logs, 2026-11-29) name the setting or the folder to fix."""
    from planwatch.build.candidate import _what_to_do

    monkeypatch.setenv("PLANWATCH_DUCKDB_MEMORY_LIMIT", "1GB")
    oom = ["fct_indicator_status_history (Runtime Error in model fct_indicator_status_history "
           "(models/marts/fct_indicator_status_history.sql)\n  Out of Memory Error: could not allocate block "
           "of size 256.0 KiB (953.7 MiB/953.6 MiB used))"]
    assert "PLANWATCH_DUCKDB_MEMORY_LIMIT=1GB): set PLANWATCH_DUCKDB_MEMORY_LIMIT higher" in _what_to_do(oom)
    full = ["submission_counts (Runtime Error in model submission_counts (models/bi/submission_counts.sql)\n"
            "  IO Error: Could not write file \"/w/candidates/c.duckdb.tmp/duckdb_temp_1434_0.tmp\": "
            "No space left on device)"]
    assert _what_to_do(full).startswith("The disk is full")
    assert _what_to_do(["unique_combination_of_columns_stg_stats__observations_file_id (Got 1 result)"]) == ""
