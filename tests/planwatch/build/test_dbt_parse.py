"""dbt's parse kept between builds (planwatch/build/dbt_parse.py): the next build, for another quarter
and another candidate file, parses only what the quarter and the rebuild bound touch, and compiles
with the new values."""

from __future__ import annotations

import json
from pathlib import Path

from planwatch.build.dbt_parse import LINK_NAME, PARSE_FILE
from planwatch.build.dbt_runner import run_dbt
from planwatch.core.db import connect
from planwatch.core.periods import Quarter

REPO_ROOT = Path(__file__).resolve().parents[3]
KEYED_TEST = "unique_combination_of_columns_int_observations_latest_region_code__indicator_code__breakdown__period"


def _compile(tmp_path: Path, name: str, dbt_vars: dict, parse_dir: Path) -> tuple[dict[str, str], str]:
    candidate = tmp_path / f"{name}.duckdb"
    with connect(candidate):
        pass
    work = tmp_path / f"{name}.dbt"
    outcome = run_dbt(REPO_ROOT / "dbt", candidate, work, dbt_vars, command="compile",
                      select=["dim_period", KEYED_TEST], parse_dir=parse_dir)
    assert outcome.success, outcome.errors
    compiled = {p.stem: p.read_text() for p in (work / "target" / "compiled").rglob("*.sql")}
    # dbt names the long test's file by a hash: the one test compiled from the intermediate models' yml
    keyed = list((work / "target" / "compiled").rglob("_intermediate__models.yml/*.sql"))
    assert len(keyed) == 1
    compiled[KEYED_TEST] = keyed[0].read_text()
    return compiled, (work / "logs" / "dbt.log").read_text()


def _files_parsed_again(tmp_path: Path, name: str, dbt_vars: dict, parse_dir: Path) -> int:
    """How many files `dbt parse` parsed again, from the kept parse (its perf_info.json)."""
    candidate = tmp_path / f"{name}.duckdb"
    with connect(candidate):
        pass
    work = tmp_path / f"{name}.dbt"
    outcome = run_dbt(REPO_ROOT / "dbt", candidate, work, dbt_vars, command="parse", parse_dir=parse_dir)
    assert outcome.success, outcome.errors
    return json.loads((work / "target" / "perf_info.json").read_text())["parsed_path_count"]


def test_the_next_build_reuses_the_parse_and_compiles_its_own_quarter(tmp_path: Path) -> None:
    parse_dir = tmp_path / "candidates" / ".dbt-parse"
    first, first_log = _compile(tmp_path, "run-1", {"as_of_quarter": "2023Q4"}, parse_dir)
    assert "Starting full parse" in first_log
    assert (parse_dir / PARSE_FILE).exists()
    # a later quarter than any plan year (2023 fixture plans end by 2025): dim_period's spine follows it
    bound = Quarter.parse("2030Q1").index
    second, second_log = _compile(tmp_path, "run-2", {"as_of_quarter": "2030Q1", "rebuilt_from_period_index": bound},
                                  parse_dir)
    assert "Unable to do partial parsing" not in second_log and "Starting full parse" not in second_log
    assert "else 2030" in " ".join(second["dim_period"].split()) and "else 2023" in " ".join(first["dim_period"].split())
    assert f"period_index >= {bound}" in second[KEYED_TEST] and "period_index >=" not in first[KEYED_TEST]
    # and not one file parsed again for another quarter and bound: they are read when dbt compiles,
    # never while it parses (dbt/macros/rebuilt_rows.sql), so the parse run-2 kept serves as it is
    assert _files_parsed_again(tmp_path, "run-3", {"as_of_quarter": "2030Q2", "rebuilt_from_period_index": bound + 1},
                               parse_dir) == 0
    # the link dbt opened the candidate by is gone, with any log beside it
    assert sorted(p.name for p in parse_dir.iterdir()) == ["lock", PARSE_FILE]


def test_a_killed_builds_link_and_log_are_not_replayed_into_the_next_candidate(tmp_path: Path) -> None:
    parse_dir = tmp_path / ".dbt-parse"
    parse_dir.mkdir()
    stale = tmp_path / "killed.duckdb"
    with connect(stale) as con:
        con.execute("create table marker as select 1 as x")
    (parse_dir / LINK_NAME).hardlink_to(stale)
    (parse_dir / (LINK_NAME + ".wal")).write_bytes(b"not a log of the next candidate")
    _compile(tmp_path, "next", {"as_of_quarter": "2023Q4"}, parse_dir)
    with connect(tmp_path / "next.duckdb", read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'marker'").fetchone() == (0,)
    assert sorted(p.name for p in parse_dir.iterdir()) == ["lock", PARSE_FILE]


def test_a_build_keeps_its_parse_and_writes_no_json_artifacts(tmp_path: Path) -> None:
    """A build writes no manifest.json or run_results.json (nothing reads them: 0.3 s of CPU per build),
    and still leaves its parse for the next build."""
    parse_dir = tmp_path / "candidates" / ".dbt-parse"
    candidate = tmp_path / "build.duckdb"
    with connect(candidate):
        pass
    work = tmp_path / "build.dbt"
    # the selection matches no node: dbt parses, keeps its parse and would write its manifest, builds nothing
    outcome = run_dbt(REPO_ROOT / "dbt", candidate, work, {"as_of_quarter": "2023Q4"}, command="build",
                      select=["tag:no_such_tag"], parse_dir=parse_dir)
    assert outcome.success, outcome.errors
    assert (parse_dir / PARSE_FILE).exists()
    assert not (work / "target" / "manifest.json").exists() and not (work / "target" / "run_results.json").exists()
