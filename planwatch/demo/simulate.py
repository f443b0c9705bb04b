"""Simulated quarterly statistics for 2021Q1–2025Q4, starting from the plans' own 2020 baselines.

    python -m planwatch.demo.simulate [--seed 20210101] [--faults] [--regions N] [--out DIR]

Every series (region × indicator × breakdown of a plan) starts at the plan's 2020 baseline and
moves towards, past or away from its 2025 target along one of four scenarios, so that every
progress status appears. Stocks report the level at quarter end; flows report the year-to-date
total. Ratio indicators with components carry a numerator and denominator consistent with the
value. The output is deterministic for a seed, byte for byte (the .xlsx file included).

`--faults` injects what real submissions contain (see FAULTS below and `faults.json` in the
output); `--regions N` adds N synthetic county regions with plans written to `_reference/` in the
output folder (see planwatch.core.catalog_loader). Every row carries `source = simulated`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import random
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from planwatch.core.catalog import Catalog, Indicator
from planwatch.core.config import Settings
from planwatch.core.normalize import NotANumber, format_number, normalize_unit, parse_value, ratio_scale
from planwatch.core.periods import Quarter, quarters_between
from planwatch.core.catalog_loader import (PLANS_DIRNAME, REFERENCE_DIRNAME, REGION_COLUMNS,
                                                REGIONS_FILENAME)
from planwatch.ingest.statistics_io import DATA_SUFFIXES

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from planwatch.core.plan_periods import PlanPeriod

log = logging.getLogger(__name__)

DEFAULT_SEED = 20210101
FIRST_QUARTER = Quarter(2021, 1)
LAST_QUARTER = Quarter(2025, 4)
DEMO_DIRNAME = "simulated"
FAULTS_FILENAME = "faults.json"
SCENARIOS = ("early", "on_track", "lag", "regress")
# Share of the annual total reached by the end of each quarter, for flow indicators.
FLOW_SHARES = (0.23, 0.48, 0.74, 1.0)
# How far a regressing series falls by 2025, at most, as a share of its baseline (it must stay a plausible figure).
REGRESS_SHARE_OF_BASE = 0.5
HEADER = ["region_code", "period", "indicator_code", "breakdown", "value", "unit", "numerator", "denominator",
          "reported_on", "source"]
NAME_HEADER = ["region_code", "period", "indicator_name", "breakdown", "value", "unit", "numerator", "denominator",
               "reported_on", "source"]
PLAN_COLUMNS = ["region_code", "region_name", "plan", "seq", "category", "indicator_name", "unit", "baseline_year",
                "baseline_value", "target_year", "target_value", "attribute", "target_2021", "target_2022",
                "target_2023", "target_2024", "target_2025", "breakdown", "source_doc", "source_line",
                "indicator_code", "notes"]
# Provinces whose codes synthetic counties borrow (GB/T 2260 first two digits).
PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
             "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")
_FIXED_ZIP_TIME = (2021, 1, 1, 0, 0, 0)

FAULTS = {
    "unit_slip": "a figure reported in another unit of the same dimension (万人 for 人, ‰ for %): converted, raw kept",
    "unit_not_convertible": "a figure in a unit of another dimension: quarantined",
    "duplicate": "a row repeated in the same file: the repeat is quarantined",
    "missing_quarter": "one region sends no file for one quarter",
    "late_revision": "a file sent again later with a corrected figure: the revision wins, the first stays queryable",
    "outlier": "a figure ten times too large (corrected by the late revision) and a spike kept in the data",
    "fullwidth_digits": "a file typed with full-width digits, thousands separators, a trailing % and -- for missing",
    "not_a_number": "a value cell reading 待核实 (to be verified): quarantined",
    "unknown_region": "a region code with two digits swapped: quarantined",
    "unknown_indicator": "a code that is not in the catalog: quarantined",
    "future_period": "a period whose year is typed 2052 for 2025: quarantined",
    "gb18030": "a file exported in GB18030 with printed indicator names instead of codes",
    "utf8_bom": "a file exported as UTF-8 with a byte-order mark",
    "xlsx": "a file sent as an .xlsx workbook",
}


@dataclass
class Series:
    """One simulated series: a plan row of one region, in the catalog's unit."""

    region_code: str
    indicator: Indicator
    breakdown: str
    printed_name: str
    baseline: float
    target: float
    scenario: str = "on_track"
    values: dict[Quarter, tuple[float, float | None, float | None]] = field(default_factory=dict)


@dataclass
class SimulationSummary:
    files: int = 0
    rows: int = 0
    regions: int = 0
    series: int = 0
    seconds: float = 0.0
    faults: list[dict[str, object]] = field(default_factory=list)
    scenarios: dict[str, int] = field(default_factory=dict)


