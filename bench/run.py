"""National-scale benchmark: `make bench` or `python -m bench.run [--runs N] [--scales 0.25,0.5,1] [--quick]`.

1. Generates with planwatch.demo.simulate `--regions N` county regions × every catalog indicator × 20
   quarters (plus the real plan regions) into bench/data/r<N>/home (its own PLANWATCH_HOME).
2. Times every stage of a full refresh (empty warehouse) and of an incremental refresh that adds
   2025Q4 to a warehouse published for 2025Q3, each in a child process whose process tree's RSS
   is sampled; times the import of the DAG file in a fresh interpreter.
3. Times the floor (bench/floor.sql, DuckDB alone) and the peer (bench/peer.py, pandas) on the same
   files, and checks that the three give the same fct_indicator_progress rows (exit 1 if not).
4. Repeats the full refresh at each scale; times the checks' rules run as plain SQL in DuckDB.
5. Writes bench/results.json (medians, min, max) and prints a table for bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
DATA = Path(os.environ.get("PLANWATCH_BENCH_DATA", str(BENCH / "data"))).resolve()
RESULTS = BENCH / "results.json"
SEED = 20210101
FULL_QUARTER = "2025Q4"
BEFORE_QUARTER = "2025Q3"
NEW_QUARTER_TAG = "_2025Q4"
STAGE_GROUPS = {
    "register_and_load": ("register_files", "load_plans", "load_statistics"),
    "raw_checks": ("validate_raw",),
    "dbt_build": ("dbt_build",),
    "mart_checks": ("validate_marts",),
    "publish": ("publish",),
    "report": ("report",),
}
TOLERANCE = 1e-9
COMPARED = ("actual_value", "baseline_value", "target_value", "expected_value", "progress_ratio")
TARGETS = {"full_refresh_s": 60.0, "incremental_s": 15.0, "floor_ratio": 3.0, "checks_ratio": 2.0,
           "peak_rss_gib": 2.0, "dag_file_import_s": 0.5}

log = logging.getLogger("bench")


# ---------------------------------------------------------------------------------------------- data


def _digest_inputs() -> str:
    """What the generated data depends on: the repository's reference and plan files."""
    digest = hashlib.sha256()
    for folder in ("reference", "plan_indicators", "plan_prose_targets", "plan_completion"):
        for path in sorted((REPO / "raw" / folder).glob("*.csv")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _simulator_digest() -> str:
    """Recorded, not part of the cache key: simulator edits that keep its output need no new data
    (delete bench/data/r<N> to regenerate)."""
    digest = hashlib.sha256()
    for name in ("demo/simulate.py", "core/catalog_loader.py"):
        digest.update((REPO / "planwatch" / name).read_bytes())
    return digest.hexdigest()[:16]


def _fix_plan_directions(rows: list[dict[str, str]], directions: dict[str, str]) -> int:
    """Synthetic plans whose target contradicts the indicator's direction get target = baseline.

    planwatch.demo.simulate draws a synthetic county's baseline and target independently, so some
    targets lie on the wrong side of the baseline; the plan_consistency suite (rightly) refuses to
    publish them. The bench keeps its input publishable; results.json records how many rows.
    """
    fixed = 0
    for row in rows:
        try:
            base, target = float(row["baseline_value"]), float(row["target_value"])
        except ValueError:
            continue
        direction = directions.get(row["indicator_code"], "")
        wrong = ((direction == "increase" and target < base) or (direction == "decrease" and target > base)
                 or (direction == "maintain" and abs(target - base) > 1e-9 * max(1.0, abs(base))))
        if wrong:
            row["target_value"] = row["baseline_value"]
            fixed += 1
    return fixed


def prepare(regions: int, seed: int = SEED, data_dir: Path | None = None) -> dict[str, Any]:
    """bench/data/r<regions>/home with reference, plans and simulated statistics; cached by input digest."""
    from planwatch.core.config import Settings
    from planwatch.demo.simulate import simulate
    from planwatch.core.catalog_loader import PLANS_DIRNAME, REFERENCE_DIRNAME, REGIONS_FILENAME

    root = (data_dir or DATA) / f"r{regions}"
    manifest_path = root / "dataset.json"
    key = {"regions": regions, "seed": seed, "inputs": _digest_inputs()}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("key") == key:
            return manifest
    shutil.rmtree(root, ignore_errors=True)
    home = root / "home"
    (home / "raw").mkdir(parents=True)
    for folder in ("reference", "plan_indicators", "plan_prose_targets", "plan_completion"):
        shutil.copytree(REPO / "raw" / folder, home / "raw" / folder)
    sim_out = home / "raw" / "statistics" / "simulated"
    log.info("simulating %d regions into %s", regions, sim_out)
    started = time.perf_counter()
    summary = simulate(Settings(home=home), sim_out, seed=seed, faults=False, n_regions=regions)
    simulate_s = time.perf_counter() - started

    # The synthetic regions and plans become ordinary reference and plan files of this home (one plan
    # file per region, as docs/architecture.md names them), so every stage reads them as it reads real ones.
    ref = sim_out / REFERENCE_DIRNAME
    regions_csv = home / "raw" / "reference" / "regions.csv"
    with regions_csv.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    with (ref / REGIONS_FILENAME).open(encoding="utf-8", newline="") as fh:
        new_regions = list(csv.DictReader(fh))
    with regions_csv.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        for row in new_regions:
            writer.writerow({c: row.get(c, "") for c in header})
    directions = {}
    with (home / "raw" / "reference" / "indicators.csv").open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            directions[row["indicator_code"]] = row["direction"]
    fixed = 0
    plan_rows = 0
    for plan_file in sorted((ref / PLANS_DIRNAME).glob("*.csv")):
        with plan_file.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
        fixed += _fix_plan_directions(rows, directions)
        plan_rows += len(rows)
        by_region: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            by_region.setdefault(row["region_code"], []).append(row)
        for region, items in by_region.items():
            with (home / "raw" / "plan_indicators" / f"{region}_{items[0]['plan']}.csv").open(
                    "w", encoding="utf-8", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
                writer.writeheader()
                writer.writerows(items)
    shutil.move(str(ref), str(root / "simulator_reference"))

    stats_files = stats_paths(home)
    plan_files = sorted((home / "raw" / "plan_indicators").glob("*.csv"))
    manifest = {
        "key": key,
        "regions": regions,
        "regions_total": summary.regions,
        "series": summary.series,
        "statistics_rows": summary.rows,
        "statistics_files": len(stats_files),
        "statistics_bytes": sum(p.stat().st_size for p in stats_files),
        "plan_rows": plan_rows + _count_rows(plan_files, exclude_prefix="simulated"),
        "plan_files": len(plan_files),
        "plan_bytes": sum(p.stat().st_size for p in plan_files),
        "plan_rows_target_set_to_baseline": fixed,
        "simulate_s": round(simulate_s, 2),
        "simulator_digest": _simulator_digest(),
    }
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _count_rows(files: list[Path], exclude_prefix: str) -> int:
    """Rows of the real plan files (the synthetic ones were counted while splitting)."""
    n = 0
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        if rows and rows[0].get("source_doc", "") != exclude_prefix:
            n += len(rows)
    return n


def stats_paths(home: Path) -> list[Path]:
    root = home / "raw" / "statistics"
    return sorted(p for p in root.rglob("*.csv") if "_reference" not in p.parts)


def _link_tree(src: Path, dst: Path, skip: str | None = None) -> list[Path]:
    """Hard-link every file of `src` into `dst` (same bytes, no copy); files whose name contains `skip`
    are left out and returned."""
    skipped = []
    for path in sorted(src.rglob("*")):
        if path.is_dir():
            continue
        target = dst / path.relative_to(src)
        if skip and skip in path.name:
            skipped.append(path)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    return skipped


def _reset_warehouse(home: Path) -> None:
    for name in ("warehouse", "reports"):
        shutil.rmtree(home / name, ignore_errors=True)


# ------------------------------------------------------------------------------------- child runs


def child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PLANWATCH_HOME": str(home),
        "PYTHONPATH": str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "AIRFLOW_HOME": str(DATA / "airflow_home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    })
    return env


def run_child(args: list[str], home: Path, log_path: Path) -> dict[str, Any]:
    """Run `python -m bench.run --child …` and sample the RSS of its process tree every 50 ms."""
    import psutil

    out = log_path.with_suffix(".json")
    out.unlink(missing_ok=True)
    log_path.unlink(missing_ok=True)  # a new file: in a data set copied with `cp -al`, never the original's
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "bench.run", "--child", *args, "--out", str(out)],
                                cwd=REPO, env=child_env(home), stdout=fh, stderr=subprocess.STDOUT)
        peak = 0
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            try:
                root = psutil.Process(proc.pid)
            except psutil.NoSuchProcess:
                return
            while not stop.is_set():
                total = 0
                try:
                    for p in [root, *root.children(recursive=True)]:
                        try:
                            total += p.memory_info().rss
                        except (psutil.NoSuchProcess, psutil.AccessDenied):
                            pass
                except psutil.NoSuchProcess:
                    break
                peak = max(peak, total)
                samples.append((time.time(), total))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        stop.set()
        sampler.join()
    wall = time.perf_counter() - started
    if code != 0 or not out.exists():
        tail = log_path.read_text(errors="replace").splitlines()[-40:]
        raise RuntimeError(f"child {' '.join(args[:1])} failed with exit code {code}; log {log_path}:\n"
                           + "\n".join(tail))
    result = json.loads(out.read_text())
    result["process_wall_s"] = round(wall, 3)
    result["peak_rss_mib"] = round(peak / 2**20, 1)
    if "windows" in result:
        result["stage_peak_rss_mib"] = {
            stage: round(max((rss for t, rss in samples if t0 <= t <= t1), default=0) / 2**20, 1)
            for stage, (t0, t1) in result["windows"].items()}
    return result


def _child_pipeline(quarter: str, run_id: str) -> dict[str, Any]:
    from planwatch.core.config import Settings
    from planwatch.run.pipeline import before_stage, cpu_seconds, run_concurrent_stages, run_stage, run_steps

    stages: dict[str, float] = {}
    metrics: dict[str, Any] = {}
    windows: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    overlap = 0.0
    settings = Settings.from_env()
    for step in run_steps():
        stage = step[0]
        before_stage(stage, settings, run_id)  # as run_all does: one process runs every stage but the concurrent child
        started = time.perf_counter()
        wall_start = time.time()
        cpu_start, own_start = cpu_seconds(children=True), cpu_seconds()
        if len(step) > 1:
            # as run_all does: the raw checks in a child process beside the build in this one, then the
            # mart checks in the child. Each stage's wall time is its own (the child's from the run log);
            # the step's is the refresh's share, and what the stages overlapped is counted once.
            metrics.update(run_concurrent_stages(quarter, run_id, settings))
            together = time.perf_counter() - started
            first, second, after = step
            for name in step:
                stages[name] = round(float(metrics[name].get("seconds") or 0.0), 3)
            overlap = round(sum(stages[name] for name in step) - together, 3)
            own = cpu_seconds() - own_start
            cpu[second] = round(own, 2)
            child = cpu_seconds(children=True) - cpu_start - own  # the waited-for child's, both checks stages
            cpu[after] = round(min(child, float(metrics[after].get("cpu_s") or 0.0)), 2)
            cpu[first] = round(child - cpu[after], 2)
            windows[first] = [wall_start, wall_start + stages[first]]
            windows[second] = [wall_start, wall_start + stages[second]]
            windows[after] = [time.time() - stages[after], time.time()]
            continue
        metrics[stage] = run_stage(stage, quarter, run_id)
        stages[stage] = round(time.perf_counter() - started, 3)
        cpu[stage] = round(cpu_seconds(children=True) - cpu_start, 2)
        windows[stage] = [wall_start, time.time()]
    candidate = Path(str(metrics["dbt_build"].get("candidate", "")))
    dbt_log = candidate.with_suffix(".dbt") / "logs" / "dbt.log"
    return {"stages": stages, "cpu_s": cpu, "metrics": metrics, "windows": windows, "overlap_s": overlap,
            "dbt_nodes": dbt_node_times(dbt_log) if dbt_log.is_file() else {}}


def dbt_node_times(log_path: Path, top: int = 12) -> dict[str, Any]:
    """Seconds per dbt node from dbt's log ("... [OK in 1.23s]"): sums by kind, the slowest nodes, and
    dbt's own start-up (from "Running with dbt" to the first node)."""
    import re

    node = re.compile(r"^(\d\d:\d\d:\d\d)\.?\d*\s.*?\d+ of \d+ (OK created sql (\w+) model (\S+)|PASS (\S+)|WARN \d+ (\S+)"
                      r"|FAIL \d+ (\S+)|ERROR \S* ?(\S+)).*\[\w+(?: \d+)? in ([0-9.]+)s\]")
    kinds: dict[str, float] = {}
    nodes: list[tuple[float, str]] = []
    text = log_path.read_text(errors="replace").splitlines()
    for line in text:
        m = node.search(line)
        if not m:
            continue
        seconds = float(m.group(9))
        if m.group(3):
            kind, name = f"model_{m.group(3)}", m.group(4)
        else:
            name = next(g for g in m.group(5, 6, 7, 8) if g)
            kind = "unit_test" if "::" in name else "data_test"
        kinds[kind] = round(kinds.get(kind, 0.0) + seconds, 3)
        nodes.append((seconds, f"{kind} {name}"))
    stamps = [re.match(r"^(\d\d):(\d\d):(\d\d\.?\d*)", ln) for ln in text]
    times = [int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) for m in stamps if m]
    start = next((t for t, ln in zip(times, [ln for ln in text if re.match(r"^\d\d:", ln)])
                  if "Running with dbt" in ln), None)
    first = next((t for t, ln in zip(times, [ln for ln in text if re.match(r"^\d\d:", ln)])
                  if re.search(r"\d+ of \d+ START", ln)), None)
    return {"seconds_by_kind": kinds, "nodes": len(nodes),
            "startup_s": round(first - start, 2) if start is not None and first is not None else None,
            "slowest": [[round(sec, 2), name] for sec, name in sorted(nodes, reverse=True)[:top]]}


