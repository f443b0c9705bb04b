"""What the engineers read after a run: a one-screen summary, and the status of the last runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwatch.core.config import Settings
from planwatch.core.db import connect, table_exists
from planwatch.serve.report import SUMMARY_SQL, plan_figures
from planwatch.demo.simulate import announced_faults

if TYPE_CHECKING:
    import duckdb


def _runs(settings: Settings, limit: int) -> list[dict[str, Any]]:
    from planwatch.run.runlog import read_runs

    return read_runs(settings, limit=limit)


def _published_counts(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    out: dict[str, Any] = {}
    with connect(path, read_only=True) as con:
        if table_exists(con, "marts", "fct_indicator_progress"):
            row = con.execute("select count(*), max(period), bool_or(is_simulated) "
                              "from marts.fct_indicator_progress").fetchone()
            if row:
                out.update(fact_rows=row[0], latest_period=row[1], any_simulated=row[2])
        # The series and their statuses exactly as the report counts them (one query for both); a
        # file published before marts.fct_indicator_latest existed has them after its next run.
        if table_exists(con, "marts", "fct_indicator_latest"):
            status = con.execute(f"select status, sum(series)::bigint from ({SUMMARY_SQL}) group by status "
                                 "order by 2 desc, 1").fetchall()
            out["series"] = sum(n for _, n in status)
            out["status_latest"] = status
        out["plan_figures"] = plan_figures(con)
    return out


def regions_without_current_plan(path: Path) -> list[dict[str, Any]]:
    """Regions with no plan loaded for the period of the published quarter (marts.fct_regions_without_current_plan)."""
    if not path.exists():
        return []
    with connect(path, read_only=True) as con:
        if not table_exists(con, "marts", "fct_regions_without_current_plan"):
            return []
        cur = con.execute("select * from marts.fct_regions_without_current_plan order by is_simulated, region_code")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def _print_missing_plans(rows: list[dict[str, Any]], indent: str) -> None:
    if not rows:
        return
    first = rows[0]
    print(f"{indent}{len(rows)} region(s) have no {first['current_plan']} plan ({first['current_plan_name_zh']}) "
          f"loaded for {first['as_of_year']}: "
          + ", ".join(f"{r['region_code']} {r['region_name'] or ''} ({r['observations_without_plan']} "
                      f"observations without a target)".replace("  ", " ") for r in rows[:8])
          + (" …" if len(rows) > 8 else ""))
    print(f"{indent}their statistics are loaded and checked (bi.observations_without_plan); to add a plan: "
          f"{first['how_to_add']}")


def _ledger_totals(settings: Settings) -> tuple[int, int, int, int] | None:
    """Files loaded and refused, rows loaded and quarantined, over every file ever registered."""
    with connect(settings.ingest_db, read_only=True) as con:
        if not table_exists(con, "raw", "file_ledger"):
            return None
        row = con.execute(
            "select count(*) filter (where status = 'loaded'), count(*) filter (where status = 'refused'), "
            "coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) from raw.file_ledger "
            "where kind = 'statistics'").fetchone()
    return (int(row[0]), int(row[1]), int(row[2]), int(row[3])) if row else None


def _metric(metrics: dict[str, Any], task: str, key: str) -> Any:
    return (metrics.get(task) or {}).get(key, "n/a")


def print_summary(settings: Settings) -> int:
    runs = _runs(settings, 1)
    print("=" * 72)
    print("planwatch summary")
    print("=" * 72)
    if not runs:
        print("no run recorded yet: run `make run`")
        return 1
    run = runs[0]
    m = run["metrics"]
    def count(key: str) -> int:
        values = [_metric(m, t, key) for t in ("validate_raw", "validate_marts")]
        return sum(v for v in values if isinstance(v, int))

    print(f"run            {run['run_id']}  quarter {run['quarter']}  status {run['status']}")
    print(f"indicators     {_metric(m, 'load_plans', 'plan_indicators_rows')} plan indicator rows, "
          f"{_metric(m, 'load_plans', 'indicators_rows')} catalog indicators")
    print(f"statistics     this run: {_metric(m, 'load_statistics', 'rows_read')} rows read, "
          f"{_metric(m, 'load_statistics', 'rows_loaded')} loaded, "
          f"{_metric(m, 'load_statistics', 'rows_quarantined')} quarantined "
          f"({_metric(m, 'register_files', 'files_new')} new files)")
    totals = _ledger_totals(settings)
    if totals:
        print(f"               all files: {totals[0]} loaded, {totals[1]} refused; {totals[2]} rows loaded, "
              f"{totals[3]} quarantined (raw.stat_quarantine says why)")
    print(f"checks         {count('passed')} passed, {count('failed_warn')} warnings, "
          f"{count('failed_error')} blocking failures (`python -m planwatch status` lists them)")
    print(f"published      {'yes' if run['published'] else 'NO'}"
          + (f"  reason: {run['reason']}" if run.get("reason") else ""))
    counts = _published_counts(settings.published_db)
    if counts:
        print(f"warehouse      {settings.published_db}")
        print(f"               {counts.get('series')} indicator series, {counts.get('fact_rows')} fact rows, "
              f"latest period {counts.get('latest_period')}")
        if counts.get("status_latest"):
            print("               latest status per series (as the report): "
                  + ", ".join(f"{s} {n}" for s, n in counts["status_latest"]))
        figures = counts.get("plan_figures") or {}
        if figures.get("available"):
            print(f"plan figures   {figures['printed']} printed in the reviewed plan files, {figures['used']} used "
                  f"({figures['used_with_unit_as_read']} with the reviewer's unit_as_read), "
                  f"{figures['excluded']} not used (bi.plan_figures_excluded says why)")
        if counts.get("any_simulated"):
            print("               NOTE: the statistics are SIMULATED (is_simulated = true);"
                  " baselines and targets are the plans' own")
        _print_missing_plans(regions_without_current_plan(settings.published_db), "plans          ")
    for manifest, kinds in announced_faults(settings.statistics_dir):
        # Deliberate faults of the demo data: the quarantined rows and warnings they cause are expected.
        print(f"simulated      {sum(kinds.values())} faults injected on purpose ({manifest}): "
              + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())))
    report = _metric(m, "report", "report_path")
    print(f"report         {report}")
    print("=" * 72)
    return 0 if run["published"] else 1


def _published_what(run: dict[str, Any]) -> str:
    """What a run published (version file, series, report), or why it did not."""
    if not run["published"]:
        return (run.get("reason") or "")[:80]
    m = run["metrics"]
    parts = [str(_metric(m, "publish", "version"))]
    series = _metric(m, "report", "series")
    if series != "n/a":
        parts.append(f"{series} series")
    report = _metric(m, "report", "report_path")
    if report != "n/a":
        parts.append(Path(str(report)).name)
    return ", ".join(parts)[:100]


def print_status(settings: Settings, limit: int = 10) -> int:
    """The last runs (newest first) with what each published, then the open data-quality
    findings of the run that built the published warehouse."""
    runs = _runs(settings, limit)
    if not runs:
        print("no run recorded yet")
        return 0
    print(f"{'run_id':48} {'quarter':8} {'status':14} {'published':9} published what / reason")
    for run in runs:
        print(f"{run['run_id'][:48]:48} {run['quarter']:8} {run['status']:14} "
              f"{'yes' if run['published'] else 'no':9} {_published_what(run)}")
    missing = regions_without_current_plan(settings.published_db)
    if missing:
        print()
        _print_missing_plans(missing, "")
    if settings.published_db.exists():
        with connect(settings.published_db, read_only=True) as con:
            if table_exists(con, "audit", "dq_results"):
                # The run that built this file wrote the newest checks into it; its own run_log
                # row there still says `running` (copied before the rename), so go by the checks.
                last = con.execute("select run_id from audit.dq_results group by run_id "
                                   "order by max(checked_at) desc limit 1").fetchone()
                rows = con.execute(
                    "select suite, expectation, severity, unexpected_count from audit.dq_results "
                    "where not success and run_id = ? order by severity, suite, expectation",
                    [last[0] if last else None]).fetchall()
                print(f"\nopen data-quality findings in the published warehouse"
                      f"{f' (run {last[0]})' if last else ''}: {len(rows)}")
                for suite, expectation, severity, n in rows[:30]:
                    print(f"  [{severity}] {suite}.{expectation}: {n} unexpected")
                if len(rows) > 30:
                    print(f"  … and {len(rows) - 30} more: select * from bi.dq_findings")
            _print_submissions(con)
    return 0


def _print_submissions(con: "duckdb.DuckDBPyConnection", limit: int = 30) -> None:
    """Per region: figures of the latest quarter expected, received, overdue, and which are missing."""
    from planwatch.serve.submissions import region_summary

    rows = region_summary(con)
    if not rows:
        return
    print(f"\nsubmissions for {rows[0].period} (due {rows[0].deadline}): "
          f"{sum(1 for r in rows if r.overdue)} of {len(rows)} regions overdue")
    print(f"  {'region':24} {'expected':>8} {'received':>8} {'overdue':>7}  not received")
    for r in rows[:limit]:
        name = f"{r.region_code} {r.region_name}" + (" (sim)" if r.is_simulated else "")
        print(f"  {name[:24]:24} {r.expected:8d} {r.received:8d} {r.overdue:7d}  {r.missing[:80]}")
    if len(rows) > limit:
        print(f"  … and {len(rows) - limit} more: select * from bi.submission_by_region")
