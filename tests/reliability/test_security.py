"""Security: no SQL built from file values, raw paths confined to raw/, the published warehouse opened
read-only by every reader, the deployment's secrets from the environment and no public ports, and a
dependency audit of requirements.lock."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from conftest import REPO_ROOT, RUN_ID, child_env, copy_home, run_child, run_stages
from fixture_home import make_home
from planwatch.core.config import Settings
from sql_scan import scan

# Every non-constant part of an SQL string in planwatch, and why it cannot carry a file's contents.
# A new part fails test_sql_is_built_only_from_code_and_parameters until it is reviewed and listed here.
SQL_PARTS_ALLOWED: dict[tuple[str, str], str] = {
    ("planwatch/quality/gx_duckdb.py", "statement"): "pass-through of SQLAlchemy's own statements (the GX adapter)",
    ("planwatch/quality/gx_duckdb.py", "memory_limit()"):
        "planwatch.core.db.memory_limit: a size matching its pattern (3GB, 1500MB) or a ConfigError; SET takes no parameter",
    ("planwatch/quality/gx_duckdb.py", "text('select column_name, data_type, is_nullable from information_schema.columns "
                               "where table_schema = :schema and table_name = :table order by ordinal_position')"):
        "a constant text() with bound parameters",
    ("planwatch/ingest/load_plans.py", "', '.join((f'{quote_identifier(c)} VARCHAR' for c in columns))"):
        "column definitions: names from a plan file's header, quoted by planwatch.core.db.quote_identifier",
    ("planwatch/ingest/load_plans.py", "quote_identifier(c)"):
        "a column name from a plan file's header, quoted by quote_identifier",
    ("planwatch/ingest/load_plans.py", "', '.join((quote_identifier(c) if c in self.staged else 'NULL' for c in columns))"):
        "the staged plan rows' columns, quoted by quote_identifier, or NULL",
    ("planwatch/build/snapshot.py", "quote_identifier(schema)"):
        "trim_ingest_copy: a schema name from the copied store's own catalog, quoted by planwatch.core.db.quote_identifier",
    ("planwatch/build/snapshot.py", "quote_identifier(table)"):
        "trim_ingest_copy: a table name from the copied store's own catalog, quoted by quote_identifier",
    ("planwatch/build/snapshot.py", "quote_identifier(view)"):
        "trim_ingest_copy: a view name from the copied store's own catalog, quoted by quote_identifier",
    ("planwatch/ingest/load_plans.py", "table"): "table names from the REFERENCE_TABLES / RULE_TABLES / PLAN_TABLES constants",
    ("planwatch/ingest/load_plans.py", "self.table"):
        "_StagedRows' table: a name from the REFERENCE_TABLES / PLAN_TABLES constants, given by load_plans",
    ("planwatch/core/db.py", "alias"): "attach_read_only's alias: a plain identifier (checked there), a constant of its callers",
    ("planwatch/core/db.py", "period_index_sql('period')"): "planwatch.core.periods' SQL expression over a constant column name",
    ("planwatch/ingest/load_statistics.py", "period_index_sql('period')"):
        "planwatch.core.periods' SQL expression over a constant column name",
    ("planwatch/ingest/load_statistics.py", "period_index_sql(period)"):
        "planwatch.core.periods' SQL expression over a `s.c<i>` column position",
    ("planwatch/ingest/load_statistics.py", "breakdown"): "`s.c<i>` column positions of the header, or ''",
    ("planwatch/ingest/load_statistics.py", "', '.join((f\"unnest(?::{_SQL_TYPES.get(c, 'varchar')}[]) as {c}\" for c in columns))"):
        "the loader's own column names (row_rules.OBS_COLUMNS, the quarantine's, the catalog's) and types of _SQL_TYPES; the values are parameters",
    ("planwatch/ingest/load_statistics.py", "name"): "a relation name of the loader's code (_catalog_*, _accepted, _quarantined)",
    ("planwatch/ingest/statistics_io.py", "', ' if width else ''"): "a constant",
    ("planwatch/ingest/statistics_io.py", "', '.join((f'unnest(?::varchar[]) as c{i}' for i in range(width)))"):
        "`c<i>` for the header's positions; the cells are parameters",
    ("planwatch/ingest/load_statistics.py", "code"): "`s.c<i>` column position",
    ("planwatch/ingest/load_statistics.py", "den"): "`s.c<i>` column position, or ''",
    ("planwatch/ingest/load_statistics.py", "num"): "`s.c<i>` column position, or ''",
    ("planwatch/ingest/load_statistics.py", "period"): "`s.c<i>` column position",
    ("planwatch/ingest/load_statistics.py", "region"): "`s.c<i>` column position",
    ("planwatch/ingest/load_statistics.py", "reported"): "`s.c<i>` column position",
    ("planwatch/ingest/load_statistics.py", "source"): "`s.c<i>` column position",
    ("planwatch/ingest/load_statistics.py", "''.join((f'\\\\x{{{c:x}}}' for c in range(12289) if chr(c).isspace()))"):
        "_SPACE: Python's whitespace code points as \\x{..} escapes of a regular expression class (code)",
    ("planwatch/ingest/load_statistics.py", "table"): "table names passed by the module's own calls",
    ("planwatch/ingest/load_statistics.py", "unit"): "`s.c<i>` column position",
    ("planwatch/ingest/load_statistics.py", "value"): "`s.c<i>` column position",
    ("planwatch/run/summary.py", "SUMMARY_SQL"): "the report's constant query (planwatch.serve.report.SUMMARY_SQL), so both count the same series",
    ("planwatch/serve/report.py", "', '.join(('\"' + c.replace('\"', '\"\"') + '\"' for c in shown))"):
        "column names from DuckDB's catalog, quoted",
    ("planwatch/serve/report.py", "', '.join((f'\"{c}\"' for c in ('region_code', 'indicator_code') if c in cols)) or '1'"):
        "two constant column names",
    ("planwatch/serve/report.py", "'where region_code in (select unnest(?::varchar[]))' if 'region_code' in cols else ''"):
        "a constant clause with a bound parameter",
    ("planwatch/serve/report.py", "sql"): "the report's SQL constants, passed to a helper with bound parameters",
    ("planwatch/ingest/receipts.py", "sql"): "the receipt's SQL constants, passed to a helper with bound parameters",
    ("planwatch/core/db.py", "os.environ.get(env, default).strip()"):
        "an operator's setting (the memory limits), not a file value, matched against a size pattern before use "
        "(SET takes no ?)",
    ("planwatch/quality/gx_duckdb.py", "match.group('query')"):
        "GX's own generated SELECT, unwrapped from the COUNT(*) GX built around it",
    ("planwatch/quality/gx_duckdb.py", "name"): "an ATTACH alias checked by _identifier() to be a plain identifier",
    ("planwatch/quality/validate.py", "suite.batch_sql"): "the suites' SQL from expectations/suites (code, reviewed)",
    ("planwatch/quality/validate.py", "suite.name"): "suite names are code constants (expectations/suites)",
    ("planwatch/quality/validate.py", "kept.between(None, kept.high)"):
        "a suite's batch SQL from expectations/suites (code), its period bound an int",
    ("planwatch/quality/validate.py", "kept.between(low, kept.high)"):
        "a suite's batch SQL from expectations/suites (code), its period bounds ints (int() in the suite)",
    ("planwatch/quality/validate.py", "kept.sources_sql"): "a suite's SQL constant from expectations/suites (code)",
    ("planwatch/quality/validate.py", "rule_rows.table"): "a kept rule-rows table name, a constant of expectations/suites (code)",
    ("planwatch/quality/validate.py", "rule_rows.groups_table"):
        "a kept groups table name, a constant of expectations/suites (code)",
    ("planwatch/quality/validate.py", "rule_rows.groups_sql(batch)"):
        "a suite's SQL from expectations/suites (code) over the kept batch's table name (from suite names, code)",
    ("planwatch/quality/validate.py", "rule_rows.inputs_sql(batch)"):
        "a suite's SQL from expectations/suites (code) over the kept batch's table name (from suite names, code)",
    ("planwatch/quality/validate.py", "rule_rows.rows_sql(batch, 'rule_groups_now', None, None, high)"):
        "a suite's SQL from expectations/suites (code): table names from code, the batch's last period an int",
    ("planwatch/quality/validate.py",
     "rule_rows.rows_sql(batch, 'rule_groups_now', int(low), 'rule_groups_changed' if changed else None, high)"):
        "a suite's SQL from expectations/suites (code): table names from code, period bounds ints (int() in the suite)",
    ("planwatch/run/runlog.py", "_NEWEST_FIRST if newest_first else _OLDEST_FIRST"):
        "one of two module constants; every filter is a bound parameter",
    ("planwatch/run/runlog.py", "_NEWEST_FIRST_BEFORE_LAST_SEEN if newest_first else _OLDEST_FIRST_BEFORE_LAST_SEEN"):
        "the same two constants for a run log from before its last_seen_at column",
    ("planwatch/serve/parquet_export.py", "str(path).replace(\"'\", \"''\")"): "an export path planwatch makes, quoted as a literal",
    ("planwatch/serve/parquet_export.py", "table.replace('\"', '\"\"')"): "mart names from DuckDB's catalog, quoted",
    ("planwatch/serve/parquet_export.py", "first"):
        "min(rest): an integer, int() of a period_index of the facts' quarters (DuckDB's integers or the record's INTEGER column)",
    ("planwatch/serve/parquet_export.py", "last"): "Quarter(year, 4).index: an integer from a year computed from an integer",
    ("planwatch/serve/parquet_export.py", "INDEX_COLUMN"): "a constant column name of planwatch/serve/partition_state.py",
    ("planwatch/quality/validate.py", "table"): "a table of a suite's `inputs`, a constant of expectations/suites (code)",
    ("planwatch/quality/validate.py", "tables[rule.name]"):
        "a kept rule-rows table named by its suite and rule, constants of expectations/suites (code)",
    ("planwatch/quality/validate.py", "rule.gx_query().replace('{batch}', f'({suite.batch_sql}) as subselect')"):
        "a rule's SQL with its suite's batch SQL, both from expectations/suites (code, reviewed)",
    ("planwatch/serve/partition_state.py", "period_index_sql('previous_period')"):
        "planwatch.core.periods' expression of a constant column name",
    ("planwatch/serve/partition_state.py", "STATE_SCHEMA"): "the module's constant schema name",
    ("planwatch/serve/partition_state.py", "STATE_NAME"): "the module's constant table name",
    ("planwatch/serve/partition_state.py", "table"): "mart names of the PARTITIONED constants (serve/parquet_export.py) found in DuckDB's catalog",
    ("planwatch/ingest/statistics_io.py", "', '.join((f\"coalesce(parts[{i + 1}], '') as c{i}\" for i in range(width)))"):
        "list positions and column names c<i> numbered from the header's width",
    ("planwatch/ingest/statistics_io.py", "width"): "the header's width, an integer",
    ("planwatch/serve/publish.py", "table.replace('\"', '\"\"')"): "audit table names from DuckDB's catalog, quoted",
    ("planwatch/build/snapshot.py", "f' where {_PERIOD_INDEX_SQL} <= ?' if table == 'stat_observations' else ''"):
        "a constant expression with a bound parameter",
    ("planwatch/build/snapshot.py", "table"): "table names from the RAW_TABLES constants or DuckDB's catalog",
    ("planwatch/build/fingerprint.py", "table"): "table names from the FINGERPRINT_TABLES constants",
    ("planwatch/build/candidate.py", "INCREMENTAL_FACT"): "the fact's name, a constant of planwatch/build/fingerprint.py",
    ("planwatch/quality/validate.py", "name"): "mart table names from the suites' code (MART_TABLES)",
    ("planwatch/quality/validate.py", "schema"): "mart schema names from the suites' code (MART_TABLES)",
    # planwatch/build/spark.py: the raw export for Spark (COPY ... TO takes no parameter)
    ("planwatch/build/spark.py", "table"): "table names from the RAW_TABLES constants",
    ("planwatch/build/spark.py", "f' where {_PERIOD_INDEX_SQL} <= {int(quarter.index)}' if table == 'stat_observations' else ''"):
        "a constant clause with the run's quarter index, an integer (Quarter.index)",
    ("planwatch/build/spark.py", "target / 'data.parquet'"): "an export path planwatch makes under its work folder",
    # planwatch/build/engine_compare.py: two builds of the project compared in SQL; every name is a
    # mart or column of the project (its YAML and DuckDB's catalog), double-quoted, never a value
    ("planwatch/build/engine_compare.py", "mart"): "a mart name from the project's YAML (mart_keys), quoted",
    ("planwatch/build/engine_compare.py", "side"): "one of the two temp view names ours/theirs",
    ("planwatch/build/engine_compare.py", "column"): "a column name from DuckDB's catalog (describe), quoted",
    ("planwatch/build/engine_compare.py", "a"): "a quoted column of view a, from DuckDB's catalog",
    ("planwatch/build/engine_compare.py", "b"): "a quoted column of view b, from DuckDB's catalog",
    ("planwatch/build/engine_compare.py", "rel_tol"): "the tolerance, a float argument (repr)",
    ("planwatch/build/engine_compare.py", "abs_tol"): "the tolerance near zero, a float argument (repr)",
    ("planwatch/build/engine_compare.py", "int(shown)"): "how many examples to show, an integer",
    ("planwatch/build/engine_compare.py", "int(shown - len(result.differing_values))"): "an integer",
    ("planwatch/build/engine_compare.py", 'value.replace("\'", "\'\'")'): "a Parquet path planwatch wrote, quoted as a literal",
    ("planwatch/build/engine_compare.py", "', '.join((_sql_text(f) for f in files))"): "the same paths, quoted literals",
    ("planwatch/build/engine_compare.py", '\', \'.join((f\'"{c}"\' for c in key))'):
        "key column names from the project's YAML, quoted",
    ("planwatch/build/engine_compare.py", '\' and \'.join((f\'a."{c}" is not distinct from b."{c}"\' for c in key))'):
        "key column names from the project's YAML, quoted",
    ("planwatch/build/engine_compare.py", "', '.join((f'a.{c}' for c in (f'{chr(34)}{k}{chr(34)}' for k in key)))"):
        "key column names from the project's YAML, quoted",
    ("planwatch/build/engine_compare.py", "', '.join((f'count(*) filter (where {differs(c)})' for c in columns))"):
        "one comparison per column of DuckDB's catalog, quoted names and float tolerances",
}


def test_sql_is_built_only_from_code_and_parameters() -> None:
    found = scan(REPO_ROOT / "planwatch")
    unreviewed = [part for part in found if part not in SQL_PARTS_ALLOWED]
    assert unreviewed == [], (
        "SQL built from non-constant parts that nobody reviewed; pass values as parameters (?), or add the "
        f"part to SQL_PARTS_ALLOWED with the reason it cannot come from a file: {unreviewed}")


def test_the_scan_catches_a_value_spliced_into_sql(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "bad.py").write_text(textwrap.dedent('''
        def load(con, row):
            region = row["region_code"]
            sql = "select * from t where region = '" + region + "'"
            con.execute(sql)
            con.execute(f"delete from t where id = {row['id']}")
            con.execute("select * from t where id = ?", [row["id"]])
    '''), encoding="utf-8")
    assert scan(package) == [("pkg/bad.py", "row['id']"), ("pkg/bad.py", "row['region_code']")]


def test_a_hostile_reference_header_is_an_identifier_not_sql(tmp_path: Path) -> None:
    from planwatch.ingest.load_plans import load_plans
    from planwatch.core.periods import Quarter
    from planwatch.core.types import RunContext

    settings = Settings(home=make_home(tmp_path / "home", seqs=(1,)))
    units = settings.reference_dir / "units.csv"
    hostile = 'note" VARCHAR); DROP TABLE raw.file_ledger; --'
    units.write_text(units.read_text(encoding="utf-8").replace("factor", f'factor,"{hostile.replace(chr(34), 2 * chr(34))}"', 1),
                     encoding="utf-8")
    run_stages(settings, "2023Q4", "sec", ("register_files",))
    load_plans(settings, RunContext("sec", Quarter.parse("2023Q4")))
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        assert con.execute("select count(*) from raw.file_ledger").fetchone() == (1,)
        columns = [r[0] for r in con.execute("select column_name from duckdb_columns() where table_name = 'units'").fetchall()]
    finally:
        con.close()
    assert hostile in columns


def test_raw_paths_are_resolved_and_confined_to_raw(tmp_path: Path) -> None:
    settings = Settings(home=make_home(tmp_path / "home", seqs=(1,)))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.csv").write_text("region_code,period,indicator_code,value,unit,reported_on,source\n", encoding="utf-8")
    (settings.statistics_dir / "linked_file.csv").symlink_to(outside / "secret.csv")
    (settings.statistics_dir / "linked_dir").symlink_to(outside, target_is_directory=True)
    (settings.statistics_dir / "loop").symlink_to(settings.statistics_dir, target_is_directory=True)
    run_stages(settings, "2023Q4", "sec", ("register_files",))
    con = duckdb.connect(str(settings.ingest_db), read_only=True)
    try:
        paths = [r[0] for r in con.execute("select path from raw.file_ledger").fetchall()]
    finally:
        con.close()
    assert paths == ["statistics/submission_01.csv"]  # neither link, nor the file twice through the loop


READ_ONLY_HOLDER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect({path!r}, read_only=True)
    print("open", flush=True)
    sys.stdin.read()
""")