def dbt_vars() -> dict[str, Any]:
    import yaml

    v = yaml.safe_load((REPO / "dbt" / "dbt_project.yml").read_text())["vars"]
    method = v["progress_method"]
    if method != "unsd":
        raise SystemExit(f"bench/floor.sql and bench/peer.py implement progress_method unsd, not {method}")
    return {"on_track": float(v["progress_thresholds"][method]["on_track"]),
            "needs_acceleration": float(v["progress_thresholds"][method]["needs_acceleration"]),
            "min_data_points": int(v["min_data_points"]),
            "maintain_margin": float(v["maintain_margin"]),
            "natural_limit_margin": float(v["natural_limit_margin"]),
            # the pipeline compared with is published for FULL_QUARTER (its dbt var as_of_quarter)
            "as_of_year": int(FULL_QUARTER[:4])}


def _inputs(home: Path) -> dict[str, Any]:
    raw = home / "raw"
    return {"stats_files": [str(p) for p in stats_paths(home)],
            "plan_files": [str(p) for p in sorted((raw / "plan_indicators").glob("*.csv"))],
            "prose_files": [str(p) for p in sorted((raw / "plan_prose_targets").glob("*.csv"))],
            "indicators_csv": str(raw / "reference" / "indicators.csv"),
            "aliases_csv": str(raw / "reference" / "indicator_aliases.csv"),
            "units_csv": str(raw / "reference" / "units.csv"),
            "plan_dir_prefix": "plan_indicators/", "prose_dir_prefix": "plan_prose_targets/"}


