"""The warehouse as BI tools see it: the `bi` views through SQLAlchemy (duckdb-engine, read-only,
as Superset connects), also while a publish replaces the file, and the Parquet exports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from planwatch.build.bi_views import BI_VIEWS, build_bi_views
from planwatch.core.errors import TerminalError
from planwatch.core.periods import Quarter
from planwatch.serve.parquet_export import export_parquet

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "warehouse"))
from bi_fixture import build_fixture_warehouse  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]


def build_warehouse(path: Path, as_of: str = "2025Q2", n_regions: int = 5) -> Path:
    """A candidate as the publish step leaves it: marts, audit, bi views (built by dbt), checkpointed and closed."""
    return build_fixture_warehouse(path, as_of=as_of, n_regions=n_regions)


@pytest.fixture
def published(tmp_path: Path) -> Path:
    (tmp_path / "warehouse").mkdir()
    return build_warehouse(tmp_path / "warehouse" / "planwatch.duckdb")


def bi_engine(path: Path) -> sa.Engine:
    """The URL a Superset admin types into "SQLAlchemy URI", with Superset's NullPool."""
    return sa.create_engine(f"duckdb:///{path}?access_mode=read_only", poolclass=NullPool)


def test_views_answer_with_the_latest_status_of_every_series(published: Path) -> None:
    with duckdb.connect(str(published), read_only=True) as con:
        series = con.execute(
            "select count(distinct (region_code, plan, indicator_code, coalesce(breakdown, ''))) "
            "from marts.fct_indicator_progress").fetchone()[0]
        latest = con.execute(
            "select period, actual_value, status, status_label_zh, status_label_en, indicator_name_en "
            "from bi.latest_status where region_code = ? and indicator_code = ?",
            ["320583", "SOC_ORG_PER_10K"]).fetchall()
        backwards = con.execute(
            "select status, status_label_zh, progress_ratio from bi.latest_status "
            "where region_code = '321200' and indicator_code = 'AFF_FUNERAL_GREEN_SHARE'").fetchall()
        counted = con.execute("select sum(indicators) from bi.status_counts").fetchone()[0]
        n_latest = con.execute("select count(*) from bi.latest_status").fetchone()[0]
        dq = con.execute("select suite, severity, checks, passed, failed, unexpected_rows "
                         "from bi.dq_summary order by suite, severity").fetchall()
        findings = con.execute("select expectation, unexpected_count from bi.dq_findings "
                               "order by expectation").fetchall()
    assert n_latest == series == 45  # 5 regions x 9 plan rows
    # 2025Q2 is not reported for this indicator: the latest reported quarter stands
    assert latest == [("2025Q1", 9.02, "target_achieved", "已实现目标", "Target achieved",
                       "Social organisations per 10,000 residents")]
    assert backwards == [("deterioration", "逆向变化", -0.4)]
    assert counted == series
    # only the last run's checks; the older run's finding (9 rows) is closed
    assert dq == [("fct_indicator_progress", "error", 1, 1, 0, 0), ("fct_indicator_progress", "warn", 1, 0, 1, 5),
                  ("raw_stat_observations", "error", 1, 1, 0, 0), ("raw_stat_observations", "warn", 1, 0, 1, 3)]
    assert findings == [("quarter_not_reported", 5), ("values_within_catalog_bounds", 3)]


def test_views_refuse_to_build_without_their_marts(tmp_path: Path) -> None:
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with pytest.raises(TerminalError, match="fct_indicator_progress"):
        build_bi_views(tmp_path / "empty.duckdb", REPO_ROOT / "dbt", tmp_path / "work")


