"""The dbt stage on two engines: `python -m bench.run --engine spark [--regions 2850] [--scales 0.25,1]`.

Runs in .venv-spark (`make spark-venv`): for each scale it generates (or reuses) the bench data set
(bench.run.prepare: N synthetic counties × every indicator × 20 quarters), loads it into an ingest
store with the pipeline's own load stages, then builds the dbt project from that store, full
refresh, for 2025Q4:

* on DuckDB, as the pipeline does (planwatch.build.candidate.build_from_ingest: snapshot, dbt, bi views);
* on Spark in local mode (planwatch.build.spark, `local[2]`: raw tables to Parquet, the session, dbt,
  the marts written back as Parquet);

each in a child process, `--runs` times, and compares every mart of the two builds
(planwatch.build.engine_compare, as `make test-spark` does). It reports wall seconds of the stage and of dbt alone
(dbt's own "Finished running" line), fits seconds = a + b × regions per engine, and from those
per-region costs the size from which Spark on a cluster of k cores would beat DuckDB on this
machine (if Spark scaled perfectly with cores: a lower bound on the size). Results go to
bench/data/engines.json (or --out); bench/README.md, "Engines", has the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.run import DATA, FULL_QUARTER, REPO, child_env, prepare
from planwatch.build.engine_compare import compare_marts

log = logging.getLogger("bench.engines")
FINISHED = re.compile(r"Finished running .* \((?P<seconds>[0-9.]+)s\)")
CLUSTER_CORES = (8, 32, 128)


def dbt_seconds(log_path: Path) -> float | None:
    """dbt's own figure for the build (models and tests), from the last "Finished running" line."""
    if not log_path.exists():
        return None
    found = FINISHED.findall(log_path.read_text(errors="replace"))
    return float(found[-1]) if found else None


def load_ingest(home: Path) -> Path:
    """The ingest store of `home`, loaded by the pipeline's register and load stages (once)."""
    ingest = home / "warehouse" / "ingest.duckdb"
    marker = home / "warehouse" / ".engines-loaded"
    if ingest.exists() and marker.exists():
        return ingest
    shutil.rmtree(home / "warehouse", ignore_errors=True)
    code = ("from planwatch.run.pipeline import run_stage\n"
            f"for stage in ('register_files', 'load_plans', 'load_statistics'):\n"
            f"    run_stage(stage, '{FULL_QUARTER}', 'engines_bench')\n")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=child_env(home), check=True)
    marker.write_text("loaded\n")
    return ingest