def _child_floor(home: Path, result_path: Path) -> dict[str, Any]:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    for name, value in {**_inputs(home), **dbt_vars()}.items():
        con.execute(f"set variable {name} = ?", [value])  # names are ours; values bound
    con.execute((BENCH / "floor.sql").read_text())
    rows = con.execute("select count(*) from fct_indicator_progress").fetchone()[0]  # type: ignore[index]
    seconds = time.perf_counter() - started
    con.execute("copy fct_indicator_progress to ? (format parquet)", [str(result_path)])
    return {"seconds": round(seconds, 3), "rows": rows}


def _child_peer(home: Path, result_path: Path) -> dict[str, Any]:
    from bench.peer import PeerInputs, compute

    started = time.perf_counter()
    i = _inputs(home)
    inputs = PeerInputs(stats_files=[Path(p) for p in i["stats_files"]],
                        plan_files=[Path(p) for p in i["plan_files"]],
                        prose_files=[Path(p) for p in i["prose_files"]],
                        indicators_csv=Path(i["indicators_csv"]), aliases_csv=Path(i["aliases_csv"]),
                        units_csv=Path(i["units_csv"]), plan_dir_prefix=i["plan_dir_prefix"],
                        prose_dir_prefix=i["prose_dir_prefix"])
    df = compute(inputs, dbt_vars())
    seconds = time.perf_counter() - started
    df.to_parquet(result_path, index=False)
    return {"seconds": round(seconds, 3), "rows": len(df)}


