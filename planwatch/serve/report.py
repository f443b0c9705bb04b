"""The quarterly progress report: one self-contained HTML page written after every publish.

Reads only the published warehouse, opened read-only, so what the page shows is exactly what BI
tools see. Charts are Vega-Lite specs built with Altair and rendered in the browser by the
vendored Vega JavaScript (planwatch/serve/report_assets/), inlined so the page opens without network.
No progress arithmetic happens here: values, expected paths and statuses come from the marts.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwatch.core.background_import import import_in_background, wait_for_import
from planwatch.core.config import Settings
from planwatch.core.db import connect, table_exists
from planwatch.core.errors import ConfigError
from planwatch.core.types import Metrics, RunContext

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "report_assets"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
VEGA_SCRIPTS = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")

# Above these sizes (the 2850-region benchmark) the page keeps to a summary: detailed tables and
# charts for the first regions only, real tracked cities first; the rest is in the `bi` views.
MAX_DETAIL_REGIONS = 10
MAX_SUMMARY_REGIONS = 200
MAX_COMPLETION_ROWS = 300
MAX_FINDINGS = 100

STATUS_COLOURS: dict[str, str] = {
    "target_achieved": "#1a7f37",
    "on_track": "#4caf50",
    "needs_acceleration": "#f0a500",
    "limited_progress": "#e8710a",
    "deterioration": "#c62828",
    "insufficient_data": "#8c8c8c",
    "no_target": "#bdbdbd",
}
ATTRIBUTE_LABELS = {"binding": "约束性 binding", "expected": "预期性 expected", "": "—"}
BREAKDOWN_LABELS = {"urban": "城市 urban", "rural": "农村 rural", "": ""}

# Chart layers: (key, Chinese and English label, colour); the legend on the page uses the same.
LAYERS: tuple[tuple[str, str, str], ...] = (
    ("actual", "实际值 actual (quarterly)", "#1f5fbf"),
    ("expected", "预期路径 expected straight path", "#7a7a7a"),
    ("annual", "规划年度目标 plan's annual path", "#e8710a"),
    ("baseline", "基期值 baseline", "#555555"),
    ("target", "目标值 target", "#c62828"),
)

# One row per series (region × plan × indicator × breakdown): bi.latest_status (dbt/models/bi/) shows
# the row marts.fct_indicator_latest ranked first, a series whose target year has passed judged at
# that year; that mart's row (the fact row itself, found by its series' key) adds what the page shows
# besides, so the five million fact rows are not read here. Only the rows of the regions shown in
# detail are read so (LATEST_SQL); the summary counts every series of the view (SUMMARY_SQL), which
# has one row per series too.
LATEST_SQL = """
select l.region_code, l.region_name, l.region_name_en, coalesce(g.is_simulated, false) as region_simulated,
       l.plan, l.indicator_code, coalesce(l.indicator_name_zh, l.indicator_name) as name_zh,
       l.indicator_name_en as name_en, l.unit, coalesce(l.attribute, '') as attribute,
       l.breakdown, l.period,
       -- a cumulative target is judged, and shown, by its running total since the plan's first year
       coalesce(f.cumulative_value, l.actual_value) as actual_value, f.target_kind, f.baseline_year, l.baseline_value,
       l.target_value, l.target_year, l.expected_value, l.progress_ratio, l.status,
       l.status_label_zh as status_zh, l.status_label_en as status_en, l.status_order as sort_order,
       l.status_basis_zh, l.status_basis_en, l.is_simulated
from bi.latest_status as l
join marts.fct_indicator_latest as f
  on f.region_code = l.region_code and f.plan is not distinct from l.plan and f.indicator_code = l.indicator_code
 and coalesce(f.breakdown, '') = l.breakdown and f.period = l.period
left join marts.dim_region as g on g.region_code = l.region_code
where l.region_code in (select unnest(?::varchar[]))
order by l.region_code, l.plan, l.indicator_code, l.breakdown
"""
# Per region and status: series, simulated series, the latest period, the region's names. A group of a
# few thousand rows, not the view's 268k rows in Python nor joined again to the mart (bench/README.md,
# tenth pass).
SUMMARY_SQL = """
select l.region_code, l.status, count(*) as series, count_if(l.is_simulated) as simulated, max(l.period) as period,
       min(l.region_name) as region_name, min(l.region_name_en) as region_name_en,
       bool_or(coalesce(g.is_simulated, false)) as region_simulated
