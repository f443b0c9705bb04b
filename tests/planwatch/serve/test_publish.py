"""Write-audit-publish: the atomic swap, kept versions, rollback, and readers during a publish."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from planwatch.serve import publish as publish_mod
from planwatch.run import pipeline, runlog
from planwatch.core.config import Settings
from planwatch.core.db import connect
from planwatch.core.errors import ChecksFailed, ConfigError
from planwatch.core.periods import Quarter
from planwatch.core.types import RunContext
from planwatch.quality.validate import Finding, write_findings


def _run(n: int) -> RunContext:
    return RunContext(f"run_{n:02d}", Quarter.parse("2024Q4"))


def _candidate(settings: Settings, run: RunContext, marker: int, rows: int = 1000) -> Path:
    """A small warehouse whose rows all carry `marker`, so a reader can tell files apart."""
    path = settings.candidate_db(run.run_id)
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.fct_indicator_progress as select range as id, ? as marker from range(?)",
                [marker, rows])
    con.close()
    return path


def _checks(settings: Settings, run: RunContext, *, failing_error: bool = False) -> None:
    """Record this run's check results as the validate stages would (real audit.dq_results rows)."""
    write_findings(settings, run, ["raw_statistics"], [
        Finding("raw_statistics", "value_within_catalog_bounds", "error", not failing_error,
                1 if failing_error else 0, [{"region_code": "110101"}] if failing_error else []),
        Finding("raw_statistics", "stock_quarter_jump", "warn", False, 2, [{"region_code": "110102"}]),
    ])
    write_findings(settings, run, ["fct_indicator_progress"], [
        Finding("fct_indicator_progress", "values_within_catalog_bounds", "error", True, 0, []),
    ])