def test_every_shipped_reader_opens_the_published_warehouse_read_only(checked_home: Path, tmp_path: Path) -> None:
    """A process holds the published file with a read-only (shared) lock: DuckDB lets other readers in but
    refuses any read-write open, so each reader below fails if it opens the file for writing."""
    settings = copy_home(checked_home, tmp_path / "home")
    run_stages(settings, "2023Q4", RUN_ID, ("publish",))
    before = settings.published_db.stat().st_mtime_ns
    holder = subprocess.Popen([sys.executable, "-c", READ_ONLY_HOLDER.format(path=str(settings.published_db))],
                              cwd=REPO_ROOT, env=child_env(settings.home), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(duckdb.IOException, match="(?i)lock"):
            duckdb.connect(str(settings.published_db))  # the probe works: a writer is refused
        for command in (["summary"], ["status"]):
            done = run_child(settings.home, command, timeout=120)
            assert done.returncode in (0, 1) and "locked" not in done.stderr.lower(), (command, done.stderr[-2000:])
        run_stages(settings, "2023Q4", RUN_ID, ("report",))
        from planwatch.serve.parquet_export import export_parquet

        assert export_parquet(settings.published_db, tmp_path / "parquet")
        import sqlalchemy as sa  # the BI views through SQLAlchemy, as Superset connects (docs/bi.md)

        engine = sa.create_engine(f"duckdb:///{settings.published_db}", connect_args={"read_only": True})
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from marts.fct_indicator_progress")).scalar_one() > 0
        engine.dispose()
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(timeout=30)
    assert settings.published_db.stat().st_mtime_ns == before


def test_every_duckdb_open_of_the_published_file_in_the_code_is_read_only() -> None:
    import ast

    offenders = []
    for path in sorted((REPO_ROOT / "planwatch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and "published_db" in ast.unparse(node.args[0]) \
                    and ast.unparse(node.func).split(".")[-1] == "connect":
                flags = {k.arg: ast.unparse(k.value) for k in node.keywords}
                if flags.get("read_only") != "True":
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert offenders == []


SECRET_KEY = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$|JWT", re.I)
ENV_REF = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?])?(?P<default>[^}]*)\}")