from bi.latest_status as l
left join marts.dim_region as g on g.region_code = l.region_code
group by l.region_code, l.status
order by l.region_code, l.status
"""

POINTS_SQL = """
select region_code, plan, indicator_code, coalesce(breakdown, '') as breakdown, period,
       strftime(period_end, '%Y-%m-%d') as period_end, coalesce(cumulative_value, actual_value) as actual_value,
       expected_value
from marts.fct_indicator_progress
where region_code in (select unnest(?::varchar[]))
order by period_end
"""

# The plan's year-by-year targets, already converted to the catalog unit by dbt, one row per year
# (the years are whatever `target_YYYY` columns the plan files have).
ANNUAL_SQL_CONVERTED = """
select p.region_code, p.plan, p.indicator_code, coalesce(p.breakdown, '') as breakdown,
       a.target_year, a.annual_target_value
from intermediate.int_plan_annual_targets_unpivoted as a
join intermediate.int_plan_targets_converted as p on p.plan_target_id = a.plan_target_id
where p.region_code in (select unnest(?::varchar[]))
order by a.target_year
"""
# Fallback on the raw snapshot: only rows printed in the catalog unit, as no conversion is done here.
ANNUAL_SQL_RAW = """
select region_code, plan, indicator_code, breakdown,
       cast(substr(annual_column, 8) as integer) as target_year, try_cast(annual_value as double)
from (unpivot (select p.region_code, p.plan, p.indicator_code, coalesce(p.breakdown, '') as breakdown,
                      columns('^target_[0-9]{4}$')
               from raw.plan_indicators as p
               join marts.dim_indicator as i on i.indicator_code = p.indicator_code and i.unit = p.unit
               where p.region_code in (select unnest(?::varchar[])))
      on columns('^target_[0-9]{4}$') into name annual_column value annual_value)