def run_duckdb(ingest: Path, work: Path) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    code = ("import json, sys\nfrom pathlib import Path\n"
            "from planwatch.build.candidate import build_from_ingest\nfrom planwatch.core.periods import Quarter\n"
            f"m = build_from_ingest(Path({str(ingest)!r}), Path({str(work / 'candidate.duckdb')!r}), "
            f"Quarter.parse({FULL_QUARTER!r}), Path({str(REPO / 'dbt')!r}), work_dir=Path({str(work / 'dbt')!r}), "
            "full_refresh=True)\n"
            f"Path({str(work / 'metrics.json')!r}).write_text(json.dumps(m))\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=child_env(work), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    metrics = json.loads((work / "metrics.json").read_text())
    return {"engine": "duckdb", "stage_s": round(wall, 1), "dbt_s": dbt_seconds(work / "dbt" / "logs" / "dbt.log"),
            "tests_passed": metrics["tests_passed"], "fact_rows": metrics["fct_indicator_progress_rows"]}


def run_spark(ingest: Path, work: Path, master: str) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    with (work / "spark.log").open("w") as fh:
        subprocess.run([sys.executable, "-m", "planwatch.build.spark", "build", "--ingest", str(ingest),
                        "--quarter", FULL_QUARTER, "--work-dir", str(work), "--master", master,
                        "--metrics", str(work / "metrics.json")],
                       cwd=REPO, env=child_env(work), check=True, stdout=fh, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    metrics = json.loads((work / "metrics.json").read_text())
    return {"engine": "spark", "master": master, "stage_s": round(wall, 1),
            "dbt_s": dbt_seconds(work / "dbt" / "logs" / "dbt.log"),
            "export_raw_s": metrics["export_seconds"], "tests_passed": metrics["tests_passed"],
            "fact_rows": metrics["mart_rows"].get("fct_indicator_progress")}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 1)


def _line(points: list[tuple[float, float]]) -> dict[str, float]:
    """seconds = a + b × x through the points (least squares; exact for two)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return {"a_s": round(my - b * mx, 2), "b_s_per_1000_regions": round(b * 1000, 2)}


def crossover(duck: dict[str, float], spark: dict[str, float], local_cores: int = 2) -> dict[str, Any]:
    """Regions from which Spark on k cores beats DuckDB here, if Spark's per-region cost fell in
    proportion to its cores (it does not quite: shuffles cross the network): None if never."""
    out: dict[str, Any] = {}
    for cores in CLUSTER_CORES:
        b_spark = spark["b_s_per_1000_regions"] * local_cores / cores
        gain = duck["b_s_per_1000_regions"] - b_spark
        extra = spark["a_s"] - duck["a_s"]
        out[f"{cores}_cores"] = round(1000 * extra / gain) if gain > 0 else None
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run --engine spark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["spark"], required=True)
    parser.add_argument("--regions", type=int, default=2850)
    parser.add_argument("--scales", default="0.25,1",
                        help="fractions of --regions; points of other sizes already in --out are kept")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--out", type=Path, default=DATA / "engines.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    started = time.perf_counter()
    # points measured earlier (another --scales) stay, so that the national run can come later
    earlier = json.loads(args.out.read_text())["points"] if args.out.exists() else []
    points: list[dict[str, Any]] = []
    for scale in sorted(float(s) for s in args.scales.split(",")):
        regions = max(1, round(args.regions * scale))
        manifest = prepare(regions)
        root = DATA / f"r{regions}"
        ingest = load_ingest(root / "home")
        duck = [run_duckdb(ingest, root / "engines" / "duckdb") for _ in range(args.runs)]
        log.info("r%d duckdb: %s", regions, duck)
        spark = [run_spark(ingest, root / "engines" / "spark", args.master) for _ in range(args.runs)]
        log.info("r%d spark: %s", regions, spark)
        equality = compare_marts(root / "engines" / "duckdb" / "candidate.duckdb", root / "engines" / "spark" / "marts",
                                 REPO / "dbt")
        differing = [r.describe() for r in equality if not r.equal]
        log.info("r%d marts equal on both engines: %d of %d%s", regions, len(equality) - len(differing), len(equality),
                 "" if not differing else "; " + " | ".join(differing))
        points.append({"scale": scale, "regions": regions, "statistics_rows": manifest["statistics_rows"],
                       "load_average_at_start": list(os.getloadavg()),
                       "duckdb": {"runs": duck, "stage_s": _median(duck, "stage_s"), "dbt_s": _median(duck, "dbt_s")},
                       "spark": {"runs": spark, "stage_s": _median(spark, "stage_s"), "dbt_s": _median(spark, "dbt_s")},
                       "marts_equal": len(equality) - len(differing), "marts_compared": len(equality),
                       "rows_compared": sum(r.rows for r in equality), "differences": differing})
    measured = {p["regions"] for p in points}
    points = sorted([p for p in earlier if p["regions"] not in measured] + points, key=lambda p: p["regions"])
    fits = {engine: {what: _line([(p["regions"], p[engine][what]) for p in points]) for what in ("stage_s", "dbt_s")}
            for engine in ("duckdb", "spark")}
    result = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(), "master": args.master,
              "quarter": FULL_QUARTER, "points": points, "fits": fits,
              "crossover_regions": {what: crossover(fits["duckdb"][what], fits["spark"][what])
                                    for what in ("stage_s", "dbt_s")},
              "wall_s": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("fits", "crossover_regions")}, indent=1))
    for p in points:
        print(f"r{p['regions']} ({p['statistics_rows']:,} statistics rows): DuckDB stage {p['duckdb']['stage_s']} s "
              f"(dbt {p['duckdb']['dbt_s']} s), Spark stage {p['spark']['stage_s']} s (dbt {p['spark']['dbt_s']} s)")
    print(f"results written to {args.out}")
    return 0