DAG_IMPORT_CODE = """
import importlib.util, json, sys, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
spec = importlib.util.spec_from_file_location("plan_monitoring_bench", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t2 = time.perf_counter()
heavy = sorted(m for m in ("duckdb", "pandas", "dbt", "great_expectations", "planwatch.run.pipeline") if m in sys.modules)
print(json.dumps({"airflow_sdk_s": t1 - t0, "dag_file_s": t2 - t1, "total_s": t2 - t0, "heavy_modules": heavy}))
"""


def measure_dag_import(runs: int) -> dict[str, Any]:
    """Import airflow.sdk and then dags/plan_monitoring.py in a fresh interpreter, `runs` times."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", DAG_IMPORT_CODE, str(REPO / "dags" / "plan_monitoring.py")],
                             cwd=REPO, env=child_env(DATA), capture_output=True, text=True, check=True)
        sample = json.loads(out.stdout.strip().splitlines()[-1])
        sample["process_s"] = time.perf_counter() - started
        samples.append(sample)
    return {
        "airflow_sdk_s": summarize([s["airflow_sdk_s"] for s in samples]),
        "dag_file_own_s": summarize([s["dag_file_s"] for s in samples]),
        "dag_file_total_s": summarize([s["total_s"] for s in samples]),
        "fresh_process_s": summarize([s["process_s"] for s in samples]),
        "heavy_modules_after_import": samples[-1]["heavy_modules"],
    }


# ------------------------------------------------------------------------------ checks as plain SQL


def checks_in_sql(home: Path, quarter: str) -> dict[str, Any]:
    """Every rule of the raw and mart suites evaluated directly in DuckDB: count and a sample of offenders.

    The batch is derived once per suite where the pipeline does so too (`Suite.materialize`), so the
    reference is the same work without GX, not more.
    """
    import duckdb

    from planwatch.core.config import Settings
    from planwatch.core.periods import Quarter
    from planwatch.quality.validate import load_suites

    settings = Settings(home=home)
    suites_mod = load_suites(settings)
    q = Quarter.parse(quarter)
    params = suites_mod.SuiteParams(quarter=str(q), quarter_index=q.index,
                                    thresholds=suites_mod.Thresholds.load(settings.expectations_dir / "thresholds.yml"),
                                    previous_row_counts={})
    sample = params.thresholds.sample_size
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    for label, db, suites in (("raw", settings.ingest_db, suites_mod.raw_suites(params)),
                              ("marts", settings.published_db, suites_mod.mart_suites(params))):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="checks-in-sql-") as scratch, \
                duckdb.connect(str(db), read_only=True) as con:
            for suite in suites:
                # As planwatch.quality.validate does: a suite marked `materialize` derives its batch once.
                kind = "table" if suite.materialize else "view"
                for old in ("view", "table"):  # DuckDB refuses to drop a table as a view, and back
                    try:
                        con.execute(f"drop {old} if exists batch_rows")
                    except duckdb.CatalogException:
                        pass
                con.execute(f"create temp {kind} batch_rows as {suite.batch_sql}")
                rule_rows = suite.kept.rule_rows if suite.kept is not None else None
                if rule_rows is not None:
                    # A `from_kept` rule reads rows the pipeline keeps beside the batch: computed here whole.
                    # (a scratch file: DuckDB attaches no in-memory database to a read-only connection)
                    con.execute("attach if not exists ? as planwatch_batches (READ_WRITE)",
                                [str(Path(scratch) / "planwatch_batches.duckdb")])
                    con.execute(f"create or replace table planwatch_batches.main.{rule_rows.groups_table} as "
                                f"{rule_rows.groups_sql('batch_rows')}")
                    con.execute(f"create or replace table planwatch_batches.main.{rule_rows.table} as "
                                f"{rule_rows.rows_sql('batch_rows', 'planwatch_batches.main.' + rule_rows.groups_table, None, None, suite.kept.high)}")
                for rule in suite.rules:
                    if rule.query is not None:
                        sql = rule.query
                    elif rule.builtin and rule.builtin[0] == "ExpectColumnValuesToBeUnique":
                        col = rule.builtin[1]["column"]
                        sql = f'select "{col}", count(*) from batch_rows group by 1 having count(*) > 1'
                    elif rule.builtin and rule.builtin[0] == "ExpectTableRowCountToBeBetween":
                        sql = "select count(*) from batch_rows"
                    else:
                        raise SystemExit(f"checks_in_sql: no SQL equivalent for {rule.builtin}")
                    con.execute(f"create or replace temp table offenders as {sql}")
                    n = con.execute("select count(*) from offenders").fetchone()[0]  # type: ignore[index]
                    con.execute(f"select * from offenders limit {int(sample)}").fetchall()
                    counts[f"{suite.name}.{rule.name}"] = int(n)
        timings[label] = round(time.perf_counter() - started, 3)
    return {"raw_s": timings["raw"], "marts_s": timings["marts"], "total_s": round(sum(timings.values()), 3),
            "rules": len(counts)}


# -------------------------------------------------------------------------------------- equality


def compare(published_db: Path, floor_parquet: Path, peer_parquet: Path) -> dict[str, Any]:
    """Pipeline vs floor and pipeline vs peer on (region, indicator, breakdown, period)."""
    import duckdb

    keys = ("region_code", "indicator_code", "breakdown", "period")
    cols = ", ".join(keys + COMPARED + ("status",))
    con = duckdb.connect()
    con.execute("attach ? as published (read_only)", [str(published_db)])
    con.execute(f"create temp table pipeline as select {cols} from published.marts.fct_indicator_progress")
    con.execute(f"create temp table floor_rows as select {cols} from read_parquet(?)", [str(floor_parquet)])
    con.execute(f"create temp table peer_rows as select {cols} from read_parquet(?)", [str(peer_parquet)])
    out: dict[str, Any] = {}
    on = " and ".join(f"p.{k} = o.{k}" for k in keys)
    differs = " or ".join(
        f"not ((p.{c} is null and o.{c} is null) or (p.{c} is not null and o.{c} is not null and "
        f"abs(p.{c} - o.{c}) <= {TOLERANCE} * greatest(1.0, abs(p.{c}), abs(o.{c}))))" for c in COMPARED)
    for name in ("floor_rows", "peer_rows"):
        row = con.execute(f"""
            select count(*) filter (where o.region_code is null),
                   count(*) filter (where p.region_code is null),
                   count(*) filter (where p.region_code is not null and o.region_code is not null and ({differs})),
                   count(*) filter (where p.region_code is not null and o.region_code is not null
                                    and p.status is distinct from o.status)
            from pipeline p full outer join {name} o on {on}""").fetchone()
        examples = con.execute(f"""
            select coalesce(p.region_code, o.region_code), coalesce(p.indicator_code, o.indicator_code),
                   coalesce(p.breakdown, o.breakdown), coalesce(p.period, o.period),
                   p.status, o.status, {', '.join(f'p.{c}, o.{c}' for c in COMPARED)}
            from pipeline p full outer join {name} o on {on}
            where p.region_code is null or o.region_code is null or ({differs}) or p.status is distinct from o.status
            limit 5""").fetchall()
        assert row is not None
        out[name.replace("_rows", "")] = {
            "missing": int(row[0]), "extra": int(row[1]), "value_mismatches": int(row[2]),
            "status_mismatches": int(row[3]), "examples": [[str(x) for x in e] for e in examples]}
    out["pipeline_rows"] = con.execute("select count(*) from pipeline").fetchone()[0]  # type: ignore[index]
    out["statuses"] = dict(con.execute("select status, count(*) from pipeline group by 1 order by 1").fetchall())
    out["mismatches"] = sum(v["missing"] + v["extra"] + v["value_mismatches"] + v["status_mismatches"]
                            for k, v in out.items() if k in ("floor", "peer"))
    return out


# ------------------------------------------------------------------------------------- statistics


def summarize(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def _grouped(stages: dict[str, float], overlap: float = 0.0) -> dict[str, float]:
    """Seconds by group, and the refresh's total: the stages' sum less the time the concurrent stages
    overlapped (planwatch.core.types.CONCURRENT_STAGES)."""
    out = {group: sum(stages.get(s, 0.0) for s in names) for group, names in STAGE_GROUPS.items()}
    out["overlap"] = overlap
    out["total"] = sum(stages.values()) - overlap
    return out


def _refresh_total(result: dict[str, Any]) -> float:
    return _grouped(result["stages"], result.get("overlap_s", 0.0))["total"]


def _summarize_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    grouped = [_grouped(r["stages"], r.get("overlap_s", 0.0)) for r in runs]
    return {
        "stages_s": {s: summarize([r["stages"][s] for r in runs]) for s in runs[0]["stages"]},
        "stages_cpu_s": {s: summarize([r["cpu_s"][s] for r in runs]) for s in runs[0].get("cpu_s", {})},
        "groups_s": {g: summarize([x[g] for x in grouped]) for g in grouped[0]},
        "process_wall_s": summarize([r["process_wall_s"] for r in runs]),
        "peak_rss_mib": summarize([r["peak_rss_mib"] for r in runs]),
        "build_mode": sorted({str(r["metrics"]["dbt_build"].get("build_mode")) for r in runs}),
        "fct_rows": runs[-1]["metrics"]["dbt_build"].get("fct_indicator_progress_rows"),
        "rows_loaded": runs[-1]["metrics"]["load_statistics"].get("rows_loaded"),
        "published": all(r["metrics"]["publish"] is not None for r in runs),
        "dbt_nodes_last_run": runs[-1].get("dbt_nodes", {}),
        "stage_peak_rss_mib_last_run": runs[-1].get("stage_peak_rss_mib", {}),
    }


def _fit(points: list[tuple[float, float]]) -> dict[str, float]:
    """Least squares seconds = intercept + slope × regions, and R²."""
    n = len(points)
    if n < 2:
        return {}
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for _, y in points)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in points)
    return {"intercept_s": round(intercept, 3), "seconds_per_1000_regions": round(slope * 1000, 3),
            "r2": round(1 - ss_res / ss_tot, 4) if ss_tot else 1.0}


# --------------------------------------------------------------------------------------- the bench


class Workspace:
    """The home the pipeline runs in: bench/data/r<N>/work, raw/ hard-linked from the generated home.

    A full refresh publishes 2025Q3 from an empty warehouse, with the 2025Q4 files held back (19 of
    the 20 quarters); the incremental refresh then adds the 2025Q4 files and publishes 2025Q4 on top
    of it. The floor and the peer read all 20 quarters, so the equality check compares them with a
    warehouse built incrementally.
    """

    def __init__(self, dataset_root: Path) -> None:
        self.root = dataset_root
        self.source = dataset_root / "home"
        self.home = dataset_root / "work"
        shutil.rmtree(self.home, ignore_errors=True)
        self.held = _link_tree(self.source / "raw", self.home / "raw", skip=NEW_QUARTER_TAG)
        self.snapshot = dataset_root / "snapshot"

    def hold_new_quarter(self) -> None:
        for path in self.held:
            (self.home / "raw" / path.relative_to(self.source / "raw")).unlink(missing_ok=True)

    def add_new_quarter(self) -> None:
        for path in self.held:
            target = self.home / "raw" / path.relative_to(self.source / "raw")
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.link(path, target)

    def full_refresh(self, i: int) -> dict[str, Any]:
        _reset_warehouse(self.home)
        self.hold_new_quarter()
        log.info("%s: full refresh run %d (publish %s)", self.root.name, i + 1, BEFORE_QUARTER)
        result = run_child(["pipeline", "--home", str(self.home), "--quarter", BEFORE_QUARTER,
                            "--run-id", f"bench-full-{i}"], self.home, self.root / "logs" / f"full-{i}.log")
        log.info("%s: full refresh %.1f s (peak %.0f MiB): %s", self.root.name, _refresh_total(result),
                 result["peak_rss_mib"], {s: (w, result.get("cpu_s", {}).get(s)) for s, w in result["stages"].items()})
        return result

    def keep_published(self) -> None:
        shutil.rmtree(self.snapshot, ignore_errors=True)
        shutil.copytree(self.home / "warehouse", self.snapshot / "warehouse")

    def incremental(self, i: int) -> dict[str, Any]:
        _reset_warehouse(self.home)
        shutil.copytree(self.snapshot / "warehouse", self.home / "warehouse")
        self.add_new_quarter()
        log.info("%s: incremental run %d (add %s)", self.root.name, i + 1, FULL_QUARTER)
        result = run_child(["pipeline", "--home", str(self.home), "--quarter", FULL_QUARTER,
                            "--run-id", f"bench-incr-{i}"], self.home, self.root / "logs" / f"incr-{i}.log")
        log.info("%s: incremental %.1f s (peak %.0f MiB): %s", self.root.name, _refresh_total(result),
                 result["peak_rss_mib"], {s: (w, result.get("cpu_s", {}).get(s)) for s, w in result["stages"].items()})
        return result


def references(dataset_root: Path, home: Path, runs: int) -> dict[str, Any]:
    out: dict[str, list[dict[str, Any]]] = {"floor": [], "peer": []}
    for i in range(runs):
        for kind in ("floor", "peer"):
            result = run_child([kind, "--home", str(home), "--result", str(dataset_root / f"{kind}.parquet")],
                               home, dataset_root / "logs" / f"{kind}-{i}.log")
            log.info("%s run %d: %.2f s, %d rows, peak %.0f MiB", kind, i + 1, result["seconds"], result["rows"],
                     result["peak_rss_mib"])
            out[kind].append(result)
    return {kind: {"seconds": summarize([r["seconds"] for r in rs]),
                   "process_wall_s": summarize([r["process_wall_s"] for r in rs]),
                   "peak_rss_mib": summarize([r["peak_rss_mib"] for r in rs]), "rows": rs[-1]["rows"]}
            for kind, rs in out.items()}


def bench(regions: int, runs: int, pipeline_runs: int, scales: list[float], quick: bool) -> int:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "memory_gib": _memory_gib(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average_at_start": list(os.getloadavg())},
        "settings": {"regions": regions, "runs": runs, "pipeline_runs": pipeline_runs, "scales": scales,
                     "quick": quick, "seed": SEED, "quarters": "2021Q1-2025Q4", "tolerance": TOLERANCE,
                     "full_refresh": f"empty warehouse, files of 2021Q1-{BEFORE_QUARTER} (19 quarters), publish "
                                     f"{BEFORE_QUARTER}",
                     "incremental": f"add the {FULL_QUARTER} files to the published {BEFORE_QUARTER} warehouse, "
                                    f"publish {FULL_QUARTER}"},
        "targets": TARGETS,
    }
    datasets = {}
    for scale in sorted(set(scales) | {1.0}):
        n = max(1, round(regions * scale))
        datasets[scale] = (n, prepare(n))
        log.info("dataset r%d: %s", n, {k: v for k, v in datasets[scale][1].items() if k != "key"})
    root = DATA / f"r{regions}"
    results["input"] = {k: v for k, v in datasets[1.0][1].items() if k != "key"}

    results["dag_import"] = measure_dag_import(max(3, runs))
    log.info("DAG import: %s", results["dag_import"])

    work = Workspace(root)
    full_runs = [work.full_refresh(i) for i in range(pipeline_runs)]
    results["full_refresh"] = _summarize_runs(full_runs)
    work.keep_published()
    incr_runs = [work.incremental(i) for i in range(pipeline_runs)]
    results["incremental"] = _summarize_runs(incr_runs)

    # The last incremental run left the warehouse published for 2025Q4 with all 20 quarters.
    checks = [checks_in_sql(work.home, FULL_QUARTER) for _ in range(runs)]
    results["checks_in_sql"] = {"raw_s": summarize([c["raw_s"] for c in checks]),
                                "marts_s": summarize([c["marts_s"] for c in checks]),
                                "total_s": summarize([c["total_s"] for c in checks]), "rules": checks[0]["rules"],
                                "compared_with": "validate_raw + validate_marts of the incremental run "
                                                 "(same warehouse, same 20 quarters)"}
    results["references"] = references(root, work.home, runs)
    equality = compare(work.home / "warehouse" / "planwatch.duckdb", root / "floor.parquet", root / "peer.parquet")
    results["equality"] = equality
    log.info("equality: %s", {k: v for k, v in equality.items() if k in ("mismatches", "pipeline_rows")})

    scaling = []
    for scale in sorted(datasets):
        n, manifest = datasets[scale]
        if scale == 1.0:
            summary = results["full_refresh"]
        else:
            small = Workspace(DATA / f"r{n}")
            summary = _summarize_runs([small.full_refresh(i) for i in range(pipeline_runs)])
        scaling.append({"scale": scale, "regions": n, "statistics_rows": manifest["statistics_rows"],
                        "total_s": summary["groups_s"]["total"], "groups_s": summary["groups_s"],
                        "peak_rss_mib": summary["peak_rss_mib"]})
    results["scaling"] = {"points": scaling,
                          "fit_total": _fit([(p["regions"], p["total_s"]["median"]) for p in scaling]),
                          "fit_by_group": {g: _fit([(p["regions"], p["groups_s"][g]["median"]) for p in scaling])
                                           for g in STAGE_GROUPS}}
    results["ratios"] = ratios(results)
    results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    out_path = DATA / "results-quick.json" if quick else Path(os.environ.get("PLANWATCH_BENCH_RESULTS", RESULTS))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(table(results))
    print(f"\nresults written to {out_path}")
    if equality["mismatches"]:
        print(f"\nFAIL: {equality['mismatches']} mismatching fct_indicator_progress rows between the pipeline and "
              f"the floor/peer; examples:\n" + json.dumps({k: equality[k]["examples"] for k in ("floor", "peer")},
                                                          indent=1, ensure_ascii=False))
        return 1
    return 0


def bench_pipeline_only(regions: int, runs: int) -> int:
    """`--pipeline-only`: the full and the incremental refresh at `regions`, without the floor, the peer
    and the scaling line: for scales where the references do not fit in memory (the peer needs
    about 3 GiB per million rows, the floor 1 GiB: 4x national is 21 M rows on a 24 GiB machine).
    Writes bench/results-r<regions>.json; the equality check is left to the default bench."""
    started = time.perf_counter()
    manifest = prepare(regions)
    work = Workspace(DATA / f"r{regions}")
    full_runs = [work.full_refresh(i) for i in range(runs)]
    work.keep_published()
    incr_runs = [work.incremental(i) for i in range(runs)]
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "memory_gib": _memory_gib(), "python": platform.python_version(),
                    "load_average_at_start": list(os.getloadavg())},
        "settings": {"regions": regions, "runs": runs, "pipeline_only": True,
                     "why": "floor and peer do not fit in memory at this scale; the pipeline alone"},
        "input": {k: v for k, v in manifest.items() if k != "key"},
        "full_refresh": _summarize_runs(full_runs),
        "incremental": _summarize_runs(incr_runs),
        "bench_wall_s": round(time.perf_counter() - started, 1),
    }
    out_path = Path(os.environ.get("PLANWATCH_BENCH_RESULTS", BENCH / f"results-r{regions}.json"))
    out_path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    for kind in ("full_refresh", "incremental"):
        g = results[kind]["groups_s"]
        print(f"{kind}: " + ", ".join(f"{k} {v['median']:.1f} s" for k, v in g.items())
              + f"; peak RSS {results[kind]['peak_rss_mib']['max']:.0f} MiB")
    print(f"results written to {out_path}")
    return 0


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _memory_gib() -> float:
    import psutil

    return round(psutil.virtual_memory().total / 2**30, 1)


def ratios(r: dict[str, Any]) -> dict[str, Any]:
    full = r["full_refresh"]["groups_s"]
    total = full["total"]["median"]
    floor = r["references"]["floor"]["seconds"]["median"]
    peer = r["references"]["peer"]["seconds"]["median"]
    incr = r["incremental"]["groups_s"]
    checks = incr["raw_checks"]["median"] + incr["mart_checks"]["median"]
    # dbt's fixed start-up: from "Running with dbt" to its first node (parse, manifest, connection),
    # as logged; the intercept of the scaling line is the fallback (it is noisy on a shared machine).
    dbt_fixed = r["full_refresh"].get("dbt_nodes_last_run", {}).get("startup_s")
    if dbt_fixed is None:
        dbt_fixed = r["scaling"]["fit_by_group"].get("dbt_build", {}).get("intercept_s")
    return {
        "pipeline_to_floor": round(total / floor, 2) if floor else None,
        "pipeline_minus_dbt_fixed_to_floor": round((total - max(dbt_fixed or 0.0, 0.0)) / floor, 2) if floor else None,
        "dbt_fixed_startup_s": dbt_fixed,
        "peer_to_pipeline": round(peer / total, 3) if total else None,
        "checks_to_checks_in_sql": round(checks / r["checks_in_sql"]["total_s"]["median"], 2),
        "peak_rss_gib": round(max(r["full_refresh"]["peak_rss_mib"]["max"],
                                  r["incremental"]["peak_rss_mib"]["max"]) / 1024, 3),
    }


def table(r: dict[str, Any]) -> str:
    def fmt(s: dict[str, float]) -> str:
        return f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"

    full, incr = r["full_refresh"]["groups_s"], r["incremental"]["groups_s"]
    lines = [f"input: {r['input']['regions_total']} regions, {r['input']['statistics_rows']:,} statistics rows "
             f"({r['input']['statistics_bytes'] / 2**20:.0f} MiB in {r['input']['statistics_files']} files), "
             f"{r['input']['plan_rows']:,} plan rows", "",
             f"| stage | full refresh ({BEFORE_QUARTER}, 19 quarters) s | incremental (+{FULL_QUARTER}) s |", "|---|---|---|"]
    for group in list(STAGE_GROUPS) + ["overlap", "total"]:  # overlap: of the concurrent stages, not counted twice
        if group in full and group in incr:
            lines.append(f"| {group} | {fmt(full[group])} | {fmt(incr[group])} |")
    refs = r["references"]
    ratio = r["ratios"]
    lines += ["", "| reference | seconds | peak RSS MiB |", "|---|---|---|",
              f"| floor (DuckDB SQL) | {fmt(refs['floor']['seconds'])} | {fmt(refs['floor']['peak_rss_mib'])} |",
              f"| peer (pandas) | {fmt(refs['peer']['seconds'])} | {fmt(refs['peer']['peak_rss_mib'])} |",
              f"| checks as plain SQL | {fmt(r['checks_in_sql']['total_s'])} | |", "",
              f"pipeline / floor = {ratio['pipeline_to_floor']}; (pipeline - dbt fixed {ratio['dbt_fixed_startup_s']} s)"
              f" / floor = {ratio['pipeline_minus_dbt_fixed_to_floor']}; peer / pipeline = {ratio['peer_to_pipeline']}; "
              f"checks / checks in SQL = {ratio['checks_to_checks_in_sql']}",
              f"peak RSS: full {fmt(r['full_refresh']['peak_rss_mib'])} MiB, incremental "
              f"{fmt(r['incremental']['peak_rss_mib'])} MiB",
              f"DAG import: airflow.sdk {fmt(r['dag_import']['airflow_sdk_s'])} s, DAG file's own "
              f"{fmt(r['dag_import']['dag_file_own_s'])} s, total {fmt(r['dag_import']['dag_file_total_s'])} s", "",
              "| regions | statistics rows | full refresh s | peak RSS MiB |", "|---|---|---|---|"]
    for p in r["scaling"]["points"]:
        lines.append(f"| {p['regions']} | {p['statistics_rows']:,} | {fmt(p['total_s'])} | {fmt(p['peak_rss_mib'])} |")
    fit = r["scaling"]["fit_total"]
    if fit:
        lines.append(f"\nfit: seconds = {fit['intercept_s']} + {fit['seconds_per_1000_regions']} × regions/1000 "
                     f"(R² {fit['r2']})")
    eq = r["equality"]
    lines.append(f"equality: {eq['pipeline_rows']:,} rows; floor {eq['floor']['missing']} missing / "
                 f"{eq['floor']['extra']} extra / {eq['floor']['value_mismatches']} values / "
                 f"{eq['floor']['status_mismatches']} statuses; peer {eq['peer']['missing']} / {eq['peer']['extra']} / "
                 f"{eq['peer']['value_mismatches']} / {eq['peer']['status_mismatches']}")
    return "\n".join(lines)


def child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.run --child")
    parser.add_argument("kind", choices=["pipeline", "floor", "peer"])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--quarter")
    parser.add_argument("--run-id")
    parser.add_argument("--result", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.kind == "pipeline":
        result = _child_pipeline(args.quarter, args.run_id)
    elif args.kind == "floor":
        result = _child_floor(args.home, args.result)
    else:
        result = _child_peer(args.home, args.result)
    args.out.write_text(json.dumps(result, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    if "--engine" in argv or any(a.startswith("--engine=") for a in argv):  # bench/engines.py
        from bench.engines import main as engines_main

        return engines_main(argv)
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; medians (default 3)")
    parser.add_argument("--pipeline-runs", type=int, default=None,
                        help="runs of each pipeline refresh (default: --runs); the references always use --runs")
    parser.add_argument("--scales", default="0.25,0.5,1", help="fractions of --regions for the scaling line")
    parser.add_argument("--regions", type=int, default=2850, help="synthetic county regions at full scale")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 100 regions, 1 run, scales 0.5,1; results to bench/data/")
    parser.add_argument("--pipeline-only", action="store_true",
                        help="only the pipeline's full and incremental refresh at --regions (--runs each), "
                             "for scales where the floor and the peer do not fit in memory; "
                             "results to bench/results-r<regions>.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if args.pipeline_only:
        return bench_pipeline_only(args.regions, args.runs)
    if args.quick:
        args.regions, args.runs, args.pipeline_runs, args.scales = 100, 1, 1, "0.5,1"
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    if args.runs < 1 or args.regions < 1 or not scales or any(not 0 < s <= 1 for s in scales):
        parser.error("--runs and --regions must be positive and --scales fractions in (0, 1]")
    pipeline_runs = args.pipeline_runs or args.runs
    return bench(args.regions, args.runs, pipeline_runs, scales, args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