order by target_year
"""

REQUIRED_TABLES = (("marts", "fct_indicator_progress"), ("marts", "fct_indicator_latest"), ("marts", "dim_indicator"),
                   ("marts", "dim_region"), ("marts", "dim_status"))


@dataclass
class SeriesRow:
    """One indicator series of a region at its latest reported period, and its chart spec id."""

    row: dict[str, Any]
    chart_id: str | None = None


@dataclass
class RegionSection:
    region_code: str
    region_name: str
    region_name_en: str | None
    simulated_region: bool
    series: list[SeriesRow] = field(default_factory=list)
    detailed: bool = False


def write_report(settings: Settings, run: RunContext) -> Metrics:
    """Stage `report`: write reports/progress_<quarter>.html from the published warehouse."""
    if not settings.published_db.exists():
        raise ConfigError(
            f"`file={settings.published_db}` does not exist: nothing has been published yet. "
            "Run the pipeline (`make run`) first.")
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    path = settings.reports_dir / f"progress_{run.quarter}.html"
    with connect(settings.published_db, read_only=True) as con:
        con.execute("SET enable_progress_bar = false")  # no progress bars in task logs
        page = build_page(con, run, settings.published_db)
    html = render(page)
    _write_atomic(path, html)
    from planwatch.core.periods import last_closed_quarter
    from planwatch.core.scheduling import TIMEZONE
    from planwatch.serve.submissions import send_overdue_digest

    # The run of the quarter just closed (on its deadline day) sends the digest; a backfill of
    # earlier quarters does not repeat it (`python -m planwatch remind` sends it by hand).
    current = run.quarter >= last_closed_quarter(datetime.now(TIMEZONE))
    overdue_regions = send_overdue_digest(settings) if current else None
    metrics: Metrics = {
        "report_path": str(path),
        "bytes": len(html.encode("utf-8")),
        "regions": page["n_regions"],
        "regions_detailed": len(page["detailed"]),
        "series": page["n_series"],
        "charts": len(page["specs"]),
        "simulated_series": page["n_simulated"],
        "dq_findings": len(page["dq"]["findings"]),
        "plan_figures_excluded": len(page["plan_figures"]["excluded_rows"]),
        "overdue_regions": overdue_regions,
    }
    log.info("report %s: %s", path, metrics)
    return metrics


def build_page(con: "duckdb.DuckDBPyConnection", run: RunContext, db_path: Path) -> dict[str, Any]:
    """Everything the template shows, read from the warehouse `con` is connected to."""
    missing = [f"{s}.{t}" for s, t in REQUIRED_TABLES if not table_exists(con, s, t)]
    if missing:
        raise ConfigError(f"`file={db_path}` lacks {', '.join(missing)}: the report needs the dbt marts. "
                          "Check the dbt_build stage of the run that published it.")
    latest = _latest(con)
    regions = latest.regions
    # Real tracked cities first, then simulated ones; by code within each.
    ordered = sorted(regions.values(), key=lambda r: (r.simulated_region, r.region_code))
    detailed = ordered[:MAX_DETAIL_REGIONS]
    for n, section in enumerate(ordered):
        section.detailed = n < MAX_DETAIL_REGIONS
        if not section.detailed:
            section.series = []  # rows kept while streaming in case the region was among the first
    specs = _charts(con, detailed)
    status_order = _records(con, "select status, sort_order, status_zh, status_en from marts.dim_status "
                                 "order by sort_order")
    simulated_regions = [r.region_name for r in ordered if r.simulated_region]
    from planwatch.serve.submissions import region_summary

    submissions = region_summary(con)
    return {
        "quarter": str(run.quarter),
        "run_id": run.run_id,
        "db_path": str(db_path),
        "latest_period": latest.latest_period,
        "n_regions": len(ordered),
        "n_series": latest.n_series,
        "n_simulated": latest.n_simulated,
        "n_simulated_regions": len(simulated_regions),
        "statuses": [dict(s, colour=STATUS_COLOURS.get(s["status"], "#999")) for s in status_order],
        "overall": latest.overall,
        "summary": [{"section": s, "counts": latest.counts[s.region_code]}
                    for s in ordered[:MAX_SUMMARY_REGIONS]],
        "summary_capped": len(ordered) > MAX_SUMMARY_REGIONS,
        "detailed": detailed,
        "detail_capped": len(ordered) > MAX_DETAIL_REGIONS,
        "specs": specs,
        "completion": _completion(con, [s.region_code for s in detailed]),
        "evaluations": _evaluations(con, [s.region_code for s in detailed]),
        "missing_plans": (_records(con, "select * from marts.fct_regions_without_current_plan "
                                        "order by is_simulated, region_code")
                          if table_exists(con, "marts", "fct_regions_without_current_plan") else []),
        "dq": _data_quality(con, run.run_id),
        "plan_figures": plan_figures(con),
        "submissions": submissions[:MAX_SUMMARY_REGIONS],
        "submissions_capped": len(submissions) > MAX_SUMMARY_REGIONS,
        "layers": LAYERS,
        "max_detail": MAX_DETAIL_REGIONS,
        "max_summary": MAX_SUMMARY_REGIONS,
    }


@dataclass
class Latest:
    """The latest row of every series, reduced to what the page shows: regions, status counts,
    and the rows of the regions that may be detailed."""

    regions: dict[str, RegionSection] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # region -> status -> series
    overall: dict[str, int] = field(default_factory=dict)
    n_series: int = 0
    n_simulated: int = 0
    latest_period: str | None = None


def _latest(con: "duckdb.DuckDBPyConnection") -> Latest:
    """The latest row of every series, reduced inside DuckDB to what the page needs.

    A national warehouse has ~268k series: the counts are a GROUP BY (SUMMARY_SQL), and only the
    rows of the regions that may be detailed (the first MAX_DETAIL_REGIONS real ones and simulated
    ones, by code) come into Python. Streaming every row through Python took 3 s of a 5.5 s report;
    a temp table of every row joined to the mart 0.4-0.5 s of CPU (bench/README.md, tenth pass).
    """
    out = Latest()
    names: dict[str, list[Any]] = {}  # region -> [names, English names, simulated], over its statuses
    periods = []
    for code, status, n, n_simulated, period, name, name_en, simulated in con.execute(SUMMARY_SQL).fetchall():
        seen = names.setdefault(code, [[], [], False])
        seen[0] += [name] if name is not None else []
        seen[1] += [name_en] if name_en is not None else []
        seen[2] = seen[2] or bool(simulated)
        out.counts.setdefault(code, {})[status] = n
        out.overall[status] = out.overall.get(status, 0) + n
        out.n_series += n
        out.n_simulated += n_simulated
        periods += [period] if period is not None else []
    out.latest_period = max(periods, default=None)
    kept = {False: 0, True: 0}
    keep: list[str] = []
    for code, (region_names, names_en, simulated) in names.items():  # by code (SUMMARY_SQL's order)
        section = out.regions[code] = RegionSection(code, min(region_names, default=None) or code,
                                                    min(names_en, default=None), simulated)
        if kept[section.simulated_region] < MAX_DETAIL_REGIONS:
            keep.append(code)
        kept[section.simulated_region] += 1
    for row in _records(con, LATEST_SQL, [keep]):
        out.regions[row["region_code"]].series.append(SeriesRow(row))
    return out


def _records(con: "duckdb.DuckDBPyConnection", sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _series_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (row["region_code"], row["plan"] or "", row["indicator_code"], row["breakdown"] or "")


def _annual_targets(con: "duckdb.DuckDBPyConnection", codes: list[str]) -> dict[tuple[str, str, str, str], list[tuple[int, float]]]:
    if table_exists(con, "intermediate", "int_plan_annual_targets_unpivoted"):
        rows = con.execute(ANNUAL_SQL_CONVERTED, [codes]).fetchall()
    elif table_exists(con, "raw", "plan_indicators"):
        log.info("no intermediate.int_plan_annual_targets_unpivoted: annual paths from raw.plan_indicators")
        rows = con.execute(ANNUAL_SQL_RAW, [codes]).fetchall()
    else:
        log.warning("no annual plan targets in the warehouse: charts show no annual path")
        return {}
    out: dict[tuple[str, str, str, str], list[tuple[int, float]]] = {}
    for region, plan, indicator, breakdown, year, value in rows:
        if value is not None:
            out.setdefault((region, plan or "", indicator, breakdown or ""), []).append((int(year), float(value)))
    return out


def _charts(con: "duckdb.DuckDBPyConnection", sections: list[RegionSection]) -> dict[str, dict[str, Any]]:
    """One small Vega-Lite chart per series of the detailed regions; returns spec per chart id."""
    codes = [s.region_code for s in sections]
    if not codes:
        return {}
    points: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for p in _records(con, POINTS_SQL, [codes]):
        points.setdefault(_series_key(p), []).append(p)
    annual = _annual_targets(con, codes)
    specs: dict[str, dict[str, Any]] = {}
    for section in sections:
        for n, series in enumerate(section.series):
            key = _series_key(series.row)
            spec = chart_spec(series.row, points.get(key, []), annual.get(key, []))
            series.chart_id = f"chart-{section.region_code}-{n}"
            specs[series.chart_id] = spec
    return specs


def chart_spec(latest: dict[str, Any], points: list[dict[str, Any]],
               annual: list[tuple[int, float]]) -> dict[str, Any]:
    """The chart of one series: actual quarterly values, the expected straight path from baseline
    to target (as the marts compute it), the plan's annual path, baseline and target lines.

    Every chart has the same structure and differs only in its data, so the Vega-Lite spec is built
    (and validated) once by Altair and each chart gets a copy with its own named datasets."""
    series: list[dict[str, Any]] = []
    if latest.get("baseline_year") is not None and latest.get("baseline_value") is not None:
        series.append({"layer": "expected", "date": f"{int(latest['baseline_year'])}-12-31",
                       "value": latest["baseline_value"], "period": f"{int(latest['baseline_year'])} 基期 baseline"})
    for p in points:
        if p["expected_value"] is not None:
            series.append({"layer": "expected", "date": p["period_end"], "value": p["expected_value"],
                           "period": p["period"]})
    if latest.get("target_year") is not None and latest.get("target_value") is not None:
        series.append({"layer": "expected", "date": f"{int(latest['target_year'])}-12-31",
                       "value": latest["target_value"], "period": f"{int(latest['target_year'])} 目标 target"})
    for year, value in annual:
        series.append({"layer": "annual", "date": f"{year}-12-31", "value": value, "period": str(year)})
    for p in points:
        if p["actual_value"] is not None:
            series.append({"layer": "actual", "date": p["period_end"], "value": p["actual_value"],
                           "period": p["period"]})
    wait_for_import(CHART_MODULE)  # warm_up_charts' thread may be computing the template
    spec: dict[str, Any] = json.loads(_chart_template())
    spec["datasets"] = {
        "pw_series": series,
        "pw_baseline": [] if latest.get("baseline_value") is None else [{"v": latest["baseline_value"]}],
        "pw_target": [] if latest.get("target_value") is None else [{"v": latest["target_value"]}],
    }
    # Drop the layers this series has no data for (a plan without a baseline or annual path):
    # an empty layer only makes Vega warn about an infinite extent.
    present = {row["layer"] for row in series}
    present |= {key for key in ("baseline", "target") if spec["datasets"][f"pw_{key}"]}
    spec["layer"] = [layer for key, layer in zip(TEMPLATE_LAYERS, spec["layer"]) if key in present]
    return spec


CHART_MODULE = "altair"
TEMPLATE_LAYERS = ("expected", "annual", "actual", "baseline", "target")  # order of _chart_template's layers


def warm_up_charts() -> None:
    """For a process that runs publish before this stage (`run_all`, the benchmark;
    planwatch.run.pipeline.before_stage): altair's import and the chart template's schema checks
    (0.3-0.4 s of one core) in the background while publish's Parquet export, which releases the GIL,
    runs. Side by side nothing else in that process imports altair (GX did)."""
    import_in_background(CHART_MODULE, then=_chart_template)


@functools.lru_cache(maxsize=1)
def _chart_template() -> str:
    import altair as alt

    colours = {key: colour for key, _, colour in LAYERS}
    base = alt.Chart(alt.Data(name="pw_series")).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format="%Y", tickCount="year", labelFontSize=9)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False), axis=alt.Axis(labelFontSize=9, tickCount=4)),
        tooltip=[alt.Tooltip("period:N", title="期 period"), alt.Tooltip("value:Q", title="值 value", format=",.2f")],
    )
    layers: list[Any] = [
        base.transform_filter(alt.datum.layer == "expected").mark_line(
            color=colours["expected"], strokeDash=[4, 3], strokeWidth=1.2),
        base.transform_filter(alt.datum.layer == "annual").mark_line(
            color=colours["annual"], strokeWidth=1.2,
            point=alt.OverlayMarkDef(shape="diamond", size=30, color=colours["annual"])),
        base.transform_filter(alt.datum.layer == "actual").mark_line(
            color=colours["actual"], strokeWidth=1.8, point=alt.OverlayMarkDef(size=18, color=colours["actual"])),
    ]
    for key, dash in (("baseline", [2, 2]), ("target", [6, 3])):
        layers.append(alt.Chart(alt.Data(name=f"pw_{key}")).mark_rule(
            color=colours[key], strokeDash=dash, strokeWidth=1).encode(y="v:Q"))
    chart = alt.layer(*layers).properties(width=230, height=105).configure_view(stroke=None)
    return json.dumps(chart.to_dict(validate=True))


def _completion(con: "duckdb.DuckDBPyConnection", codes: list[str]) -> dict[str, Any]:
    """The 13th plan's results as the mart has them: every column but ids and provenance."""
    if not table_exists(con, "marts", "fct_plan_completion"):
        return {"available": False, "columns": [], "rows": [], "total": 0, "capped": False}
    cols = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'fct_plan_completion' order by ordinal_position").fetchall()]
    hidden = re.compile(r"(_id|_seq|_line|_doc|_file|_at|^source.*|^region_code$)$")
    shown = [c for c in cols if not hidden.search(c)]
    total = con.execute("select count(*) from marts.fct_plan_completion").fetchone()
    order = ", ".join(f'"{c}"' for c in ("region_code", "indicator_code") if c in cols) or "1"
    select_list = ", ".join('"' + c.replace('"', '""') + '"' for c in shown)
    where = "where region_code in (select unnest(?::varchar[]))" if "region_code" in cols else ""
    rows = con.execute(f"select {select_list} from marts.fct_plan_completion {where} order by {order} "
                       f"limit {MAX_COMPLETION_ROWS}", [codes] if where else []).fetchall()
    n_total = int(total[0]) if total else 0
    return {"available": True, "columns": shown, "rows": rows, "total": n_total,
            "capped": len(rows) < n_total}


