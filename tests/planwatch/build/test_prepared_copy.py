"""The copy of the published warehouse that run_all makes beside the statistics load
(planwatch/build/prepared_copy.py): taken only when made from the file still published."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from planwatch.build import prepared_copy


def _warehouse(path: Path, value: int) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create table t as select ? as v", [value])
    con.close()
    return path


def _value(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select v from t").fetchone()[0]
    finally:
        con.close()


def test_the_copy_made_ahead_becomes_the_candidate(tmp_path: Path) -> None:
    published = _warehouse(tmp_path / "planwatch.duckdb", 1)
    candidate = tmp_path / "candidates" / "run.duckdb"
    prepared_copy.prepare_in_background(published, candidate)
    assert prepared_copy.take(published, candidate)
    assert _value(candidate) == 1 and published.read_bytes() == candidate.read_bytes()
    assert not prepared_copy.prepared_path(candidate).exists()
    assert not prepared_copy.take(published, candidate), "a copy is taken once"


def test_a_copy_of_a_file_no_longer_published_is_removed_not_taken(tmp_path: Path) -> None:
    published = _warehouse(tmp_path / "planwatch.duckdb", 1)
    candidate = tmp_path / "candidates" / "run.duckdb"
    prepared_copy.prepare_in_background(published, candidate)
    prepared_copy._jobs[candidate][0].join()
    # a publish or a rollback puts another file in place, by rename
    os.replace(_warehouse(tmp_path / "newer.duckdb", 2), published)
    assert not prepared_copy.take(published, candidate)
    assert not candidate.exists() and not prepared_copy.prepared_path(candidate).exists()


def test_a_full_refresh_discards_the_copy_and_a_killed_runs_copy_goes_with_the_next(tmp_path: Path) -> None:
    published = _warehouse(tmp_path / "planwatch.duckdb", 1)
    candidates = tmp_path / "candidates"
    candidates.mkdir()
    left = candidates / "killed.duckdb.prepared"
    left.write_bytes(b"a copy a killed run left")
    candidate = candidates / "run.duckdb"
    prepared_copy.prepare_in_background(published, candidate)
    assert not left.exists()
    prepared_copy.discard(candidate)
    assert sorted(p.name for p in candidates.iterdir()) == []


def test_without_a_copy_made_ahead_there_is_nothing_to_take(tmp_path: Path) -> None:
    """A DAG task runs the build in a process of its own: it copies the published file itself."""
    published = _warehouse(tmp_path / "planwatch.duckdb", 1)
    candidate = tmp_path / "candidates" / "run.duckdb"
    assert not prepared_copy.take(published, candidate)
    prepared_copy.prepare_in_background(tmp_path / "missing.duckdb", candidate)
    assert not prepared_copy.take(tmp_path / "missing.duckdb", candidate)
