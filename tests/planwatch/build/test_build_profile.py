"""The DuckDB settings of the build's connections: dbt's (dbt/profiles.yml, target `candidate`) and
every writable one of planwatch's own (planwatch.core.db.connect: the snapshot, publish's audit
copy), so that no later checkpoint rewrites the row groups the build appended."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import jinja2
import yaml

from planwatch.core.db import connect

REPO_ROOT = Path(__file__).resolve().parents[3]


def _candidate_settings() -> dict[str, str]:
    """The profile's database settings as dbt renders them (env_var with its default)."""
    profile = yaml.safe_load((REPO_ROOT / "dbt" / "profiles.yml").read_text(encoding="utf-8"))
    output = profile["planwatch"]["outputs"]["candidate"]
    # set on every cursor (`settings`) they would cost each node a statement (the profile's comment)
    assert "settings" not in output
    settings = output["config_options"]
    env = jinja2.Environment()
    env.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    return {key: env.from_string(str(value)).render() for key, value in settings.items()}


def _row_groups(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("select count(distinct row_group_id) from pragma_storage_info('t')").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def _row_groups_after_an_append(db: Path, config: dict[str, str]) -> int:
    """Row groups of a table written whole, then appended to in a second transaction (as an
    incremental model or the snapshot's new statistics are), after the close's checkpoint, on a
    connection opened with `config` (as dbt-duckdb opens it with the profile's config_options)."""
    con = duckdb.connect(str(db), config=config)
    # 150,000 rows: one full row group of 122,880 and one part-filled, twice
    con.execute("create table t as select range as i, 'built ' || range as s from range(150000)")
    con.execute("checkpoint")
    con.execute("insert into t select range as i, 'new ' || range as s from range(150000)")
    con.close()
    return _row_groups(db)


def test_the_build_connection_leaves_appended_row_groups_unmerged_at_close(tmp_path: Path) -> None:
    # DuckDB's default vacuum merges the two part-filled row groups (4 -> 3) by rewriting them at
    # the close's checkpoint; the profile turns it off (its comment, bench/README.md's seventh pass)
    assert _row_groups_after_an_append(tmp_path / "default.duckdb", {}) == 3
    settings = _candidate_settings()
    assert _row_groups_after_an_append(tmp_path / "profile.duckdb", settings) == 4


def test_a_later_writer_leaves_the_builds_row_groups_unmerged(tmp_path: Path) -> None:
    # DuckDB vacuums at any checkpoint, of whichever tables: publish's copy of the audit tables into
    # the candidate merged what dbt had left, until its connection went without vacuum too
    settings = _candidate_settings()
    plain, candidate = tmp_path / "plain.duckdb", tmp_path / "candidate.duckdb"
    assert _row_groups_after_an_append(plain, settings) == _row_groups_after_an_append(candidate, settings) == 4
    con = duckdb.connect(str(plain))  # a writer with DuckDB's default
    con.execute("create table audit_copy as select 1 as run")
    con.close()
    with connect(candidate) as con:  # planwatch's writer
        con.execute("create table audit_copy as select 1 as run")
    assert (_row_groups(plain), _row_groups(candidate)) == (3, 4)