EVALUATION_SQL = """
select region_code, region_name, plan, plan_name_zh, evaluation_kind, evaluation_year, indicator_name,
       breakdown, unit, target_value, expected_value, actual_value, actual_period, attribute_zh, verdict,
       verdict_zh, is_simulated
from marts.fct_plan_evaluation
where is_due and region_code in (select unnest(?::varchar[]))
order by region_code, plan, evaluation_kind desc, seq nulls last, indicator_code, breakdown
"""


def _evaluations(con: "duckdb.DuckDBPyConnection", codes: list[str]) -> list[dict[str, Any]]:
    """One section per region × plan × evaluation whose year has closed: verdict counts and rows."""
    if not table_exists(con, "marts", "fct_plan_evaluation"):
        return []
    sections: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in _records(con, EVALUATION_SQL, [codes]):
        key = (row["region_code"], row["plan"], row["evaluation_kind"])
        section = sections.setdefault(key, {
            "region_code": row["region_code"], "region_name": row["region_name"], "plan": row["plan"],
            "plan_name_zh": row["plan_name_zh"], "kind": row["evaluation_kind"], "year": row["evaluation_year"],
            "counts": {}, "rows": [], "n_simulated": 0})
        section["rows"].append(row)
        section["counts"][row["verdict_zh"]] = section["counts"].get(row["verdict_zh"], 0) + 1
        section["n_simulated"] += bool(row["is_simulated"])
    return list(sections.values())