def test_sqlalchemy_read_only_like_superset(published: Path) -> None:
    engine = bi_engine(published)
    inspector = sa.inspect(engine)
    # duckdb-engine names schemas after the file's catalog, as Superset's schema picker shows them
    assert {"planwatch.bi", "planwatch.marts", "planwatch.audit"} <= set(inspector.get_schema_names())
    assert set(BI_VIEWS) <= set(inspector.get_view_names(schema="bi"))
    # Column types as a virtual dataset / SQL Lab learns them: from the cursor's description.
    # (inspector.get_columns fails with duckdb-engine 0.17 under SQLAlchemy 2.1: pg_collation;
    # Superset ships SQLAlchemy 1.4 and is not affected, see docs/bi.md.)
    with engine.connect() as conn:
        columns = set(conn.execute(sa.text("SELECT * FROM bi.latest_status LIMIT 0")).keys())
    assert {"region_name", "indicator_name_zh", "status", "status_label_en", "is_simulated"} <= columns
    # The shape of query Superset's explore view sends for a bar chart, and for a table with a filter.
    with engine.connect() as conn:
        bars = conn.execute(sa.text(
            "SELECT status_label_en AS status_label_en, sum(indicators) AS \"SUM(indicators)\" "
            "FROM bi.status_counts WHERE attribute IN ('binding') GROUP BY status_label_en "
            "ORDER BY \"SUM(indicators)\" DESC LIMIT 10000")).all()
        table = conn.execute(sa.text(
            "SELECT region_name, indicator_name_zh, period, actual_value, status_label_zh "
            "FROM bi.latest_status WHERE region_code = :code ORDER BY indicator_code LIMIT 1000"),
            {"code": "520300"}).all()
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            conn.execute(sa.text("CREATE TABLE bi.scratch AS SELECT 1"))
    assert sum(n for _, n in bars) == 10  # 2 binding rows x 5 regions
    assert len(table) == 9 and all(r.region_name == "遵义市" for r in table)
    # connect_args is the other way Superset passes it ("Engine parameters" in the database form)
    other = sa.create_engine(f"duckdb:///{published}", connect_args={"read_only": True}, poolclass=NullPool)
    with other.connect() as conn:
        assert conn.execute(sa.text("select count(*) from bi.dq_findings")).scalar_one() == 2


PUBLISHER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_serve import build_warehouse
    target = Path({target!r})
    for i in range({n}):
        candidate = target.parent / "candidates" / f"run{{i}}.duckdb"
        candidate.parent.mkdir(exist_ok=True)
        build_warehouse(candidate, as_of="2025Q1" if i % 2 == 0 else "2025Q2")
        os.replace(candidate, target)
        time.sleep(0.5)  # a copy of a built file takes milliseconds: give the reader each version to see