def _marker(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select min(marker), max(marker) from marts.fct_indicator_progress").fetchone()
    finally:
        con.close()
    assert row is not None and row[0] == row[1]
    return int(row[0])


def _publish(settings: Settings, n: int) -> None:
    run = _run(n)
    runlog.start_run(settings, run)
    _candidate(settings, run, marker=n)
    _checks(settings, run)
    _publish_stage(settings, run)


def _publish_stage(settings: Settings, run: RunContext) -> dict:
    """The publish stage as the DAG runs it: the pipeline records its outcome in the run log."""
    return pipeline.run_stage("publish", str(run.quarter), run.run_id, settings)


@pytest.fixture
def settings(ingest_settings: Settings) -> Settings:
    return ingest_settings


def test_publish_swaps_in_the_candidate_with_its_audit(settings: Settings) -> None:
    run = _run(1)
    runlog.start_run(settings, run)
    candidate = _candidate(settings, run, marker=1)
    _checks(settings, run)
    with connect(settings.ingest_db) as con:  # the plan loader's state, written before the build
        con.execute("insert into audit.load_state values ('load_plans', 'digest-1', '{}', now()::timestamp)")
    metrics = _publish_stage(settings, run)

    assert metrics["published"] is True and metrics["versions_kept"] == 1
    assert not candidate.exists() and _marker(settings.published_db) == 1
    assert not Path(str(settings.published_db) + ".wal").exists()
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        status = con.execute("select status, published from audit.run_log where run_id = ?", [run.run_id]).fetchone()
        warn = con.execute("select severity, success, unexpected_count, sample from audit.dq_results "
                           "where run_id = ? and expectation = 'stock_quarter_jump'", [run.run_id]).fetchone()
        audit = con.execute("select table_name from information_schema.tables where table_schema = 'audit' "
                            "order by 1").fetchall()
        load_state = con.execute("select stage, input_digest from audit.load_state").fetchall()
    finally:
        con.close()
    assert status == ("published", True)
    # every audit table of the ingest store reaches the published file, copied once by publish
    assert audit == [("dq_results",), ("load_state",), ("run_log",)]
    assert load_state == [("load_plans", "digest-1")]
    assert warn is not None and warn[:3] == ("warn", False, 2) and "110102" in warn[3]
    row = runlog.read_run(settings, run.run_id)
    assert row is not None and row["status"] == "published" and row["published"] is True
    assert row["metrics"]["publish"]["version"] == metrics["version"]


def test_failed_blocking_check_publishes_nothing(settings: Settings) -> None:
    _publish(settings, 1)
    before = hashlib.sha256(settings.published_db.read_bytes()).hexdigest()
    run = _run(2)
    candidate = _candidate(settings, run, marker=2)
    _checks(settings, run, failing_error=True)

    with pytest.raises(ChecksFailed) as info:
        _publish_stage(settings, run)

    assert info.value.failed == ["raw_statistics.value_within_catalog_bounds"]
    assert str(candidate) in str(info.value)
    assert hashlib.sha256(settings.published_db.read_bytes()).hexdigest() == before
    assert candidate.exists() and _marker(candidate) == 2
    assert len(publish_mod.list_versions(settings)) == 1
    row = runlog.read_run(settings, run.run_id)
    assert row is not None and (row["status"], row["published"]) == ("not_published", False)
    assert "raw_statistics.value_within_catalog_bounds" in row["reason"]


def test_publish_returns_its_outcome_and_the_pipeline_alone_records_it(settings: Settings) -> None:
    run = _run(1)
    runlog.start_run(settings, run)
    _candidate(settings, run, marker=1)
    _checks(settings, run)
    metrics = publish_mod.publish(settings, run)  # the stage itself, without the pipeline
    assert metrics["published"] is True and _marker(settings.published_db) == 1
    row = runlog.read_run(settings, run.run_id)
    assert row is not None and (row["status"], row["metrics"]) == ("running", {})

    failing = _run(2)
    _candidate(settings, failing, marker=2)
    _checks(settings, failing, failing_error=True)
    with pytest.raises(ChecksFailed):
        publish_mod.publish(settings, failing)
    assert runlog.read_run(settings, failing.run_id) is None


def test_publish_refuses_a_run_whose_checks_did_not_run(settings: Settings) -> None:
    run = _run(1)
    _candidate(settings, run, marker=1)
    write_findings(settings, run, ["fct_indicator_progress"], [
        Finding("fct_indicator_progress", "values_within_catalog_bounds", "error", True, 0, [])])
    with pytest.raises(ChecksFailed, match="raw suites did not run"):
        publish_mod.publish(settings, run)
    assert not settings.published_db.exists()


def test_publish_without_candidate_names_the_path(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="no candidate at"):
        publish_mod.publish(settings, _run(9))


def test_keeps_the_last_five_versions_and_rolls_back(settings: Settings) -> None:
    for n in range(1, 8):
        _publish(settings, n)
    versions = publish_mod.list_versions(settings)
    assert [v.run_id for v in versions] == [f"run_{n:02d}" for n in range(3, 8)]
    assert os.path.samefile(versions[-1].path, settings.published_db)

    assert pipeline.rollback(settings)["rolled_back_to"] == versions[-2].name
    assert _marker(settings.published_db) == 6
    pipeline.rollback(settings, None)
    assert _marker(settings.published_db) == 5
    assert pipeline.rollback(settings, to="run_07")["previous"] == versions[-3].name
    assert _marker(settings.published_db) == 7
    pipeline.rollback(settings, to=versions[0].name)
    assert _marker(settings.published_db) == 3
    with pytest.raises(ConfigError, match="nothing older"):
        publish_mod.rollback(settings)
    with pytest.raises(ConfigError, match="run_01.*not kept"):
        publish_mod.rollback(settings, to="run_01")
    # rolling back never rewrote a kept version
    assert [_marker(v.path) for v in publish_mod.list_versions(settings)] == [3, 4, 5, 6, 7]
    with duckdb.connect(str(settings.ingest_db), read_only=True) as con:
        reasons = [r[0] for r in con.execute(
            "select reason from audit.run_log where run_id like 'rollback-%' order by started_at").fetchall()]
    assert len(reasons) == 4 and reasons[0].startswith(f"rollback to {versions[-2].name}")


def test_rollback_without_versions(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="no kept versions"):
        publish_mod.rollback(settings)


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    q = "select count(*), min(marker), max(marker) from marts.fct_indicator_progress"
    print(con.execute(q).fetchone(), flush=True)
    sys.stdin.readline()          # the test publishes meanwhile
    print(con.execute(q).fetchone(), flush=True)
""")


def test_reader_keeps_a_consistent_view_through_a_publish(settings: Settings) -> None:
    _publish(settings, 1)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.published_db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "(1000, 1, 1)"
        run = _run(2)
        _candidate(settings, run, marker=2, rows=1500)
        _checks(settings, run)
        publish_mod.publish(settings, run)            # while the BI connection is open
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "(1000, 1, 1)"   # the old file, whole
    finally:
        reader.wait(timeout=30)
    assert reader.returncode == 0
    con = duckdb.connect(str(settings.published_db), read_only=True)   # a new connection
    try:
        assert con.execute("select count(*), min(marker) from marts.fct_indicator_progress").fetchone() == (1500, 2)
    finally:
        con.close()


def _built_for(path: Path, quarter: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists audit")
        con.execute("create or replace table audit.transform_state as select ? as quarter, now()::timestamp as built_at",
                    [quarter])
    finally:
        con.close()


def test_a_candidate_built_for_an_older_quarter_never_replaces_a_newer_published_one(settings: Settings) -> None:
    newer = RunContext("newer", Quarter.parse("2024Q4"))
    runlog.start_run(settings, newer)
    _built_for(_candidate(settings, newer, marker=4), "2024Q4")
    _checks(settings, newer)
    _publish_stage(settings, newer)
    assert publish_mod.built_quarter(settings.published_db) == Quarter.parse("2024Q4")

    older = RunContext("older", Quarter.parse("2024Q2"))
    # A run asking for an older quarter builds the published one (the pipeline does this per stage).
    as_of = publish_mod.as_of_run(settings, older)
    assert (str(as_of.quarter), as_of.extra["requested_quarter"]) == ("2024Q4", "2024Q2")
    assert publish_mod.as_of_run(settings, RunContext("next", Quarter.parse("2025Q1"))).quarter == Quarter.parse("2025Q1")

    # A candidate that was built for the older quarter anyway is refused by the gate.
    runlog.start_run(settings, older)
    _built_for(_candidate(settings, older, marker=2), "2024Q2")
    _checks(settings, older)
    with pytest.raises(ChecksFailed, match="candidate built for 2024Q2, older than the published 2024Q4"):
        _publish_stage(settings, older)
    assert _marker(settings.published_db) == 4
    assert runlog.read_run(settings, "older")["status"] == "not_published"  # type: ignore[index]


def test_published_files_are_group_readable_whatever_the_umask(settings: Settings) -> None:
    old = os.umask(0o077)
    try:
        _publish(settings, 1)
    finally:
        os.umask(old)
    paths = [settings.published_db, settings.versions_dir, settings.parquet_dir,
             *settings.versions_dir.iterdir(), *settings.parquet_dir.glob("*.parquet")]
    assert len(paths) >= 5  # the file, two folders, its version, the fact table's Parquet
    modes = {str(p): oct(p.stat().st_mode & 0o777) for p in paths}
    assert all(p.stat().st_mode & 0o040 for p in paths), modes
    assert all(p.stat().st_mode & 0o010 for p in paths if p.is_dir()), modes
    assert not settings.published_db.stat().st_mode & 0o004, modes  # others: as the umask says


def test_the_published_quarter_is_read_once_per_published_file(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_stage asks for the published quarter before every stage; the file is opened again only
    when it was replaced or written, and never while it has a WAL."""
    _built_for(settings.published_db, "2024Q3")
    opened: list[Path] = []
    real = publish_mod.built_quarter
    monkeypatch.setattr(publish_mod, "built_quarter", lambda path: (opened.append(path), real(path))[1])

    assert [publish_mod.published_quarter(settings) for _ in range(3)] == [Quarter.parse("2024Q3")] * 3
    assert opened == [settings.published_db]  # read once

    replacement = settings.warehouse_dir / "replacement.duckdb"
    _built_for(replacement, "2024Q4")
    os.replace(replacement, settings.published_db)  # as publish and rollback do
    assert publish_mod.published_quarter(settings) == Quarter.parse("2024Q4")
    assert len(opened) == 2

    _built_for(settings.published_db, "2025Q1")  # written in place (never by planwatch): read again
    assert publish_mod.published_quarter(settings) == Quarter.parse("2025Q1")
    assert publish_mod.published_quarter(settings) == Quarter.parse("2025Q1")
    assert len(opened) == 3

    wal = settings.published_db.with_name(settings.published_db.name + ".wal")
    wal.write_bytes(b"")  # a file with a WAL: its last writes may be there only, so it is read each time
    assert [publish_mod.published_quarter(settings) for _ in range(2)] == [Quarter.parse("2025Q1")] * 2
    assert len(opened) == 5