def compose_problems(spec: dict) -> list[str]:
    problems = []
    for name, service in (spec.get("services") or {}).items():
        env = service.get("environment") or {}
        items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)
        for key, value in items:
            value = str(value)
            if SECRET_KEY.search(key) and not key.endswith("_FILE"):  # *_FILE names where a secret lies
                refs = list(ENV_REF.finditer(value))
                if not refs:
                    problems.append(f"{name}.{key} is not taken from the environment")
                for ref in refs:
                    if ref["op"] in (":-", "-") and ref["default"]:
                        problems.append(f"{name}.{key} has a built-in default secret")
            for cred in re.finditer(r"://[^:/@]+:(?P<pw>[^@]*)@", value):
                if not ENV_REF.fullmatch(cred["pw"]):
                    problems.append(f"{name}.{key} has a password written into a URL")
        for port in service.get("ports") or []:
            text_port = port if isinstance(port, str) else str(port.get("host_ip", "")) + ":" + str(port.get("published"))
            if not text_port.startswith("127.0.0.1:"):
                problems.append(f"{name} publishes {port} on every interface")
        if service.get("network_mode") == "host":
            problems.append(f"{name} uses the host network")
    return problems


def test_compose_takes_secrets_from_the_environment_and_binds_only_localhost() -> None:
    import yaml

    path = REPO_ROOT / "docker-compose.yml"
    if not path.exists():
        pytest.skip("no docker-compose.yml in the repository")
    assert compose_problems(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_compose_check_catches_a_bad_deployment() -> None:
    bad = {"services": {
        "db": {"environment": {"POSTGRES_PASSWORD": "airflow"}, "ports": ["5432:5432"]},
        "web": {"environment": ["SECRET_KEY=${SECRET_KEY:-changeme}",
                                "DB_URL=postgresql://u:hunter2@db/x"], "ports": ["127.0.0.1:8080:8080"]},
        "bi": {"network_mode": "host", "environment": {"API_TOKEN": "${API_TOKEN:?set it}"}},
    }}
    assert compose_problems(bad) == [
        "db.POSTGRES_PASSWORD is not taken from the environment", "db publishes 5432:5432 on every interface",
        "web.SECRET_KEY has a built-in default secret", "web.DB_URL has a password written into a URL",
        "bi uses the host network"]


def _pip_audit(requirements: Path) -> tuple[int, dict]:
    exe = Path(sys.executable).with_name("pip-audit")
    if not exe.exists():
        pytest.skip("pip-audit is not installed in the virtualenv (it is pinned in requirements.lock)")
    done = subprocess.run([str(exe), "-r", str(requirements), "--no-deps", "--disable-pip", "--progress-spinner",
                           "off", "-f", "json"], capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(done.stdout or "{}")
    except ValueError:
        report = {}
    return done.returncode, report


def _service_reachable(report: dict) -> tuple[bool, str]:
    deps = report.get("dependencies") or []
    skipped = [d for d in deps if d.get("skip_reason")]
    if not deps or len(skipped) == len(deps):
        reason = skipped[0]["skip_reason"] if skipped else "no answer"
        return False, f"the vulnerability service did not answer for any package ({reason})"
    return True, ""


def test_a_known_vulnerable_pin_fails_the_audit(tmp_path: Path) -> None:
    pins = tmp_path / "requirements.txt"
    pins.write_text("requests==2.19.0\n", encoding="utf-8")  # CVE-2018-18074 (PYSEC-2018-28), fixed in 2.20.0
    code, report = _pip_audit(pins)
    reachable, why = _service_reachable(report)
    if not reachable:
        pytest.skip(f"pip-audit cannot reach PyPI's vulnerability data here: {why}. It then exits 0 and prints "
                    "'No known vulnerabilities found', which proves nothing, so this test does not pass either")
    assert code != 0
    (dep,) = report["dependencies"]
    assert dep["vulns"], report


def test_the_lock_file_has_no_known_vulnerabilities() -> None:
    code, report = _pip_audit(REPO_ROOT / "requirements.lock")
    reachable, why = _service_reachable(report)
    if not reachable:
        pytest.skip(f"pip-audit cannot reach PyPI's vulnerability data here: {why}")
    vulnerable = {d["name"]: [v["id"] for v in d["vulns"]] for d in report["dependencies"] if d.get("vulns")}
    assert code == 0 and vulnerable == {}, vulnerable