""")


def test_bi_queries_keep_working_while_a_publish_replaces_the_file(published: Path, tmp_path: Path) -> None:
    publishes = 8
    # both versions built once here (a dbt run each), so the publisher only copies files while we read
    build_warehouse(tmp_path / "warm.duckdb", as_of="2025Q1")
    script = PUBLISHER.format(tests=str(Path(__file__).parent), target=str(published), n=publishes)
    publisher = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    engine = bi_engine(published)
    seen: list[tuple[str, str, int, int]] = []
    errors: list[str] = []
    opened_mid_rename = 0
    deadline = time.monotonic() + 120
    while publisher.poll() is None and time.monotonic() < deadline:
        before = published.stat().st_ino
        try:
            with engine.connect() as conn:
                fact_period = conn.execute(sa.text(
                    "select max(period) from marts.fct_indicator_progress")).scalar_one()
                view_period = conn.execute(sa.text("select max(period) from bi.latest_status")).scalar_one()
                counted = conn.execute(sa.text("select sum(indicators) from bi.status_counts")).scalar_one()
                facts = conn.execute(sa.text("select count(*) from marts.fct_indicator_progress")).scalar_one()
            seen.append((fact_period, view_period, int(counted), int(facts)))
        except Exception as exc:  # collect, so the assertion shows every kind of failure
            if published.stat().st_ino != before:
                opened_mid_rename += 1  # DuckDB's open during the rename (docs/bi.md): asked again
            else:
                errors.append(f"{type(exc).__name__}: {exc}")
    output = publisher.communicate(timeout=60)[0]
    assert publisher.returncode == 0, output
    assert errors == []
    assert len(seen) >= 10
    # every read saw one whole published version: 45 series x 17 or 18 quarters
    assert set(seen) <= {("2025Q1", "2025Q1", 45, 45 * 17), ("2025Q2", "2025Q2", 45, 45 * 18)}
    assert len(set(seen)) == 2
    assert opened_mid_rename <= publishes  # at most the one connection opened across each rename
    with engine.connect() as conn:  # the last publish (i = 7) is 2025Q2
        assert conn.execute(sa.text("select max(period) from bi.latest_status")).scalar_one() == "2025Q2"


def test_parquet_export_of_every_mart(published: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    out.mkdir()
    (out / "fct_retired_mart.parquet").write_bytes(b"stale")
    (out / "fct_indicator_progress.parquet").write_bytes(b"the layout before partitions")
    before = published.stat().st_mtime_ns
    rows = export_parquet(published, out)
    assert published.stat().st_mtime_ns == before  # read-only: the published file is untouched
    assert sorted(p.name for p in out.glob("*.parquet")) == [
        "dim_indicator.parquet", "dim_period.parquet", "dim_plan.parquet", "dim_region.parquet",
        "dim_status.parquet", "fct_indicator_latest.parquet", "fct_plan_completion.parquet",
        "fct_plan_figures.parquet", "fct_regions_without_current_plan.parquet"]
    # the facts: one file per year of the fixture's periods
    years = sorted(p.parent.name for p in (out / "fct_indicator_progress").glob("*/data.parquet"))
    assert years == ["period_year=2021", "period_year=2022", "period_year=2023", "period_year=2024",
                     "period_year=2025"]
    assert rows == {"dim_indicator": 8, "dim_period": 60, "dim_plan": 5, "dim_region": 5, "dim_status": 9,
                    "fct_indicator_progress": 45 * 18, "fct_indicator_latest": 45, "fct_plan_completion": 10,
                    "fct_plan_figures": 85 + 1,
                    "fct_regions_without_current_plan": 0}
    table = pq.read_table(out / "fct_indicator_progress" / "period_year=2023" / "data.parquet")
    assert table.num_rows == 45 * 4
    # each year's file holds that year's rows and no other (the export finds them by period_index)
    for fact in ("fct_indicator_progress",):  # the fixture has no status history
        files = sorted((out / fact).glob("period_year=*/data.parquet"))
        in_files = {f.parent.name.split("=")[1]: pq.read_table(f, columns=["period"]).column("period").to_pylist()
                    for f in files}
        assert all(p[:4] == year for year, periods in in_files.items() for p in periods)
        with duckdb.connect(str(published), read_only=True) as con:
            want = con.execute(f"select count(*) from marts.{fact}").fetchone()[0]
        assert sum(len(periods) for periods in in_files.values()) == want > 0
    assert {"region_code", "status", "is_simulated", "period_end"} <= set(table.column_names)
    # a tool that prefers files gets the same answer as one that opens the warehouse
    with duckdb.connect(":memory:") as con:
        from_files = con.execute(
            "select count(*) from read_parquet(?, hive_partitioning = true) where status = 'deterioration'",
            [str(out / "fct_indicator_progress" / "*" / "*.parquet")]).fetchone()[0]
    with duckdb.connect(str(published), read_only=True) as con:
        from_db = con.execute("select count(*) from marts.fct_indicator_progress "
                              "where status = 'deterioration'").fetchone()[0]
    assert from_files == from_db > 0


def test_parquet_export_rewrites_only_the_years_that_changed(published: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    export_parquet(published, out)
    year_files = {p.parent.name: p for p in (out / "fct_indicator_progress").glob("*/data.parquet")}
    stamps = {name: p.stat().st_mtime_ns for name, p in year_files.items()}
    changed = tmp_path / "changed.duckdb"
    shutil.copyfile(published, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute("update marts.fct_indicator_progress set actual_value = actual_value + 1 "
                    "where period = '2024Q2'")
        con.execute("delete from marts.fct_indicator_progress where period like '2021%'")
    time.sleep(0.01)
    rows = export_parquet(changed, out)
    assert rows["fct_indicator_progress"] == 45 * 14
    after = {p.parent.name: p.stat().st_mtime_ns for p in (out / "fct_indicator_progress").glob("*/data.parquet")}
    assert sorted(after) == ["period_year=2022", "period_year=2023", "period_year=2024", "period_year=2025"]
    assert [y for y in after if after[y] != stamps[y]] == ["period_year=2024"]  # only the changed year
    with duckdb.connect(":memory:") as con:
        got = con.execute("select sum(actual_value) from read_parquet(?) where period = '2024Q2'",
                          [str(out / "fct_indicator_progress" / "period_year=2024" / "data.parquet")]).fetchone()[0]
    with duckdb.connect(str(changed), read_only=True) as con:
        want = con.execute("select sum(actual_value) from marts.fct_indicator_progress "
                           "where period = '2024Q2'").fetchone()[0]
    assert got == pytest.approx(want)
    # a lost manifest is no reason to keep a file: every year is written again
    (out / "_partitions.json").unlink()
    export_parquet(changed, out)
    again = {p.parent.name: p.stat().st_mtime_ns for p in (out / "fct_indicator_progress").glob("*/data.parquet")}
    assert all(again[y] != after[y] for y in after)


def _year_files(folder: Path) -> dict[str, int]:
    """Each exported file of a partitioned fact (`period_year=<y>/<name>`) and its mtime."""
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.glob("*/*.parquet")}


def _revised_copy(published: Path, revised: Path, period: str) -> tuple[Path, list[tuple]]:
    """A copy of `published` whose facts of `period` are revised (actual + 1), and the rows readers should see."""
    shutil.copyfile(published, revised)
    with duckdb.connect(str(revised)) as con:
        con.execute("update marts.fct_indicator_progress set actual_value = actual_value + 1 where period = ?", [period])
        want = con.execute("select period, region_code, indicator_code, actual_value "
                           "from marts.fct_indicator_progress order by all").fetchall()
    return revised, want


def _rows_in(pattern: str, where: str = "true") -> list[tuple]:
    with duckdb.connect(":memory:") as con:
        return con.execute(f"select period, region_code, indicator_code, actual_value from read_parquet(?) "
                           f"where {where} order by all", [pattern]).fetchall()


def test_parquet_export_writes_a_new_quarter_beside_its_year(published: Path, tmp_path: Path) -> None:
    """An export after a new quarter (the fixture's 2025Q2) keeps the year's file of the quarters
    before it and writes the new quarter's rows alone; a later change to an earlier quarter of the
    year writes the year again as one file. Readers of `*/*.parquet` get the warehouse's rows."""
    out, folder = tmp_path / "parquet", tmp_path / "parquet" / "fct_indicator_progress"
    before = tmp_path / "before.duckdb"
    shutil.copyfile(published, before)
    with duckdb.connect(str(before)) as con:
        con.execute("delete from marts.fct_indicator_progress where period = '2025Q2'")
    export_parquet(before, out)
    first = _year_files(folder)
    assert sorted(first) == [f"period_year={y}/data.parquet" for y in range(2021, 2026)]

    time.sleep(0.01)
    rows = export_parquet(published, out)
    second = _year_files(folder)
    assert sorted(second) == sorted([*first, "period_year=2025/data-from-2025Q2.parquet"])
    assert all(second[f] == first[f] for f in first)  # every earlier file kept as it was
    assert _rows_in(str(folder / "period_year=2025" / "data-from-2025Q2.parquet")) == \
        _rows_in(str(folder / "*" / "*.parquet"), "period = '2025Q2'")
    with duckdb.connect(str(published), read_only=True) as con:
        want = con.execute("select period, region_code, indicator_code, actual_value "
                           "from marts.fct_indicator_progress order by all").fetchall()
        hive = con.execute("select count(*), count(distinct period_year) from read_parquet(?, hive_partitioning = true) "
                           "where period_year = 2025", [str(folder / "*" / "*.parquet")]).fetchone()
    assert _rows_in(str(folder / "*" / "*.parquet")) == want and rows["fct_indicator_progress"] == len(want)
    assert hive == (45 * 2, 1)

    # an earlier quarter of the year changes: the year is written again as one file
    revised, want = _revised_copy(published, tmp_path / "revised.duckdb", "2025Q1")
    time.sleep(0.01)
    export_parquet(revised, out)
    third = _year_files(folder)
    assert sorted(third) == sorted(first)
    assert [f for f in third if third[f] != first[f]] == ["period_year=2025/data.parquet"]
    assert _rows_in(str(folder / "*" / "*.parquet")) == want


def _with_status_history(source: Path, target: Path, through: str) -> Path:
    """A copy of `source` with a status history of the fact's rows through the quarter `through`, each
    series' newest row the latest (as the model writes it; the fixture has none)."""
    shutil.copyfile(source, target)
    with duckdb.connect(str(target)) as con:
        con.execute("create table marts.fct_indicator_status_history as select region_code, indicator_code, "
                    "breakdown, period, period_index, actual_value, status, period_index = max(period_index) "
                    "over (partition by region_code, indicator_code, breakdown) as is_latest "
                    "from marts.fct_indicator_progress where period_index <= ?", [Quarter.parse(through).index])
    return target


def test_parquet_export_keeps_the_status_history_newest_quarter_apart(published: Path, tmp_path: Path) -> None:
    """The status history's newest quarter is a file of its own: the next build writes its rows again
    (no longer the latest), and the export then writes that quarter and the new one, not the year."""
    out, folder = tmp_path / "parquet", tmp_path / "parquet" / "fct_indicator_status_history"
    export_parquet(_with_status_history(published, tmp_path / "q3.duckdb", "2024Q3"), out)
    first = _year_files(folder)
    assert sorted(f for f in first if f.startswith("period_year=2024")) == [
        "period_year=2024/data-from-2024Q3.parquet", "period_year=2024/data.parquet"]
    assert _rows_in(str(folder / "period_year=2024" / "data-from-2024Q3.parquet")) == \
        _rows_in(str(folder / "*" / "*.parquet"), "period = '2024Q3'")

    time.sleep(0.01)
    q4 = _with_status_history(published, tmp_path / "q4.duckdb", "2024Q4")
    export_parquet(q4, out)
    second = _year_files(folder)
    assert sorted(f for f in second if f.startswith("period_year=2024")) == [
        "period_year=2024/data-from-2024Q3.parquet", "period_year=2024/data-from-2024Q4.parquet",
        "period_year=2024/data.parquet"]
    # 2024Q1-Q2 and the earlier years kept; 2024Q3 (its rows no longer the latest) written again
    assert [f for f in first if second[f] != first[f]] == ["period_year=2024/data-from-2024Q3.parquet"]
    with duckdb.connect(str(q4), read_only=True) as con:
        want = con.execute("select period, region_code, indicator_code, actual_value "
                           "from marts.fct_indicator_status_history order by all").fetchall()
        latest = con.execute("select count(*) from marts.fct_indicator_status_history where is_latest").fetchone()
    assert _rows_in(str(folder / "*" / "*.parquet")) == want
    with duckdb.connect(":memory:") as con:
        assert con.execute("select count(*) from read_parquet(?) where is_latest",
                           [str(folder / "*" / "*.parquet")]).fetchone() == latest


def test_parquet_export_keeps_a_whole_mart_whose_rows_did_not_change(published: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    export_parquet(published, out)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    changed = tmp_path / "changed.duckdb"
    shutil.copyfile(published, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute("update marts.fct_indicator_latest set actual_value = actual_value + 1")
    time.sleep(0.01)
    export_parquet(changed, out)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    assert [name for name in stamps if after[name] != stamps[name]] == ["fct_indicator_latest.parquet"]

    # a renamed column with the same values (a row's hash does not see names) writes its mart again,
    # and the partitioned fact's every year
    years = _year_files(out / "fct_indicator_progress")
    with duckdb.connect(str(changed)) as con:
        con.execute("alter table marts.fct_plan_figures rename column figure to printed_figure")
        con.execute("alter table marts.fct_indicator_progress rename column actual_value to actual")
    time.sleep(0.01)
    export_parquet(changed, out)
    again = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    assert [name for name in stamps if again[name] != after[name]] == ["fct_plan_figures.parquet"]
    assert "printed_figure" in pq.read_schema(out / "fct_plan_figures.parquet").names
    assert all(t != years[f] for f, t in _year_files(out / "fct_indicator_progress").items())


def test_parquet_export_writes_a_year_again_whose_files_interleave(published: Path, tmp_path: Path) -> None:
    """A year whose files hold quarters out of order (one file 2024Q1 and Q4, others Q2 and Q3: no
    export writes that, a manifest edited or restored by hand can) is not kept piecemeal when 2024Q3
    changes: keeping Q2's file and writing from Q1 on would give Q2's rows twice. The year is written
    again as one file, and readers get each row once."""
    out, folder = tmp_path / "parquet", tmp_path / "parquet" / "fct_indicator_progress"
    export_parquet(published, out)
    manifest = json.loads((out / "_partitions.json").read_text())
    year = folder / "period_year=2024"
    states = manifest["fct_indicator_progress"].pop("period_year=2024/data.parquet")
    q1, q2, q3, q4 = (str(Quarter.parse(q).index) for q in ("2024Q1", "2024Q2", "2024Q3", "2024Q4"))
    # Q4's index holds the year rows too
    held = {"data.parquet": (q1, q4), "data-from-2024Q2.parquet": (q2,), "data-from-2024Q3.parquet": (q3,)}
    with duckdb.connect(str(published), read_only=True) as con:
        for name, quarters in held.items():
            con.execute(f"copy (select * from marts.fct_indicator_progress where period_index in "
                        f"({', '.join(quarters)})) to '{year / name}' (format parquet)")
            manifest["fct_indicator_progress"][f"period_year=2024/{name}"] = {i: states[i] for i in quarters}
    assert sorted(states) == sorted([q1, q2, q3, q4])
    (out / "_partitions.json").write_text(json.dumps(manifest))

    revised, want = _revised_copy(published, tmp_path / "revised.duckdb", "2024Q3")
    export_parquet(revised, out)
    assert sorted(p.name for p in year.glob("*.parquet")) == ["data.parquet"]
    assert _rows_in(str(folder / "*" / "*.parquet")) == want


def test_duckdb_cli_opens_the_warehouse_read_only(published: Path) -> None:
    cli = shutil.which("duckdb")
    if cli is None:
        pytest.skip("no `duckdb` CLI on PATH (docs/bi.md says how to get one)")
    version = subprocess.run([cli, "--version"], capture_output=True, text=True).stdout
    if not version.startswith(f"v{duckdb.__version__.split('.')[0]}."):
        pytest.skip(f"the duckdb CLI on PATH is {version.strip()}; it must be {duckdb.__version__.split('.')[0]}.x "
                    "to read a file written by duckdb " + duckdb.__version__)
    done = subprocess.run([cli, "-readonly", "-csv", str(published), "-c",
                           "select count(*) from bi.latest_status"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["count_star()", "45"]