def _number(text: str) -> float | None:
    try:
        return parse_value(text).value
    except NotANumber:
        return None


def _to_catalog_unit(catalog: Catalog, value: float | None, unit: str, ind: Indicator) -> float | None:
    if value is None:
        return None
    return catalog.convert(value, normalize_unit(unit) or ind.unit, ind.unit)


def read_plan_series(catalog: Catalog, plan_files: list[Path]) -> list[Series]:
    """A series per (region, indicator, breakdown) of the plan files that the catalog can resolve.

    The first file to name a series wins; a row without a baseline (a prose target) starts from
    its target stepped back by the indicator's direction.
    """
    out: dict[tuple[str, str, str], Series] = {}
    for path in plan_files:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                region = (row.get("region_code") or "").strip()
                code = (row.get("indicator_code") or "").strip() or catalog.resolve_name(row.get("indicator_name") or "", region)
                if not code or code not in catalog.indicators or region not in catalog.regions:
                    continue
                ind = catalog.indicators[code]
                # the reviewer's reading where the printed unit cannot be right (张 for beds per 1000 older persons)
                unit = (row.get("unit_as_read") or "").strip() or row.get("unit") or ""
                baseline = _to_catalog_unit(catalog, _number(row.get("baseline_value") or ""), unit, ind)
                target = _to_catalog_unit(catalog, _number(row.get("target_value") or ""), unit, ind)
                if baseline is None and target is None:
                    continue
                if target is not None and (row.get("target_kind") or "").strip().lower() == "cumulative":
                    # a total over the plan's years: the series simulates the yearly flow that adds up to it
                    years = max(1, int(_number(row.get("target_year") or "") or 2025) - 2020)
                    target = target / years
                step = {"increase": 0.15, "decrease": -0.12}.get(ind.direction, 0.0)
                if baseline is None:
                    baseline = target / (1 + step)  # type: ignore[operator]
                if target is None:
                    target = baseline * (1 + step)
                breakdown = (row.get("breakdown") or "").strip()
                key = (region, code, breakdown)
                if key not in out:
                    out[key] = Series(region, ind, breakdown, (row.get("indicator_name") or ind.name_zh).strip(),
                                      baseline, target)
    return list(out.values())


def assign_scenarios(series: list[Series], rng: random.Random) -> None:
    """Within each region, deal the scenarios round-robin over a shuffled order, so every region mixes them."""
    by_region: dict[str, list[Series]] = {}
    for s in series:
        by_region.setdefault(s.region_code, []).append(s)
    for region in sorted(by_region):
        items = by_region[region]
        rng.shuffle(items)
        offset = rng.randrange(len(SCENARIOS))
        for i, s in enumerate(items):
            s.scenario = SCENARIOS[(i + offset) % len(SCENARIOS)]


def _clip(ind: Indicator, value: float) -> float:
    if ind.lower_bound is not None:
        value = max(ind.lower_bound, value)
    if ind.upper_bound is not None:
        value = min(ind.upper_bound, value)
    return value