def _data_quality(con: "duckdb.DuckDBPyConnection", run_id: str) -> dict[str, Any]:
    """The checks of this run, or of the run that built the published file when this run's are absent."""
    empty: dict[str, Any] = {"available": False, "run_id": None, "summary": [], "findings": [],
                             "this_run": False}
    if not table_exists(con, "audit", "dq_results"):
        return empty
    row = con.execute("select count(*) from audit.dq_results where run_id = ?", [run_id]).fetchone()
    this_run = bool(row and row[0])
    if not this_run:
        last = con.execute("select run_id from audit.dq_results group by run_id "
                           "order by max(checked_at) desc limit 1").fetchone()
        if last is None:
            return empty
        run_id = last[0]
    summary = _records(con, """
        select suite, severity, count(*) as checks, count(*) filter (where success) as passed,
               count(*) filter (where not success) as failed,
               coalesce(sum(unexpected_count) filter (where not success), 0) as unexpected_rows
        from audit.dq_results where run_id = ? group by suite, severity order by suite, severity""", [run_id])
    findings = _records(con, """
        select suite, expectation, severity, unexpected_count, cast(sample as varchar) as sample
        from audit.dq_results where run_id = ? and not success
        order by severity, suite, expectation""", [run_id])
    for f in findings:
        f["sample"] = (f["sample"] or "")[:300]
    return {"available": True, "run_id": run_id, "summary": summary, "findings": findings[:MAX_FINDINGS],
            "n_findings": len(findings), "this_run": this_run}


