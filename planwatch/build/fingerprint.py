"""May this build extend the published warehouse? Its fingerprint, and the state a build leaves behind.

The fingerprint hashes everything a fact row depends on except the statistics (reference and plan
tables, dbt code, vars other than the quarter). A build whose fingerprint equals the published
build's, for the same or a later quarter, starts from a copy of the published file (dbt/README.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwatch.build.snapshot import KEPT_WHEN_EXTENDED
from planwatch.core.db import STORAGE_VERSION, STORAGE_VERSION_NUMBER, attach_read_only, connect, storage_version_number
from planwatch.core.periods import Quarter

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

# Inputs whose change invalidates every computed fact row (the statistics are handled per row).
# (the snapshot keeps exactly these tables in a copy it extends: one list, build/snapshot.py)
FINGERPRINT_TABLES = KEPT_WHEN_EXTENDED
INCREMENTAL_FACT = "fct_indicator_progress"
STATE_TABLE = "audit.transform_state"


def ingest_fingerprint(ingest_db: Path, dbt_dir: Path, dbt_vars: dict[str, Any]) -> str:
    """Hash of everything a fact row depends on except the statistics: catalog, plans, code, vars.

    Read from the ingest store, whose reference and plan tables the snapshot copies unchanged.
    """
    import duckdb

    digest = hashlib.sha256()
    with connect(Path(":memory:")) as con:
        attach_read_only(con, ingest_db, "ingest")
        try:
            for table in FINGERPRINT_TABLES:
                # Hashed inside DuckDB and order-independent (a sum of row hashes, with the count):
                # fetching the 270k plan rows of 2,850 counties into Python took 3 s, sorting them as
                # text 1.4 s (bench/README.md). DuckDB's hash may change between DuckDB versions:
                # that costs one full refresh, never a wrong reuse. Names come from code.
                try:
                    row = con.execute(
                        f'select count(*) || \':\' || coalesce(sum(hash(t)::hugeint), 0) from ingest.raw."{table}" as t'
                    ).fetchone()
                except duckdb.CatalogException:
                    row = None  # the snapshot names the missing table
                digest.update(table.encode())
                digest.update(str(row[0] if row else "<missing>").encode())
        finally:
            con.execute("DETACH ingest")
    for path in sorted(dbt_dir.rglob("*")):
        rel = path.relative_to(dbt_dir)
        if path.is_file() and rel.parts[0] not in ("target", "logs", "dbt_packages") and path.suffix in (".sql", ".yml"):
            digest.update(str(rel).encode())
            digest.update(path.read_bytes())
    stable_vars = {k: v for k, v in dbt_vars.items() if k != "as_of_quarter"}
    digest.update(json.dumps(stable_vars, sort_keys=True).encode())
    return digest.hexdigest()


def extendable_quarter(previous_db: Path, quarter: Quarter, fingerprint: str) -> Quarter | None:
    """The quarter of the published warehouse when it may be extended (built by the same code from the
    same catalog and plans, for this quarter or an earlier one); None when it may not."""
    with connect(Path(":memory:")) as con:
        con.execute("ATTACH ? AS previous (READ_ONLY)", [str(previous_db)])
        try:
            tables = {
                (r[0], r[1]) for r in con.execute(
                    "select table_schema, table_name from information_schema.tables where table_catalog = 'previous'"
                ).fetchall()
            }
            if ("audit", "transform_state") not in tables or ("marts", INCREMENTAL_FACT) not in tables:
                log.info("dbt_build: %s has no reusable facts; full refresh", previous_db)
                return None
            state = con.execute(
                "select quarter, fingerprint from previous.audit.transform_state order by built_at desc limit 1"
            ).fetchone()
        finally:
            con.execute("DETACH previous")
    if state is None:
        return None
    if storage_version_number(previous_db) != STORAGE_VERSION_NUMBER:
        # A warehouse written in DuckDB 2.0's format before planwatch wrote 1.4's: rebuilt once in it.
        log.info("dbt_build: %s is not in DuckDB %s's storage format; full refresh", previous_db, STORAGE_VERSION)
        return None
    previous_quarter = Quarter.parse(state[0])
    if previous_quarter > quarter:
        log.info("dbt_build: published build is for %s, after %s; full refresh", previous_quarter, quarter)
        return None
    if state[1] != fingerprint:
        log.info("dbt_build: catalog, plans, dbt code or vars changed since the published build; full refresh")
        return None
    return previous_quarter


def write_build_state(
    con: "duckdb.DuckDBPyConnection", run_id: str, quarter: Quarter, fingerprint: str, mode: str
) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (run_id VARCHAR, quarter VARCHAR, fingerprint VARCHAR, "
        "build_mode VARCHAR, built_at TIMESTAMP)"
    )
    con.execute(f"DELETE FROM {STATE_TABLE}")
    con.execute(
        f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?, current_timestamp)",
        [run_id, str(quarter), fingerprint, mode],
    )