def simulate_matrix(series: list[Series], n_quarters: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, numerators, denominators), each series × quarter, for quarters 1…n after 2020Q4.

    Stocks: baseline + gap × progress(scenario, t/20) + noise, clipped to the catalog bounds.
    Flows: the same model for each year's total, reported as a year-to-date share of it.
    Ratios with components: an integer numerator over a growing denominator, the value derived from them.
    Numerators and denominators are NaN where an indicator has no components.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(series)
    base = np.array([s.baseline for s in series], dtype=float)
    gap = np.array([s.target for s in series], dtype=float) - base
    scenario = np.array([SCENARIOS.index(s.scenario) for s in series])
    lower = np.array([-np.inf if s.indicator.lower_bound is None else s.indicator.lower_bound for s in series])
    upper = np.array([np.inf if s.indicator.upper_bound is None else s.indicator.upper_bound for s in series])
    flow = np.array([s.indicator.measure == "flow" for s in series])
    integral = np.array([s.indicator.is_integral for s in series])
    components = np.array([s.indicator.has_components for s in series])
    scale = np.array([ratio_scale(s.indicator.unit) for s in series])

    # A kept-at-target indicator (gap 0) still needs room: lag dips a little, regress more, the rest hold.
    flat = np.abs(gap) <= 1e-9
    spread = np.where(flat, 0.06 * np.maximum(np.abs(base), 1.0), np.abs(gap))
    gap = np.where(flat, np.select([scenario == 2, scenario == 3], [-0.2 * spread, spread], 0.0), gap)
    # A regressing series loses ground in proportion to where it stands, not to how far its target is:
    # 1044 households aiming at 5000 falling by 0.3 × 3956 would reach zero, which no statistic shows.
    regress = (scenario == 3) & (base > 0)
    gap = np.where(regress, np.sign(gap) * np.minimum(np.abs(gap), REGRESS_SHARE_OF_BASE * base), gap)
    noise = 0.04 * np.where(regress, np.abs(gap), spread)
    # A positive indicator stays positive: at most halfway down to zero from its lower plan figure.
    floor = np.where((base > 0) & (base + gap > 0), 0.5 * np.minimum(base, base + gap), -np.inf)
    lower = np.maximum(lower, floor)

    def progress(x: "np.ndarray") -> "np.ndarray":
        early = np.minimum(1.0, x / 0.6) + 0.03 * np.maximum(x - 0.6, 0.0)
        return np.select([scenario[:, None] == 0, scenario[:, None] == 1, scenario[:, None] == 2],
                         [early, 1.01 * x, 0.55 * x], -0.3 * x)

    t = np.arange(1, n_quarters + 1, dtype=float)
    x = np.broadcast_to(t / 20.0, (n, n_quarters))
    stock = base[:, None] + gap[:, None] * progress(x) + rng.normal(0.0, 1.0, (n, n_quarters)) * noise[:, None]
    year = ((t - 1) // 4).astype(int)  # 0 for 2021
    n_years = int(year.max()) + 1
    xy = np.broadcast_to((np.arange(1, n_years + 1) / 5.0), (n, n_years))
    annual = base[:, None] + gap[:, None] * progress(xy) + rng.normal(0.0, 1.0, (n, n_years)) * noise[:, None]
    annual = np.maximum(np.clip(annual, lower[:, None], upper[:, None]), 0.0)  # a year's total is never negative
    quarter = ((t - 1) % 4).astype(int)
    share = np.array(FLOW_SHARES)[quarter] * np.where(quarter == 3, 1.0, rng.uniform(0.96, 1.04, (n, n_quarters)))
    values = np.where(flow[:, None], annual[:, year] * share, np.clip(stock, lower[:, None], upper[:, None]))

    den0 = rng.integers(20_000, 400_000, n).astype(float)
    den = np.round(den0[:, None] * (1 + 0.008 * t))
    num = np.round(values / scale[:, None] * den)
    values = np.where(components[:, None], num / den * scale[:, None], values)
    values = np.where(integral[:, None], np.round(values), np.round(values, 2))
    nan = np.full_like(values, np.nan)
    return values, np.where(components[:, None], num, nan), np.where(components[:, None], den, nan)


def fill_series(series: list[Series], quarters: list[Quarter], seed: int) -> None:
    """Put the simulated (value, numerator, denominator) of every quarter into each series."""
    values, nums, dens = simulate_matrix(series, len(quarters), seed)
    for i, s in enumerate(series):
        for j, q in enumerate(quarters):
            num, den = float(nums[i, j]), float(dens[i, j])
            s.values[q] = (float(values[i, j]), None if math.isnan(num) else num, None if math.isnan(den) else den)


def _value_text(ind: Indicator, value: float) -> str:
    return str(int(value)) if ind.is_integral else format_number(value)


def _reported_on(q: Quarter, rng: random.Random) -> str:
    return (q.end_date + timedelta(days=15 + rng.randrange(12))).isoformat()


def _rows_for(series: list[Series], q: Quarter, reported_on: str) -> list[list[str]]:
    rows = []
    for s in series:
        value, num, den = s.values[q]
        rows.append([
            s.region_code, str(q), s.indicator.code, s.breakdown, _value_text(s.indicator, value), s.indicator.unit,
            "" if num is None else str(int(num)), "" if den is None else str(int(den)), reported_on, "simulated",
        ])
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def _write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """An .xlsx with numbers as numbers and a date cell, as a spreadsheet program would save it; fixed timestamps."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "统计数据"
    ws.append(header)
    numeric = {header.index(c) for c in ("value", "numerator", "denominator")}
    for row in rows:
        cells: list[object] = []
        for i, text in enumerate(row):
            if i in numeric and text:
                number = float(text)
                cells.append(int(number) if number.is_integer() else number)
            elif header[i] == "reported_on" and text:
                cells.append(datetime.fromisoformat(text))
            else:
                cells.append(text)
        ws.append(cells)
    fixed = datetime(2021, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps each zip entry with the current time; rewrite them so the bytes depend on the seed only.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fix_core_times(data)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def _fix_core_times(data: bytes) -> bytes:
    import re

    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2021-01-01T00:00:00Z", data)


def _swap_digits(code: str, known: set[str]) -> str:
    for i in range(len(code) - 1, 0, -1):
        swapped = code[: i - 1] + code[i] + code[i - 1] + code[i + 1:]
        if swapped != code and swapped not in known:
            return swapped
    return "999999"


def _alternative_unit(catalog: Catalog, unit: str) -> str | None:
    base = catalog.units.get(unit)
    if base is None:
        return None
    for other in sorted(catalog.units.values(), key=lambda u: u.unit):
        if other.dimension == base.dimension and other.unit != unit:
            return other.unit
    return None


def _foreign_unit(catalog: Catalog, unit: str) -> str:
    base = catalog.units.get(unit)
    for other in sorted(catalog.units.values(), key=lambda u: u.unit):
        if base is None or other.dimension != base.dimension:
            return other.unit
    return "件"


@dataclass
class SimFile:
    header: list[str]
    rows: list[list[str]]
    encoding: str = "utf-8"  # or utf-8-sig, gb18030, xlsx


class _FileSet:
    """The submission files of the plan regions, kept as rows until faults are applied and they are written."""

    def __init__(self) -> None:
        self.files: dict[str, SimFile] = {}

    def add(self, rel: str, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
        self.files[rel] = SimFile(header, rows, encoding)


def _apply_faults(files: _FileSet, catalog: Catalog, series: list[Series], regions: list[str],
                  rng: random.Random) -> list[dict[str, object]]:
    """Change the clean city files in place; return what was injected where (line numbers are 1-based, header = 1)."""
    injected: list[dict[str, object]] = []
    known = set(catalog.regions)

    def rel(region: str, q: Quarter) -> str:
        return f"{region}/{region}_{q}.csv"

    # Regions with the most series first, so that a fault needing several rows finds them.
    size = {r: sum(1 for s in series if s.region_code == r) for r in regions}
    ranked = sorted(regions, key=lambda r: (-size[r], r))

    def pick(i: int) -> str:
        return ranked[i % len(ranked)]

    def note(kind: str, path: str, line: int | None, detail: str) -> None:
        # Announced as it is made (and listed in faults.json, which `planwatch summary` reads): a deliberate
        # fault must never pass for a problem of the pipeline.
        log.warning("simulated fault %s in %s%s: %s", kind, path, f" line {line}" if line else "", detail)
        injected.append({"fault": kind, "file": path, "line": line, "detail": detail})

    # A normalisation showcase: full-width digits, thousands separators, trailing %, -- for missing.
    region = pick(0)
    path = rel(region, Quarter(2021, 3))
    rows = files.files[path].rows
    full = str.maketrans("0123456789.", "０１２３４５６７８９．")
    for i, row in enumerate(rows):
        value = row[4]
        ind = catalog.indicators[row[2]]
        if i == 0:
            row[4] = "--"
            row[6] = row[7] = ""
        elif ind.unit == "%" and i % 2 == 1:
            row[4] = value + "%"
        elif abs(float(value)) >= 1000:
            row[4] = f"{float(value):,.2f}".rstrip("0").rstrip(".")
        else:
            row[4] = value.translate(full)
    note("fullwidth_digits", path, None, "values typed with full-width digits, 1,234 separators, a trailing %; line 2 is --")

    # Unit slip (convertible) and a unit of another dimension (not convertible).
    region = pick(1)
    path = rel(region, Quarter(2021, 4))
    rows = files.files[path].rows
    for i, row in enumerate(rows):
        alt = _alternative_unit(catalog, row[5])
        if alt and row[4]:
            factor = catalog.convert(1.0, row[5], alt) or 1.0
            row[4] = format_number(float(row[4]) * factor, 6)
            row[5] = alt
            note("unit_slip", path, i + 2, f"reported in {alt} instead of {catalog.indicators[row[2]].unit}")
            break
    for i, row in enumerate(rows):
        if not _alternative_unit(catalog, row[5]) or i == len(rows) - 1:
            row[5] = _foreign_unit(catalog, row[5])
            note("unit_not_convertible", path, i + 2, f"unit {row[5]} for {row[2]}")
            break

    # Duplicates, a cell that is not a number, an unknown region, an unknown indicator, a future period.
    region = pick(2)
    path = rel(region, Quarter(2022, 2))
    rows = files.files[path].rows
    rows.append(list(rows[0]))
    note("duplicate", path, len(rows) + 1, "repeats line 2")
    bad = list(rows[1])
    bad[4] = "待核实"
    rows.append(bad)
    note("not_a_number", path, len(rows) + 1, "value 待核实")
    typo = list(rows[0])
    typo[0] = _swap_digits(region, known)
    rows.append(typo)
    note("unknown_region", path, len(rows) + 1, f"region_code {typo[0]}")
    unknown = list(rows[0])
    unknown[2] = unknown[2] + "_TOTAL"
    rows.append(unknown)
    note("unknown_indicator", path, len(rows) + 1, f"indicator_code {unknown[2]}")
    future = list(rows[1])
    future[1] = "2052Q2"
    rows.append(future)
    note("future_period", path, len(rows) + 1, "period 2052Q2")

    # Missing quarter.
    region = pick(3)
    missing = rel(region, Quarter(2022, 3))
    del files.files[missing]
    note("missing_quarter", missing, None, "no file for 2022Q3")

    # Outlier corrected by a late revision; the revision is named to sort after the original.
    region = pick(4)
    q = Quarter(2023, 2)
    path = rel(region, q)
    rows = files.files[path].rows
    target_line = next((i for i, r in enumerate(rows) if r[4] and not r[6]), 0)
    original = list(rows[target_line])
    ind = catalog.indicators[original[2]]
    wrong = float(original[4]) * 10
    rows[target_line][4] = _value_text(ind, wrong)
    note("outlier", path, target_line + 2, f"{original[2]} typed as {rows[target_line][4]} instead of {original[4]}")
    revised_rows = [list(r) for r in rows]
    revised_rows[target_line] = original
    later = (q.end_date + timedelta(days=75)).isoformat()
    for r in revised_rows:
        r[8] = later
    revision = f"{region}/{region}_{q}_revised.csv"
    files.add(revision, HEADER, revised_rows)
    note("late_revision", revision, target_line + 2, f"corrects {original[2]} to {original[4]}")

    # A spike that stays: a count or amount tripled for one quarter (within bounds, an implausible jump).
    region = pick(5 if len(regions) > 5 else 0)
    path = rel(region, Quarter(2024, 1))
    rows = files.files[path].rows
    for i, row in enumerate(rows):
        ind = catalog.indicators[row[2]]
        if ind.kind != "ratio" and row[4] and float(row[4]) > 0 and _clip(ind, float(row[4]) * 3) == float(row[4]) * 3:
            row[4] = _value_text(ind, float(row[4]) * 3)
            note("outlier", path, i + 2, f"{row[2]} tripled for one quarter")
            break

    # Encodings and formats: GB18030 with printed names, UTF-8 with BOM, an .xlsx workbook.
    names = {(s.region_code, s.indicator.code, s.breakdown): s.printed_name for s in series}
    region = pick(1)
    path = rel(region, Quarter(2022, 1))
    entry = files.files[path]
    entry.header = NAME_HEADER
    for row in entry.rows:
        row[2] = names.get((row[0], row[2], row[3]), catalog.indicators[row[2]].name_zh)
    entry.encoding = "gb18030"
    note("gb18030", path, None, "GB18030 with indicator_name instead of indicator_code")
    path = rel(pick(2), Quarter(2021, 2))
    files.files[path].encoding = "utf-8-sig"
    note("utf8_bom", path, None, "UTF-8 with a byte-order mark")
    path = rel(pick(0), Quarter(2024, 4))
    files.files[path].encoding = "xlsx"
    note("xlsx", path[: -len(".csv")] + ".xlsx", None, "an .xlsx workbook")
    return injected


def synthetic_regions(catalog: Catalog, n: int, rng: random.Random) -> list[dict[str, str]]:
    """`n` county regions with well-formed GB/T 2260 codes (county digits 21–60) not used by real regions."""
    taken = set(catalog.regions)
    out: list[dict[str, str]] = []
    for province in PROVINCES:
        for city in range(1, 30):
            for county in range(21, 61):
                code = f"{province}{city:02d}{county:02d}"
                if code in taken:
                    continue
                out.append({"region_code": code, "parent_code": f"{province}{city:02d}00"})
    rng.shuffle(out)
    chosen = sorted(out[:n], key=lambda r: r["region_code"])
    for i, r in enumerate(chosen, start=1):
        r.update({"region_name_zh": f"模拟县{i:04d}", "region_name_en": f"Simulated County {i:04d}", "level": "county",
                  "parent_name_zh": f"模拟市{r['parent_code'][:4]}", "is_simulated": "true"})
    return chosen


def synthetic_series(catalog: Catalog, regions: list[dict[str, str]], templates: list[Series],
                     rng: random.Random) -> list[Series]:
    """Every catalog indicator for every synthetic region, with baselines near the real plans' (or the bounds)."""
    by_code: dict[str, list[Series]] = {}
    for s in templates:
        if not s.breakdown:
            by_code.setdefault(s.indicator.code, []).append(s)
    out = []
    for region in regions:
        for code in sorted(catalog.indicators):
            ind = catalog.indicators[code]
            model = by_code.get(code)
            if model:
                m = model[rng.randrange(len(model))]
                base, target = m.baseline * rng.uniform(0.8, 1.2), m.target * rng.uniform(0.8, 1.2)
            else:
                low = ind.lower_bound if ind.lower_bound is not None else 0.0
                high = ind.upper_bound if ind.upper_bound is not None else low + 1000.0
                base = low + (high - low) * rng.uniform(0.3, 0.7)
                step = {"increase": 0.15, "decrease": -0.12}.get(ind.direction, 0.0)
                target = base * (1 + step)
            base, target = _clip(ind, base), _clip(ind, target)
            if ind.is_integral:
                base, target = float(round(base)), float(round(target))
            else:
                base, target = round(base, 2), round(target, 2)
            # Baseline and target are drawn apart; a synthetic plan must still point where its indicator
            # should go, or the plan-consistency checks (rightly) refuse to publish it.
            if ind.direction == "maintain":
                target = base
            elif (target < base) == (ind.direction == "increase") and target != base:
                base, target = target, base
            out.append(Series(region["region_code"], ind, "", ind.name_zh, base, target))
    return out


def _write_county_files(folder: Path, series: list[Series], quarters: list[Quarter], seed: int,
                        rng: random.Random, last_values: list[float] | None = None) -> int:
    """One file per quarter with every synthetic series, built column-wise (thousands of regions × the catalog).
    `last_values`, when given, receives each series' value of the last quarter."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    values, nums, dens = simulate_matrix(series, len(quarters), seed)
    if last_values is not None:
        last_values.extend(float(v) for v in values[:, -1])
    integral = np.array([s.indicator.is_integral for s in series])
    regions = pa.array([s.region_code for s in series], pa.string())
    codes = pa.array([s.indicator.code for s in series], pa.string())
    units = pa.array([s.indicator.unit for s in series], pa.string())
    n = len(series)

    def text(column: "np.ndarray", whole: "np.ndarray") -> "pa.Array":
        # Whole numbers print without a decimal point; NaN (no component) prints as an empty cell.
        as_int = pc.cast(pa.array(np.where(np.isnan(column), 0, column).astype(np.int64)), pa.string())
        as_float = pc.cast(pa.array(column), pa.string())
        out = pc.if_else(pa.array(whole), as_int, as_float)
        return pc.if_else(pa.array(np.isnan(column)), pa.scalar("", pa.string()), out)

    folder.mkdir(parents=True, exist_ok=True)
    # No cell holds a comma or a quote, so nothing needs quoting (Arrow would quote the header otherwise).
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    for j, q in enumerate(quarters):
        table = pa.table({
            "region_code": regions, "period": pa.array([str(q)] * n, pa.string()), "indicator_code": codes,
            "breakdown": pa.array([""] * n, pa.string()), "value": text(values[:, j], integral), "unit": units,
            "numerator": text(nums[:, j], np.ones(n, bool)), "denominator": text(dens[:, j], np.ones(n, bool)),
            "reported_on": pa.array([_reported_on(q, rng)] * n, pa.string()),
            "source": pa.array(["simulated"] * n, pa.string()),
        })
        with (folder / f"counties_{q}.csv").open("wb") as fh:
            fh.write((",".join(HEADER) + "\n").encode("utf-8"))
            pacsv.write_csv(table, fh, options)
    return len(quarters)


def _write_synthetic_reference(out_dir: Path, regions: list[dict[str, str]], series: list[Series]) -> None:
    ref = out_dir / REFERENCE_DIRNAME
    _write_csv(ref / REGIONS_FILENAME, list(REGION_COLUMNS), [[r[c] for c in REGION_COLUMNS] for r in regions])
    names = {r["region_code"]: r["region_name_zh"] for r in regions}
    rows = []
    seq: dict[str, int] = {}
    for s in series:
        seq[s.region_code] = seq.get(s.region_code, 0) + 1
        ind = s.indicator
        rows.append([s.region_code, names[s.region_code], "14th", str(seq[s.region_code]), ind.domain, ind.name_zh,
                     ind.unit, "2020", _value_text(ind, s.baseline), "2025", _value_text(ind, s.target), "expected",
                     "", "", "", "", "", "", "simulated", str(seq[s.region_code]), ind.code, "simulated plan"])
    _write_csv(ref / PLANS_DIRNAME / "simulated_counties_14th.csv", PLAN_COLUMNS, rows)


def _next_plan_series(catalog: Catalog, series: list[Series], last_values: list[float],
                      rng: random.Random) -> list[Series]:
    """A simulated next plan for synthetic counties: base = the series' last simulated value, target
    a step on in the indicator's direction (never for a real city: only synthetic series come here)."""
    out = []
    for s, last in zip(series, last_values):
        ind = s.indicator
        step = {"increase": 0.1, "decrease": -0.1}.get(ind.direction, 0.0) * rng.uniform(0.5, 1.5)
        base = _clip(ind, last)
        target = _clip(ind, base * (1 + step))
        if ind.is_integral:
            base, target = float(round(base)), float(round(target))
        else:
            base, target = round(base, 2), round(target, 2)
        if (target < base) == (ind.direction == "increase") and target != base:
            target = base
        out.append(Series(s.region_code, ind, "", ind.name_zh, base, target))
    return out


def _write_next_plan(out_dir: Path, regions: list[dict[str, str]], series: list[Series], period: "PlanPeriod") -> None:
    """The counties' simulated plan for `period`; every third series prints no baseline, so that its base
    is chained from the previous plan's final-year actual (docs/methodology.md)."""
    names = {r["region_code"]: r["region_name_zh"] for r in regions}
    from planwatch.core.plan_periods import ANNUAL_COLUMN

    columns = [c for c in PLAN_COLUMNS if not ANNUAL_COLUMN.match(c)]
    rows, seq = [], {}
    for i, s in enumerate(series):
        seq[s.region_code] = seq.get(s.region_code, 0) + 1
        ind = s.indicator
        printed = "" if i % 3 == 2 else _value_text(ind, s.baseline)
        rows.append([s.region_code, names[s.region_code], period.plan, str(seq[s.region_code]), ind.domain,
                     ind.name_zh, ind.unit, str(period.base_year), printed, str(period.last_year),
                     _value_text(ind, s.target), "expected", "", "simulated", str(seq[s.region_code]), ind.code,
                     "simulated plan" + ("" if printed else ": no baseline printed")])
    _write_csv(out_dir / REFERENCE_DIRNAME / PLANS_DIRNAME / f"simulated_counties_{period.plan}.csv", columns, rows)


def simulate(settings: Settings, out_dir: Path, seed: int = DEFAULT_SEED, faults: bool = False,
             n_regions: int = 0, through: Quarter | None = None) -> SimulationSummary:
    """Write the simulated submissions into `out_dir` (created); return what was written.

    `through`, a quarter after the plans' last one: the synthetic counties continue under a simulated
    next plan (raw/reference/plan_periods.csv) up to it. The real cities get no next plan and no
    statistics after their plans end."""
    from planwatch.core.catalog_loader import load_catalog

    started = time.perf_counter()
    catalog = load_catalog(settings)
    # Plan tables first; prose targets add series a table lacks (a region whose plan has no table).
    plan_files = sorted(settings.plan_indicators_dir.glob("*.csv")) + sorted(settings.plan_prose_dir.glob("*.csv"))
    series = read_plan_series(catalog, plan_files)
    rng = random.Random(seed)
    assign_scenarios(series, rng)
    quarters = quarters_between(FIRST_QUARTER, LAST_QUARTER)
    fill_series(series, quarters, seed)
    regions = sorted({s.region_code for s in series})
    summary = SimulationSummary(regions=len(regions), series=len(series))

    files = _FileSet()
    for region in regions:
        mine = [s for s in series if s.region_code == region]
        mine.sort(key=lambda s: (s.indicator.code, s.breakdown))
        for q in quarters:
            files.add(f"{region}/{region}_{q}.csv", HEADER, _rows_for(mine, q, _reported_on(q, rng)))
    if faults and regions:
        summary.faults = _apply_faults(files, catalog, series, regions, random.Random(seed + 1))

    out_dir.mkdir(parents=True, exist_ok=True)
    for rel in sorted(files.files):
        f = files.files[rel]
        if f.encoding == "xlsx":
            _write_xlsx(out_dir / (rel[: -len(".csv")] + ".xlsx"), f.header, f.rows)
        else:
            _write_csv(out_dir / rel, f.header, f.rows, f.encoding)
        summary.files += 1
        summary.rows += len(f.rows)

    if n_regions > 0:
        county_rng = random.Random(seed + 2)
        counties = synthetic_regions(catalog, n_regions, county_rng)
        county_series = synthetic_series(catalog, counties, series, county_rng)
        assign_scenarios(county_series, county_rng)
        _write_synthetic_reference(out_dir, counties, county_series)
        county_series.sort(key=lambda s: (s.region_code, s.indicator.code))
        last_values: list[float] = []
        summary.files += _write_county_files(out_dir / "counties", county_series, quarters, seed + 3, county_rng,
                                             last_values)
        summary.rows += len(county_series) * len(quarters)
        if through is not None and through > LAST_QUARTER:
            from planwatch.core.plan_periods import load as load_periods

            period = next((p for p in load_periods(settings.reference_dir) if p.base_year == LAST_QUARTER.year), None)
            if period is None:
                raise ValueError(f"no plan period after {LAST_QUARTER.year} in raw/reference/plan_periods.csv")
            next_series = _next_plan_series(catalog, county_series, last_values, county_rng)
            assign_scenarios(next_series, county_rng)
            _write_next_plan(out_dir, counties, next_series, period)
            next_quarters = quarters_between(LAST_QUARTER.next(), min(through, Quarter(period.last_year, 4)))
            summary.files += _write_county_files(out_dir / "counties", next_series, next_quarters, seed + 4,
                                                 county_rng)
            summary.rows += len(next_series) * len(next_quarters)
            summary.series += len(next_series)
        summary.regions += len(counties)
        summary.series += len(county_series)
        series = series + county_series

    summary.scenarios = {name: sum(1 for s in series if s.scenario == name) for name in SCENARIOS}
    manifest = {"seed": seed, "faults": summary.faults, "fault_kinds": FAULTS if faults else {},
                "regions": summary.regions, "series": summary.series, "rows": summary.rows,
                "scenarios": summary.scenarios}
    (out_dir / FAULTS_FILENAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    summary.seconds = round(time.perf_counter() - started, 2)
    log.info("simulated %d rows in %d files for %d regions (%d series, scenarios %s, %d faults) into %s in %.1f s",
             summary.rows, summary.files, summary.regions, summary.series, summary.scenarios, len(summary.faults),
             out_dir, summary.seconds)
    return summary


def announced_faults(statistics_dir: Path) -> list[tuple[Path, dict[str, int]]]:
    """Every simulation under `statistics_dir` that injected faults: its manifest and the count per fault kind."""
    out = []
    for manifest_path in sorted(statistics_dir.rglob(FAULTS_FILENAME)):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s): its simulated faults are not announced", manifest_path, exc)
            continue
        kinds: dict[str, int] = {}
        for fault in manifest.get("faults") or []:
            kinds[str(fault.get("fault"))] = kinds.get(str(fault.get("fault")), 0) + 1
        if kinds:
            out.append((manifest_path, kinds))
    return out


def _has_data_files(root: Path, exclude: Path | None = None) -> bool:
    if not root.is_dir():
        return False
    for path in root.rglob("*"):
        if exclude is not None and (path == exclude or exclude in path.parents):
            continue
        if REFERENCE_DIRNAME in path.parts or path.name.startswith((".", "~$")):
            continue
        if path.is_file() and path.suffix.lower() in DATA_SUFFIXES:
            return True
    return False


def ensure_demo_statistics(settings: Settings) -> bool:
    """Write the default simulation (seed 20210101, with faults) into raw/statistics/simulated/ when
    raw/statistics holds no other data files and no simulation yet. Returns whether it wrote."""
    demo = settings.statistics_dir / DEMO_DIRNAME
    if _has_data_files(settings.statistics_dir, exclude=demo):
        log.info("raw/statistics holds real submissions: no simulated demo data written")
        return False
    if _has_data_files(demo):
        log.info("simulated demo data already in %s (delete the folder to write it again)", demo)
        return False
    summary = simulate(settings, demo, seed=DEFAULT_SEED, faults=True)
    return summary.files > 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planwatch.demo.simulate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--faults", action="store_true", help="inject the faults real submissions contain")
    parser.add_argument("--regions", type=int, default=0, metavar="N", help="add N synthetic county regions")
    parser.add_argument("--through", type=Quarter.parse, default=None, metavar="YYYYQn",
                        help="continue the synthetic counties under a simulated next plan up to this quarter")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default raw/statistics/simulated under PLANWATCH_HOME)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    out = args.out or settings.statistics_dir / DEMO_DIRNAME
    if args.regions < 0:
        parser.error("--regions must be 0 or more")
    summary = simulate(settings, out, seed=args.seed, faults=args.faults, n_regions=args.regions, through=args.through)
    print(f"wrote {summary.rows} rows in {summary.files} files for {summary.regions} regions into {out} "
          f"({summary.seconds} s; scenarios {summary.scenarios}; {len(summary.faults)} faults, see {out / FAULTS_FILENAME})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