PLAN_FIGURES_SQL = """
select count(*) as printed, count(*) filter (where is_used) as used,
       count(*) filter (where reaches_facts) as reaching_facts,
       count(*) filter (where is_unit_as_read and is_used) as used_with_unit_as_read,
       count(*) filter (where not is_used) as excluded
from marts.fct_plan_figures
"""
PLAN_FIGURES_EXCLUDED_SQL = """
select region_code, plan, source_file, source_line, indicator_name, figure, printed_value, printed_unit,
       unit_as_read, exclusion_reason
from marts.fct_plan_figures where not is_used
order by region_code, plan, source_file, source_line, figure
"""


def plan_figures(con: "duckdb.DuckDBPyConnection") -> dict[str, Any]:
    """How many printed plan figures the warehouse uses, and every one it does not, with its reason
    (marts.fct_plan_figures; the same rows as bi.plan_figures_excluded). The summary prints the counts."""
    if not table_exists(con, "marts", "fct_plan_figures"):
        return {"available": False, "excluded_rows": []}
    counts = _records(con, PLAN_FIGURES_SQL)[0]
    return {"available": True, **counts, "excluded_rows": _records(con, PLAN_FIGURES_EXCLUDED_SQL)}


def _inline_script(name: str) -> str:
    text = (ASSETS_DIR / name).read_text(encoding="utf-8")
    # No source map to fetch, and nothing that could close the <script> element early.
    text = re.sub(r"//# sourceMappingURL=\S+\s*$", "", text)
    return text.replace("</script", "<\\/script")


def render(page: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _format_number
    specs_json = json.dumps(page["specs"], ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return env.get_template("progress_report.html.j2").render(
        page=page, specs_json=specs_json, scripts=[_inline_script(n) for n in VEGA_SCRIPTS],
        status_colours=STATUS_COLOURS, attribute_labels=ATTRIBUTE_LABELS, breakdown_labels=BREAKDOWN_LABELS)


def _format_number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, (int, float)):
        text = f"{value:,.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _write_atomic(path: Path, text: str) -> None:
    """Write beside the target and rename, so a reader never opens half a page."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the page is for readers
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
